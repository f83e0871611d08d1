package sigma

import (
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

const shellRule = `title: Shell from w3wp
id: 12121212-0000-0000-0000-000000000000
name: w3wp_shell
logsource: {product: windows, category: process_creation}
detection:
    sel:
        ParentImage|endswith: '\w3wp.exe'
        Image|endswith: '\cmd.exe'
    condition: sel
---
title: Any cmd
id: 34343434-0000-0000-0000-000000000000
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\cmd.exe'
    condition: sel
---
title: Logon
id: 56565656-0000-0000-0000-000000000000
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: 4624
    condition: sel
`

func TestFilters(t *testing.T) {
	cases := []struct {
		name, filter string
		want         []string // rules firing on the admin's cmd
	}{
		{"by rule id", "rules: [12121212-0000-0000-0000-000000000000]", []string{"34343434-0000-0000-0000-000000000000"}},
		{"by rule name", "rules: [w3wp_shell]", []string{"34343434-0000-0000-0000-000000000000"}},
		{"any rule of the logsource", "rules: any", nil},
		{"empty list is any", "rules: []", nil},
	}
	ev := sysmon1(t, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`, "User", `CONTOSO\adm_bob`)
	other := sysmon1(t, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`, "User", `CONTOSO\eve`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := shellRule + "---\ntitle: Admins\nid: f0f0f0f0-0000-0000-0000-000000000000\nlogsource: {product: windows, category: process_creation}\nfilter:\n    " + tc.filter +
				"\n    adm:\n        User|contains: '\\adm_'\n    condition: not adm\n"
			lr := mustLoad(t, src)
			if len(lr.Filters) != 1 {
				t.Fatalf("filters %d", len(lr.Filters))
			}
			e, err := NewEngine(lr.Loaded, lr.Filters, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := hits(t, e, ev); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("admin: fired %v, want %v", got, tc.want)
			}
			if got := hits(t, e, other); len(got) != 2 {
				t.Errorf("non-admin: fired %v, want both rules", got)
			}
		})
	}
	// A filter of another logsource never applies.
	src := shellRule + "---\ntitle: Admins\nid: f0f0f0f0-0000-0000-0000-000000000000\nlogsource: {product: windows, service: security}\nfilter:\n    rules: any\n    adm:\n        User|contains: '\\adm_'\n    condition: not adm\n"
	lr := mustLoad(t, src)
	e, err := NewEngine(lr.Loaded, lr.Filters, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hits(t, e, ev); len(got) != 2 {
		t.Errorf("filter of another logsource applied: %v", got)
	}
}

func TestSamples(t *testing.T) {
	lr := mustLoad(t, shellRule)
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	samples := `
- match: true
  note: w3wp spawning cmd (Sysmon 1)
  source: evtx
  event: {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1, Image: 'C:\Windows\System32\cmd.exe', ParentImage: 'c:\windows\system32\inetsrv\w3wp.exe'}
- match: true
  note: the same in Security 4688, exported as JSON
  source: eventlog-json
  event: {Channel: Security, EventID: 4688, NewProcessName: 'C:\Windows\System32\cmd.exe', ParentProcessName: 'c:\windows\system32\inetsrv\w3wp.exe'}
- match: false
  note: explorer spawning cmd
  event: {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1, Image: 'C:\Windows\System32\cmd.exe', ParentImage: 'C:\Windows\explorer.exe'}
`
	ss, err := ParseSamples([]byte(samples))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[1].Source != event.WinJSON || ss[2].Source != event.EVTX || ss[0].Note != "w3wp spawning cmd (Sysmon 1)" {
		t.Fatalf("parsed %+v", ss)
	}
	if errs := e.RunSamples(lr.Loaded[0], ss); len(errs) != 0 {
		t.Errorf("samples failed: %v", errs)
	}
	// Wrong expectations are reported with rule, sample and expectation.
	ss[0].Match, ss[2].Match = false, true
	ss[1].Event[0].Value = "Application"
	errs := e.RunSamples(lr.Loaded[0], ss)
	if len(errs) != 3 {
		t.Fatalf("errors %v", errs)
	}
	for i, want := range []string{
		"rule test.yml#1 (12121212-0000-0000-0000-000000000000): sample 1 (w3wp spawning cmd (Sysmon 1)): expected no match, got one",
		"sample 2 (the same in Security 4688, exported as JSON): expected a match, got none: the event does not reach the rule",
		"sample 3 (explorer spawning cmd): expected a match, got none",
	} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %q, want %q", i, errs[i], want)
		}
	}
}

