package assess

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/finding"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBand(t *testing.T) {
	for _, c := range []struct {
		score int
		want  finding.Likelihood
	}{
		{0, finding.RemoteChance}, {5, finding.RemoteChance}, {7, finding.RemoteChance}, {8, finding.HighlyUnlikely},
		{20, finding.HighlyUnlikely}, {22, finding.HighlyUnlikely}, {23, finding.Unlikely}, {35, finding.Unlikely},
		{37, finding.Unlikely}, {38, finding.RealisticPossibility}, {52, finding.RealisticPossibility}, {53, finding.Likely},
		{75, finding.Likely}, {77, finding.Likely}, {78, finding.HighlyLikely}, {92, finding.HighlyLikely},
		{93, finding.AlmostCertain}, {99, finding.AlmostCertain}, {150, finding.AlmostCertain}, {-3, finding.RemoteChance},
	} {
		if got := Band(c.score); got != c.want {
			t.Errorf("Band(%d) = %q, want %q", c.score, got, c.want)
		}
	}
}

// fullInventory covers every campaign window with IIS logs, so that the
// coverage rows stay quiet unless a case wants them.
func fullInventory(host string) []finding.Inventory {
	return []finding.Inventory{{Host: host, Family: "iis", Title: "IIS", Files: 1, Records: 100,
		First: time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2023, 1, 31, 0, 0, 0, 0, time.UTC)}}
}

func fd(id string, sev finding.Severity, st finding.Stage, src string) finding.Finding {
	return finding.Finding{Advisory: finding.Advisory{ID: id, Title: "title of " + id, Severity: sev, Stage: st, Techniques: []string{"T1190"}},
		Time: time.Date(2021, 3, 1, 12, 0, 0, 0, time.UTC), Host: "ex", Evidence: finding.Evidence{Path: "logs/" + id + ".log", Line: 7, Source: src,
			Fields: map[string]string{"client_ip": "203.0.113.9", "user_agent": "python-requests/2.25.1"}}}
}

func docOf(inv []finding.Inventory, builds []finding.BuildSighting, fs ...finding.Finding) *finding.Document {
	return &finding.Document{SchemaVersion: finding.SchemaVersion, Hosts: []finding.HostSummary{{Host: "ex", Builds: builds}}, Inventory: inv, Findings: fs}
}

func hasRule(v *finding.Verdict, rule string) bool {
	for _, r := range v.Reasons {
		if r.Rule == rule {
			return true
		}
	}
	return false
}

const (
	H = finding.High
	C = finding.Critical
	M = finding.Medium
	L = finding.Low
	I = finding.Info
)

