package hunt

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

const iisHeader = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2021-03-02 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"

func iisLine(t, stem string) string {
	return "2021-03-02 " + t + " 10.0.0.5 POST " + stem + " - 443 - 203.0.113.9 python-requests/2.25.1 - 200 0 0 15\r\n"
}

const proxyHeader = "#Software: Microsoft Exchange Server\n#Version: 15.01.2106.002\n#Log-type: HttpProxy Logs\n#Date: 2021-03-02T00:00:00.000Z\n#Fields: DateTime,RequestId,UrlStem,AnchorMailbox,ClientIpAddress,HttpStatus\n"

// markDetector fires on lines containing EVILMARK, in every log family.
func markDetector() *detect.Detector {
	return &detect.Detector{
		Advisory: finding.Advisory{ID: "TEST-01", Title: "test mark", Severity: finding.High, Stage: finding.StageExecution, Techniques: []string{"T1505.003"}},
		Keywords: []string{"evilmark"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			return detect.Hit{Fields: map[string]string{"uri": ev.F(event.FStem)}}, true
		},
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// treeDigest hashes names, modes, sizes, mtimes and contents of a tree, so
// a test can prove that hunting wrote, moved or touched nothing.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		line := fmt.Sprintf("%s %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func hostileTree(t *testing.T) string {
	root := t.TempDir()
	iis := "C/inetpub/logs/LogFiles/W3SVC1/"
	// good file: a hit after a 10 MB line and a truncated row
	var b strings.Builder
	b.WriteString(iisHeader)
	b.WriteString(iisLine("10:00:00", "/owa/auth/logon.aspx"))
	b.WriteString("2021-03-02 10:00:01 10.0.0.5 POST " + strings.Repeat("A", 10<<20) + "\r\n")
	b.WriteString("2021-03-02 10:00:02 10.0.0.5\r\n") // truncated row
	b.WriteString(iisLine("10:00:03", "/aspnet_client/EVILMARK.aspx"))
	write(t, root, iis+"u_ex210302.log", b.String())
	// invalid UTF-8 inside a field, still a hit
	write(t, root, iis+"u_ex210303.log", iisHeader+iisLine("11:00:00", "/owa/auth/\xff\xfeEVILMARK.aspx"))
	// binary garbage named like a log
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	write(t, root, "D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030210-1.LOG", string(garbage))
	// empty and header-only files
	write(t, root, iis+"u_ex210304.log", "")
	write(t, root, iis+"u_ex210305.log", iisHeader)
	// good HttpProxy file with a hit
	write(t, root, "D/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030210-1.LOG",
		proxyHeader+"2021-03-02T10:00:00.000Z,1,/ecp/y.js,ServerInfo~a]@ex:444/EVILMARK#,203.0.113.9,200\n")
	// unreadable: a dangling symlink; a symlink loop
	if err := os.Symlink(filepath.Join(root, "nowhere.log"), filepath.Join(root, iis+"u_ex210306.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "C"), filepath.Join(root, "C/inetpub/loop")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestHostileTree(t *testing.T) {
	root := hostileTree(t)
	before := treeDigest(t, root)
	res, err := Run(context.Background(), Config{Roots: []string{root}, Detectors: []*detect.Detector{markDetector()}, Correlators: []*detect.Correlator{}})
	if err != nil {
		t.Fatal(err)
	}
	if after := treeDigest(t, root); after != before {
		t.Fatal("hunting changed the evidence tree")
	}
	got := map[string]int64{}
	for _, f := range res.Findings {
		got[f.Evidence.Path] = f.Evidence.Line
	}
	want := map[string]int64{
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210302.log":                          8, // 4 header lines + 4 data lines
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log":                          5,
		"D/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030210-1.LOG": 6,
	}
	for p, line := range want {
		if got[p] != line {
			t.Errorf("hit in %s: line %d, want %d (all: %v)", p, got[p], line, got)
		}
	}
	errByPath := map[string]string{}
	for _, e := range res.Errors {
		errByPath[e.Path] = e.Message
	}
	for _, p := range []string{
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030210-1.LOG", // binary
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210302.log",                          // long line + truncated row
	} {
		if errByPath[p] == "" {
			t.Errorf("no error reported for %s; errors: %v", p, res.Errors)
		}
	}
	if !strings.Contains(errByPath["D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030210-1.LOG"], "binary") {
		t.Errorf("binary file error unclear: %q", errByPath["D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030210-1.LOG"])
	}
	for p, m := range errByPath {
		if strings.Contains(m, "EVILMARK") {
			t.Errorf("error for %s leaks content: %s", p, m)
		}
	}
	if len(res.Hosts) != 1 || res.Hosts[0].WorstStage != finding.StageExecution {
		t.Errorf("host summary: %+v", res.Hosts)
	}
}

func TestZipBundleInPlace(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add("inetpub/logs/LogFiles/W3SVC1/u_ex210302.log", iisHeader+iisLine("10:00:00", "/aspnet_client/EVILMARK.aspx"))
	add("../../evil/u_ex210302.log", iisHeader+iisLine("10:00:00", "/x/EVILMARK.aspx"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "triage.zip")
	if err := os.WriteFile(bundle, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, dir)
	res, err := Run(context.Background(), Config{Roots: []string{bundle}, Detectors: []*detect.Detector{markDetector()}, Correlators: []*detect.Correlator{}})
	if err != nil {
		t.Fatal(err)
	}
	if treeDigest(t, dir) != before {
		t.Fatal("the bundle's folder changed: something was extracted or written")
	}
	if len(res.Findings) != 1 || res.Findings[0].Evidence.Path != "inetpub/logs/LogFiles/W3SVC1/u_ex210302.log" || res.Findings[0].Evidence.Line != 5 {
		t.Fatalf("findings: %+v", res.Findings)
	}
	if len(res.Errors) == 0 {
		t.Error("zip-slip entry not reported")
	}
}

func TestDetectorPanicIsContained(t *testing.T) {
	root := t.TempDir()
	write(t, root, "W3SVC1/u_ex210302.log", iisHeader+iisLine("10:00:00", "/EVILMARK")+iisLine("10:00:01", "/EVILMARK2"))
	bad := markDetector()
	bad.ID = "TEST-PANIC"
	bad.Match = func(ev *event.Event) (detect.Hit, bool) { panic("boom") }
	res, err := Run(context.Background(), Config{Roots: []string{root}, Detectors: []*detect.Detector{bad, markDetector()}, Correlators: []*detect.Correlator{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 {
		t.Errorf("the healthy detector should still fire twice, got %d", len(res.Findings))
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "TEST-PANIC") {
		t.Errorf("panic not reported: %+v", res.Errors)
	}
}

func TestMissingRoot(t *testing.T) {
	_, err := Run(context.Background(), Config{Roots: []string{filepath.Join(t.TempDir(), "absent")}})
	if err == nil {
		t.Fatal("a missing root must stop the run")
	}
}

func TestMaxPerDetector(t *testing.T) {
	root := t.TempDir()
	var b strings.Builder
	b.WriteString(iisHeader)
	for i := 0; i < 50; i++ {
		b.WriteString(iisLine(fmt.Sprintf("10:00:%02d", i), "/EVILMARK"))
	}
	write(t, root, "W3SVC1/u_ex210302.log", b.String())
	res, err := Run(context.Background(), Config{Roots: []string{root}, MaxPerDetector: 10, Detectors: []*detect.Detector{markDetector()}, Correlators: []*detect.Correlator{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 10 || res.Suppressed["TEST-01"] != 40 {
		t.Errorf("kept %d, suppressed %v", len(res.Findings), res.Suppressed)
	}
}

func TestInventory(t *testing.T) {
	root := t.TempDir()
	write(t, root, "W3SVC1/u_ex210302.log", iisHeader+iisLine("10:00:00", "/a")+iisLine("23:59:59", "/b"))
	write(t, root, "W3SVC2/u_ex210301.log", iisHeader+iisLine("08:00:00", "/c"))
	res, err := Run(context.Background(), Config{Roots: []string{root}, Host: "ex01", Detectors: []*detect.Detector{markDetector()}, Correlators: []*detect.Correlator{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Inventory) != 1 {
		t.Fatalf("inventory: %+v", res.Inventory)
	}
	inv := res.Inventory[0]
	if inv.Host != "ex01" || inv.Family != "iis" || inv.Files != 2 || inv.Records != 3 ||
		inv.First.Format("2006-01-02 15:04:05") != "2021-03-02 08:00:00" || inv.Last.Format("2006-01-02 15:04:05") != "2021-03-02 23:59:59" {
		t.Errorf("inventory: %+v", inv)
	}
}
