package evidence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name, path, head string
		want             event.Source
	}{
		// Path rules, any case.
		{"httpproxy owa", "D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030712-1.LOG", "", event.HTTPProxy},
		{"httpproxy mixed case", "x/LOGGING/httpproxy/MAPI/a.log", "", event.HTTPProxy},
		{"ecp server", "V15/Logging/ECP/Server/ECPServer20210303-1.LOG", "", event.ECPServer},
		{"ecp activity", "V15/Logging/ECP/Activity/x.LOG", "", event.ECPActivity},
		{"oab", "V15/Logging/OABGeneratorLog/OABGenerator_1.LOG", "", event.OABGen},
		{"rps folder", "V15/Logging/CmdletInfra/Powershell-Proxy/Http/x.LOG", "", event.RpsHTTP},
		{"rps name", "loose/Rps_Http_2022121400-1.LOG", "", event.RpsHTTP},
		{"w3svc", "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "", event.IIS},
		{"w3svc any name", "E/IISLogs/w3svc12/whatever.log", "", event.IIS},
		{"w3svc txt is not IIS by path", "E/IISLogs/W3SVC1/readme.txt", "", event.Unknown},
		{"inetpub logfiles", "inetpub/logs/LogFiles/site.log", "", event.IIS},
		{"w3svc needs digits", "W3SVCx/u.log", "", event.Unknown},
		{"u_ex name", "loose/u_ex210303.log", "", event.IIS},
		{"not a log extension", "Logging/HttpProxy/Owa/x.dll", proxyLog, event.Unknown},
		{"nested zip", "Logging/HttpProxy/Owa/x.zip", "", event.Unknown},
		{"unrelated log", "Windows/setup.log", textNote, event.Unknown},
		// Content.
		{"iis software header", "odd/name", iisLog, event.IIS},
		{"iis fields only", "odd.txt", "# Fields: date time s-ip cs-method cs-uri-stem\r\n\r\n2023-12-25 11:54:21 1.2.3.4 GET /\r\n", event.IIS},
		{"w3c version+fields", "odd.log", "#Version: 1.0\n#Fields: s-ip cs-method c-ip\n", event.IIS},
		{"httpproxy header", "export.CSV", proxyLog, event.HTTPProxy},
		{"ecp server header", "a.txt", ecpServerLog, event.ECPServer},
		{"ecp activity header", "a.txt", ecpActLog, event.ECPActivity},
		{"oab header", "a.txt", oabLog, event.OABGen},
		{"rps log-type", "a.txt", rpsLog, event.RpsHTTP},
		{"rps fields", "a.txt", rpsFieldsLog, event.RpsHTTP},
		{"headerless httpproxy row", "row.txt", headerlessProxyRow, event.HTTPProxy},
		{"few commas is not a proxy row", "row.txt", "2021-03-07T15:04:04.546Z,1a51fb75-2f6f-4a40-8129-ff80098494a0,a,b\n", event.Unknown},
		{"utf8 bom", "a.log", "\uFEFF" + proxyLog, event.HTTPProxy},
		{"utf16le", "a.log", utf16le(iisLog), event.IIS},
		{"httperr is not IIS", "inetpub/logs/LogFiles/HTTPERR/httperr1.log", "#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Fields: date time c-ip\r\n", event.Unknown},
		// Content wins over path when definitive; path wins over garbage.
		{"content beats path", "Logging/HttpProxy/Owa/x.LOG", iisLog, event.IIS},
		{"garbage keeps path family", "Logging/HttpProxy/Ews/x.LOG", garbage, event.HTTPProxy},
		{"unknown log-type keeps path", "Logging/HttpProxy/Ews/x.LOG", "#Log-type: Something Else\n", event.HTTPProxy},
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

func utf16le(s string) string {
	b := []byte{0xFF, 0xFE}
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}

// copiedTree is an image copied as drive folders, Exchange on D:, IIS logs
// moved to E:, mixed case, and noise that must not be yielded.
func copiedTree(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "EXCH01")
	mk(t, root, map[string]string{
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log":                                           iisLog,
		"C/inetpub/logs/LogFiles/W3SVC2/u_ex210303.log":                                           iisLog,
		"C/inetpub/wwwroot/aspnet_client/web.config":                                              "<configuration/>",
		"C/Users/admin/notes.txt":                                                                 textNote,
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG":                  proxyLog,
		"D/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030312-1.LOG":                  proxyLog,
		"D/Exchange Server/V15/Logging/HttpProxy/Autodiscover/HttpProxy_2021030312-1.LOG":         proxyLog,
		"D/Exchange Server/V15/Logging/HttpProxy/Mapi/HttpProxy_2021030312-1.LOG":                 proxyLog,
		"D/Exchange Server/V15/Logging/HttpProxy/Ews/HttpProxy_2021030312-1.LOG":                  garbage,
		"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG":                        ecpServerLog,
		"D/Exchange Server/V15/Logging/ECP/Activity/ECPActivity20210303-1.LOG":                    ecpActLog,
		"D/Exchange Server/V15/Logging/OABGeneratorLog/OABGenerator_2021030300-1.LOG":             oabLog,
		"D/Exchange Server/V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http_2021030300.LOG": rpsFieldsLog,
		"D/Exchange Server/V15/Logging/MessageTracking/MSGTRK2021030300-1.LOG":                    "#Software: Microsoft Exchange Server\r\n#Log-type: Message Tracking Log\r\n",
		"D/Exchange Server/V15/Bin/ExSetup.exe":                                                   "MZ",
		"d/exchange server/v15/LOGGING/httpproxy/OWA/HttpProxy_2021030313-1.LOG":                  "",
		"E/IISLogs/W3SVC3/u_ex210303.log":                                                         iisLog,
		"E/IISLogs/w3svc4/U_EX210304.LOG":                                                         "",
	})
	return root
}

func TestWalkCopiedTree(t *testing.T) {
	root := copiedTree(t)
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log iis",
		"C/inetpub/logs/LogFiles/W3SVC2/u_ex210303.log iis",
		"D/Exchange Server/V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http_2021030300.LOG rps-http",
		"D/Exchange Server/V15/Logging/ECP/Activity/ECPActivity20210303-1.LOG ecp-activity",
		"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG ecp-server",
		"D/Exchange Server/V15/Logging/HttpProxy/Autodiscover/HttpProxy_2021030312-1.LOG httpproxy",
		"D/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030312-1.LOG httpproxy",
		"D/Exchange Server/V15/Logging/HttpProxy/Ews/HttpProxy_2021030312-1.LOG httpproxy",
		"D/Exchange Server/V15/Logging/HttpProxy/Mapi/HttpProxy_2021030312-1.LOG httpproxy",
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG httpproxy",
		"D/Exchange Server/V15/Logging/OABGeneratorLog/OABGenerator_2021030300-1.LOG oabgen",
		"E/IISLogs/W3SVC3/u_ex210303.log iis",
		"E/IISLogs/w3svc4/U_EX210304.LOG iis",
		"d/exchange server/v15/LOGGING/httpproxy/OWA/HttpProxy_2021030313-1.LOG httpproxy",
	})
	if len(g.fails) != 0 {
		t.Errorf("fails: %v", g.fails)
	}
	for _, it := range g.items {
		if it.Root != root || it.Host != "EXCH01" {
			t.Errorf("%s: root %q host %q", it.Path, it.Root, it.Host)
		}
		body, err := readItem(t, it)
		if err != nil {
			t.Errorf("%s: %v", it.Path, err)
		}
		if int64(len(body)) != it.Size || it.ModTime.IsZero() {
			t.Errorf("%s: size %d read %d, mtime %v", it.Path, it.Size, len(body), it.ModTime)
		}
	}
}

