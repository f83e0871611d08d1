package files

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/detect/files/pack"
	"github.com/exhunt/exhunt/finding"
)

func TestSeverityFromMeta(t *testing.T) {
	for _, tt := range []struct {
		meta map[string]any
		want finding.Severity
	}{
		{map[string]any{"score": int64(90)}, finding.High},
		{map[string]any{"score": int64(75)}, finding.High},
		{map[string]any{"score": int64(74)}, finding.Medium},
		{map[string]any{"score": int64(60)}, finding.Medium},
		{map[string]any{"score": int64(59)}, finding.Low},
		{map[string]any{"score": int64(40)}, finding.Low},
		{map[string]any{"score": int64(35)}, finding.Info},
		{map[string]any{"score": "80"}, finding.High},
		{map[string]any{}, finding.Medium},
		{map[string]any{"score": true}, finding.Medium},
		{map[string]any{"severity": "Critical", "score": int64(40)}, finding.Critical},
		{map[string]any{"severity": "bogus", "score": int64(40)}, finding.Low},
	} {
		if got, _ := SeverityFromMeta(tt.meta); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.meta, got, tt.want)
		}
	}
}

func TestRuleAdvisory(t *testing.T) {
	a := RuleAdvisory("rules/gen_webshells.yar", "WEBSHELL_ASP_Generic", nil, map[string]any{"description": "ASP webshell", "score": int64(60), "reference": "Internal Research"})
	b := RuleAdvisory("rules/gen_webshells.yar", "WEBSHELL_ASP_Generic", nil, map[string]any{"description": "ASP webshell", "score": int64(60)})
	if a.ID != b.ID || !strings.HasPrefix(a.ID, "YARA-") || len(a.ID) != 13 {
		t.Errorf("ids %q %q", a.ID, b.ID)
	}
	if a.Rule != "rules/gen_webshells.yar:WEBSHELL_ASP_Generic" || a.RuleFile != "rules/gen_webshells.yar" || a.Stage != finding.StageWrite ||
		a.Severity != finding.Medium || len(a.Techniques) != 1 || a.Techniques[0] != "T1505.003" || a.Title != "ASP webshell (YARA WEBSHELL_ASP_Generic)" {
		t.Errorf("advisory %+v", a)
	}
	c := RuleAdvisory("x.yar", "HKTL_Mimikatz", nil, nil)
	if len(c.Techniques) != 0 || c.Title != "YARA rule HKTL_Mimikatz" {
		t.Errorf("non-shell rule: %+v", c)
	}
	d := RuleAdvisory("x.yar", "R", nil, map[string]any{"exhunt_id": "EXH-YARA-77", "description": "d", "stage": "credential", "cve": "CVE-1, CVE-2", "technique": "T1, T2"})
	if d.ID != "EXH-YARA-77" || d.Title != "d" || d.Stage != finding.StageCredential || len(d.CVEs) != 2 || d.Techniques[1] != "T2" {
		t.Errorf("pack-style rule: %+v", d)
	}
}

// Every pack rule carries its exhunt metadata, with a unique id.
func TestPackAdvisories(t *testing.T) {
	srcs, err := pack.Sources()
	if err != nil {
		t.Fatal(err)
	}
	y, err := LoadYara(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if y.Pack == 0 || y.Pack != y.Report.Loaded {
		t.Fatalf("pack: %d rules, report %+v", y.Pack, y.Report)
	}
	advs, err := PackAdvisories()
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != y.Pack {
		t.Errorf("%d advisories for %d rules", len(advs), y.Pack)
	}
	ids := map[string]bool{}
	idRe := regexp.MustCompile(`^EXH-YARA-\d\d$`)
	for _, a := range advs {
		if !idRe.MatchString(a.ID) || ids[a.ID] || a.Title == "" || len(a.References) == 0 || len(a.Techniques) == 0 || a.Severity < finding.Medium || !strings.HasPrefix(a.RuleFile, "pack:rules/") {
			t.Errorf("pack advisory %+v", a)
		}
		ids[a.ID] = true
	}
	_ = srcs
}

func TestPackSamples(t *testing.T) {
	res, err := CheckPackSamples(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 {
		t.Fatal("no samples")
	}
	for _, r := range res {
		if !r.OK() {
			t.Errorf("%s %s: want match=%v, got %v, err %v", r.Rule, r.Name, r.Match, r.Got, r.Err)
		}
	}
}

// TestPackAgainstLibyara runs the pack with libyara's command line, when it
// is installed, over every sample, and checks that both engines name the
// same rules.
func TestPackAgainstLibyara(t *testing.T) {
	bin, err := exec.LookPath("yara")
	if err != nil {
		t.Skip("yara command not installed")
	}
	dir := t.TempDir()
	srcs, _ := pack.Sources()
	var ruleFiles []string
	for _, s := range srcs {
		p := filepath.Join(dir, filepath.Base(s.Name))
		os.WriteFile(p, s.Data, 0o644)
		ruleFiles = append(ruleFiles, p)
	}
	ss, _ := pack.Samples()
	y, _ := LoadYara(nil, false)
	e, _ := NewEngine(Config{Yara: y})
	for _, s := range ss {
		p := filepath.Join(dir, "sample")
		os.WriteFile(p, s.Data, 0o644)
		out, err := exec.Command(bin, append(append([]string{"-w"}, ruleFiles...), p)...).Output()
		if err != nil {
			t.Fatalf("yara: %v", err)
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				want = append(want, f[0])
			}
		}
		var got []string
		_, err = e.NewScanner().Scan(context.Background(), memFile("s", "other", s.Data), func(f finding.Finding) {
			got = append(got, f.Evidence.Fields["rule"][strings.LastIndexByte(f.Evidence.Fields["rule"], ':')+1:])
		})
		sort.Strings(want)
		sort.Strings(got)
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: exhunt %v, libyara %v (%v)", s.Name, got, want, err)
		}
	}
}

func TestLoadYaraUserRules(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.YARA"), []byte(`rule Good { strings: $a = "x" condition: $a }`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yar"), []byte(`import "cuckoo" rule Cuckoo { condition: cuckoo.network.host(/x/) }`), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.yar"), []byte(`rule {`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(`rule Ignored { condition: true }`), 0o644)
	y, err := LoadYara([]string{dir}, true)
	if err != nil {
		t.Fatal(err)
	}
	if y.Pack != 0 || y.Report.Loaded != 1 || y.Report.Unsupported != 1 || len(y.Report.Files) != 3 {
		t.Errorf("report %+v", y.Report)
	}
	list := strings.Join(y.Report.UnsupportedList(), "\n")
	if !strings.Contains(list, "cuckoo") || !strings.Contains(list, "broken.yar") {
		t.Errorf("unsupported list:\n%s", list)
	}
	if _, err := LoadYara([]string{filepath.Join(dir, "absent")}, true); err == nil {
		t.Error("missing path accepted")
	}
}
