package yara

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// knownUnsupported lists rules of the web-shell subset that may stay
// unsupported, with the reason. It is empty: every rule loads.
var knownUnsupported = map[string]string{}

// TestSignatureBaseWebshellSubset compiles the web-shell and Exchange files
// of signature-base and fails if any rule does not load.
func TestSignatureBaseWebshellSubset(t *testing.T) {
	rules, rep := Compile(loadSources(t, webshellRuleFiles(t)))
	t.Logf("web-shell subset: %d files, %d rules loaded, %d unsupported", len(rep.Files), rep.Loaded, rep.Unsupported)
	for _, f := range rep.Files {
		if f.Err != "" {
			t.Errorf("%s: %s", f.Name, f.Err)
		}
		for _, r := range f.Rules {
			if r.Loaded {
				continue
			}
			key := f.Name + ":" + r.Rule
			if why, ok := knownUnsupported[key]; ok {
				t.Logf("known unsupported %s: %s (%s)", key, r.Reason, why)
				continue
			}
			t.Errorf("unsupported %s: %s", key, r.Reason)
		}
	}
	// Every rule must also evaluate: scan a sample that reaches the
	// conditions of all of them.
	sc := rules.NewScanner()
	if _, err := sc.Scan([]byte("<%@ Page Language=\"C#\" %><% eval(Request[\"x\"],\"unsafe\"); %>"), nil); err != nil {
		t.Fatal(err)
	}
}

// TestSignatureBaseAll compiles every signature-base file and reports what
// does not load, grouped by reason (rules using pe features we lack).
func TestSignatureBaseAll(t *testing.T) {
	files := allRuleFiles(t)
	_, rep := Compile(loadSources(t, files))
	t.Logf("all of signature-base: %d files, %d rules loaded, %d unsupported", len(rep.Files), rep.Loaded, rep.Unsupported)
	reasons := map[string]int{}
	for _, f := range rep.Files {
		if f.Err != "" {
			t.Errorf("%s: %s", f.Name, f.Err)
		}
		for _, r := range f.Rules {
			if !r.Loaded {
				reasons[r.Reason]++
			}
		}
	}
	var lines []string
	for k, v := range reasons {
		lines = append(lines, fmt.Sprintf("%5d  %s", v, k))
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		t.Logf("unsupported by reason:\n%s", strings.Join(lines, "\n"))
	}
}
