package oracle

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/bradleyjkemp/sigma-go/evaluator/modifiers"

	"github.com/exhunt/exhunt/detect/sigma"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
)

// TestOracle cross-checks the engine's matches on the corpus EVTX against
// sigma-go (see doc.go for what is compared and what is left out).
func TestOracle(t *testing.T) {
	start := time.Now()
	shared := sharedDir(t)
	rulesDir := filepath.Join(shared, "sigma", "rules", "windows")
	corpus := filepath.Join(shared, "corpus")
	if v := os.Getenv("EXHUNT_SIGMA"); v != "" {
		rulesDir = filepath.Join(v, "rules", "windows")
	}
	if v := os.Getenv("EXHUNT_CORPUS"); v != "" {
		corpus = v
	}
	for _, d := range []string{rulesDir, corpus} {
		if _, err := os.Stat(d); err != nil {
			t.Skipf("%s not found: %v", d, err)
		}
	}

	// Our engine.
	lr := sigma.Load(os.DirFS(rulesDir), ".")
	if len(lr.Loaded) == 0 {
		t.Fatalf("no rules loaded from %s", rulesDir)
	}
	eng, err := sigma.NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules := eng.Rules()
	ruleIdx := make(map[*sigma.Rule]int, len(rules))
	for i, r := range rules {
		ruleIdx[r] = i
	}

	// The oracle's view of each rule, and where it is compared.
	orules := make([]*oracleRule, len(rules))
	excluded := map[string]int{}
	routeIdx := newRouteIndex()
	compared := 0
	for i, r := range rules {
		nat, mapped := nativeRoutes(t, r)
		if len(nat) == 0 {
			if mapped {
				excluded["routed only through a field mapping"]++
			} else {
				excluded["routed nowhere"]++
			}
			continue
		}
		data, err := fs.ReadFile(os.DirFS(rulesDir), r.Path)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		or, why := newOracleRule(r, data)
		if or == nil {
			excluded[why]++
			continue
		}
		orules[i] = or
		compared++
		for _, rt := range nat {
			routeIdx.add(rt, i)
		}
	}

	// Events: parse the corpus once, scanning each event with our engine
	// as it is emitted and keeping a copy for the oracle.
	var events []oevent
	ours := map[pair]bool{}
	oursAll := 0
	sc := eng.NewScanner()
	sc.OnError = func(err error) { t.Errorf("engine: %v", err) }
	files := 0
	err = filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".evtx") {
			return err
		}
		rel, _ := filepath.Rel(corpus, p)
		rel = filepath.ToSlash(rel)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		files++
		_, perr := evtx.Parse(context.Background(), f, parse.Meta{Path: rel, Source: event.EVTX}, func(ev *event.Event) error {
			ei := len(events)
			sc.Scan(ev, func(r *sigma.Rule, _ sigma.Match) {
				oursAll++
				ours[pair{ei, ruleIdx[r]}] = true
			})
			events = append(events, newOevent(rel, ev.Win))
			return nil
		})
		if perr != nil {
			t.Logf("%s: %v", rel, perr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	parsed := time.Since(start)

	// The oracle, on the pairs our routing makes comparable.
	type result struct {
		pairs, skippedNil, oracleHits int
		oracle                        []pair
		errs                          []string
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	results := make([]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			var cand []int
			for ei := w; ei < len(events); ei += workers {
				ev := &events[ei]
				cand = routeIdx.candidates(ev, cand[:0])
				for _, ri := range cand {
					or := orules[ri]
					if or.nilArtefact(ev) {
						res.skippedNil++
						continue
					}
					res.pairs++
					m, err := or.matches(ev)
					if err != nil {
						res.errs = append(res.errs, fmt.Sprintf("%s on %s record %d: %v", rules[ri], ev.file, ev.record, err))
						continue
					}
					if m {
						res.oracleHits++
						res.oracle = append(res.oracle, pair{ei, ri})
					}
				}
			}
		}()
	}
	wg.Wait()

	var pairs, skippedNil, oracleHits int
	oracle := map[pair]bool{}
	for _, res := range results {
		pairs += res.pairs
		skippedNil += res.skippedNil
		oracleHits += res.oracleHits
		for _, p := range res.oracle {
			oracle[p] = true
		}
		for _, e := range res.errs {
			t.Errorf("sigma-go failed: %s", e)
		}
	}

	// Compare on the compared pairs only: a hit of ours outside them (a
	// mapped route, an excluded rule) is not the oracle's business.
	var dis []string
	oursCompared := 0
	for p := range ours {
		ev := &events[p.ev]
		or := orules[p.rule]
		if or == nil || !routeIdx.routes(ev, p.rule) || or.nilArtefact(ev) {
			continue
		}
		oursCompared++
		if !oracle[p] {
			dis = append(dis, describe("engine matched, sigma-go did not", rules[p.rule], or, ev))
		}
	}
	for p := range oracle {
		if !ours[p] {
			dis = append(dis, describe("sigma-go matched, engine did not", rules[p.rule], orules[p.rule], &events[p.ev]))
		}
	}
	sort.Strings(dis)

	t.Logf("rules: %d loaded by the engine, %d compared with sigma-go", len(rules), compared)
	var whys []string
	for k := range excluded {
		whys = append(whys, k)
	}
	sort.Slice(whys, func(i, j int) bool {
		return excluded[whys[i]] > excluded[whys[j]] || excluded[whys[i]] == excluded[whys[j]] && whys[i] < whys[j]
	})
	for _, k := range whys {
		t.Logf("  not compared: %4d  %s", excluded[k], k)
	}
	t.Logf("events: %d from %d EVTX files", len(events), files)
	t.Logf("pairs compared: %d (skipped for sigma-go's missing-field artefact: %d)", pairs, skippedNil)
	t.Logf("hits: engine %d on compared pairs (%d in all), sigma-go %d", oursCompared, oursAll, oracleHits)
	t.Logf("disagreements: %d", len(dis))
	perRule := map[int]int{}
	for p := range oracle {
		perRule[p.rule]++
	}
	var hitRules []int
	for ri := range perRule {
		hitRules = append(hitRules, ri)
	}
	sort.Slice(hitRules, func(i, j int) bool { return rules[hitRules[i]].Path < rules[hitRules[j]].Path })
	for _, ri := range hitRules {
		t.Logf("  sigma-go hits %4d  %s", perRule[ri], rules[ri].Path)
	}
	t.Logf("time: %v (parse and engine scan %v)", time.Since(start).Round(time.Millisecond), parsed.Round(time.Millisecond))
	for _, d := range dis {
		t.Error(d)
	}
}

// sharedDir finds the "shared" directory next to the module root.
func sharedDir(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared")
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("module root not found")
		}
		dir = up
	}
}

