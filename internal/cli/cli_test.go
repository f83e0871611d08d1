package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/golden"
)

const (
	compromised = "../../samples/compromised-ex2016"
	clean       = "../../samples/clean-ex2016"
	scanner     = "../../samples/scanner-ex2016"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func needSamples(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(compromised); err != nil {
		t.Skip("sample trees missing")
	}
}

func TestExitCodes(t *testing.T) {
	needSamples(t)
	missing := filepath.Join(t.TempDir(), "absent")
	yaraDir := t.TempDir()
	os.WriteFile(filepath.Join(yaraDir, "good.yar"), []byte(`rule Good { strings: $a = "x" condition: $a }`), 0o644)
	os.WriteFile(filepath.Join(yaraDir, "bad.yar"), []byte(`import "cuckoo" rule Cuckoo { condition: cuckoo.network.host(/x/) }`), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		out  string // substring of stdout
		err  string // substring of stderr
	}{
		{"no command", []string{"nope"}, ExitUsage, "", "unknown command"},
		{"no path", []string{"hunt"}, ExitUsage, "", "PATH"},
		{"missing path", []string{"hunt", missing}, ExitUsage, "", "absent"},
		{"bad format", []string{"hunt", "--format", "xml", compromised}, ExitUsage, "", "unknown format"},
		{"bad fail-on", []string{"hunt", "--fail-on", "severe", compromised}, ExitUsage, "", "fail-on"},
		{"bad flag", []string{"hunt", "--frobnicate", compromised}, ExitUsage, "", "frobnicate"},
		{"output inside evidence", []string{"hunt", "-o", filepath.Join(compromised, "out.json"), compromised}, ExitUsage, "", "never writes"},
		{"compromised", []string{"hunt", compromised}, ExitFindings, "VERDICT  Compromised: almost certain", ""},
		{"clean", []string{"hunt", clean}, ExitClean, "VERDICT  No evidence: unlikely", ""},
		{"assess compromised", []string{"assess", compromised}, ExitFindings, "VERDICT  Compromised: almost certain", ""},
		{"assess clean", []string{"assess", clean}, ExitClean, "cannot be ruled out", ""},
		{"assess scanner", []string{"assess", scanner}, ExitFindings, "VERDICT  Exploitation attempted", ""},
		{"assess scanner, fail on low stays", []string{"assess", "--fail-on", "critical", scanner}, ExitClean, "", ""},
		{"assess scanner, fail on state", []string{"assess", "--fail-on", "critical", "--fail-on-state", "attempted", scanner}, ExitFindings, "", ""},
		{"assess clean, fail on state", []string{"assess", "--fail-on-state", "scanned", clean}, ExitClean, "", ""},
		{"assess bad state", []string{"assess", "--fail-on-state", "pwned", clean}, ExitUsage, "", "fail-on-state"},
		{"assess no path", []string{"assess"}, ExitUsage, "", "PATH"},
		{"clean, fail on low", []string{"hunt", "--fail-on", "low", clean}, ExitFindings, "", ""},
		{"version", []string{"version"}, ExitClean, "exhunt", ""},
		{"rules list", []string{"rules", "list"}, ExitClean, "EXH-PL-", ""},
		{"rules test", []string{"rules", "test"}, ExitClean, " 0 failed", ""},
		{"rules list has file rules", []string{"rules", "list"}, ExitClean, "EXH-YARA-01", ""},
		{"rules test runs file samples", []string{"rules", "test"}, ExitClean, "8 file heuristics and 11 YARA pack rules", ""},
		{"validate needs rules", []string{"rules", "validate"}, ExitUsage, "", "--yara"},
		{"validate yara", []string{"rules", "validate", "--yara", yaraDir}, ExitFindings, "unsupported  " + filepath.ToSlash(filepath.Join(yaraDir, "bad.yar")) + ": Cuckoo: module", ""},
		{"validate yara counts", []string{"rules", "validate", "--yara", yaraDir}, ExitFindings, "loaded       1 YARA rules\nunsupported  1", ""},
		{"validate good yara", []string{"rules", "validate", "--yara", filepath.Join(yaraDir, "good.yar")}, ExitClean, "unsupported  0", ""},
		{"missing yara", []string{"hunt", "--yara", missing, clean}, ExitUsage, "", "absent"},
		{"no files", []string{"hunt", "--no-files", "--format", "csv", compromised}, ExitFindings, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
			if !strings.Contains(out, c.out) {
				t.Errorf("stdout lacks %q:\n%s", c.out, out)
			}
			if !strings.Contains(errs, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, errs)
			}
		})
	}
}