// ruleCases: every row on its evidence and on a near miss.
var ruleCases = []struct {
	rule      string
	hit, miss []finding.Finding
	inv       func() []finding.Inventory
	builds    []finding.BuildSighting
	state     finding.State
	minScore  int
}{
	{rule: "A-SSRF-CHAIN", hit: []finding.Finding{fd("EXH-PL-95", C, finding.StageWrite, "httpproxy")}, miss: []finding.Finding{fd("EXH-PL-91", L, finding.StageAttempt, "httpproxy")}, state: finding.StateCompromised, minScore: 95},
	{rule: "A-SHELL-USED", hit: []finding.Finding{fd("EXH-YARA-01", H, finding.StageWrite, "file"), fd("EXH-HF-05", H, finding.StageExecution, "iis")},
		miss: []finding.Finding{fd("EXH-YARA-01", H, finding.StageWrite, "file")}, state: finding.StateCompromised, minScore: 95},
	{rule: "A-VDIR-WRITE", hit: []finding.Finding{fd("EXH-PL-09", C, finding.StageWrite, "oabgen")}, miss: []finding.Finding{fd("EXH-PL-07", L, finding.StageRecon, "httpproxy")}, state: finding.StateCompromised, minScore: 90},
	{rule: "A-RCE", hit: []finding.Finding{fd("EXH-PS-02", C, finding.StageExploit, "iis")}, miss: []finding.Finding{fd("EXH-PS-01", M, finding.StageAttempt, "iis")}, state: finding.StateCompromised, minScore: 90},
	{rule: "A-PROC-CHILD", hit: []finding.Finding{fd("EXH-EV-08", H, finding.StageExecution, "evtx")}, miss: []finding.Finding{fd("EXH-EV-05", M, finding.StageAttempt, "evtx")}, state: finding.StateCompromised, minScore: 90},
	{rule: "A-LSASS-EXCH", hit: []finding.Finding{fd("EXH-EV-10", C, finding.StageCredential, "evtx"), fd("EXH-PS-01", M, finding.StageAttempt, "iis")},
		miss: []finding.Finding{fd("EXH-EV-10", C, finding.StageCredential, "evtx")}, state: finding.StateCompromised, minScore: 90},
	{rule: "A-LSASS", hit: []finding.Finding{fd("EXH-FILE-05", C, finding.StageCredential, "file")},
		miss: []finding.Finding{fd("EXH-FILE-05", C, finding.StageCredential, "file"), fd("EXH-PS-01", M, finding.StageAttempt, "iis")}, state: finding.StateCompromised, minScore: 80},
	{rule: "A-FILE-HIGH", hit: []finding.Finding{fd("EXH-FILE-07", H, finding.StageWrite, "file")}, miss: []finding.Finding{fd("EXH-FILE-07", M, finding.StageWrite, "file")}, state: finding.StateCompromised, minScore: 80},
	{rule: "A-BYPASS", hit: []finding.Finding{fd("EXH-PL-03", H, finding.StageExploit, "httpproxy")}, miss: []finding.Finding{fd("EXH-PL-01", L, finding.StageAttempt, "httpproxy")}, state: finding.StateCompromised, minScore: 80},
	{rule: "A-SHELL-REQ", hit: []finding.Finding{fd("EXH-WS-01", H, finding.StageExecution, "iis")}, miss: []finding.Finding{fd("EXH-WS-03", M, finding.StageExecution, "iis")}, state: finding.StateCompromised, minScore: 75},
	{rule: "B-POSTEX", hit: []finding.Finding{fd("EXH-EV-23", H, finding.StageCleanup, "evtx")}, miss: []finding.Finding{fd("EXH-FILE-06", L, finding.StageCollection, "file")}, state: finding.StateNoEvidence},
	{rule: "B-ATTEMPT-HIGH", hit: []finding.Finding{fd("EXH-HF-03", H, finding.StageAttempt, "iis")}, miss: []finding.Finding{fd("EXH-HF-01", L, finding.StageAttempt, "iis")}, state: finding.StateAttempted, minScore: 40},
	{rule: "B-FILE-MEDIUM", hit: []finding.Finding{fd("EXH-FILE-03", M, finding.StageWrite, "file")}, miss: []finding.Finding{fd("EXH-FILE-08", M, finding.StageAttempt, "file")}, state: finding.StateAttempted, minScore: 40},
	{rule: "B-ATTEMPT", hit: []finding.Finding{fd("EXH-PS-01", M, finding.StageAttempt, "iis")}, miss: []finding.Finding{fd("EXH-PS-03", L, finding.StageRecon, "iis")}, state: finding.StateAttempted, minScore: 30},
	{rule: "B-OTHER", hit: []finding.Finding{fd("SIGMA-x", H, finding.StageCollection, "evtx")}, miss: []finding.Finding{fd("SIGMA-x", L, finding.StageCollection, "evtx")}, state: finding.StateAttempted},
	{rule: "S-SCAN", hit: []finding.Finding{fd("SIGMA-web", L, finding.StageRecon, "iis")}, miss: []finding.Finding{fd("EXH-PL-07", L, finding.StageRecon, "httpproxy")}, state: finding.StateScanned},
	{rule: "N-BACKGROUND", hit: []finding.Finding{fd("EXH-PL-07", L, finding.StageRecon, "httpproxy"), fd("EXH-PL-91", L, finding.StageAttempt, "httpproxy")},
		miss: []finding.Finding{fd("EXH-PL-07", L, finding.StageRecon, "httpproxy"), fd("EXH-PS-01", M, finding.StageAttempt, "iis")}, state: finding.StateNoEvidence},
	{rule: "N-CONTEXT", hit: []finding.Finding{fd("EXH-HF-10", I, finding.StageRecon, "iis")}, miss: []finding.Finding{fd("EXH-HF-10", I, finding.StageRecon, "iis"), fd("EXH-PL-07", L, finding.StageRecon, "httpproxy")}, state: finding.StateNoEvidence},
	{rule: "C-SHORT", inv: func() []finding.Inventory {
		return []finding.Inventory{{Host: "ex", Family: "iis", Files: 1, Records: 10, First: time.Date(2021, 3, 9, 0, 0, 0, 0, time.UTC), Last: time.Date(2021, 3, 9, 23, 0, 0, 0, time.UTC)}}
	}, state: finding.StateNoEvidence, minScore: 25},
	{rule: "C-FULL", state: finding.StateNoEvidence},
	{rule: "X-PATCHED", builds: []finding.BuildSighting{{Build: "15.1.2308.14", Source: "httpproxy", Count: 1, First: time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC)}}, state: finding.StateNoEvidence},
	{rule: "K-NOTHING-READ", inv: func() []finding.Inventory { return []finding.Inventory{{Host: "ex", Family: "files", Files: 3}} }, state: finding.StateCannot},
}

