package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exchangeAt(build string) *httptest.Server {
	return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/owa/" {
			w.Header().Set("X-OWA-Version", build)
			w.Header().Set("X-FEServer", "EX01")
			w.Header().Set("Location", "/owa/auth/logon.aspx")
			w.WriteHeader(http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}))
}

func TestProbeCLI(t *testing.T) {
	vuln := exchangeAt("15.1.2106.2") // 2016 CU18 before Mar21SU
	defer vuln.Close()
	fixed := exchangeAt("15.2.1748.10") // 2019 CU15
	defer fixed.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "targets.txt")
	os.WriteFile(list, []byte(fixed.URL+"\nnot a target\n"+closed+"\n"), 0o644)

	fast := []string{"--no-progress", "--per-ip-rate", "0", "--timeout", "2s", "--host-timeout", "4s"}
	cases := []struct {
		name   string
		args   []string
		code   int
		lines  int
		errHas string
	}{
		{"vulnerable host", append([]string{"probe", vuln.URL, "-i", list}, fast...), ExitFindings, 3, "1 bad lines"},
		{"clean", append([]string{"probe", fixed.URL}, fast...), ExitClean, 1, "hosts        1"},
		{"not allowed is never contacted", append([]string{"probe", "192.0.2.1"}, fast...), ExitClean, 1, "not-allowed 1"},
		{"no targets", []string{"probe"}, ExitUsage, 0, "needs targets"},
		{"bad allow", []string{"probe", "--allow", "10.0.0.0/33", "127.0.0.1"}, ExitUsage, 0, "--allow"},
		{"bad port", []string{"probe", "-p", "0", "127.0.0.1"}, ExitUsage, 0, "bad port"},
		{"bad summary format", []string{"probe", "--summary-format", "xml", "127.0.0.1"}, ExitUsage, 0, "summary-format"},
		{"bad fail-on", []string{"probe", "--fail-on", "x", "127.0.0.1"}, ExitUsage, 0, "fail-on"},
		{"missing input file", []string{"probe", "-i", filepath.Join(dir, "absent")}, ExitUsage, 0, "absent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := run(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.errHas) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, c.code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if out == "" {
				lines = nil
			}
			if len(lines) != c.lines {
				t.Fatalf("%d JSONL lines, want %d:\n%s", len(lines), c.lines, out)
			}
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["status"] == nil || m["families"] == nil {
					t.Errorf("bad line %s: %v", l, err)
				}
			}
		})
	}
}

func TestProbeCLIFilesAndInterrupt(t *testing.T) {
	srv := exchangeAt("15.2.986.14")
	defer srv.Close()
	dir := t.TempDir()
	out, sum, res := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "sum.json"), filepath.Join(dir, "resume.json")
	args := []string{"probe", srv.URL, "--no-progress", "--per-ip-rate", "0", "-o", out, "--summary", sum, "--summary-format", "json", "--resume", res, "--fail-on", "potentially"}
	code, stdout, _ := run(t, args...)
	if code != ExitFindings || stdout != "" { // 2019 CU11 Nov21SU: ProxyNotShell open
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	b, _ := os.ReadFile(out)
	if strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), `"build":"15.2.986.14"`) {
		t.Errorf("output %s", b)
	}
	var s map[string]any
	b, _ = os.ReadFile(sum)
	if err := json.Unmarshal(b, &s); err != nil || s["hosts"].(float64) != 1 {
		t.Errorf("summary %s: %v", b, err)
	}
	// The rerun with the same resume file has nothing left to do.
	code, _, _ = run(t, args...)
	b, _ = os.ReadFile(out)
	if code != ExitClean || len(b) != 0 {
		t.Errorf("resumed rerun: exit %d, output %q", code, b)
	}

	// An interrupted run exits 130 and still writes its summary.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var o, e bytes.Buffer
	code = Run(ctx, []string{"probe", srv.URL, "--no-progress"}, &o, &e)
	if code != ExitInterrupted || !strings.Contains(e.String(), "INTERRUPTED") {
		t.Errorf("exit %d, stderr %s", code, e.String())
	}
}
