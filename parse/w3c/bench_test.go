package w3c_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/w3c"
)

// benchLog builds about size bytes of a realistic Exchange front-end IIS log
// (header block every 10000 lines, a few requests per second).
func benchLog(size int) []byte {
	stems := []string{"/owa/auth/logon.aspx", "/Microsoft-Server-ActiveSync/default.eas", "/mapi/emsmdb/", "/ews/exchange.asmx", "/autodiscover/autodiscover.xml", "/ecp/default.aspx", "/owa/service.svc", "/rpc/rpcproxy.dll"}
	uas := []string{"Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/89.0.4389.82+Safari/537.36", "Outlook-iOS-Android/1.0", "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.13801;+Pro)", "python-requests/2.25.1", "MSRPC"}
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		if i%10000 == 0 {
			b.WriteString(header + defFields)
		}
		s := i / 4
		fmt.Fprintf(&b, "2021-03-%02d %02d:%02d:%02d 10.0.0.5 %s %s Cmd=Sync&User=user%d&DeviceId=ABC%d&DeviceType=iPhone 443 CORP\\user%d 198.51.%d.%d %s - %d 0 0 %d\r\n",
			2+s/86400%27, s/3600%24, s/60%60, s%60, []string{"GET", "POST"}[i%2], stems[i%len(stems)], i%500, i, i%500, i%256, i*7%256, uas[i%len(uas)], []int{200, 302, 401, 500}[i%4], i%900)
	}
	return b.Bytes()
}

func benchParse(b *testing.B, fn func(ev *event.Event)) {
	data := benchLog(4 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := w3c.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "u_ex210302.log", Source: event.IIS}, func(ev *event.Event) error {
			fn(ev)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkW3C is the hot path: every line becomes an event, none is split.
func BenchmarkW3C(b *testing.B) { benchParse(b, func(*event.Event) {}) }

// BenchmarkW3CValues splits every line, as if every event reached a detector.
func BenchmarkW3CValues(b *testing.B) { benchParse(b, func(ev *event.Event) { _ = ev.Values() }) }

// BenchmarkW3CFields reads three canonical fields and the time of every line.
func BenchmarkW3CFields(b *testing.B) {
	benchParse(b, func(ev *event.Event) {
		_, _, _ = ev.F(event.FStem), ev.F(event.FStatus), ev.F(event.FUserAgent)
		_, _ = ev.Time()
	})
}