func TestRules(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range ruleCases {
		tested[c.rule] = true
		t.Run(c.rule, func(t *testing.T) {
			inv := fullInventory("ex")
			if c.inv != nil {
				inv = c.inv()
			}
			v := AssessHost(docOf(inv, c.builds, c.hit...), "ex", Options{Now: now})
			if !hasRule(v, c.rule) {
				t.Fatalf("%s did not fire on its evidence; reasons %+v", c.rule, v.Reasons)
			}
			if v.State != c.state {
				t.Errorf("state %q, want %q", v.State, c.state)
			}
			if v.Score < c.minScore {
				t.Errorf("score %d below the row's floor %d", v.Score, c.minScore)
			}
			for _, r := range v.Reasons {
				if r.Rule == c.rule && len(c.hit) > 0 && (len(r.Findings) == 0 || len(r.Evidence) == 0 || !strings.Contains(r.Text, "logs/")) {
					t.Errorf("reason does not point at its evidence: %+v", r)
				}
			}
			// Near miss: the evidence that must not fire the row.
			switch c.rule {
			case "C-SHORT", "K-NOTHING-READ":
				if v := AssessHost(docOf(fullInventory("ex"), nil), "ex", Options{Now: now}); hasRule(v, c.rule) {
					t.Errorf("%s fired with full coverage", c.rule)
				}
			case "C-FULL":
				short := []finding.Inventory{{Host: "ex", Family: "iis", Files: 1, Records: 10, First: time.Date(2021, 3, 9, 0, 0, 0, 0, time.UTC), Last: time.Date(2021, 3, 10, 0, 0, 0, 0, time.UTC)}}
				if v := AssessHost(docOf(short, nil), "ex", Options{Now: now}); hasRule(v, c.rule) {
					t.Errorf("%s fired on one day of logs", c.rule)
				}
			case "X-PATCHED":
				vuln := []finding.BuildSighting{{Build: "15.1.2106.2", Source: "httpproxy", Count: 1, First: time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2020, 12, 1, 0, 0, 0, 0, time.UTC)}}
				if v := AssessHost(docOf(fullInventory("ex"), vuln), "ex", Options{Now: now}); hasRule(v, c.rule) {
					t.Errorf("%s fired on a vulnerable build", c.rule)
				}
			default:
				if v := AssessHost(docOf(inv, c.builds, c.miss...), "ex", Options{Now: now}); hasRule(v, c.rule) {
					t.Errorf("%s fired on the near miss %v", c.rule, c.miss)
				}
			}
		})
	}
	for _, r := range Rules {
		if !tested[r.ID] {
			t.Errorf("row %s has no test case", r.ID)
		}
		if r.When == "" || r.Short == "" {
			t.Errorf("row %s lacks its documentation", r.ID)
		}
	}
}

func TestNothingRead(t *testing.T) {
	v := AssessHost(docOf(nil, nil), "ex", Options{Now: now})
	if v.State != finding.StateCannot {
		t.Errorf("state %q, want cannot assess", v.State)
	}
}

func TestCleanFullCoverageIsRemoteChance(t *testing.T) {
	v := AssessHost(docOf(fullInventory("ex"), nil), "ex", Options{Now: now})
	if v.State != finding.StateNoEvidence || v.Likelihood != finding.RemoteChance || len(v.Warnings) != 0 {
		t.Errorf("got %s %s %v", v.State, v.Likelihood, v.Warnings)
	}
}