func TestWalkLooseFolder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "from-ticket")
	mk(t, root, map[string]string{
		"server1 proxy.txt":   proxyLog,
		"export":              iisLog,
		"ecp.CSV":             ecpServerLog,
		"pasted-row.TXT":      headerlessProxyRow,
		"web.Log":             "# Fields: date time s-ip cs-method cs-uri-stem\r\n",
		"sub/dir/rps.log":     rpsLog,
		"sub/dir/Ecp_act.log": ecpActLog,
		"notes.txt":           textNote,
		"garbage.log":         garbage,
		"u_ex210101.log.gz":   "\x1f\x8b",
		"bundle.zip":          "PK\x05\x06" + strings.Repeat("\x00", 18),
	})
	g := walk(t, []string{root}, Config{Host: "override"})
	sameList(t, "items", g.pf(), []string{
		"ecp.CSV ecp-server",
		"export iis",
		"pasted-row.TXT httpproxy",
		"server1 proxy.txt httpproxy",
		"sub/dir/Ecp_act.log ecp-activity",
		"sub/dir/rps.log rps-http",
		"web.Log iis",
	})
	for _, it := range g.items {
		if it.Host != "override" {
			t.Errorf("host %q", it.Host)
		}
	}
}

func TestWalkSingleFile(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, map[string]string{"W3SVC1/u_ex210303.log": iisLog, "notes.txt": textNote, "capture.dat": proxyLog})
	tests := []struct {
		rel, want, fail string
	}{
		{"W3SVC1/u_ex210303.log", "u_ex210303.log iis", ""},
		{"capture.dat", "capture.dat httpproxy", ""}, // named explicitly: sniffed whatever the extension
		{"notes.txt", "", ErrNotLog.Error()},
	}
	for _, tt := range tests {
		root := filepath.Join(dir, filepath.FromSlash(tt.rel))
		g := walk(t, []string{root}, Config{})
		var want []string
		if tt.want != "" {
			want = []string{tt.want}
		}
		sameList(t, tt.rel, g.pf(), want)
		if tt.want != "" && len(g.items) == 1 {
			it := g.items[0]
			if it.Host != filepath.Base(root) || it.Root != root {
				t.Errorf("%s: host %q root %q", tt.rel, it.Host, it.Root)
			}
			if body, err := readItem(t, it); err != nil || body == "" {
				t.Errorf("%s: read %q %v", tt.rel, body, err)
			}
		}
		if tt.fail != "" && (g.fails[root] == nil || g.fails[root].Error() != tt.fail) {
			t.Errorf("%s: fails %v", tt.rel, g.fails)
		}
	}
}

