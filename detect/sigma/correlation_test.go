package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const failedLogon = `title: Failed logon
id: aaaaaaaa-1111-1111-1111-111111111111
name: failed_logon
logsource: {product: windows, service: security}
detection:
    s:
        EventID: 4625
    condition: s
---
title: Successful logon
id: bbbbbbbb-1111-1111-1111-111111111111
name: good_logon
logsource: {product: windows, service: security}
detection:
    s:
        EventID: 4624
    condition: s
---
title: Process run
id: cccccccc-1111-1111-1111-111111111111
name: proc
logsource: {product: windows, category: process_creation}
detection:
    s:
        Image|endswith: '\cmd.exe'
    condition: s
`

func loadCorr(t *testing.T, corr string) (*Engine, *Correlation) {
	t.Helper()
	lr := mustLoad(t, failedLogon+"---\n"+corr)
	if len(lr.Correlations) < 1 {
		t.Fatalf("no correlation: %v", lr.Invalid)
	}
	e, err := NewEngine(lr.Loaded, nil, lr.Correlations)
	if err != nil {
		t.Fatal(err)
	}
	return e, lr.Correlations[len(lr.Correlations)-1]
}

var t0 = time.Date(2021, 3, 2, 21, 0, 0, 0, time.UTC)

// feed scans events (at the given minute offsets) and returns the
// correlation matches.
func feed(t *testing.T, e *Engine, evs []timedEvent) []CorrelationMatch {
	t.Helper()
	k := NewCorrelator(e.Correlations(), 0)
	var out []CorrelationMatch
	emit := func(m CorrelationMatch) { out = append(out, m) }
	sc := e.NewScanner()
	for _, te := range evs {
		ev := winEvent(t, append([]string{"TimeCreated", t0.Add(te.at).Format(time.RFC3339Nano)}, te.kv...)...)
		ts, _ := ev.Time()
		sc.Scan(ev, func(r *Rule, m Match) { k.Observe(r, ts, m.Fields, emit) })
	}
	k.Flush(emit)
	return out
}

type timedEvent struct {
	at time.Duration
	kv []string
}

func logon(at time.Duration, eid, user, ip string) timedEvent {
	return timedEvent{at, []string{"Channel", "Security", "EventID", eid, "Computer", "EX01", "TargetUserName", user, "IpAddress", ip}}
}

func TestCorrelationEventCount(t *testing.T) {
	e, c := loadCorr(t, "title: Brute force\nid: dddddddd-1111-1111-1111-111111111111\nlevel: high\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n    condition: {gte: 3}\n")
	// Three failures for bob within 5 minutes; alice twice; bob again later but spread out.
	out := feed(t, e, []timedEvent{
		logon(0, "4625", "bob", "203.0.113.7"), logon(time.Minute, "4625", "alice", "203.0.113.7"),
		logon(2*time.Minute, "4625", "bob", "203.0.113.7"), logon(3*time.Minute, "4625", "alice", "203.0.113.7"),
		logon(4*time.Minute, "4625", "bob", "203.0.113.7"),
		logon(20*time.Minute, "4625", "bob", "x"), logon(26*time.Minute, "4625", "bob", "x"), logon(32*time.Minute, "4625", "bob", "x"),
	})
	if len(out) != 1 || out[0].Correlation != c || out[0].Group["TargetUserName"] != "bob" || out[0].Count != 3 ||
		!out[0].First.Equal(t0) || !out[0].Last.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("got %+v", out)
	}
	if a := c.Advisory(); a.ID != "SIGMA-dddddddd" || a.Title != "Brute force" {
		t.Errorf("advisory %+v", a)
	}
}

func TestCorrelationUpperBound(t *testing.T) {
	e, _ := loadCorr(t, "title: Few\nid: dddddddd-2222-1111-1111-111111111111\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 10m\n    condition: {gte: 2, lt: 4}\n")
	out := feed(t, e, []timedEvent{
		logon(0, "4625", "bob", "x"), logon(time.Minute, "4625", "bob", "x"), // 2 in window: match at close
		logon(0, "4625", "eve", "x"), logon(time.Minute, "4625", "eve", "x"), logon(2*time.Minute, "4625", "eve", "x"), logon(3*time.Minute, "4625", "eve", "x"), // 4: no
		logon(0, "4625", "ann", "x"), // 1: no
	})
	if len(out) != 1 || out[0].Group["TargetUserName"] != "bob" || out[0].Count != 2 {
		t.Fatalf("got %+v", out)
	}
}

func TestCorrelationValueCount(t *testing.T) {
	e, _ := loadCorr(t, "title: Spray\nid: dddddddd-3333-1111-1111-111111111111\ncorrelation:\n    type: value_count\n    rules: [failed_logon]\n    group-by: [IpAddress]\n    timespan: 10m\n    condition: {field: TargetUserName, gte: 3}\n")
	out := feed(t, e, []timedEvent{
		logon(0, "4625", "a", "203.0.113.7"), logon(time.Minute, "4625", "a", "203.0.113.7"), logon(2*time.Minute, "4625", "b", "203.0.113.7"),
		logon(3*time.Minute, "4625", "c", "198.51.100.1"), logon(4*time.Minute, "4625", "c", "203.0.113.7"),
	})
	if len(out) != 1 || out[0].Group["IpAddress"] != "203.0.113.7" || out[0].Count != 3 {
		t.Fatalf("got %+v", out)
	}
}