func TestGapsMakeCoveragePartial(t *testing.T) {
	inv := fullInventory("ex")
	inv[0].Gaps = []finding.Span{{Start: time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2021, 2, 20, 0, 0, 0, 0, time.UTC)}}
	v := AssessHost(docOf(inv, nil), "ex", Options{Now: now})
	if !hasRule(v, "C-SHORT") || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "ProxyLogon") {
		t.Errorf("a gap inside the ProxyLogon window went unnoticed: %v", v.Warnings)
	}
	if v.Coverage[0].Campaigns[0].Status != Partial {
		t.Errorf("ProxyLogon window status %q", v.Coverage[0].Campaigns[0].Status)
	}
}

func TestExposurePerWindow(t *testing.T) {
	b := []finding.BuildSighting{
		{Build: "15.1.2106.2", Source: "httpproxy", Count: 5, First: time.Date(2021, 2, 26, 0, 0, 0, 0, time.UTC), Last: time.Date(2021, 3, 2, 0, 0, 0, 0, time.UTC)},
		{Build: "15.1.2308.14", Source: "httpproxy", Count: 5, First: time.Date(2021, 8, 13, 0, 0, 0, 0, time.UTC), Last: time.Date(2021, 8, 13, 0, 0, 0, 0, time.UTC)},
	}
	v := AssessHost(docOf(fullInventory("ex"), b), "ex", Options{Now: now})
	e := v.Exposure
	if e == nil || e.Build != "15.1.2308.14" || e.CU != "CU21" || !e.EOL {
		t.Fatalf("exposure %+v", e)
	}
	want := map[string]string{"ProxyLogon": "vulnerable", "ProxyShell": "potentially vulnerable", "ProxyNotShell": "vulnerable", "OWASSRF": "vulnerable"}
	for _, f := range e.Families {
		if want[f.Family] != f.Status {
			t.Errorf("%s: %s (%s), want %s", f.Family, f.Status, f.Detail, want[f.Family])
		}
	}
}

func TestTradecraft(t *testing.T) {
	if len(tradecraftRows) < 50 {
		t.Fatalf("tradecraft list has %d rows", len(tradecraftRows))
	}
	f := fd("EXH-HF-10", I, finding.StageRecon, "iis")
	f.Evidence.Fields["client_ip"] = "167.99.168.251"
	f.Evidence.Fields["user_agent"] = "antSword/v2.1"
	v := AssessHost(docOf(fullInventory("ex"), nil, f), "ex", Options{Now: now})
	tc := v.Tradecraft
	if tc == nil || tc.Caveat != Caveat || len(tc.Matches) != 2 || tc.Score != 40 || tc.Likelihood != finding.RealisticPossibility {
		t.Fatalf("tradecraft %+v", tc)
	}
	// No overlap: still the caveat, remote chance.
	v = AssessHost(docOf(fullInventory("ex"), nil), "ex", Options{Now: now})
	if v.Tradecraft.Caveat != Caveat || v.Tradecraft.Likelihood != finding.RemoteChance {
		t.Errorf("empty tradecraft %+v", v.Tradecraft)
	}
	if _, err := loadCraft("ip\tx\t1.2.3.4\n"); err == nil {
		t.Error("short row accepted")
	}
}

func TestTimelineFoldsAndBounds(t *testing.T) {
	var fs []finding.Finding
	base := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 1000; i++ {
		f := fd("EXH-PL-07", L, finding.StageRecon, "httpproxy")
		if i%2 == 1 {
			f = fd("EXH-PS-01", M, finding.StageAttempt, "iis")
		}
		f.Time = base.Add(time.Duration(i) * time.Hour)
		f.Evidence.Line = int64(i + 1)
		fs = append(fs, f)
	}
	v := AssessHost(docOf(fullInventory("ex"), nil, fs...), "ex", Options{Now: now})
	if len(v.Timeline) > maxTimeline {
		t.Fatalf("%d entries", len(v.Timeline))
	}
	n := 0
	for _, e := range v.Timeline {
		n += e.Count
		if len(e.Techniques) == 0 {
			t.Errorf("entry without ATT&CK ids: %+v", e)
		}
	}
	if n != 1000 {
		t.Errorf("folded entries count %d findings, want 1000", n)
	}
}