func TestCheckRoots(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, map[string]string{"a.log": iisLog})
	file := filepath.Join(dir, "a.log")
	missing := filepath.Join(dir, "nope")
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(missing, dangling); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		roots []string
		ok    bool
	}{
		{"dir", []string{dir}, true},
		{"file", []string{file}, true},
		{"both", []string{dir, file}, true},
		{"none", nil, false},
		{"empty string", []string{""}, false},
		{"missing", []string{dir, missing}, false},
		{"dangling symlink", []string{dangling}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRoots(tt.roots)
			if (err == nil) != tt.ok {
				t.Errorf("CheckRoots(%v) = %v", tt.roots, err)
			}
		})
	}
	err := CheckRoots([]string{missing, dir, dangling})
	if err == nil || !strings.Contains(err.Error(), "nope") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error should name the missing root: %v", err)
	}
}

func TestWalkDeterministic(t *testing.T) {
	// The same files created in two different orders walk identically.
	names := []string{"b/W3SVC1/u_ex1.log", "a/W3SVC2/u_ex2.log", "B/W3SVC1/u_ex3.log", "a/W3SVC10/u_ex1.log", "z.log", "a b/W3SVC1/u_ex1.log"}
	var runs [][]string
	for i := 0; i < 2; i++ {
		root := filepath.Join(t.TempDir(), "r")
		for j := range names {
			k := j
			if i == 1 {
				k = len(names) - 1 - j
			}
			mk(t, root, map[string]string{names[k]: iisLog})
		}
		g := walk(t, []string{root}, Config{})
		if !isSorted(g.items) {
			t.Errorf("not sorted: %v", g.pf())
		}
		runs = append(runs, g.pf())
	}
	sameList(t, "second run", runs[1], runs[0])
	if len(runs[0]) != len(names) {
		t.Errorf("want %d items, got %v", len(names), runs[0])
	}
}

func TestWalkStops(t *testing.T) {
	root := copiedTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, []string{root}, Config{}, func(Item) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
	stop := errors.New("stop")
	n := 0
	err := Walk(context.Background(), []string{root, root}, Config{}, func(Item) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("yield error: %v after %d", err, n)
	}
	// A missing root is a per-file problem; the other roots are walked.
	g := walk(t, []string{filepath.Join(root, "missing"), root}, Config{})
	if len(g.fails) != 1 || len(g.items) == 0 {
		t.Errorf("fails %v, %d items", g.fails, len(g.items))
	}
}

func TestWalkVanishingFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "r")
	mk(t, root, map[string]string{"W3SVC1/a.log": iisLog, "W3SVC1/b.log": iisLog, "W3SVC1/c.log": iisLog})
	var paths []string
	var fails []string
	err := Walk(context.Background(), []string{root}, Config{}, func(it Item) error {
		paths = append(paths, it.Path)
		if it.Path == "W3SVC1/a.log" {
			// The test (not the walker) removes a file between walk and open.
			os.Remove(filepath.Join(root, "W3SVC1", "b.log"))
		}
		return nil
	}, func(p string, err error) {
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v", p, err)
		}
		fails = append(fails, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "items", paths, []string{"W3SVC1/a.log", "W3SVC1/c.log"})
	sameList(t, "fails", fails, []string{filepath.Join(root, "W3SVC1", "b.log")})
}

func TestHostFor(t *testing.T) {
	w := &walker{}
	tests := []struct{ abs, want string }{
		{"/cases/EXCH01/C", "EXCH01"},
		{"/cases/EXCH01/d:", "EXCH01"},
		{"/C", "C"},
		{"/cases/bundle.ZIP", "bundle"},
		{"/cases/logs", "logs"},
	}
	for _, tt := range tests {
		if got := w.hostFor(tt.abs, false); got != tt.want {
			t.Errorf("hostFor(%q) = %q, want %q", tt.abs, got, tt.want)
		}
	}
}
