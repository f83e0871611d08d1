package sigma

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/exhunt/exhunt/finding"
)

const okHeader = "title: t\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n    product: windows\n    category: process_creation\n"

// TestValidation: each broken rule is refused with an error naming the
// file and the field, and classified as invalid or unsupported.
func TestValidation(t *testing.T) {
	cases := []struct {
		name, src string
		unsup     bool
		want      string // exact error text, or a substring when it starts with "~"
	}{
		{"unknown modifier", okHeader + "detection:\n    selection:\n        Image|foo: x\n    condition: selection\n", false,
			`rules/x.yml: detection.selection.Image|foo: unknown modifier "foo"`},
		{"missing title", "id: 1\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n", false, "rules/x.yml: title: missing"},
		{"missing id", "title: t\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n", false, "rules/x.yml: id: missing"},
		{"missing logsource", "title: t\nid: x\ndetection: {s: {a: b}, condition: s}\n", false, "rules/x.yml: logsource: missing"},
		{"missing detection", okHeader, false, "rules/x.yml: detection: missing"},
		{"missing condition", okHeader + "detection:\n    s:\n        a: b\n", false, "rules/x.yml: detection.condition: missing"},
		{"bad level", okHeader + "level: severe\ndetection: {s: {a: b}, condition: s}\n", false, "~level: unknown level \"severe\""},
		{"bad status", okHeader + "status: beta\ndetection: {s: {a: b}, condition: s}\n", false, "~status: unknown status \"beta\""},
		{"unknown identifier", okHeader + "detection:\n    s:\n        a: b\n    condition: s and t\n", false, `rules/x.yml: detection.condition: unknown identifier "t"`},
		{"pattern matches nothing", okHeader + "detection:\n    s:\n        a: b\n    condition: 1 of x*\n", false, "~detection.condition: 1 of x*: no selection matches"},
		{"unbalanced", okHeader + "detection:\n    s:\n        a: b\n    condition: (s\n", false, "~detection.condition: missing ')'"},
		{"dangling and", okHeader + "detection:\n    s:\n        a: b\n    condition: s and\n", false, "~detection.condition: condition ends early"},
		{"bare wildcard id", okHeader + "detection:\n    s1:\n        a: b\n    condition: s*\n", false, "~needs \"1 of\""},
		{"two match modifiers", okHeader + "detection:\n    s:\n        a|contains|startswith: b\n    condition: s\n", false, "~exclude each other"},
		{"bad regex", okHeader + "detection:\n    s:\n        a|re: '(ab'\n    condition: s\n", false, "~detection.s.a|re: bad regular expression"},
		{"lookahead", okHeader + "detection:\n    s:\n        a|re: 'a(?=b)'\n    condition: s\n", true, "~not supported by Go RE2"},
		{"backreference", okHeader + "detection:\n    s:\n        a|re: '(a)\\1'\n    condition: s\n", true, "~not supported by Go RE2"},
		{"re flag without re", okHeader + "detection:\n    s:\n        a|i: x\n    condition: s\n", false, "~need the \"re\" modifier"},
		{"unknown placeholder", okHeader + "detection:\n    s:\n        a|expand: '%admins%'\n    condition: s\n", true, "~placeholder %admins% has no value"},
		{"timestamp modifier", okHeader + "detection:\n    s:\n        a|hour: 3\n    condition: s\n", true, "~timestamp modifier \"hour\""},
		{"aggregation", okHeader + "detection:\n    s:\n        a: b\n    condition: s | count() > 5\n", true, "~aggregation"},
		{"near", okHeader + "detection:\n    s:\n        a: b\n    t:\n        c: d\n    condition: s near t\n", true, "~near"},
		{"base64 wildcard", okHeader + "detection:\n    s:\n        a|base64: 'x*'\n    condition: s\n", false, "~base64"},
		{"bad cidr", okHeader + "detection:\n    s:\n        a|cidr: '10.0.0/8'\n    condition: s\n", false, "~bad CIDR"},
		{"exists not bool", okHeader + "detection:\n    s:\n        a|exists: yes please\n    condition: s\n", false, "~wants true or false"},
		{"gt not number", okHeader + "detection:\n    s:\n        a|gt: many\n    condition: s\n", false, "~want a number"},
		{"empty selection", okHeader + "detection:\n    s: []\n    condition: s\n", false, "~detection.s: empty list"},
		{"null selection", okHeader + "detection:\n    s:\n    condition: s\n", false, "~detection.s: empty selection"},
		{"nested map value", okHeader + "detection:\n    s:\n        a:\n            b: c\n    condition: s\n", false, "~detection.s.a: want a value or a list of values"},
		{"duplicate field", okHeader + "detection:\n    s:\n        a: b\n        a: c\n    condition: s\n", false, "~defined twice"},
		{"null with modifier", okHeader + "detection:\n    s:\n        a|contains: null\n    condition: s\n", false, "~null cannot take value modifiers"},
		{"exhunt bad stage", okHeader + "exhunt: {stage: pwned}\ndetection: {s: {a: b}, condition: s}\n", false, "~exhunt.stage: unknown stage \"pwned\""},
		{"exhunt unknown key", okHeader + "exhunt: {colour: red}\ndetection: {s: {a: b}, condition: s}\n", false, "~exhunt.colour: unknown attribute"},
		{"tags not strings", okHeader + "tags: {a: b}\ndetection: {s: {a: b}, condition: s}\n", false, "~tags: want a list of strings"},
		{"not a mapping", "- a\n- b\n", false, "rules/x.yml: document is a list, not a mapping"},
		{"yaml syntax", "title: [unclosed\n", false, "~rules/x.yml: YAML:"},
		{"correlation without type", "title: c\nid: c1\ncorrelation:\n    rules: [a]\n    timespan: 5m\n", false, "~correlation.type: missing"},
		{"correlation value_sum", "title: c\nid: c1\ncorrelation:\n    type: value_sum\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 3}\n", true, "~not supported"},
		{"correlation bad timespan", "title: c\nid: c1\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 5 minutes\n    condition: {gte: 3}\n", false, "~correlation.timespan: bad timespan"},
		{"correlation value_count without field", "title: c\nid: c1\ncorrelation:\n    type: value_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 3}\n", false, "~correlation.condition.field: missing"},
		{"filter without rules", "title: f\nid: f1\nlogsource: {product: windows}\nfilter:\n    s: {a: b}\n    condition: not s\n", false, "~filter.rules: missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lr := ParseFile("rules/x.yml", []byte(tc.src))
			errs := lr.Invalid
			if tc.unsup {
				errs = lr.Unsupported
			}
			if len(lr.Loaded)+len(lr.Correlations)+len(lr.Filters) != 0 || len(errs) != 1 {
				t.Fatalf("loaded %d, invalid %v, unsupported %v", len(lr.Loaded), lr.Invalid, lr.Unsupported)
			}
			got := errs[0].Error()
			if want, ok := strings.CutPrefix(tc.want, "~"); ok {
				if !strings.Contains(got, want) {
					t.Errorf("error %q does not contain %q", got, want)
				}
			} else if got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMultiDocument(t *testing.T) {
	src := okHeader + "detection:\n    s:\n        Image: a.exe\n    condition: s\n---\n" +
		"title: second\nid: 22222222-2222-3333-4444-555555555555\nlogsource: {product: windows, service: security}\ndetection:\n    s:\n        Image|bogus: a\n    condition: s\n---\n" +
		"title: third\nid: 33333333-2222-3333-4444-555555555555\nlogsource: {product: windows, service: security}\ndetection:\n    s:\n        EventID: 4688\n    condition: s\n"
	lr := ParseFile("multi.yml", []byte(src))
	if len(lr.Loaded) != 2 || len(lr.Invalid) != 1 {
		t.Fatalf("loaded %d invalid %v", len(lr.Loaded), lr.Invalid)
	}
	if got := lr.Invalid[0].Error(); got != `multi.yml#2: detection.s.Image|bogus: unknown modifier "bogus"` {
		t.Errorf("got %q", got)
	}
	if lr.Loaded[1].Doc != 3 || lr.Loaded[1].Title != "third" {
		t.Errorf("third document: %+v", lr.Loaded[1])
	}
}

func TestActionGlobal(t *testing.T) {
	src := "action: global\ntitle: shared\nid: 44444444-2222-3333-4444-555555555555\nlogsource:\n    product: windows\n    category: process_creation\n" +
		"detection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel and x\n---\ndetection:\n    x:\n        CommandLine|contains: whoami\n"
	r := mustRule(t, src)
	if r.Title != "shared" || !fires(t, r, sysmon1(t, "Image", `C:\cmd.exe`, "CommandLine", "whoami /all")) || fires(t, r, sysmon1(t, "Image", `C:\cmd.exe`)) {
		t.Errorf("global document not merged: %+v", r)
	}
}

// TestHostileYAML: bombs and garbage give per-file errors, quickly.
func TestHostileYAML(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	bomb.WriteString(okHeader + "detection:\n    s:\n        Image: *a11\n    condition: s\n")
	var wide strings.Builder
	wide.WriteString("m: &m {")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&wide, "k%d: v, ", i)
	}
	wide.WriteString("z: v}\n" + okHeader + "detection:\n    s: [" + strings.Repeat("*m, ", 5000) + "*m]\n    condition: s\n")
	deep := okHeader + "detection:\n    s:\n        Image: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n    condition: s\n"
	keys := okHeader + "detection:\n    s: &s\n        Image: x\n    t: {<<: *s}\n    condition: s or t\n"
	cases := map[string]string{
		"alias bomb":  bomb.String(),
		"alias fan":   wide.String(),
		"deep nest":   deep,
		"merge keys":  keys,
		"binary":      "\x00\x01\x02\xff\xfe title: x",
		"tabs":        "title:\tx\n\tid: y\n",
		"huge scalar": "title: " + strings.Repeat("A", 1<<20) + "\n",
		"only dashes": "---\n---\n---\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			lr := ParseFile("bomb.yml", []byte(src))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			for _, e := range lr.Invalid {
				if e.Path != "bomb.yml" || e.Reason == "" {
					t.Errorf("error without file or reason: %+v", e)
				}
			}
			t.Logf("loaded %d, invalid %v", len(lr.Loaded), lr.Invalid)
		})
	}
	// The walker never expands nested aliases (billion laughs fails on
	// shape), and a fan of aliases to one big mapping runs out of budget.
	lr := ParseFile("bomb.yml", []byte(bomb.String()))
	if len(lr.Loaded) != 0 || len(lr.Invalid) != 1 {
		t.Errorf("alias bomb: loaded %d, invalid %v", len(lr.Loaded), lr.Invalid)
	}
	lr = ParseFile("bomb.yml", []byte(wide.String()))
	if len(lr.Loaded) != 0 || len(lr.Invalid) != 1 || !strings.Contains(lr.Invalid[0].Reason, "too many YAML nodes") {
		t.Errorf("alias fan: loaded %d, invalid %v", len(lr.Loaded), lr.Invalid)
	}
	big := make([]byte, MaxFileSize+1)
	if lr := ParseFile("big.yml", big); len(lr.Invalid) != 1 || !strings.Contains(lr.Invalid[0].Reason, "limit") {
		t.Errorf("oversized file: %v", lr.Invalid)
	}
}

