package sigma

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// TestPrefilterSoundness is the property that makes the index safe: for
// varied events, the engine (index + keyword prefilter) reports exactly
// the rules that brute-force evaluation of every rule reports.
func TestPrefilterSoundness(t *testing.T) {
	lr := loadHQ(t, "rules/windows", "rules/web", "rules-emerging-threats", "rules-threat-hunting")
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := ruleVocab(lr.Loaded)
	rng := rand.New(rand.NewPCG(20261125, 1))
	n := 4000
	if testing.Short() {
		n = 500
	}
	sc := e.NewScanner()
	sc.OnError = func(err error) { t.Errorf("evaluation error: %v", err) }
	bf := e.NewScanner()
	var events, fired int
	for i := 0; i < n; i++ {
		var ev *event.Event
		switch {
		case i%5 == 4:
			ev = v.fuzzLineEvent(t, rng)
		case i%7 == 3:
			ev = realisticEvent(rng)
		default:
			ev = v.fuzzWinEvent(rng)
		}
		var got []int
		sc.Scan(ev, func(r *Rule, _ Match) { got = append(got, slices.Index(e.rules, r)) })
		want := bruteForceAll(bf, ev)
		events++
		fired += len(want)
		if !slices.Equal(got, want) {
			t.Errorf("event %d (%s %q): engine %v, brute force %v", i, ev.Source, ev.Excerpt(), names(e, got), names(e, want))
			if t.Failed() && len(got)+len(want) > 0 {
				return
			}
		}
	}
	t.Logf("%d events, %d rule hits, all equal to brute force", events, fired)
	if fired == 0 {
		t.Error("no rule fired: the generator does not exercise matching")
	}
}

// bruteForceAll evaluates every rule along every route that admits ev.
func bruteForceAll(sc *Scanner, ev *event.Event) []int {
	var out []int
	for i, r := range sc.e.rules {
		if bruteForceWith(sc, i, r, ev) {
			out = append(out, i)
		}
	}
	return out
}

func bruteForceWith(sc *Scanner, ri int, r *Rule, ev *event.Event) bool {
	sc.beginEvent(ev)
	defer sc.endEvent()
	for _, rt := range r.routes {
		if rt.fam != familyOf(ev.Source) {
			continue
		}
		if rt.fam == famWindows {
			if rt.channel != "" && !equalFoldASCII(rt.channel, ev.Win.Channel) {
				continue
			}
			if len(rt.eids) > 0 && !slices.Contains(rt.eids, ev.Win.EventID) {
				continue
			}
		}
		ent := entry{rule: r, ri: ri, ctx: rt.ctx}
		if sc.evalEntry(&ent, ev) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool { return lowerASCII(a) == lowerASCII(b) }

func names(e *Engine, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, e.rules[i].Path)
	}
	return out
}
