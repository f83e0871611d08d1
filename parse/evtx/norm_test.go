package evtx

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/exhunt/exhunt/event"
)

// od builds an ordered dictionary from key, value pairs.
func od(kv ...any) *ordereddict.Dict {
	d := ordereddict.NewDict()
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i].(string), kv[i+1])
	}
	return d
}

// librec wraps System and the other parts the way the library returns them.
func librec(system *ordereddict.Dict, rest ...any) any {
	e := od("System", system)
	for i := 0; i+1 < len(rest); i += 2 {
		e.Set(rest[i].(string), rest[i+1])
	}
	return od("Event", e)
}

func sys(extra ...any) *ordereddict.Dict {
	d := od("Provider", od("Name", "Microsoft-Windows-Security-Auditing", "Guid", "{54849625-5478-4994-A5BA-3E3B0328C30D}"),
		"EventID", uint16(4624), "Level", uint8(0),
		"TimeCreated", od("SystemTime", 1614669064.1234567), "EventRecordID", uint64(42),
		"Channel", "Security", "Computer", "EX01")
	for i := 0; i+1 < len(extra); i += 2 {
		d.Set(extra[i].(string), extra[i+1])
	}
	return d
}

func kvs(w *event.WinEvent) string {
	var b strings.Builder
	for i, kv := range w.Data {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", kv.Key, kv.Value)
	}
	return b.String()
}

func TestNormData(t *testing.T) {
	tests := []struct {
		name  string
		in    any
		specs []spec
		want  string
	}{
		{"named (normalised by the library)", librec(sys(), "EventData", od("SubjectUserSid", "S-1-5-18", "LogonType", uint32(3), "IpAddress", "-")),
			nil, "SubjectUserSid=S-1-5-18 LogonType=3 IpAddress=-"},
		{"named list", librec(sys(), "EventData", od("Data", []any{od("Name", "a", "Value", "1"), od("Name", "b", "Value", uint64(2)), od("Name", "empty")})),
			nil, "a=1 b=2 empty="},
		{"one named", librec(sys(), "EventData", od("Data", od("Name", "CommandLine", "Value", "cmd /c whoami"))),
			nil, "CommandLine=cmd /c whoami"},
		{"unnamed strings", librec(sys(), "EventData", od("Data", []string{"Set-Mailbox", "-Identity x"}, "Binary", []byte{0xD9, 0x06, 0, 0})),
			nil, "Data=Set-Mailbox Data=-Identity x Binary=D9060000"},
		{"unnamed values with gaps", librec(sys(), "EventData", od("Data", []any{"a", nil, uint16(5)})),
			nil, "Data=a Data= Data=5"},
		{"one unnamed", librec(sys(), "EventData", od("Data", "only")), nil, "Data=only"},
		{"mixed", librec(sys(), "EventData", od("Data", []any{od("Name", "n", "Value", "v"), "loose"})), nil, "n=v Data=loose"},
		{"user data", librec(sys(), "UserData", od("LogFileCleared", od("xmlns:auto-ns3", "http://x", "SubjectUserSid", "S-1-5-21-1-2-3-500", "SubjectUserName", "admin",
			"Flags", od("value", "10040", "Value", "x")))),
			nil, "SubjectUserSid=S-1-5-21-1-2-3-500 SubjectUserName=admin value=10040 Flags=x"},
		{"rendering info skipped", librec(sys(), "EventData", od("a", "1"), "RenderingInfo", od("Message", "An account was logged on.")), nil, "a=1"},
		{"processing error data", librec(sys(), "ProcessingErrorData", od("ErrorCode", uint32(15005), "DataItemName", "x")), nil, "ErrorCode=15005 DataItemName=x"},
		{"types", librec(sys(), "EventData", od("Data", []any{
			od("Name", "SubjectLogonId", "Value", uint64(0x3e7)),
			od("Name", "Status", "Value", uint32(0xc000006d)),
			od("Name", "LogonGuid", "Value", "6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F"),
			od("Name", "When", "Value", 1614669064.25),
			od("Name", "Ports", "Value", []byte{1, 0, 2, 0}),
			od("Name", "Ids", "Value", []byte{1, 0, 0, 0, 0, 0, 0, 0}),
			od("Name", "Plain", "Value", uint64(0x3e7)),
			od("Name", "Ratio", "Value", 0.5),
			od("Name", "Flag", "Value", true),
			od("Name", "Neg", "Value", int32(-5)),
		})), []spec{{"SubjectLogonId", tHex64}, {"Status", tHex32}, {"LogonGuid", tGUID}, {"When", tFileTime}, {"Ports", tU16Array}, {"Ids", tHex64Array}},
			"SubjectLogonId=0x3e7 Status=0xc000006d LogonGuid={6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F} When=2021-03-02T07:11:04.2500000Z Ports=1 Ports=2 Ids=0x1 Plain=999 Ratio=0.5 Flag=true Neg=-5"},
	}
	var n norm
	var w event.WinEvent
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !n.event(&w, tt.in, 0, tt.specs) {
				t.Fatal("not read")
			}
			if got := kvs(&w); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if w.Channel != "Security" || w.EventID != 4624 || w.RecordID != 42 || w.Provider != "Microsoft-Windows-Security-Auditing" || w.Computer != "EX01" {
				t.Errorf("system %+v", w)
			}
		})
	}
}

