package evtxgen_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
)

var t0 = time.Date(2021, 3, 2, 7, 11, 4, 123456700, time.UTC)

// sample returns n records mixing the shapes the writer knows.
func sample(n int) []event.WinEvent {
	out := make([]event.WinEvent, n)
	for i := range out {
		r := &out[i]
		r.Computer = "EX01.corp.example"
		r.RecordID = uint64(1000 + i)
		r.Time = t0.Add(time.Duration(i) * 1500 * time.Millisecond)
		switch i % 4 {
		case 0:
			r.Channel, r.Provider, r.EventID = "Security", "Microsoft-Windows-Security-Auditing", 4624
			r.Data = []event.KV{
				{Key: "SubjectUserSid", Value: "S-1-5-18"},
				{Key: "SubjectLogonId", Value: "0x3e7"},
				{Key: "TargetUserSid", Value: "S-1-5-21-1004336348-1177238915-682003330-500"},
				{Key: "LogonType", Value: "3"},
				{Key: "LogonGuid", Value: "{6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F}"},
				{Key: "IpAddress", Value: fmt.Sprintf("203.0.113.%d", i%250)},
				{Key: "WorkstationName", Value: ""},
			}
		case 1:
			r.Channel, r.Provider, r.EventID, r.Level = "MSExchange Management", "MSExchange CmdletLogs", 1, 4
			r.Data = []event.KV{
				{Key: "Data", Value: "Set-OabVirtualDirectory"},
				{Key: "Data", Value: `-ExternalUrl "http://f/<script language="JScript" runat="server">eval(Request["a"])</script>"`},
				{Key: "Data", Value: "0x03E7"},  // not canonical hex: stays a string
				{Key: "Data", Value: "007"},     // not canonical decimal
				{Key: "Data", Value: "S-1-5-x"}, // not a SID
			}
		case 2:
			r.Channel, r.Provider, r.EventID, r.Level = "Application", "MSExchange Front End HTTP Proxy", 1003, 2
			r.Data = []event.KV{{Key: "Data", Value: "élan ✓ 日本 \U0001F600"}}
		case 3:
			r.Channel, r.Provider, r.EventID = "System", "Service Control Manager", 7045
			r.Level = 4
			// No data at all.
		}
	}
	return out
}