type pair struct{ ev, rule int }

// Events.

// oevent is one corpus event as the oracle sees it.
type oevent struct {
	file    string
	record  uint64
	channel string // lower-cased
	eid     uint32
	fields  map[string]any // flat: System fields, then data by name ([]any when repeated)
	win     *event.WinEvent
}

func newOevent(file string, w *event.WinEvent) oevent {
	c := *w
	c.Data = slices.Clone(w.Data)
	m := map[string]any{
		"Channel":       c.Channel,
		"EventID":       strconv.FormatUint(uint64(c.EventID), 10),
		"Provider_Name": c.Provider,
		"Computer":      c.Computer,
		"Level":         strconv.FormatUint(uint64(c.Level), 10),
	}
	for _, kv := range c.Data {
		switch kv.Key {
		case "Channel", "EventID", "Provider_Name", "Computer", "Level":
			continue // the System value wins, as in the engine
		}
		switch old := m[kv.Key].(type) {
		case nil:
			m[kv.Key] = kv.Value
		case string:
			m[kv.Key] = []any{old, kv.Value}
		case []any:
			m[kv.Key] = append(old, kv.Value)
		}
	}
	return oevent{file: file, record: c.RecordID, channel: strings.ToLower(c.Channel), eid: c.EventID, fields: m, win: &c}
}

// Routing.

// nroute is a route of ours that reads fields by their own names.
type nroute struct {
	channel string // lower-cased; "" any
	eids    []uint32
}

// nativeRoutes reads the rule's routes (Rule.Routes: "windows
// Channel=<channel> EventID=<id,...> (fields: <mapping>)") and keeps the
// Windows ones whose mapping is the identity (sysmon, windows); mapped
// reports whether a route was left out for its field mapping.
func nativeRoutes(t *testing.T, r *sigma.Rule) (out []nroute, mapped bool) {
	for _, s := range r.Routes() {
		rest, ok := strings.CutPrefix(s, "windows")
		if !ok {
			continue // iis, httpproxy
		}
		i := strings.LastIndex(rest, " (fields: ")
		if i < 0 || !strings.HasSuffix(rest, ")") {
			t.Fatalf("%s: unexpected route %q", r, s)
		}
		ctx := rest[i+len(" (fields: ") : len(rest)-1]
		rest = rest[:i]
		if ctx != "sysmon" && ctx != "windows" {
			mapped = true
			continue
		}
		var rt nroute
		if j := strings.Index(rest, " EventID="); j >= 0 {
			for _, f := range strings.Split(rest[j+len(" EventID="):], ",") {
				id, err := strconv.ParseUint(f, 10, 32)
				if err != nil {
					t.Fatalf("%s: unexpected route %q", r, s)
				}
				rt.eids = append(rt.eids, uint32(id))
			}
			rest = rest[:j]
		}
		if ch, ok := strings.CutPrefix(rest, " Channel="); ok {
			rt.channel = strings.ToLower(ch)
		} else if rest != "" {
			t.Fatalf("%s: unexpected route %q", r, s)
		}
		out = append(out, rt)
	}
	return out, mapped
}

