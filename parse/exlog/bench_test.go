package exlog_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/exlog"
)

// benchLog builds about size bytes of a realistic HttpProxy log: 74
// columns, mostly latencies, a quoted user agent now and then and a long
// GenericInfo.
func benchLog(size int) []byte {
	var b bytes.Buffer
	b.WriteString(proxyHead + "#Fields: " + proxyFields + "\r\n")
	uas := []string{"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)", `"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/89.0"`, "Outlook-iOS-Android/1.0", "MapiHttpClient"}
	stems := []string{"/mapi/emsmdb/", "/EWS/Exchange.asmx", "/Microsoft-Server-ActiveSync/default.eas", "/owa/service.svc", "/autodiscover/autodiscover.xml"}
	for i := 0; b.Len() < size; i++ {
		s := i / 10
		fmt.Fprintf(&b, "2021-03-02T%02d:%02d:%02d.%03dZ,%08x-2f6f-4a40-8129-ff80098494a0,15,1,2375,7,{%08x-1111-2222-3333-444455556666},Mapi,mail.example.org,%s,,Negotiate,true,CORP\\user%d,,SMTP:user%d@example.org,%s,198.51.100.%d,EX01,200,200,,POST,Proxy,ex02.corp.local,15.01.2375.000,DatabaseGuid,CommonAccessToken-Windows,,,,1234,5678,1,,1,0,,0,,0,,0,0,,0,3,0,1,0,0,12,0,40,3,41,1,1,0,46,,?MailboxId=%08x@example.org,,BeginRequest=2021-03-02T10:00:00.000Z;CorrelationID=<empty>;ProxyState-Run=None;FEAuth=BEVersion-1942062522;NewConnection=10.0.0.7&0;BeginGetResponse=2021-03-02T10:00:00.010Z;OnResponseReady=2021-03-02T10:00:00.050Z;EndGetResponse=2021-03-02T10:00:00.050Z;ProxyState-Complete=ProxyResponseData;,,,,,,\r\n",
			s/3600%24, s/60%60, s%60, i%1000, i, i, stems[i%len(stems)], i%300, i%300, uas[i%len(uas)], i%256, i)
	}
	return b.Bytes()
}

func benchParse(b *testing.B, data []byte, src event.Source, fn func(ev *event.Event)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := exlog.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "HttpProxy_2021030210-1.LOG", Source: src}, func(ev *event.Event) error {
			fn(ev)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExlog is the hot path: every row becomes an event, none is split.
func BenchmarkExlog(b *testing.B) {
	benchParse(b, benchLog(4<<20), event.HTTPProxy, func(*event.Event) {})
}

// BenchmarkExlogValues splits every row, as if every event reached a detector.
func BenchmarkExlogValues(b *testing.B) {
	benchParse(b, benchLog(4<<20), event.HTTPProxy, func(ev *event.Event) { _ = ev.Values() })
}

// BenchmarkExlogECP is the ECP Server log, whose EventData pairs are
// exposed eagerly on every row.
func BenchmarkExlogECP(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(ecpHead)
	for i := 0; buf.Len() < 4<<20; i++ {
		fmt.Fprintf(&buf, "2021-03-03T04:%02d:%02d.%03dZ,EX01,ECP.Request,S:TIME=%d;S:SID=S-1-5-21-1111-2222-3333-%d;S:CMD=Get-InboxRule;S:REQID=;S:URL=/ecp/RulesEditor/InboxRules.svc/GetList?msExchEcpCanary=Zm9v%d;S:REFERRER=;S:EX=;S:ACTID=%08x;S:RS=0;S:BLD=15.1.2375.7;S:TNAME=<null>;S:TID=;S:USID=%08x;S:EDOID=;S:ACID=\r\n", i/60%60, i%60, i%1000, i%300, i%500, i, i, i)
	}
	benchParse(b, []byte(buf.String()), event.ECPServer, func(*event.Event) {})
}