func TestLoadFS(t *testing.T) {
	rule := func(id, title string) string {
		return "title: " + title + "\nid: " + id + "\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 1102}, condition: s}\n"
	}
	fsys := fstest.MapFS{
		"r/a.yml":         {Data: []byte(rule("aaaaaaaa-0000-0000-0000-000000000000", "a"))},
		"r/sub/b.yaml":    {Data: []byte(rule("bbbbbbbb-0000-0000-0000-000000000000", "b"))},
		"r/sub/dup.yml":   {Data: []byte(rule("aaaaaaaa-0000-0000-0000-000000000000", "dup"))},
		"r/readme.md":     {Data: []byte("# not a rule")},
		"r/a.samples.yml": {Data: []byte("- {match: true, event: {EventID: 1102}}")},
		"r/broken.yml":    {Data: []byte("title: [")},
		"r/filter.yml":    {Data: []byte("title: f\nid: f1\nlogsource: {product: windows, service: security}\nfilter:\n    rules: [nope]\n    s: {a: b}\n    condition: not s\n")},
		"r/corr.yml":      {Data: []byte("title: c\nid: c1\ncorrelation:\n    type: event_count\n    rules: [bbbbbbbb-0000-0000-0000-000000000000]\n    group-by: [Computer]\n    timespan: 1h\n    condition: {gte: 3}\n")},
		"r/corr-bad.yml":  {Data: []byte("title: c\nid: c2\ncorrelation:\n    type: event_count\n    rules: [missing-rule]\n    timespan: 1h\n    condition: {gte: 3}\n")},
	}
	lr := Load(fsys, "r")
	if len(lr.Loaded) != 2 || len(lr.Correlations) != 1 || len(lr.Filters) != 0 {
		t.Fatalf("loaded %d correlations %d filters %d; invalid %v", len(lr.Loaded), len(lr.Correlations), len(lr.Filters), lr.Invalid)
	}
	want := []string{
		`r/broken.yml: YAML:`,
		`r/corr-bad.yml: correlation.rules[0]: unknown rule "missing-rule"`,
		`r/filter.yml: filter.rules[0]: unknown rule "nope"`,
		`r/sub/dup.yml: id: duplicate id, first loaded from r/a.yml`,
	}
	if len(lr.Invalid) != len(want) {
		t.Fatalf("invalid %v", lr.Invalid)
	}
	for i, w := range want {
		if !strings.HasPrefix(lr.Invalid[i].Error(), w) {
			t.Errorf("invalid[%d] = %q, want prefix %q", i, lr.Invalid[i].Error(), w)
		}
	}
}

