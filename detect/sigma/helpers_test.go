package sigma

import (
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// ruleYAML wraps a detection body (indented by 4) in a process_creation
// rule.
func ruleYAML(detection string) string {
	return "title: test rule\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\n" +
		"logsource:\n    product: windows\n    category: process_creation\n" +
		"detection:\n" + detection
}

func mustLoad(t testing.TB, src string) LoadReport {
	t.Helper()
	lr := ParseFile("test.yml", []byte(src))
	for _, e := range append(lr.Invalid, lr.Unsupported...) {
		t.Fatalf("rule not loaded: %v", e)
	}
	return lr
}

func mustRule(t testing.TB, src string) *Rule {
	t.Helper()
	lr := mustLoad(t, src)
	if len(lr.Loaded) != 1 {
		t.Fatalf("want 1 rule, got %d", len(lr.Loaded))
	}
	return lr.Loaded[0]
}

// winEvent builds a Windows event; kv alternates key and value. System
// keys (Channel, EventID, ...) fill the System fields.
func winEvent(t testing.TB, kv ...string) *event.Event {
	t.Helper()
	var kvs []event.KV
	for i := 0; i+1 < len(kv); i += 2 {
		kvs = append(kvs, event.KV{Key: kv[i], Value: kv[i+1]})
	}
	ev, err := buildEvent(event.EVTX, kvs, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// sysmon1 is a Sysmon process creation event with the given data fields.
func sysmon1(t testing.TB, kv ...string) *event.Event {
	return winEvent(t, append([]string{"Channel", chSysmon, "EventID", "1", "Computer", "EX01.contoso.local"}, kv...)...)
}

func lineEvent(t testing.TB, src event.Source, kv ...string) *event.Event {
	t.Helper()
	var kvs []event.KV
	for i := 0; i+1 < len(kv); i += 2 {
		kvs = append(kvs, event.KV{Key: kv[i], Value: kv[i+1]})
	}
	ev, err := buildEvent(src, kvs, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// hits scans ev and returns the ids of the rules that fired.
func hits(t testing.TB, e *Engine, ev *event.Event) []string {
	t.Helper()
	sc := e.NewScanner()
	sc.OnError = func(err error) { t.Errorf("evaluation error: %v", err) }
	var out []string
	sc.Scan(ev, func(r *Rule, m Match) { out = append(out, r.ID) })
	return out
}

func fires(t testing.TB, r *Rule, ev *event.Event) bool {
	t.Helper()
	e, err := NewEngine([]*Rule{r}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := len(hits(t, e, ev)) > 0
	// The brute-force path (no prefilter, no index) must agree.
	if bf := bruteForce(e, r, ev); bf != got {
		t.Errorf("prefilter disagrees with brute force on %s: engine %v, brute force %v", r, got, bf)
	}
	return got
}

// bruteForce evaluates r on ev along every route whose family, channel and
// EventID admit the event, without index or prefilter.
func bruteForce(e *Engine, r *Rule, ev *event.Event) bool {
	sc := e.NewScanner()
	sc.beginEvent(ev)
	defer sc.endEvent()
	ri := -1
	for i, x := range e.rules {
		if x == r {
			ri = i
		}
	}
	for _, rt := range r.routes {
		if rt.fam != familyOf(ev.Source) {
			continue
		}
		if rt.fam == famWindows {
			if ev.Win == nil {
				continue
			}
			if rt.channel != "" && !strings.EqualFold(rt.channel, ev.Win.Channel) {
				continue
			}
			if len(rt.eids) > 0 {
				ok := false
				for _, id := range rt.eids {
					if id == ev.Win.EventID {
						ok = true
					}
				}
				if !ok {
					continue
				}
			}
		}
		ent := entry{rule: r, ri: ri, ctx: rt.ctx}
		if sc.evalEntry(&ent, ev) {
			return true
		}
	}
	return false
}