func TestLineSamples(t *testing.T) {
	r := mustRule(t, "title: OWASSRF\nid: 78787878-0000-0000-0000-000000000000\nlogsource: {category: webserver}\ndetection:\n    sel:\n        cs-method: POST\n        cs-uri-query|contains|all: ['/owa/', '/powershell']\n        cs-user-agent|contains: 'python-requests'\n    condition: sel\n")
	e, err := NewEngine([]*Rule{r}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := ParseSamples([]byte(`
- match: true
  source: iis
  event: {date: 2022-11-08, time: '12:00:00', cs-method: POST, cs-uri-stem: /owa/mastermailbox%40outlook.com/powershell, cs-uri-query: '', cs(User-Agent): 'python-requests/2.28.1 (x)', sc-status: 200}
- match: true
  source: httpproxy
  event: {DateTime: '2022-11-08T12:00:00.000Z', Method: POST, UrlStem: '/owa/mastermailbox@outlook.com/powershell', UserAgent: 'python-requests/2.28.1, "quoted"', HttpStatus: 200}
- match: false
  source: iis
  event: {cs-method: GET, cs-uri-stem: /owa/x/powershell, cs(User-Agent): python-requests/2.28.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := SampleEvent(ss[0])
	if err != nil || ev.Source != event.IIS || !strings.Contains(string(ev.Raw), "python-requests/2.28.1+(x)") || ev.Get("cs-uri-query") != "-" {
		t.Fatalf("IIS sample line %q, %v", ev.Raw, err)
	}
	if tm, ok := ev.Time(); !ok || tm.Hour() != 12 {
		t.Errorf("IIS sample time %v %v", tm, ok)
	}
	if errs := e.RunSamples(r, ss); len(errs) != 0 {
		t.Errorf("samples failed: %v", errs)
	}
}

func TestCorrelationSamples(t *testing.T) {
	e, c := loadCorr(t, "title: Brute force\nid: dddddddd-9999-1111-1111-111111111111\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n    condition: {gte: 3}\n")
	ss, err := ParseSamples([]byte(`
- match: true
  note: three failures in two minutes
  events:
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T10:00:00Z'}
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T10:01:00Z'}
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T10:02:00Z'}
- match: false
  note: spread over an hour
  events:
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T10:00:00Z'}
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T10:30:00Z'}
    - {Channel: Security, EventID: 4625, TargetUserName: bob, TimeCreated: '2021-03-02T11:00:00Z'}
`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := e.RunCorrelationSamples(c, ss); len(errs) != 0 {
		t.Errorf("correlation samples: %v", errs)
	}
	ss[1].Match = true
	if errs := e.RunCorrelationSamples(c, ss); len(errs) != 1 || !strings.Contains(errs[0].Error(), "sample 2 (spread over an hour): expected a match, got none") {
		t.Errorf("errors %v", errs)
	}
}

func TestParseSamplesErrors(t *testing.T) {
	cases := map[string]string{
		"- {note: x, event: {a: b}}":                         "sample 1: match: missing",
		"- {match: true}":                                    "sample 1: want event or events",
		"- {match: true, event: {a: b}, events: [{a: b}]}":   "not both",
		"- {match: true, source: ecp-server, event: {a: b}}": "not supported",
		"- {match: true, source: nope, event: {a: b}}":       "unknown source",
		"- {match: maybe, event: {a: b}}":                    "match: want true or false",
		"- {match: true, event: {a: [[b]]}}":                 "a: want a value or a list of values",
		"- {match: true, event: {a: []}}":                    "a: empty list",
		"- {match: true, colour: red, event: {a: b}}":        "unknown key",
		"match: true": "want a list",
		"- {match: true, event: {EventID: four, a: b}}":          "",
		"- {match: true, event: {TimeCreated: yesterday, a: b}}": "",
	}
	for src, want := range cases {
		ss, err := ParseSamples([]byte(src))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", src, err)
				continue
			}
			if _, err := SampleEvent(ss[0]); err == nil {
				t.Errorf("%s: SampleEvent accepted it", src)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

// TestPanicRecovered: a panic while evaluating one rule is reported and
// the scan goes on with the next rule.
func TestPanicRecovered(t *testing.T) {
	lr := mustLoad(t, shellRule)
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Break the first rule's compiled condition.
	lr.Loaded[0].det.root = &cnode{op: cNot}
	sc := e.NewScanner()
	var errs []error
	sc.OnError = func(err error) { errs = append(errs, err) }
	var fired []string
	sc.Scan(sysmon1(t, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`), func(r *Rule, _ Match) { fired = append(fired, r.ID) })
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "12121212") || len(fired) != 1 || fired[0] != "34343434-0000-0000-0000-000000000000" {
		t.Errorf("errors %v, fired %v", errs, fired)
	}
	var pe *PanicError
	if !asPanic(errs[0], &pe) || pe.Stack == "" {
		t.Errorf("not a PanicError with a stack: %T", errs[0])
	}
}