// The compromised sample must show every stage of the ProxyLogon chain,
// each pointing at a file and line.
func TestCompromisedSampleJSON(t *testing.T) {
	needSamples(t)
	code, out, _ := run(t, "hunt", "--format", "json", compromised)
	if code != ExitFindings {
		t.Fatalf("exit %d", code)
	}
	var doc finding.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	stages := map[finding.Stage]bool{}
	for _, f := range doc.Findings {
		stages[f.Stage] = true
		if f.Evidence.Path == "" || strings.Contains(f.Evidence.Path, `\`) || strings.HasPrefix(f.Evidence.Path, "/") {
			t.Errorf("%s: evidence path %q not relative with forward slashes", f.ID, f.Evidence.Path)
		}
		if f.Evidence.Line < 1 && f.Evidence.Record < 1 && f.Evidence.SHA256 == "" {
			t.Errorf("%s: neither a line, a record number nor a file hash", f.ID)
		}
	}
	for _, s := range []finding.Stage{finding.StageRecon, finding.StageExploit, finding.StageWrite, finding.StageExecution, finding.StageCredential, finding.StageCleanup} {
		if !stages[s] {
			t.Errorf("stage %s not found in the compromised sample", s)
		}
	}
	if len(doc.Hosts) != 1 || doc.Hosts[0].WorstSeverity != finding.Critical {
		t.Errorf("hosts: %+v", doc.Hosts)
	}
	if len(doc.Errors) != 0 {
		t.Errorf("the sample has no broken files, got errors: %+v", doc.Errors)
	}
}

func TestFormatsAgree(t *testing.T) {
	needSamples(t)
	_, js, _ := run(t, "hunt", "--format", "json", compromised)
	_, jl, _ := run(t, "hunt", "--format", "jsonl", compromised)
	_, cs, _ := run(t, "hunt", "--format", "csv", compromised)
	var doc finding.Document
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(jl), "\n")
	rows, err := csv.NewReader(strings.NewReader(cs)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) == 0 || len(lines) != len(doc.Findings) || len(rows) != len(doc.Findings)+1 {
		t.Errorf("json %d findings, jsonl %d lines, csv %d rows", len(doc.Findings), len(lines), len(rows))
	}
}

var volatile = regexp.MustCompile(`read in [0-9.]+[µmn]?s`)

// Golden text report of the compromised sample: what a newcomer sees.
func TestCompromisedSampleText(t *testing.T) {
	needSamples(t)
	_, out, _ := run(t, "hunt", "--no-color", compromised)
	golden.Check(t, "compromised.txt", []byte(volatile.ReplaceAllString(out, "read in X")))
}

func TestOutputFile(t *testing.T) {
	needSamples(t)
	dst := filepath.Join(t.TempDir(), "report.jsonl")
	code, out, _ := run(t, "hunt", "--format", "jsonl", "-o", dst, compromised)
	if code != ExitFindings || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	b, err := os.ReadFile(dst)
	if err != nil || len(b) == 0 {
		t.Fatalf("report file: %v, %d bytes", err, len(b))
	}
}

// File findings carry the file's hash, size and place, and --no-files
// leaves them out.
func TestCompromisedSampleFiles(t *testing.T) {
	needSamples(t)
	_, out, _ := run(t, "hunt", "--format", "json", compromised)
	var doc finding.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range doc.Findings {
		if f.Evidence.Source == "file" {
			n++
			if len(f.Evidence.SHA256) != 64 || f.Evidence.Size == 0 || f.Evidence.Fields["place"] == "" {
				t.Errorf("%s: file evidence %+v", f.ID, f.Evidence)
			}
		}
	}
	if n == 0 {
		t.Error("no file findings in the compromised sample")
	}
	_, out, _ = run(t, "hunt", "--format", "json", "--no-files", compromised)
	if strings.Contains(out, `"source":"file"`) || strings.Contains(out, `"family": "files"`) {
		t.Error("--no-files still reports files")
	}
}

// A JSON document written by hunt is re-assessed offline: same verdict,
// no evidence read, any report format.
func TestAssessJSONDocument(t *testing.T) {
	needSamples(t)
	dir := t.TempDir()
	doc := filepath.Join(dir, "hunt.json")
	if code, _, errs := run(t, "hunt", "--format", "json", "-o", doc, compromised); code != ExitFindings {
		t.Fatalf("hunt exit %d: %s", code, errs)
	}
	code, out, errs := run(t, "assess", "--format", "json", doc)
	if code != ExitFindings {
		t.Fatalf("assess exit %d: %s", code, errs)
	}
	var a, b finding.Document
	raw, _ := os.ReadFile(doc)
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	va, _ := json.Marshal(a.Hosts[0].Verdict)
	vb, _ := json.Marshal(b.Hosts[0].Verdict)
	if a.Hosts[0].Verdict == nil || string(va) != string(vb) {
		t.Errorf("re-assessed verdict differs:\n%s\n%s", va, vb)
	}
	if b.Hosts[0].Verdict.State != finding.StateCompromised {
		t.Errorf("state %s", b.Hosts[0].Verdict.State)
	}
	code, out, _ = run(t, "assess", "--no-color", doc)
	if code != ExitFindings || !strings.Contains(out, "VERDICT  Compromised") || !strings.Contains(out, "Technical overlap is not attribution") {
		t.Errorf("text re-assessment exit %d:\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema_version": 1, "hosts": [`), 0o644)
	if code, _, errs := run(t, "assess", bad); code != ExitUsage || !strings.Contains(errs, "not a readable") {
		t.Errorf("broken document: exit %d, %s", code, errs)
	}
}