func parseAll(t *testing.T, data []byte) ([]event.WinEvent, parse.Stats) {
	t.Helper()
	var got []event.WinEvent
	st, err := evtx.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "Security.evtx", Host: "EX01", Source: event.EVTX}, func(ev *event.Event) error {
		if ev.Source != event.EVTX || ev.Win == nil || ev.Loc.Record != ev.Win.RecordID || ev.Host != "EX01" || ev.Loc.Path != "Security.evtx" {
			t.Fatalf("event %+v", ev)
		}
		if string(ev.Raw) != string(ev.Win.AppendValues(nil)) {
			t.Fatalf("raw %q", ev.Raw)
		}
		w := *ev.Win
		w.Data = append([]event.KV(nil), w.Data...)
		got = append(got, w)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestRoundTrip(t *testing.T) {
	recs := sample(800)
	recs[5].RecordID = 0 // gets the previous identifier + 1
	recs[6].Time = time.Time{}
	data, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	if n := (len(data) - evtxgen.FileHeaderSize) / evtxgen.ChunkSize; n < 3 {
		t.Fatalf("want several chunks, got %d", n)
	}
	got, st := parseAll(t, data)
	recs[5].RecordID = recs[4].RecordID + 1
	if len(got) != len(recs) || st.Records != int64(len(recs)) || st.Malformed != 0 || len(st.Problems) != 0 {
		t.Fatalf("got %d records, stats %+v", len(got), st)
	}
	for i := range recs {
		want := recs[i]
		if len(want.Data) == 0 {
			want.Data = nil
		}
		g := got[i]
		if len(g.Data) == 0 {
			g.Data = nil
		}
		if !reflect.DeepEqual(g, want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
	if !st.First.Equal(recs[0].Time) || !st.Last.Equal(recs[len(recs)-1].Time) {
		t.Errorf("first %v last %v", st.First, st.Last)
	}
}

func TestLayout(t *testing.T) {
	recs := sample(600)
	data, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	le32 := binary.LittleEndian.Uint32
	le64 := binary.LittleEndian.Uint64
	h := data[:evtxgen.FileHeaderSize]
	if string(h[:8]) != "ElfFile\x00" || le32(h[0x7C:]) != crc32.ChecksumIEEE(h[:0x78]) {
		t.Fatal("file header magic or checksum")
	}
	chunks := (len(data) - evtxgen.FileHeaderSize) / evtxgen.ChunkSize
	if (len(data)-evtxgen.FileHeaderSize)%evtxgen.ChunkSize != 0 || int(binary.LittleEndian.Uint16(h[0x2A:])) != chunks || int(le64(h[0x10:])) != chunks-1 {
		t.Fatalf("chunk count: header %d, file %d", binary.LittleEndian.Uint16(h[0x2A:]), chunks)
	}
	if le64(h[0x18:]) != recs[len(recs)-1].RecordID+1 {
		t.Errorf("next record id %d", le64(h[0x18:]))
	}
	var ids []uint64
	for k := 0; k < chunks; k++ {
		c := data[evtxgen.FileHeaderSize+k*evtxgen.ChunkSize:][:evtxgen.ChunkSize]
		free := int(le32(c[0x30:]))
		hc := crc32.NewIEEE()
		hc.Write(c[:0x78])
		hc.Write(c[0x80:0x200])
		if string(c[:8]) != "ElfChnk\x00" || le32(c[0x7C:]) != hc.Sum32() || le32(c[0x34:]) != crc32.ChecksumIEEE(c[0x200:free]) {
			t.Fatalf("chunk %d: magic or checksums", k)
		}
		first := len(ids)
		for off := 0x200; off < free; {
			size := int(le32(c[off+4:]))
			if string(c[off:off+4]) != "**\x00\x00" || size%8 != 0 || int(le32(c[off+size-4:])) != size {
				t.Fatalf("chunk %d record at %#x", k, off)
			}
			if off+size == free && int(le32(c[0x2C:])) != off {
				t.Errorf("chunk %d: last record offset", k)
			}
			ids = append(ids, le64(c[off+8:]))
			off += size
		}
		if le64(c[0x18:]) != ids[first] || le64(c[0x20:]) != ids[len(ids)-1] || le64(c[0x08:]) != ids[first] || le64(c[0x10:]) != ids[len(ids)-1] {
			t.Errorf("chunk %d: record numbers and identifiers", k)
		}
	}
	if len(ids) != len(recs) || ids[0] != recs[0].RecordID || ids[len(ids)-1] != recs[len(recs)-1].RecordID {
		t.Errorf("records %d, ids %d..%d", len(ids), ids[0], ids[len(ids)-1])
	}
}

func TestErrors(t *testing.T) {
	big := strings.Repeat("A", 40000) // 80,000 bytes of UTF-16: over a value's 16-bit size
	tests := []struct {
		name string
		recs []event.WinEvent
		want error
	}{
		{"value too large", []event.WinEvent{{Channel: "x", Data: []event.KV{{Key: "Data", Value: big}}}}, evtxgen.ErrTooLarge},
		{"record too large", []event.WinEvent{{Channel: "x", Data: []event.KV{{Key: "a", Value: big[:20000]}, {Key: "b", Value: big[:20000]}}}}, evtxgen.ErrTooLarge},
		{"event id", []event.WinEvent{{Channel: "x", EventID: 70000}}, nil},
		{"time", []event.WinEvent{{Channel: "x", Time: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evtxgen.Bytes(tt.recs)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A record that fills most of a chunk moves to the next one.
	half := []event.WinEvent{{Channel: "x", Data: []event.KV{{Key: "a", Value: big[:15000]}}}, {Channel: "x", Data: []event.KV{{Key: "a", Value: big[:15000]}}}, {Channel: "x", Data: []event.KV{{Key: "a", Value: big[:15000]}}}}
	data, err := evtxgen.Bytes(half)
	if err != nil {
		t.Fatal(err)
	}
	if n := (len(data) - evtxgen.FileHeaderSize) / evtxgen.ChunkSize; n != 2 {
		t.Errorf("chunks = %d, want 2", n)
	}
	if got, _ := parseAll(t, data); len(got) != 3 || got[2].Data[0].Value != big[:15000] {
		t.Errorf("got %d records", len(got))
	}
	// No records: a header and no chunks.
	data, err = evtxgen.Bytes(nil)
	if err != nil || len(data) != evtxgen.FileHeaderSize {
		t.Errorf("empty: %d bytes, %v", len(data), err)
	}
}

// TestPythonEvtx checks the files with an independent reader, python-evtx
// (Debian's python3-evtx), when it is installed.
func TestPythonEvtx(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	for _, cand := range []string{"/usr/bin/python3", py} {
		if exec.Command(cand, "-c", "import Evtx").Run() == nil {
			py = cand
			break
		}
		py = ""
	}
	if py == "" {
		t.Skip("python3-evtx not installed")
	}
	recs := sample(700)
	data, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "x.evtx")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, Evtx.Evtx as E
n = 0
with E.Evtx(sys.argv[1]) as log:
    for r in log.records():
        x = r.xml()
        n += 1
        if n == 1: print(x)
print("COUNT", n)
`
	out, err := exec.Command(py, "-c", script, f).CombinedOutput()
	if err != nil {
		t.Fatalf("python-evtx: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		fmt.Sprintf("COUNT %d", len(recs)),
		`<Provider Name="Microsoft-Windows-Security-Auditing">`,
		"<EventID>4624</EventID>",
		"<EventRecordID>1000</EventRecordID>",
		`<Data Name="SubjectUserSid">S-1-5-18</Data>`,
		`<Data Name="LogonGuid">{6a1f4c6b-0a2e-7e3f-9c1d-2b3a4c5d6e7f}</Data>`, // python-evtx writes GUIDs in lower case
		`<Data Name="IpAddress">203.0.113.0</Data>`,
		`<TimeCreated SystemTime="2021-03-02 07:11:04.123`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("python-evtx output lacks %q:\n%s", want, s)
		}
	}
}