func TestCorrelationTemporal(t *testing.T) {
	e, _ := loadCorr(t, "title: Fail then success\nid: dddddddd-4444-1111-1111-111111111111\ncorrelation:\n    type: temporal\n    rules: [failed_logon, good_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n")
	out := feed(t, e, []timedEvent{
		logon(0, "4624", "bob", "x"), logon(time.Minute, "4625", "bob", "x"), // any order: match
		logon(0, "4625", "ann", "x"), logon(10*time.Minute, "4624", "ann", "x"), // too far apart
		logon(0, "4625", "eve", "x"), // only one rule
	})
	if len(out) != 1 || out[0].Group["TargetUserName"] != "bob" || out[0].Count != 2 {
		t.Fatalf("got %+v", out)
	}
}

func TestCorrelationTemporalOrdered(t *testing.T) {
	e, _ := loadCorr(t, "title: Fail then success\nid: dddddddd-5555-1111-1111-111111111111\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_logon, good_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n")
	out := feed(t, e, []timedEvent{
		logon(0, "4624", "bob", "x"), logon(time.Minute, "4625", "bob", "x"), // wrong order
		logon(0, "4625", "ann", "x"), logon(2*time.Minute, "4624", "ann", "x"), // right order
		logon(0, "4625", "eve", "x"), logon(6*time.Minute, "4624", "eve", "x"), // too late
	})
	if len(out) != 1 || out[0].Group["TargetUserName"] != "ann" {
		t.Fatalf("got %+v", out)
	}
}

// TestCorrelationAliases groups two rules on differently named fields.
func TestCorrelationAliases(t *testing.T) {
	e, _ := loadCorr(t, "title: Logon then shell\nid: dddddddd-6666-1111-1111-111111111111\ncorrelation:\n    type: temporal\n    rules: [good_logon, proc]\n    group-by: [account]\n    timespan: 5m\n    aliases:\n        account:\n            good_logon: TargetUserName\n            proc: User\n")
	shell := func(at time.Duration, user string) timedEvent {
		return timedEvent{at, []string{"Channel", chSysmon, "EventID", "1", "Image", `C:\Windows\System32\cmd.exe`, "User", user}}
	}
	out := feed(t, e, []timedEvent{logon(0, "4624", "bob", "x"), shell(time.Minute, "alice"), shell(2*time.Minute, "bob")})
	if len(out) != 1 || out[0].Group["account"] != "bob" {
		t.Fatalf("got %+v", out)
	}
}

// TestCorrelationChain: a correlation over a correlation.
func TestCorrelationChain(t *testing.T) {
	chain := "title: Many failures\nid: eeeeeeee-1111-1111-1111-111111111111\nname: many_failures\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n    condition: {gte: 2}\n" +
		"---\ntitle: Failures then success\nid: eeeeeeee-2222-1111-1111-111111111111\ncorrelation:\n    type: temporal_ordered\n    rules: [many_failures, good_logon]\n    group-by: [TargetUserName]\n    timespan: 10m\n"
	e, c := loadCorr(t, chain)
	out := feed(t, e, []timedEvent{logon(0, "4625", "bob", "x"), logon(time.Minute, "4625", "bob", "x"), logon(2*time.Minute, "4624", "bob", "x")})
	var got []string
	for _, m := range out {
		got = append(got, m.Correlation.ID)
	}
	if strings.Join(got, ",") != "eeeeeeee-1111-1111-1111-111111111111,"+c.ID {
		t.Fatalf("got %v", got)
	}
}

// TestCorrelatorBounded: group keys are capped.
func TestCorrelatorBounded(t *testing.T) {
	e, _ := loadCorr(t, "title: Brute force\nid: dddddddd-7777-1111-1111-111111111111\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 1h\n    condition: {gte: 1000}\n")
	k := NewCorrelator(e.Correlations(), 100)
	r := e.Rules()[0]
	for i := 0; i < 10000; i++ {
		k.Observe(r, t0.Add(time.Duration(i)*time.Second), map[string]string{"TargetUserName": fmt.Sprint(i)}, func(CorrelationMatch) {})
		if n := len(k.states[0].groups); n > 100 {
			t.Fatalf("%d groups after %d events", n, i)
		}
	}
	// One hot group keeps at most the events the condition needs.
	for i := 0; i < 5000; i++ {
		k.Observe(r, t0.Add(time.Duration(i)*time.Millisecond), map[string]string{"TargetUserName": "hot"}, func(CorrelationMatch) {})
	}
	if g := k.states[0].groups["hot\x00"]; g == nil || len(g.times) > 1000 {
		t.Fatalf("hot group holds %d times", len(g.times))
	}
}

func TestCorrelationMatchFieldsCarryGroupBy(t *testing.T) {
	e, _ := loadCorr(t, "title: Brute force\nid: dddddddd-8888-1111-1111-111111111111\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [IpAddress, TargetUserName]\n    timespan: 1h\n    condition: {gte: 2}\n")
	var m Match
	e.NewScanner().Scan(winEvent(t, logon(0, "4625", "bob", "203.0.113.7").kv...), func(_ *Rule, x Match) { m = x })
	if m.Fields["IpAddress"] != "203.0.113.7" || m.Fields["TargetUserName"] != "bob" {
		t.Errorf("group-by fields missing from the match: %v", m.Fields)
	}
}