func TestAdvisory(t *testing.T) {
	src := "title: Web shell write\nid: 0E95725D-7320-415d-80f7-004da920fc11\nlevel: high\ndescription: '  Detects a write.  '\n" +
		"references: [https://example.com/a]\ntags:\n    - attack.persistence\n    - attack.t1505.003\n    - cve.2021-26857\n    - attack.initial-access\n" +
		"logsource: {product: windows, category: file_event}\ndetection: {s: {TargetFilename|endswith: .aspx}, condition: s}\n"
	r := mustRule(t, src)
	a := r.Advisory()
	if a.ID != "SIGMA-0e95725d" || a.Title != "Web shell write" || a.Description != "Detects a write." || a.Severity != finding.High ||
		a.Stage != finding.StageWrite || strings.Join(a.Techniques, ",") != "T1505.003" || strings.Join(a.CVEs, ",") != "CVE-2021-26857" ||
		a.Rule != r.ID || a.RuleFile != "test.yml" || len(a.References) != 1 {
		t.Errorf("advisory %+v", a)
	}
	withMeta := strings.Replace(src, "level: high\n", "level: high\nexhunt: {id: EXH-EV-01, stage: credential, severity: critical, campaign: HAFNIUM, cves: [cve-2021-26855]}\n", 1)
	a = mustRule(t, withMeta).Advisory()
	if a.ID != "EXH-EV-01" || a.Stage != finding.StageCredential || a.Severity != finding.Critical || a.Campaign != "HAFNIUM" || strings.Join(a.CVEs, ",") != "CVE-2021-26855" {
		t.Errorf("exhunt attribute ignored: %+v", a)
	}
	stages := []struct {
		tags []string
		want finding.Stage
	}{
		{[]string{"attack.reconnaissance"}, finding.StageRecon},
		{[]string{"attack.initial_access"}, finding.StageExploit},
		{[]string{"attack.execution"}, finding.StageExecution},
		{[]string{"attack.persistence"}, finding.StageExecution},
		{[]string{"attack.persistence", "attack.t1505.003"}, finding.StageWrite},
		{[]string{"attack.credential-access", "attack.t1003.001"}, finding.StageCredential},
		{[]string{"attack.exfiltration"}, finding.StageCollection},
		{[]string{"attack.collection", "attack.execution"}, finding.StageCollection},
		{[]string{"attack.defense-evasion", "attack.t1070.001"}, finding.StageCleanup},
		{[]string{"attack.defense-impairment", "attack.t1685.005"}, finding.StageCleanup},
		{[]string{"attack.defense-evasion", "attack.t1036"}, finding.StageExecution},
		{nil, finding.StageExecution},
	}
	for _, s := range stages {
		if got := stageOf(s.tags, tagTechniques(s.tags)); got != s.want {
			t.Errorf("stage of %v = %v, want %v", s.tags, got, s.want)
		}
	}
	for level, want := range map[string]finding.Severity{"informational": finding.Info, "low": finding.Low, "medium": finding.Medium, "high": finding.High, "critical": finding.Critical} {
		if got, ok := severityOf(level); !ok || got != want {
			t.Errorf("severity of %s = %v", level, got)
		}
	}
}
