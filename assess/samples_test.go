package assess_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/assess"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/hunt"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func huntSample(t *testing.T, name string) *finding.Document {
	t.Helper()
	root := filepath.Join("..", "samples", name)
	res, err := hunt.Run(context.Background(), hunt.Config{Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hosts) != 1 {
		t.Fatalf("%d hosts", len(res.Hosts))
	}
	assess.Assess(&res.Document, assess.Options{Now: now})
	return &res.Document
}

func rules(v *finding.Verdict) string {
	var ids []string
	for _, r := range v.Reasons {
		ids = append(ids, r.Rule)
	}
	return strings.Join(ids, " ")
}

func TestCompromisedSample(t *testing.T) {
	doc := huntSample(t, "compromised-ex2016")
	v := doc.Hosts[0].Verdict
	if v.State != finding.StateCompromised || v.Likelihood != finding.AlmostCertain {
		t.Fatalf("verdict %s %s: %s", v.State, v.Likelihood, v.Summary)
	}
	for _, want := range []string{"A-SSRF-CHAIN", "A-SHELL-USED", "A-LSASS-EXCH", "A-PROC-CHILD"} {
		if !strings.Contains(rules(v), want) {
			t.Errorf("reasons %s lack %s", rules(v), want)
		}
	}
	if !strings.Contains(v.Summary, "SSRF chain") || !strings.Contains(v.Summary, "web shell") {
		t.Errorf("summary: %s", v.Summary)
	}
	if v.Exposure == nil || v.Exposure.Families[0].Status != "vulnerable" {
		t.Errorf("ProxyLogon exposure: %+v", v.Exposure)
	}
	steps := map[string]bool{}
	for _, e := range v.Timeline {
		steps[e.Step] = true
	}
	for _, s := range []string{assess.StepScan, assess.StepSSRF, assess.StepAuthBypass, assess.StepShellWritten, assess.StepShellUsed, assess.StepCredential, assess.StepStaging, assess.StepCleanup} {
		if !steps[s] {
			t.Errorf("timeline lacks step %s", s)
		}
	}
	if v.Tradecraft == nil || len(v.Tradecraft.Matches) == 0 || v.Tradecraft.Caveat != assess.Caveat {
		t.Errorf("tradecraft %+v", v.Tradecraft)
	}
}

func TestCleanSample(t *testing.T) {
	v := huntSample(t, "clean-ex2016").Hosts[0].Verdict
	if v.State != finding.StateNoEvidence {
		t.Fatalf("verdict %s %s: %s (%s)", v.State, v.Likelihood, v.Summary, rules(v))
	}
	// One day of logs: every window is short, and the warnings say so.
	if len(v.Warnings) != 4 || !strings.Contains(v.Warnings[0], "ProxyLogon") || !strings.Contains(v.Warnings[0], "cannot be ruled out") {
		t.Errorf("warnings %q", v.Warnings)
	}
	if v.Likelihood != finding.Unlikely || !strings.Contains(rules(v), "N-BACKGROUND") {
		t.Errorf("%s, reasons %s", v.Likelihood, rules(v))
	}
}

func TestScannerSample(t *testing.T) {
	doc := huntSample(t, "scanner-ex2016")
	v := doc.Hosts[0].Verdict
	if v.State != finding.StateAttempted && v.State != finding.StateScanned {
		t.Fatalf("verdict %s %s: %s", v.State, v.Likelihood, v.Summary)
	}
	if v.Score >= 55 {
		t.Errorf("score %d for a scanned server", v.Score)
	}
	// Build evidence from every source the tree carries.
	src := map[string]bool{}
	for _, b := range doc.Hosts[0].Builds {
		src[b.Source] = true
	}
	for _, s := range []string{hunt.SightHTTPProxy, hunt.SightRps, hunt.SightIISPath, hunt.SightFolder, hunt.SightExSetup} {
		if !src[s] {
			t.Errorf("no %s build sighting", s)
		}
	}
	if v.Exposure == nil || v.Exposure.Build != "15.1.2308.14" || !strings.Contains(rules(v), "X-PATCHED") {
		t.Errorf("exposure %+v, reasons %s", v.Exposure, rules(v))
	}
}

// TestSampleRoundTrip: the JSON document re-assessed offline gives the
// same verdict, word for word.
func TestSampleRoundTrip(t *testing.T) {
	doc := huntSample(t, "compromised-ex2016")
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back finding.Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	assess.Assess(&back, assess.Options{Now: now})
	x, _ := json.Marshal(doc.Hosts[0].Verdict)
	y, _ := json.Marshal(back.Hosts[0].Verdict)
	if string(x) != string(y) {
		t.Error("re-assessed verdict differs")
	}
}
