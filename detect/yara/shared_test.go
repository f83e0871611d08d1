package yara

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedDir returns ../shared beside the module root (or $EXHUNT_SHARED),
// skipping the test when it is absent: a fresh clone has none of it.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("EXHUNT_SHARED")
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Skip(err)
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				base = filepath.Join(dir, "..", "shared")
				break
			}
			if filepath.Dir(dir) == dir {
				t.Skip("module root not found")
			}
		}
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s absent: %v", p, err)
	}
	return p
}

// webshellRuleFiles are the signature-base files of the web-shell and
// Exchange subset.
var webshellRuleGlobs = []string{
	"apt_hafnium*.yar", "*webshell*.yar", "expl_proxy*.yar", "thor-webshells.yar",
	"gen_cn_webshells.yar", "apt_laudanum_webshells.yar", "cn_pentestset_webshells.yar",
	"apt_webshell_chinachopper.yar",
}

func webshellRuleFiles(t testing.TB) []string {
	dir := sharedDir(t, "signature-base/yara")
	seen := map[string]bool{}
	var out []string
	for _, g := range webshellRuleGlobs {
		m, err := filepath.Glob(filepath.Join(dir, g))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

func allRuleFiles(t testing.TB) []string {
	dir := sharedDir(t, "signature-base/yara")
	var out []string
	for _, g := range []string{"*.yar", "*.yara"} {
		m, _ := filepath.Glob(filepath.Join(dir, g))
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

func loadSources(t testing.TB, files []string) []Source {
	var srcs []Source
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, Source{Name: filepath.Base(f), Data: data})
	}
	return srcs
}

// corpusFiles lists every sample under shared/corpus (pos and neg).
func corpusFiles(t testing.TB) []string {
	dir := sharedDir(t, "corpus")
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, "MANIFEST.tsv") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// corpusVars are the external variables both engines get for a sample.
func corpusVars(path string) Vars {
	v := VarsForPath(path)
	v["filetype"] = ""
	v["owner"] = ""
	return v
}