func asPanic(err error, pe **PanicError) bool {
	p, ok := err.(*PanicError)
	*pe = p
	return ok
}

// TestNoAllocOnMiss: the non-matching path does not allocate, whether
// the prefilter drops the event or a rule is evaluated and fails.
func TestNoAllocOnMiss(t *testing.T) {
	lr := mustLoad(t, shellRule)
	e, err := NewEngine(lr.Loaded[:1], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := e.NewScanner()
	evaluated := sysmon1(t, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\inetsrv\w3wp.exe.old`, "CommandLine", "cmd /c dir")
	filtered := sysmon1(t, "Image", `C:\Windows\System32\notepad.exe`, "ParentImage", `C:\Windows\explorer.exe`)
	unrouted := winEvent(t, "Channel", "System", "EventID", "7036", "param1", "x")
	emit := func(*Rule, Match) { t.Error("unexpected match") }
	for _, ev := range []*event.Event{evaluated, filtered, unrouted} {
		sc.Scan(ev, emit) // warm the scratch space
		if n := testing.AllocsPerRun(200, func() { sc.Scan(ev, emit) }); n != 0 {
			t.Errorf("%s: %v allocations per miss", ev.Excerpt(), n)
		}
	}
}

func TestEngineErrors(t *testing.T) {
	lr := mustLoad(t, shellRule)
	if _, err := NewEngine(append(lr.Loaded, lr.Loaded[0]), nil, nil); err == nil {
		t.Error("duplicate rule accepted")
	}
	if _, err := NewEngine([]*Rule{{ID: "x"}}, nil, nil); err == nil {
		t.Error("uncompiled rule accepted")
	}
	if _, err := NewEngine(lr.Loaded, nil, []*Correlation{{ID: "c"}}); err == nil || !strings.Contains(err.Error(), "not resolved") {
		t.Errorf("unlinked correlation: %v", err)
	}
	cl := mustLoad(t, failedLogon+"---\ntitle: c\nid: c9\ncorrelation: {type: event_count, rules: [failed_logon], timespan: 1h, condition: {gte: 2}}\n")
	if _, err := NewEngine(cl.Loaded[1:], nil, cl.Correlations); err == nil || !strings.Contains(err.Error(), "not in the engine") {
		t.Errorf("correlation over a missing rule: %v", err)
	}
	e, _ := NewEngine(lr.Loaded, nil, nil)
	if errs := e.RunSamples(&Rule{ID: "zz"}, nil); len(errs) != 1 {
		t.Errorf("RunSamples of a foreign rule: %v", errs)
	}
	if st := e.Stats(); st.Rules != 3 || st.Routed != 3 || st.Buckets == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestConcurrentScanners: one engine, a scanner per goroutine, the same
// results as one scanner alone (run with -race).
func TestConcurrentScanners(t *testing.T) {
	lr := mustLoad(t, shellRule)
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := benchEvents(2000)
	count := func() int {
		n := 0
		sc := e.NewScanner()
		for _, ev := range evs {
			sc.Scan(ev, func(*Rule, Match) { n++ })
		}
		return n
	}
	want := count()
	if want == 0 {
		t.Fatal("no hits to compare")
	}
	got := make(chan int, 4)
	for i := 0; i < 4; i++ {
		go func() { got <- count() }()
	}
	for i := 0; i < 4; i++ {
		if n := <-got; n != want {
			t.Errorf("goroutine counted %d hits, want %d", n, want)
		}
	}
}

// A list in a sample is a repeated field, as unnamed EventData values are.
func TestSampleListIsRepeatedField(t *testing.T) {
	ss, err := ParseSamples([]byte("- {match: true, event: {Channel: Application, Data: [one, two]}}"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := SampleEvent(ss[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Win.All("Data", nil); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("Data = %q, want [one two]", got)
	}
}