func TestNormSystem(t *testing.T) {
	ft := uint64(132591426641234567) // 2021-03-02T07:11:04.1234567Z
	exact := time.Date(2021, 3, 2, 7, 11, 4, 123456700, time.UTC)
	float := (float64(ft) - float64(filetimeEpoch)) / 1e7
	tests := []struct {
		name string
		sys  *ordereddict.Dict
		ft   uint64
		want event.WinEvent
	}{
		{"plain", sys("TimeCreated", od("SystemTime", float)), ft,
			event.WinEvent{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "EX01", EventID: 4624, RecordID: 42, Time: exact}},
		{"qualifiers", sys("EventID", od("Qualifiers", uint16(16384), "Value", uint16(1)), "Level", uint8(4), "TimeCreated", od("SystemTime", float)), 0,
			event.WinEvent{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "EX01", EventID: 1, Level: 4, RecordID: 42, Time: exact.Truncate(time.Microsecond)}},
		{"forwarded text", od("Provider", od("Name", "MSExchange CmdletLogs"), "EventID", od("Qualifiers", "16384", "Value", "1"), "Level", "4",
			"TimeCreated", od("SystemTime", "2021-11-19T16:52:33.833733500Z"), "EventRecordID", "3229", "Channel", "MSExchange Management", "Computer", "WEC.ave.local"), 0,
			event.WinEvent{Channel: "MSExchange Management", Provider: "MSExchange CmdletLogs", Computer: "WEC.ave.local", EventID: 1, Level: 4, RecordID: 3229, Time: time.Date(2021, 11, 19, 16, 52, 33, 833733500, time.UTC)}},
		{"event source name", od("Provider", od("EventSourceName", "Wlclntfy"), "EventID", uint16(6000)), ft,
			event.WinEvent{Provider: "Wlclntfy", EventID: 6000, Time: exact}},
		{"systemtime text", od("TimeCreated", od("SystemTime", "2021-03-02 07:11:04.1234567 +0000 UTC")), 0, event.WinEvent{Time: exact}},
		{"garbage", od("EventID", "x", "Level", uint64(300), "EventRecordID", -1.5, "TimeCreated", od("SystemTime", -5.0), "Channel", uint8(1)), 0, event.WinEvent{}},
		{"time from the header", od("EventID", int32(-1)), ft, event.WinEvent{Time: exact}},
		{"time far future", od("TimeCreated", od("SystemTime", 1e12)), 0, event.WinEvent{}},
		{"filetime zero", od(), 0, event.WinEvent{}},
	}
	var n norm
	var w event.WinEvent
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !n.event(&w, librec(tt.sys), tt.ft, nil) {
				t.Fatal("not read")
			}
			w.Data = nil
			if w.Channel != tt.want.Channel || w.Provider != tt.want.Provider || w.Computer != tt.want.Computer || w.EventID != tt.want.EventID ||
				w.Level != tt.want.Level || w.RecordID != tt.want.RecordID || !w.Time.Equal(tt.want.Time) {
				t.Errorf("got  %+v\nwant %+v", w, tt.want)
			}
		})
	}
}

func TestNormRefuses(t *testing.T) {
	var n norm
	var w event.WinEvent
	for _, in := range []any{nil, "x", od(), od("Event", "x"), od("Event", od("EventData", od("a", "1"))), od("Event", od("System", "x"))} {
		if n.event(&w, in, 0, nil) {
			t.Errorf("%v read", in)
		}
	}
}

// TestNormShared: a record whose parts share sub-dictionaries (a hostile
// template can expand into its own expansion) is walked in bounded time.
func TestNormShared(t *testing.T) {
	leaf := od("k", "v")
	d := leaf
	for i := 0; i < 40; i++ {
		d = od("a", d, "b", d) // 2^40 paths
	}
	var n norm
	var w event.WinEvent
	start := time.Now()
	if !n.event(&w, librec(sys(), "UserData", d), 0, nil) {
		t.Fatal("not read")
	}
	if time.Since(start) > time.Second || len(w.Data) > maxFields {
		t.Errorf("%d fields in %v", len(w.Data), time.Since(start))
	}
	wide := make([]string, 10000)
	if !n.event(&w, librec(sys(), "EventData", od("Data", wide)), 0, nil) || len(w.Data) != maxFields {
		t.Errorf("wide: %d fields", len(w.Data))
	}
}
