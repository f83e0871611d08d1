package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
	"github.com/exhunt/exhunt/parse/winjson"
)

// evtxHead is the start of an .evtx file (classification reads no more).
var evtxHead = "ElfFile\x00" + strings.Repeat("\x00", 120)

const (
	beatJSON = `{"@timestamp":"2021-03-02T07:11:04.123Z","agent":{"type":"winlogbeat"},"winlog":{"channel":"Security","event_id":4624,"record_id":1}}` + "\n"
	dumpJSON = `{"Event":{"System":{"EventID":1,"EventRecordID":3229,"Channel":"MSExchange Management"},"EventData":{"Data":["Set-Mailbox"]}}}` + "\n"
	flatJSON = `{"Channel":"Security","EventID":4624,"Hostname":"WS5","TargetUserName":"x"}` + "\n"
	psJSON   = "[\r\n  {\r\n    \"Id\": 1,\r\n    \"LogName\": \"MSExchange Management\"\r\n  }\r\n]\r\n"
	npmJSON  = `{"name":"left-pad","version":"1.3.0","scripts":{"test":"node test"}}` + "\n"
)

func TestClassifyEventLogs(t *testing.T) {
	tests := []struct {
		name, path, head string
		want             event.Source
	}{
		{"evtx in winevt", "Windows/System32/winevt/Logs/Security.evtx", evtxHead, event.EVTX},
		{"evtx any case", "logs/MSExchange Management.EVTX", evtxHead, event.EVTX},
		{"evtx renamed, no extension", "triage/Security-copy", evtxHead, event.EVTX},
		{"evtx renamed .log", "triage/security.log", evtxHead, event.EVTX},
		{"evtx magic beats an IIS folder", "W3SVC1/u_ex210303.log", evtxHead, event.EVTX},
		{"evtx name with garbage", "x/Broken.evtx", garbage, event.EVTX},
		{"empty evtx", "x/Empty.evtx", "", event.EVTX},
		{"evtx magic, other extension", "x/Security.evtx.bak", evtxHead, event.Unknown},
		{"winlogbeat json", "export/winlogbeat.json", beatJSON, event.WinJSON},
		{"evtx_dump jsonl", "export/Application.jsonl", dumpJSON, event.WinJSON},
		{"mordor ndjson", "datasets/empire_psremoting.ndjson", flatJSON, event.WinJSON},
		{"json lines named .log", "export/security.log", flatJSON, event.WinJSON},
		{"json lines, no extension", "export/security", beatJSON, event.WinJSON},
		{"powershell utf-16", "export/ps.json", utf16le(psJSON), event.WinJSON},
		{"bom", "export/x.json", "\uFEFF" + dumpJSON, event.WinJSON},
		{"other json", "app/package.json", npmJSON, event.Unknown},
		{"json in an IIS folder", "inetpub/logs/LogFiles/W3SVC1/x.json", npmJSON, event.Unknown},
		{"empty json", "x/empty.json", "", event.Unknown},
		{"text mentioning EventID", "notes.txt", "EventID 4624 means logon\n", event.Unknown},
		{"IIS log still IIS", "W3SVC1/u_ex210303.log", iisLog, event.IIS},
		{"proxy log still proxy", "Logging/HttpProxy/Owa/x.LOG", proxyLog, event.HTTPProxy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var head []byte
			if tt.head != "" {
				head = []byte(tt.head)
			}
			if got := Classify(tt.path, head); got != tt.want {
				t.Errorf("Classify(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// eventSystem is a system root with event logs in winevt\Logs, an IIS log
// and noise.
func eventSystem(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "EXCH02", "C")
	mk(t, root, map[string]string{
		"Windows/System32/winevt/Logs/Security.evtx":                              evtxHead,
		"Windows/System32/winevt/Logs/MSExchange Management.evtx":                 evtxHead,
		"Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx": evtxHead,
		"Windows/System32/winevt/Logs/Archive-Security-2021-03-02.evtx":           evtxHead,
		"Windows/System32/config/SYSTEM":                                          "regf",
		"Windows/Temp/export.json":                                                beatJSON,
		"inetpub/logs/LogFiles/W3SVC1/u_ex210303.log":                             iisLog,
		"Users/admin/Desktop/Security-saved.evtx":                                 evtxHead,
	})
	return root
}

func TestWalkEventLogsTargeted(t *testing.T) {
	root := eventSystem(t)
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		"Windows/System32/winevt/Logs/Archive-Security-2021-03-02.evtx evtx",
		"Windows/System32/winevt/Logs/MSExchange Management.evtx evtx",
		"Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx evtx",
		"Windows/System32/winevt/Logs/Security.evtx evtx",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210303.log iis",
	})
	if len(g.fails) != 0 {
		t.Errorf("fails: %v", g.fails)
	}
	g = walk(t, []string{root}, Config{Full: true})
	sameList(t, "full walk", g.pf(), []string{
		"Users/admin/Desktop/Security-saved.evtx evtx",
		"Windows/System32/winevt/Logs/Archive-Security-2021-03-02.evtx evtx",
		"Windows/System32/winevt/Logs/MSExchange Management.evtx evtx",
		"Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx evtx",
		"Windows/System32/winevt/Logs/Security.evtx evtx",
		"Windows/Temp/export.json eventlog-json",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210303.log iis",
	})
}

func TestWalkEventLogsMoved(t *testing.T) {
	// A live system whose Security log was moved to another drive.
	base := t.TempDir()
	root := filepath.Join(base, "sysroot")
	moved := filepath.Join(base, "D", "EventLogs")
	mk(t, root, map[string]string{"Windows/System32/winevt/Logs/System.evtx": evtxHead})
	mk(t, moved, map[string]string{"Security.evtx": evtxHead, "readme.txt": textNote})

	oldLive, oldInstall, oldDirs, oldHost := isLiveRoot, installPath, eventLogDirs, hostname
	t.Cleanup(func() { isLiveRoot, installPath, eventLogDirs, hostname = oldLive, oldInstall, oldDirs, oldHost })
	isLiveRoot = func(abs string) bool { return abs == root }
	installPath = func() (string, error) { return "", os.ErrNotExist }
	eventLogDirs = func() ([]string, error) {
		return []string{filepath.Join(root, "Windows", "System32", "winevt", "Logs"), moved, filepath.Join(base, "gone")}, nil
	}
	hostname = func() (string, error) { return "LIVE", nil }
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		filepath.ToSlash(moved) + "/Security.evtx evtx",
		"Windows/System32/winevt/Logs/System.evtx evtx",
	})
}

