package hunt

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/sample"
)

// fileExpect is what each file mark kind of the sample trees must raise:
// every listed detector, at the listed severity or above (noise: below
// medium only).
var fileExpect = map[string]struct {
	ids []string
	min finding.Severity
}{
	"file.webshell.owa-auth":     {[]string{"EXH-YARA-01", "EXH-FILE-03"}, finding.High},
	"file.webshell.oab-dump":     {[]string{"EXH-FILE-01", "EXH-YARA-03", "EXH-YARA-01"}, finding.High},
	"file.compiled-shell":        {[]string{"EXH-FILE-04"}, finding.High},
	"file.credential.lsass-dump": {[]string{"EXH-FILE-05"}, finding.Critical},
	"file.collection.archive":    {[]string{"EXH-FILE-06"}, finding.Medium}, // raised: the host is compromised
	"file.attempt.um-crash":      {[]string{"EXH-FILE-08"}, finding.Medium},
	"noise.archive-vendor":       {[]string{"EXH-FILE-06"}, finding.Low},
}

// TestSampleFiles hunts the generated sample trees end to end (walker,
// file scanner, after-pass) and checks the file findings against the
// planted ground truth: the attackers' files found by the expected
// detectors, Exchange's own files silent, no finding on an unmarked file.
func TestSampleFiles(t *testing.T) {
	for _, name := range sample.Names() {
		t.Run(name, func(t *testing.T) {
			tr, err := sample.Generate(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := tr.Write(dir); err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), Config{Roots: []string{filepath.Join(dir, name)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Errorf("errors: %+v", res.Errors)
			}
			checkFileFindings(t, tr, res, "")
			inv := false
			for _, i := range res.Inventory {
				if i.Family == FilesFamily && i.Files > 0 && i.Bytes > 0 && i.Title == filesTitle {
					inv = true
				}
			}
			if !inv {
				t.Errorf("no files inventory: %+v", res.Inventory)
			}
		})
	}
}

// checkFileFindings compares file findings with the tree's file marks;
// prefix is prepended to mark paths (a zip's entry names).
func checkFileFindings(t *testing.T, tr *sample.Tree, res *Result, prefix string) {
	t.Helper()
	at := map[string][]finding.Finding{}
	for _, f := range res.Findings {
		if f.Evidence.Source != "file" {
			continue
		}
		if f.Evidence.SHA256 == "" || f.Evidence.Size == 0 || f.Evidence.Fields["place"] == "" || f.Evidence.Excerpt == "" {
			t.Errorf("%s %s: incomplete file evidence %+v", f.ID, f.Evidence.Path, f.Evidence)
		}
		at[f.Evidence.Path] = append(at[f.Evidence.Path], f)
	}
	marked := map[string]bool{}
	for _, m := range tr.Marks {
		if m.Source != "file" {
			continue
		}
		p := prefix + m.Path
		marked[p] = true
		fs := at[p]
		if strings.HasPrefix(m.Kind, "benign.") {
			for _, f := range fs {
				t.Errorf("look-alike %s (%s) flagged by %s %s", m.Kind, p, f.ID, f.Title)
			}
			continue
		}
		want, ok := fileExpect[m.Kind]
		if !ok {
			t.Errorf("mark kind %s has no expectation", m.Kind)
			continue
		}
		for _, id := range want.ids {
			var got *finding.Finding
			for i := range fs {
				if fs[i].ID == id {
					got = &fs[i]
				}
			}
			switch {
			case got == nil:
				t.Errorf("%s (%s): no %s; got %v", p, m.Kind, id, idsOf(fs))
			case strings.HasPrefix(m.Kind, "noise.") && got.Severity >= finding.Medium:
				t.Errorf("%s (%s): %s at %s, want below medium", p, m.Kind, id, got.Severity)
			case got.Severity < want.min:
				t.Errorf("%s (%s): %s at %s, want %s or above", p, m.Kind, id, got.Severity, want.min)
			}
		}
	}
	for p, fs := range at {
		if !marked[p] {
			t.Errorf("file finding on an unmarked file %s: %v", p, idsOf(fs))
		}
	}
}

func idsOf(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"/"+f.Severity.String())
	}
	sort.Strings(out)
	return out
}

// TestSampleFilesZip reads the compromised tree as a triage zip, in place:
// the same file findings come out, with entry names as paths.
func TestSampleFilesZip(t *testing.T) {
	tr, err := sample.Generate(sample.Compromised)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "EX01.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, file := range tr.Files {
		w, err := zw.Create("EX01/" + file.Path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(file.Data)
	}
	zw.Close()
	f.Close()
	res, err := Run(context.Background(), Config{Roots: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %+v", res.Errors)
	}
	checkFileFindings(t, tr, res, "EX01/")
}

// TestUserRulesAndIndicators: --ioc and --yara add findings, the rule and
// indicator files inside the evidence are never scanned, and --no-files
// turns the file hunt off.
func TestUserRulesAndIndicators(t *testing.T) {
	root := t.TempDir()
	tool := "Dropped tool body, exhunt test fixture\n"
	sum := sha256.Sum256([]byte(tool))
	write(t, root, "C/Windows/Temp/cw.exe", tool)
	write(t, root, "case/iocs.txt", "# my list\n"+hex.EncodeToString(sum[:])+";cw.exe dropper (case 42)\nnot-a-hash\n")
	write(t, root, "case/rules/tool.yar", `rule Case_Tool { meta: score = 80 strings: $a = "Dropped tool body" condition: $a }`)
	res, err := Run(context.Background(), Config{Roots: []string{root},
		IOCPaths: []string{filepath.Join(root, "case/iocs.txt")}, YaraPaths: []string{filepath.Join(root, "case/rules")}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range res.Findings {
		if f.Evidence.Source == "file" {
			got[f.Evidence.Path+" "+f.ID] = f.Severity.String()
			if f.Evidence.Path != "C/Windows/Temp/cw.exe" {
				t.Errorf("finding on %s (rule and indicator files must not be scanned)", f.Evidence.Path)
			}
		}
	}
	if got["C/Windows/Temp/cw.exe EXH-FILE-00"] != "high" || len(got) != 2 {
		t.Errorf("findings %v", got)
	}
	problem := false
	for _, e := range res.Errors {
		if strings.Contains(e.Message, "indicator not loaded") && strings.Contains(e.Path, "iocs.txt:3") {
			problem = true
		}
	}
	if !problem {
		t.Errorf("bad indicator line not reported: %+v", res.Errors)
	}
	res, err = Run(context.Background(), Config{Roots: []string{root}, NoFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Evidence.Source == "file" {
			t.Errorf("--no-files still scanned %s", f.Evidence.Path)
		}
	}
}

// TestSampleFilesUntouched: hunting files changes nothing in the tree.
func TestSampleFilesUntouched(t *testing.T) {
	tr, _ := sample.Generate(sample.Compromised)
	dir := t.TempDir()
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, sample.Compromised)
	before := treeDigest(t, root)
	if _, err := Run(context.Background(), Config{Roots: []string{root}, Full: true}); err != nil {
		t.Fatal(err)
	}
	if treeDigest(t, root) != before {
		t.Fatal("hunting changed the evidence tree")
	}
}