type routeIndex struct {
	byChannel map[string][]rentry // "" for routes of any channel
}

type rentry struct {
	rule int
	eids []uint32
}

func newRouteIndex() *routeIndex { return &routeIndex{byChannel: map[string][]rentry{}} }

func (x *routeIndex) add(rt nroute, rule int) {
	x.byChannel[rt.channel] = append(x.byChannel[rt.channel], rentry{rule, rt.eids})
}

// candidates appends the rules a native route of which the event
// satisfies, each once, in rule order.
func (x *routeIndex) candidates(ev *oevent, dst []int) []int {
	for _, ch := range []string{ev.channel, ""} {
		for _, e := range x.byChannel[ch] {
			if len(e.eids) == 0 || slices.Contains(e.eids, ev.eid) {
				dst = append(dst, e.rule)
			}
		}
		if ev.channel == "" {
			break
		}
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

func (x *routeIndex) routes(ev *oevent, rule int) bool {
	for _, ch := range []string{ev.channel, ""} {
		for _, e := range x.byChannel[ch] {
			if e.rule == rule && (len(e.eids) == 0 || slices.Contains(e.eids, ev.eid)) {
				return true
			}
		}
	}
	return false
}

// Rules.

// oracleRule is a rule as sigma-go parsed it, when sigma-go can evaluate
// it with Sigma's meaning.
type oracleRule struct {
	eval   *evaluator.RuleEvaluator
	fields []string // field names the detection reads
	// nilFields: fields some value of which sigma-go matches when the field
	// is absent (it compares a missing field as the string "<nil>").
	nilFields []string
}

// newOracleRule parses a rule file with sigma-go and checks that sigma-go
// evaluates everything the rule uses the way Sigma means it; otherwise it
// returns nil and why.
func newOracleRule(r *sigma.Rule, data []byte) (*oracleRule, string) {
	if r.Doc > 0 {
		return nil, "multi-document file (sigma-go reads the first document only)"
	}
	sr, err := sigmago.ParseRule(data)
	if err != nil {
		return nil, "sigma-go cannot parse the rule"
	}
	det := sr.Detection
	if len(det.Conditions) != 1 || det.Conditions[0].Aggregation != nil {
		return nil, "several conditions or an aggregation"
	}
	if why := checkExpr(det.Conditions[0].Search, det.Searches); why != "" {
		return nil, why
	}
	or := &oracleRule{}
	seen := map[string]bool{}
	nilSeen := map[string]bool{}
	for _, s := range det.Searches {
		if len(s.Keywords) > 0 {
			return nil, "keyword search (sigma-go: unsupported)"
		}
		for _, em := range s.EventMatchers {
			for _, fm := range em {
				if fm.Field == "" {
					return nil, "keyword search (sigma-go: unsupported)"
				}
				mods := fm.Modifiers
				if len(mods) > 0 && mods[len(mods)-1] == "all" {
					mods = mods[:len(mods)-1]
				}
				cmp, err := modifiers.GetComparator(fm.Field, modifiers.Comparators, mods...)
				if err != nil {
					return nil, "modifier " + unknownModifier(fm.Modifiers) + " (sigma-go lacks it)"
				}
				// Which comparator: the last modifier, if it is one.
				kind := ""
				if len(mods) > 0 && modifiers.Comparators[mods[len(mods)-1]] != nil {
					kind = mods[len(mods)-1]
				}
				for _, v := range fm.Values {
					switch v := v.(type) {
					case nil:
						// sigma-go: "expected scalar field matching value"
						// error for every event.
						return nil, "null value (sigma-go cannot evaluate it)"
					case string:
						switch kind {
						case "re", "cidr", "gt", "gte", "lt", "lte":
							// Not Sigma strings: no wildcards or escapes.
						default:
							// sigma-go compares strings literally: no *
							// or ? wildcards and no \ escapes
							// (modifiers.baseComparator, contains, ...).
							if strings.ContainsAny(v, "*?") {
								return nil, "wildcard * or ? in a value (sigma-go compares it literally)"
							}
							if strings.Contains(v, `\\`) {
								return nil, `escaped backslash \\ in a value (sigma-go does not unescape)`
							}
						}
					case int, bool:
					case float64:
						// yaml.v3 types an unquoted 00000429 as a float and
						// sigma-go compares "429" (fmt %v); the engine keeps
						// the text, as Sigma means
						// (registry_set_susp_keyboard_layout_load.yml).
						return nil, "float value"
					default:
						return nil, fmt.Sprintf("%T value (sigma-go cannot evaluate it)", v)
					}
				}
				if !seen[fm.Field] {
					seen[fm.Field] = true
					or.fields = append(or.fields, fm.Field)
				}
				if !nilSeen[fm.Field] {
					for _, v := range fm.Values {
						if ok, _ := cmp(nil, fmt.Sprint(v)); ok {
							nilSeen[fm.Field] = true
							or.nilFields = append(or.nilFields, fm.Field)
							break
						}
					}
				}
			}
		}
	}
	sort.Strings(or.fields)
	// Identity field mappings: with a mapping, sigma-go reads a repeated
	// field ([]any) as its list of values (GetFieldValuesFromEvent).
	fm := map[string][]string{}
	for _, f := range or.fields {
		fm[f] = []string{f}
	}
	cfg := sigmago.Config{FieldMappings: map[string]sigmago.FieldMapping{}}
	for f, names := range fm {
		cfg.FieldMappings[f] = sigmago.FieldMapping{TargetNames: names}
	}
	// A %name% value is a placeholder only with the expand modifier (which
	// sigma-go lacks, so such rules are excluded above); without it the
	// value is literal, which this expander returns.
	or.eval = evaluator.ForRule(sr, evaluator.WithConfig(cfg), evaluator.WithPlaceholderExpander(func(_ context.Context, v string) ([]string, error) { return []string{v}, nil }))
	return or, ""
}

func unknownModifier(mods []string) string {
	for i, m := range mods {
		if modifiers.Comparators[m] == nil && modifiers.ValueModifiers[m] == nil && modifiers.EventValueModifiers[m] == nil && !(m == "all" && i == len(mods)-1) {
			return m
		}
	}
	return strings.Join(mods, "|") + " (order)"
}

// checkExpr rejects condition constructs sigma-go parses but does not
// evaluate (its evaluateSearchExpression panics on "1 of x" / "all of x"
// without a wildcard) or evaluates differently ("them" includes
// identifiers starting with "_", which Sigma leaves out).
func checkExpr(e sigmago.SearchExpr, searches map[string]sigmago.Search) string {
	switch e := e.(type) {
	case sigmago.And:
		for _, k := range e {
			if why := checkExpr(k, searches); why != "" {
				return why
			}
		}
	case sigmago.Or:
		for _, k := range e {
			if why := checkExpr(k, searches); why != "" {
				return why
			}
		}
	case sigmago.Not:
		return checkExpr(e.Expr, searches)
	case sigmago.OneOfIdentifier, sigmago.AllOfIdentifier:
		return "\"1 of x\" / \"all of x\" without a wildcard (sigma-go panics)"
	case sigmago.OneOfThem, sigmago.AllOfThem:
		for name := range searches {
			if strings.HasPrefix(name, "_") {
				return "\"of them\" with an identifier starting with _ (sigma-go includes it)"
			}
		}
	}
	return ""
}

// matches asks sigma-go, turning a panic into an error.
func (or *oracleRule) matches(ev *oevent) (m bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			m, err = false, fmt.Errorf("panic: %v", v)
		}
	}()
	r, err := or.eval.Matches(context.Background(), ev.fields)
	return r.Match, err
}

// nilArtefact reports whether sigma-go would compare a field the event
// lacks as "<nil>" and match it.
func (or *oracleRule) nilArtefact(ev *oevent) bool {
	for _, f := range or.nilFields {
		if _, ok := ev.fields[f]; !ok {
			return true
		}
	}
	return false
}

func describe(what string, r *sigma.Rule, or *oracleRule, ev *oevent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: rule %s %q on %s record %d (Channel=%s EventID=%d)", what, r, r.Title, ev.file, ev.record, ev.win.Channel, ev.win.EventID)
	for _, f := range or.fields {
		v, ok := ev.fields[f]
		if !ok {
			// The engine reads field names ignoring case.
			for k, x := range ev.fields {
				if strings.EqualFold(k, f) {
					fmt.Fprintf(&b, "\n\t%s: absent (but %s=%q)", f, k, x)
					ok = true
				}
			}
			if !ok {
				fmt.Fprintf(&b, "\n\t%s: absent", f)
			}
			continue
		}
		s := fmt.Sprintf("%q", v)
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		fmt.Fprintf(&b, "\n\t%s=%s", f, s)
	}
	return b.String()
}
