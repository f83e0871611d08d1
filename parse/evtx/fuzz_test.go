package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
	"github.com/exhunt/exhunt/parse"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzEVTX from evtxgen and the hostile builders")

// FuzzEVTX checks that no input panics or hangs the parser, that it fails
// only with its documented errors, and that every event and the stats are
// sound. An input is a whole file, or (chunk true) the bytes of chunks
// behind a valid file header, so that mutations reach the records.
// Seeds live in testdata/fuzz/FuzzEVTX (see TestFuzzSeeds).
func FuzzEVTX(f *testing.F) {
	hdr, err := evtxgen.Bytes(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk bool) {
		if chunk {
			data = append(bytes.Clone(hdr), data...)
		}
		var n int64
		st, err := Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "f.evtx", Source: event.EVTX}, func(ev *event.Event) error {
			n++
			if ev.Win == nil || ev.Loc.Record != ev.Win.RecordID || ev.Source != event.EVTX {
				t.Fatalf("event %+v", ev)
			}
			if tm, ok := ev.Time(); ok && (tm.Location() != time.UTC || tm.Year() < 1970 || tm.Year() >= 2200) {
				t.Fatalf("time %v", tm)
			}
			if x := ev.Excerpt(); !utf8.ValidString(x) || len(x) > event.MaxExcerpt+8 {
				t.Fatalf("excerpt %q", x)
			}
			if len(ev.Win.Data) > maxFields {
				t.Fatalf("%d fields", len(ev.Win.Data))
			}
			_, _ = ev.Get("EventID"), ev.Get("Data")
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotEVTX) && !errors.Is(err, ErrTruncated) && err != ErrHostile {
			t.Fatalf("err %v", err)
		}
		if st.Records != n || st.Malformed < 0 || len(st.Problems) > parse.MaxProblems || st.First.After(st.Last) || st.First.IsZero() != st.Last.IsZero() {
			t.Fatalf("stats %+v after %d events", st, n)
		}
	})
}

// seeds returns the fuzz seeds: small generated chunks (cut at their
// free-space offset), their mutations, the hostile chunks of the guard
// tests, and short files.
func seeds(t *testing.T) map[string][]any {
	out := map[string][]any{}
	base := time.Date(2021, 3, 2, 7, 11, 4, 0, time.UTC)
	shapes := map[string][]event.WinEvent{
		"security": {
			{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "EX01", EventID: 4624, RecordID: 1, Time: base, Data: []event.KV{{Key: "SubjectUserSid", Value: "S-1-5-18"}, {Key: "SubjectLogonId", Value: "0x3e7"}, {Key: "LogonGuid", Value: "{6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F}"}, {Key: "LogonType", Value: "3"}, {Key: "IpAddress", Value: "203.0.113.9"}}},
			{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "EX01", EventID: 4625, RecordID: 2, Time: base.Add(time.Second), Data: []event.KV{{Key: "Status", Value: "0xc000006d"}, {Key: "TargetUserName", Value: "administrator"}}},
		},
		"exchange": {
			{Channel: "MSExchange Management", Provider: "MSExchange CmdletLogs", Computer: "EX01", EventID: 1, Level: 4, RecordID: 7, Time: base, Data: []event.KV{{Key: "Data", Value: "New-MailboxExportRequest"}, {Key: "Data", Value: `-Mailbox "x" -FilePath "\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\a.aspx"`}}},
		},
		"sysmon": {
			{Channel: "Microsoft-Windows-Sysmon/Operational", Provider: "Microsoft-Windows-Sysmon", Computer: "EX01", EventID: 1, Level: 4, RecordID: 9, Time: base, Data: []event.KV{{Key: "Image", Value: `C:\Windows\System32\cmd.exe`}, {Key: "ParentImage", Value: `c:\windows\system32\inetsrv\w3wp.exe`}, {Key: "CommandLine", Value: "cmd /c whoami"}}},
		},
	}
	for name, recs := range shapes {
		for i := 0; len(recs) < 3; i++ {
			r := recs[i%len(recs)]
			r.RecordID += uint64(len(recs))
			recs = append(recs, r)
		}
		data, err := evtxgen.Bytes(recs)
		if err != nil {
			t.Fatal(err)
		}
		c := data[fileHeaderSize:]
		free := int(binary.LittleEndian.Uint32(c[0x30:]))
		c = c[:free]
		out["chunk-"+name] = []any{c, true}
		flip := bytes.Clone(c)
		for i := 0x200; i < len(flip); i += 61 {
			flip[i] ^= 0x10
		}
		out["chunk-"+name+"-flipped"] = []any{flip, true}
		if name == "security" {
			out["file-"+name] = []any{data[:fileHeaderSize+free], false}
			sized := bytes.Clone(c)
			binary.LittleEndian.PutUint32(sized[0x200+4:], 0xFFFF)
			out["chunk-"+name+"-size"] = []any{sized, true}
		}
	}
	// The hostile chunks of TestGuardBombs, cut at their end.
	c := newCB()
	defined := false
	c.event(&defined, 4624, "before")
	c.record(func() {
		c.u8(0x0F, 1, 1, 0)
		c.instance(1, nil)
		c.u32(2)
		c.u16(0xFFF0)
		c.u8(tSID, 0)
		c.u16(0xFFF0)
		c.u8(tSysTime, 0)
	})
	c.record(func() {
		c.u8(0x0F, 1, 1, 0)
		c.instance(2, func() { c.open("Event", false); c.u8(0x03) })
		c.u32(0xFFFFFFFF)
	})
	c.event(&defined, 4625, "after")
	end := c.off
	out["chunk-hostile"] = []any{c.finish()[:end], true}
	out["file-empty"] = []any{[]byte{}, false}
	out["file-magic"] = []any{[]byte(fileMagic), false}
	return out
}

// TestFuzzSeeds keeps the committed seed corpus of FuzzEVTX in step with
// the generator: go test -run TestFuzzSeeds -update-seeds ./parse/evtx
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzEVTX")
	for name, args := range seeds(t) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(args[0].([]byte))))
		fmt.Fprintf(&b, "bool(%v)\n", args[1])
		p := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, b.Bytes()) {
			t.Errorf("%s is missing or stale (run with -update-seeds): %v", p, err)
		}
	}
}