func TestDeterministicAndRoundTrip(t *testing.T) {
	fs := []finding.Finding{fd("EXH-PL-95", C, finding.StageWrite, "httpproxy"), fd("EXH-PL-07", L, finding.StageRecon, "httpproxy"), fd("EXH-YARA-01", H, finding.StageWrite, "file")}
	fs[2].Time = time.Time{}
	d1 := docOf(fullInventory("ex"), nil, fs...)
	Assess(d1, Options{Now: now})
	b, err := json.Marshal(d1)
	if err != nil {
		t.Fatal(err)
	}
	var d2 finding.Document
	if err := json.Unmarshal(b, &d2); err != nil {
		t.Fatal(err)
	}
	want := d2.Hosts[0].Verdict
	d2.Hosts[0].Verdict = nil
	Assess(&d2, Options{Now: now})
	b1, _ := json.Marshal(want)
	b2, _ := json.Marshal(d2.Hosts[0].Verdict)
	if string(b1) != string(b2) {
		t.Errorf("re-assessing the JSON document changed the verdict:\n%s\n%s", b1, b2)
	}
	again := AssessHost(d1, "ex", Options{Now: now})
	if !reflect.DeepEqual(again, d1.Hosts[0].Verdict) {
		t.Error("assessing twice gave different verdicts")
	}
}

// TestTimelineBackgroundLane: the mass-scanning background folds into one
// entry per step and day, apart from the attack; a background detector's
// hit from an attacker address stays in the attack's entries; the server's
// own address (back-end IIS lines) is never listed as a source.
func TestTimelineBackgroundLane(t *testing.T) {
	at := func(id string, sev finding.Severity, st finding.Stage, ip string, min int) finding.Finding {
		f := fd(id, sev, st, "iis")
		f.Time = time.Date(2021, 3, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(min) * time.Minute)
		f.Evidence.Line = int64(min + 1)
		f.Evidence.Fields["client_ip"] = ip
		return f
	}
	var fs []finding.Finding
	for i := 0; i < 20; i++ { // scanners all day, from 20 addresses
		fs = append(fs, at("EXH-PL-07", L, finding.StageRecon, fmt.Sprintf("198.51.100.%d", i+1), i*60))
	}
	attacker := at("EXH-PL-04", C, finding.StageWrite, "167.99.168.251", 125)
	probe := at("EXH-PL-91", L, finding.StageAttempt, "167.99.168.251", 124) // background id, attacker address
	self := at("EXH-PL-04", C, finding.StageWrite, "10.0.1.25", 126)
	self.Evidence.Fields["server_ip"] = "10.0.1.25"
	fs = append(fs, attacker, probe, self)
	v := AssessHost(docOf(fullInventory("ex"), nil, fs...), "ex", Options{Now: now})
	var bg, attack []finding.TimelineEntry
	for _, e := range v.Timeline {
		if e.Background {
			bg = append(bg, e)
		} else {
			attack = append(attack, e)
		}
		for _, ip := range e.SourceIPs {
			if ip == "10.0.1.25" {
				t.Errorf("the server's own address listed as a source: %+v", e)
			}
		}
	}
	if len(bg) != 1 || bg[0].Count != 20 || bg[0].Step != StepScan {
		t.Fatalf("background entries %+v", bg)
	}
	n := 0
	for _, e := range attack {
		n += e.Count
	}
	if n != 3 {
		t.Errorf("attack entries hold %d findings, want 3 (the attacker's probe included): %+v", n, attack)
	}
}

// TestTimelineCommands: the command lines behind a step are listed on it.
func TestTimelineCommands(t *testing.T) {
	a := fd("EXH-EV-09", H, finding.StageExecution, "evtx")
	a.Evidence.Fields["CommandLine"] = `cmd /c cd /d "C:\inetpub\wwwroot\aspnet_client"&whoami`
	b := fd("EXH-EV-09", H, finding.StageExecution, "evtx")
	b.Evidence.Line = 8
	b.Evidence.Fields["CommandLine"] = `cmd /c cd /d "C:\inetpub\wwwroot\aspnet_client"&ipconfig /all`
	v := AssessHost(docOf(fullInventory("ex"), nil, a, b), "ex", Options{Now: now})
	for _, e := range v.Timeline {
		if e.Step == StepShellUsed {
			if len(e.Commands) != 2 || !strings.HasSuffix(e.Commands[1], "ipconfig /all") {
				t.Errorf("commands %q", e.Commands)
			}
			return
		}
	}
	t.Fatalf("no shell-used step in %+v", v.Timeline)
}