func TestWalkEventLogsLoose(t *testing.T) {
	// A copied tree with renamed folders and files, and a single file.
	root := filepath.Join(t.TempDir(), "case-42")
	mk(t, root, map[string]string{
		"EXCH01 event logs (copy)/Security.evtx":  evtxHead,
		"EXCH01 event logs (copy)/sec-2021-03-02": evtxHead,
		"EXCH01 event logs (copy)/notes.txt":      textNote,
		"siem/winlogbeat-2021.03.02.ndjson":       beatJSON + beatJSON,
		"siem/kibana-export.json":                 npmJSON,
	})
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		"EXCH01 event logs (copy)/Security.evtx evtx",
		"EXCH01 event logs (copy)/sec-2021-03-02 evtx",
		"siem/winlogbeat-2021.03.02.ndjson eventlog-json",
	})
	g = walk(t, []string{filepath.Join(root, "EXCH01 event logs (copy)", "sec-2021-03-02")}, Config{})
	sameList(t, "single file", g.pf(), []string{"sec-2021-03-02 evtx"})
}

// TestWalkAndParse runs the walk and the two parsers end to end on
// generated event logs: a tree and a zip bundle, the .evtx files read from
// a zip entry's stream.
func TestWalkAndParse(t *testing.T) {
	recs := make([]event.WinEvent, 300)
	for i := range recs {
		recs[i] = event.WinEvent{Channel: "MSExchange Management", Provider: "MSExchange CmdletLogs", Computer: "EX01", EventID: 1, Level: 4,
			RecordID: uint64(i + 1), Time: time.Date(2021, 3, 2, 7, 0, i%60, 0, time.UTC),
			Data: []event.KV{{Key: "Data", Value: "Set-OabVirtualDirectory"}, {Key: "Data", Value: `-ExternalUrl "http://f/<script>"`}}}
	}
	evtxData, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	jsonl := strings.Repeat(beatJSON, 7)

	dir := filepath.Join(t.TempDir(), "EX01")
	mk(t, dir, map[string]string{
		"C/Windows/System32/winevt/Logs/MSExchange Management.evtx": string(evtxData),
		"C/Windows/System32/winevt/Logs/Empty.evtx":                 "",
		"siem/security.jsonl":                                       jsonl,
	})
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, body := range map[string]string{"triage/Logs/MSExchange Management.evtx": string(evtxData), "triage/siem/security.jsonl": jsonl} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	zw.Close()
	zipPath := filepath.Join(t.TempDir(), "EX01.zip")
	if err := os.WriteFile(zipPath, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, root := range []string{dir, zipPath} {
		counts := map[string]int64{}
		errs := map[string]error{}
		err := Walk(context.Background(), []string{root}, Config{}, func(it Item) error {
			rc, err := it.Open()
			if err != nil {
				return err
			}
			defer rc.Close()
			fn := map[event.Source]parse.Func{event.EVTX: evtx.Parse, event.WinJSON: winjson.Parse}[it.Family]
			if fn == nil {
				t.Fatalf("%s: family %v", it.Path, it.Family)
			}
			st, err := fn(context.Background(), rc, parse.Meta{Path: it.Path, Host: it.Host, Source: it.Family}, func(ev *event.Event) error {
				if ev.Source != it.Family || ev.Host != it.Host {
					t.Fatalf("%s: event %+v", it.Path, ev)
				}
				return nil
			})
			counts[filepath.Base(it.Path)] = st.Records
			errs[filepath.Base(it.Path)] = err
			return nil
		}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
		if err != nil {
			t.Fatal(err)
		}
		if counts["MSExchange Management.evtx"] != 300 || counts["security.jsonl"] != 7 || errs["MSExchange Management.evtx"] != nil {
			t.Errorf("%s: counts %v errors %v", root, counts, errs)
		}
		if root == dir && (counts["Empty.evtx"] != 0 || errs["Empty.evtx"] == nil) {
			t.Errorf("empty .evtx: %v", errs["Empty.evtx"])
		}
	}
}
