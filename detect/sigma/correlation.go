package sigma

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exhunt/exhunt/finding"
)

// Correlation is a Sigma correlation rule: it fires on groups of base
// rule matches (event_count, value_count, temporal, temporal_ordered).
type Correlation struct {
	ID             string
	Name           string
	Title          string
	Status         string
	Level          string
	Description    string
	Author         string
	Date           string
	Modified       string
	Tags           []string
	References     []string
	FalsePositives []string
	Path           string
	Doc            int
	Exhunt         *Meta

	Type      string   // event_count, value_count, temporal, temporal_ordered
	Rules     []string // referenced rule (or correlation) ids or names, as written
	GroupBy   []string
	Timespan  time.Duration
	Condition CorrelationCondition
	// Aliases maps an alias used in GroupBy to the field name per
	// referenced rule name (or id).
	Aliases  map[string]map[string]string
	Generate bool

	bases    []corrBase
	advisory finding.Advisory
}

// CorrelationCondition is the count a correlation needs; nil bounds are
// absent. For temporal types without a condition, every rule must match.
type CorrelationCondition struct {
	Field            string // value_count: the field whose distinct values are counted
	GT, GTE, LT, LTE *int64
	EQ               *int64
}

// corrBase is one referenced rule or correlation.
type corrBase struct {
	rule *Rule
	corr *Correlation
	ref  string
}

func (c *Correlation) String() string { return fmt.Sprintf("%s (correlation %s)", c.Path, c.ID) }

// Advisory is the finding advisory of the correlation.
func (c *Correlation) Advisory() finding.Advisory {
	a := c.advisory
	a.CVEs = append([]string(nil), a.CVEs...)
	a.Techniques = append([]string(nil), a.Techniques...)
	a.References = append([]string(nil), a.References...)
	return a
}

// baseRules lists the detection rules the correlation reads, through
// chained correlations too.
func (c *Correlation) baseRules() []*Rule {
	var out []*Rule
	seen := map[*Correlation]bool{}
	var walk func(c *Correlation)
	walk = func(c *Correlation) {
		if seen[c] {
			return
		}
		seen[c] = true
		for _, b := range c.bases {
			if b.rule != nil {
				out = append(out, b.rule)
			} else if b.corr != nil {
				walk(b.corr)
			}
		}
	}
	walk(c)
	return out
}

// fieldFor resolves a group-by name (maybe an alias) for one base rule.
func (c *Correlation) fieldFor(r *Rule, name string) string {
	if m, ok := c.Aliases[name]; ok {
		if r.Name != "" {
			if f, ok := m[r.Name]; ok {
				return f
			}
		}
		if f, ok := m[r.ID]; ok {
			return f
		}
	}
	return name
}

// upper reports whether the condition has an upper bound (needs the
// window to close before it can be judged).
func (cc CorrelationCondition) upper() bool { return cc.LT != nil || cc.LTE != nil || cc.EQ != nil }

func (cc CorrelationCondition) empty() bool {
	return cc.GT == nil && cc.GTE == nil && cc.LT == nil && cc.LTE == nil && cc.EQ == nil
}

// holds tests a count.
func (cc CorrelationCondition) holds(n int64) bool {
	return (cc.GT == nil || n > *cc.GT) && (cc.GTE == nil || n >= *cc.GTE) &&
		(cc.LT == nil || n < *cc.LT) && (cc.LTE == nil || n <= *cc.LTE) && (cc.EQ == nil || n == *cc.EQ)
}

// need is the smallest count meeting the lower bounds.
func (cc CorrelationCondition) need() int64 {
	n := int64(1)
	if cc.GT != nil && *cc.GT+1 > n {
		n = *cc.GT + 1
	}
	if cc.GTE != nil && *cc.GTE > n {
		n = *cc.GTE
	}
	if cc.EQ != nil && *cc.EQ > n {
		n = *cc.EQ
	}
	return n
}

var correlationTypes = map[string]bool{"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true}

// parseTimespan reads "90s", "5m", "1h", "2d".
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("bad timespan %q (want a number and s, m, h or d)", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, fmt.Errorf("bad timespan %q (want a number and s, m, h or d)", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad timespan unit in %q (want s, m, h or d)", s)
	}
	return time.Duration(n) * unit, nil
}

// parseCorrelation reads a correlation document.
func (l *Loader) parseCorrelation(c *docCtx, doc *yaml.Node) (*Correlation, *RuleError, bool) {
	h, e := c.parseHeader(doc)
	if e != nil {
		return nil, e, false
	}
	cn, err := c.deref(mapGet(doc, "correlation"))
	if err != nil {
		e := c.errf("correlation", "%v", err)
		return nil, &e, false
	}
	if cn.Kind != yaml.MappingNode {
		e := c.errf("correlation", "want a mapping, got a %s", kindName(cn))
		return nil, &e, false
	}
	corr := &Correlation{ID: h.id, Name: h.name, Title: h.title, Status: h.status, Level: h.level,
		Description: h.description, Author: h.author, Date: h.date, Modified: h.modified, Tags: h.tags,
		References: h.references, FalsePositives: h.falsePositives, Path: c.path, Doc: c.doc, Exhunt: h.meta}
	if g := mapGet(doc, "generate"); g != nil {
		s, e := c.scalar(g, "generate")
		if e != nil {
			return nil, e, false
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			e := c.errf("generate", "want true or false")
			return nil, &e, false
		}
		corr.Generate = b
	}
	for i := 0; i+1 < len(cn.Content); i += 2 {
		k := cn.Content[i].Value
		v := cn.Content[i+1]
		field := "correlation." + k
		var e *RuleError
		switch k {
		case "type":
			var s string
			s, e = c.scalar(v, field)
			corr.Type = strings.ToLower(s)
		case "rules":
			corr.Rules, e = c.stringList(v, field)
		case "group-by":
			corr.GroupBy, e = c.stringList(v, field)
		case "timespan", "timeframe":
			var s string
			if s, e = c.scalar(v, field); e == nil {
				d, err := parseTimespan(s)
				if err != nil {
					x := c.errf(field, "%v", err)
					return nil, &x, false
				}
				corr.Timespan = d
			}
		case "condition":
			corr.Condition, e = c.parseCorrCondition(v, field)
		case "aliases":
			corr.Aliases, e = c.parseAliases(v, field)
		case "generate":
			var s string
			if s, e = c.scalar(v, field); e == nil {
				corr.Generate = s == "true"
			}
		default:
			x := c.errf(field, "unknown attribute")
			return nil, &x, false
		}
		if e != nil {
			return nil, e, false
		}
	}
	switch {
	case corr.Type == "":
		e := c.errf("correlation.type", "missing")
		return nil, &e, false
	case !correlationTypes[corr.Type]:
		if strings.HasPrefix(corr.Type, "value_") {
			e := c.errf("correlation.type", "correlation type %q is not supported", corr.Type)
			return nil, &e, true
		}
		e := c.errf("correlation.type", "unknown type %q (want event_count, value_count, temporal or temporal_ordered)", corr.Type)
		return nil, &e, false
	case len(corr.Rules) == 0:
		e := c.errf("correlation.rules", "missing")
		return nil, &e, false
	case corr.Timespan == 0:
		e := c.errf("correlation.timespan", "missing")
		return nil, &e, false
	}
	switch corr.Type {
	case "event_count", "value_count":
		if corr.Condition.empty() {
			e := c.errf("correlation.condition", "missing")
			return nil, &e, false
		}
	}
	if corr.Type == "value_count" && corr.Condition.Field == "" {
		e := c.errf("correlation.condition.field", "missing (value_count counts the distinct values of a field)")
		return nil, &e, false
	}
	if corr.Type != "value_count" && corr.Condition.Field != "" {
		e := c.errf("correlation.condition.field", "only value_count takes a field")
		return nil, &e, false
	}
	id := corr.ID
	if id == "" && h.meta != nil {
		id = h.meta.ID
	}
	if id == "" {
		e := c.errf("id", "missing")
		return nil, &e, false
	}
	corr.advisory = buildAdvisory(id, corr.Title, corr.Description, corr.Level, corr.Path, corr.Tags, corr.References, corr.Exhunt)
	return corr, nil, false
}

func (c *docCtx) parseCorrCondition(n *yaml.Node, field string) (CorrelationCondition, *RuleError) {
	var cc CorrelationCondition
	n, err := c.deref(n)
	if err != nil {
		e := c.errf(field, "%v", err)
		return cc, &e
	}
	if n.Kind != yaml.MappingNode {
		e := c.errf(field, "want a mapping such as {gte: 10}, got a %s", kindName(n))
		return cc, &e
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		s, e := c.scalar(n.Content[i+1], field+"."+k)
		if e != nil {
			return cc, e
		}
		if k == "field" {
			cc.Field = s
			continue
		}
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || v < 0 {
			e := c.errf(field+"."+k, "want a non-negative integer, got %q", s)
			return cc, &e
		}
		switch k {
		case "gt":
			cc.GT = &v
		case "gte":
			cc.GTE = &v
		case "lt":
			cc.LT = &v
		case "lte":
			cc.LTE = &v
		case "eq":
			cc.EQ = &v
		default:
			e := c.errf(field+"."+k, "unknown operator (want gt, gte, lt, lte, eq or field)")
			return cc, &e
		}
	}
	return cc, nil
}

func (c *docCtx) parseAliases(n *yaml.Node, field string) (map[string]map[string]string, *RuleError) {
	n, err := c.deref(n)
	if err != nil {
		e := c.errf(field, "%v", err)
		return nil, &e
	}
	if n.Kind != yaml.MappingNode {
		e := c.errf(field, "want a mapping, got a %s", kindName(n))
		return nil, &e
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		alias := n.Content[i].Value
		m, err := c.deref(n.Content[i+1])
		if err != nil || m.Kind != yaml.MappingNode {
			e := c.errf(field+"."+alias, "want a mapping of rule name to field")
			return nil, &e
		}
		out[alias] = map[string]string{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			v, e := c.scalar(m.Content[j+1], field+"."+alias+"."+m.Content[j].Value)
			if e != nil {
				return nil, e
			}
			out[alias][m.Content[j].Value] = v
		}
	}
	return out, nil
}

// resolver finds rules and correlations by id or name.
type resolver struct {
	rules map[string]*Rule
	corrs map[string]*Correlation
}

func newResolver(rules []*Rule, corrs []*Correlation) *resolver {
	r := &resolver{rules: map[string]*Rule{}, corrs: map[string]*Correlation{}}
	for _, x := range rules {
		if x.ID != "" {
			r.rules[x.ID] = x
		}
		if x.Name != "" {
			r.rules[x.Name] = x
		}
	}
	for _, x := range corrs {
		if x.ID != "" {
			r.corrs[x.ID] = x
		}
		if x.Name != "" {
			r.corrs[x.Name] = x
		}
	}
	return r
}

func (res *resolver) resolveCorrelation(c *Correlation) *RuleError {
	var bases []corrBase
	for i, ref := range c.Rules {
		if r, ok := res.rules[ref]; ok {
			bases = append(bases, corrBase{rule: r, ref: ref})
			continue
		}
		if x, ok := res.corrs[ref]; ok && x != c {
			bases = append(bases, corrBase{corr: x, ref: ref})
			continue
		}
		return &RuleError{Path: c.Path, Doc: c.Doc, ID: c.ID, Title: c.Title, Field: fmt.Sprintf("correlation.rules[%d]", i), Reason: fmt.Sprintf("unknown rule %q", ref)}
	}
	// A correlation chain must not loop back to itself.
	seen := map[*Correlation]bool{c: true}
	var walk func(x *Correlation, depth int) bool
	walk = func(x *Correlation, depth int) bool {
		if depth > 16 {
			return false
		}
		for _, b := range x.bases {
			if b.corr == nil {
				continue
			}
			if seen[b.corr] {
				return false
			}
			seen[b.corr] = true
			if !walk(b.corr, depth+1) {
				return false
			}
		}
		return true
	}
	old := c.bases
	c.bases = bases
	if !walk(c, 0) {
		c.bases = old
		return &RuleError{Path: c.Path, Doc: c.Doc, ID: c.ID, Title: c.Title, Field: "correlation.rules", Reason: "correlation chain loops or is deeper than 16"}
	}
	// Without ATT&CK tags of its own, a correlation takes the worst stage
	// of its base rules.
	tactics := false
	for _, t := range c.Tags {
		if strings.HasPrefix(strings.ToLower(t), "attack.") {
			tactics = true
		}
	}
	if !tactics && (c.Exhunt == nil || c.Exhunt.Stage == finding.StageNone) {
		stage := finding.StageNone
		for _, r := range c.baseRules() {
			if r.advisory.Stage > stage {
				stage = r.advisory.Stage
			}
		}
		if stage != finding.StageNone {
			c.advisory.Stage = stage
		}
	}
	return nil
}

func (res *resolver) resolveFilter(f *Filter) *RuleError {
	for i, ref := range f.Rules {
		if _, ok := res.rules[ref]; !ok {
			return &RuleError{Path: f.Path, Doc: f.Doc, ID: f.ID, Title: f.Title, Field: fmt.Sprintf("filter.rules[%d]", i), Reason: fmt.Sprintf("unknown rule %q", ref)}
		}
	}
	return nil
}

// CorrelationMatch is one correlation hit.
type CorrelationMatch struct {
	Correlation *Correlation
	Group       map[string]string // group-by values
	First, Last time.Time         // times of the first and last contributing event
	Count       int               // events (event_count), distinct values (value_count) or rules (temporal)
}

// Correlator evaluates correlations over a stream of base-rule matches.
// Memory is bounded: per correlation at most MaxGroups group keys, each
// with a window bounded by the condition. It is not safe for concurrent
// use: feed it from the one goroutine that collects matches.
type Correlator struct {
	states []*corrState
	byRule map[*Rule][]stateStep
	byCorr map[*Correlation][]stateStep
	max    int
}

type stateStep struct {
	st    *corrState
	steps []int // positions of the base in the correlation's rule list
}

// DefaultMaxGroups bounds the group keys kept per correlation.
const DefaultMaxGroups = 10000

// maxValues bounds the distinct values a value_count window keeps.
const maxValues = 10000

type corrState struct {
	c      *Correlation
	groups map[string]*group
}

type group struct {
	vals  map[string]string
	first time.Time // window start (tumbling) or first event
	last  time.Time
	// event_count
	times []time.Time
	count int64
	// value_count
	seen map[string]time.Time
	// temporal
	at []time.Time
	// temporal_ordered: per step, the start and end of the best chain
	start []time.Time
	end   []time.Time
}

// NewCorrelator returns a correlator for cs; maxGroups <= 0 means
// DefaultMaxGroups.
func NewCorrelator(cs []*Correlation, maxGroups int) *Correlator {
	if maxGroups <= 0 {
		maxGroups = DefaultMaxGroups
	}
	k := &Correlator{byRule: map[*Rule][]stateStep{}, byCorr: map[*Correlation][]stateStep{}, max: maxGroups}
	// Chained correlations run even when only the outer one is given.
	var all []*Correlation
	seen := map[*Correlation]bool{}
	var add func(c *Correlation)
	add = func(c *Correlation) {
		if seen[c] {
			return
		}
		seen[c] = true
		all = append(all, c)
		for _, b := range c.bases {
			if b.corr != nil {
				add(b.corr)
			}
		}
	}
	for _, c := range cs {
		add(c)
	}
	for _, c := range all {
		st := &corrState{c: c, groups: map[string]*group{}}
		k.states = append(k.states, st)
		for i, b := range c.bases {
			if b.rule != nil {
				k.byRule[b.rule] = addStep(k.byRule[b.rule], st, i)
			} else {
				k.byCorr[b.corr] = addStep(k.byCorr[b.corr], st, i)
			}
		}
	}
	return k
}

func addStep(list []stateStep, st *corrState, i int) []stateStep {
	for j := range list {
		if list[j].st == st {
			list[j].steps = append(list[j].steps, i)
			return list
		}
	}
	return append(list, stateStep{st: st, steps: []int{i}})
}

// Wants reports whether r feeds any correlation.
func (k *Correlator) Wants(r *Rule) bool { return len(k.byRule[r]) > 0 }

// Observe feeds one base-rule match: the rule, the event time and the
// event's field values (Match.Fields carries every group-by field).
func (k *Correlator) Observe(r *Rule, t time.Time, fields map[string]string, emit func(CorrelationMatch)) {
	for _, ss := range k.byRule[r] {
		k.observe(ss, r, t, fields, emit, 0)
	}
}

// Flush closes every window; correlations with an upper bound (lt, lte,
// eq) are judged only when their window closes. Call at end of input.
func (k *Correlator) Flush(emit func(CorrelationMatch)) {
	for _, st := range k.states {
		c := st.c
		keys := make([]string, 0, len(st.groups))
		for key := range st.groups {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			g := st.groups[key]
			if c.Condition.upper() && (c.Type == "event_count" || c.Type == "value_count") {
				n := g.count
				if c.Type == "value_count" {
					n = int64(len(g.seen))
				}
				if c.Condition.holds(n) {
					k.fire(st, g, int(n), emit, 0)
				}
			}
			delete(st.groups, key)
		}
	}
}

func (k *Correlator) observe(ss stateStep, r *Rule, t time.Time, fields map[string]string, emit func(CorrelationMatch), depth int) {
	st := ss.st
	c := st.c
	key, vals := groupKey(c, r, fields)
	g := st.groups[key]
	if g == nil {
		k.evict(st, t)
		g = &group{vals: vals, first: t}
		st.groups[key] = g
	}
	prevLast := g.last
	if t.After(g.last) {
		g.last = t
	}
	span := c.Timespan
	// closeWindow judges a tumbling window that t falls outside of.
	closeWindow := func(n int64) {
		cur := g.last
		g.last = prevLast
		if c.Condition.holds(n) {
			k.fire(st, g, int(n), emit, depth)
		}
		g.first, g.last = t, cur
	}
	switch c.Type {
	case "event_count":
		if c.Condition.upper() {
			if t.Sub(g.first) > span {
				closeWindow(g.count)
				g.count = 0
			}
			g.count++
			return
		}
		need := int(c.Condition.need())
		g.times = pruneTimes(append(g.times, t), t.Add(-span), need)
		if len(g.times) >= need {
			g.first = g.times[0]
			k.fire(st, g, len(g.times), emit, depth)
			g.times = g.times[:0]
		}
	case "value_count":
		v := fields[c.fieldFor(r, c.Condition.Field)]
		if g.seen == nil {
			g.seen = map[string]time.Time{}
		}
		if c.Condition.upper() {
			if t.Sub(g.first) > span {
				closeWindow(int64(len(g.seen)))
				clear(g.seen)
			}
			if len(g.seen) < maxValues {
				g.seen[v] = t
			}
			return
		}
		g.seen[v] = t
		cut := t.Add(-span)
		for x, at := range g.seen {
			if at.Before(cut) {
				delete(g.seen, x)
			}
		}
		if len(g.seen) > maxValues {
			dropOldest(g.seen, len(g.seen)-maxValues)
		}
		if int64(len(g.seen)) >= c.Condition.need() {
			g.first = t
			for _, at := range g.seen {
				if at.Before(g.first) {
					g.first = at
				}
			}
			k.fire(st, g, len(g.seen), emit, depth)
			clear(g.seen)
		}
	case "temporal":
		if g.at == nil {
			g.at = make([]time.Time, len(c.bases))
		}
		for _, i := range ss.steps {
			g.at[i] = t
		}
		cut := t.Add(-span)
		n, first := 0, t
		for _, at := range g.at {
			if !at.IsZero() && !at.Before(cut) {
				n++
				if at.Before(first) {
					first = at
				}
			}
		}
		ok := n == len(c.bases)
		if !c.Condition.empty() {
			ok = c.Condition.holds(int64(n))
		}
		if ok {
			g.first = first
			k.fire(st, g, n, emit, depth)
			clear(g.at)
		}
	case "temporal_ordered":
		last := len(c.bases) - 1
		if g.start == nil {
			g.start = make([]time.Time, len(c.bases))
			g.end = make([]time.Time, len(c.bases))
		}
		// Later steps first, so one event never advances two steps.
		steps := append([]int(nil), ss.steps...)
		sort.Sort(sort.Reverse(sort.IntSlice(steps)))
		for _, i := range steps {
			if i == 0 {
				g.start[0], g.end[0] = t, t
			} else if !g.end[i-1].IsZero() && !t.Before(g.end[i-1]) && t.Sub(g.start[i-1]) <= span {
				g.start[i], g.end[i] = g.start[i-1], t
			} else {
				continue
			}
			if i == last {
				g.first = g.start[i]
				k.fire(st, g, len(c.bases), emit, depth)
				clear(g.start)
				clear(g.end)
				return
			}
		}
	}
}

// pruneTimes drops times before cut and keeps at most need of the latest.
func pruneTimes(ts []time.Time, cut time.Time, need int) []time.Time {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	if len(ts)-i > need {
		i = len(ts) - need
	}
	if i > 0 {
		ts = append(ts[:0], ts[i:]...)
	}
	return ts
}

func dropOldest(m map[string]time.Time, n int) {
	type kv struct {
		k string
		t time.Time
	}
	all := make([]kv, 0, len(m))
	for k, t := range m {
		all = append(all, kv{k, t})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for i := 0; i < n && i < len(all); i++ {
		delete(m, all[i].k)
	}
}

// evict makes room for one more group: expired groups first, then the
// eighth least recently seen.
func (k *Correlator) evict(st *corrState, now time.Time) {
	if len(st.groups) < k.max {
		return
	}
	cut := now.Add(-st.c.Timespan)
	for key, g := range st.groups {
		if g.last.Before(cut) && !st.c.Condition.upper() {
			delete(st.groups, key)
		}
	}
	if len(st.groups) < k.max {
		return
	}
	type kt struct {
		k string
		t time.Time
	}
	all := make([]kt, 0, len(st.groups))
	for key, g := range st.groups {
		all = append(all, kt{key, g.last})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	n := len(all)/8 + 1
	for i := 0; i < n; i++ {
		delete(st.groups, all[i].k)
	}
}

func (k *Correlator) fire(st *corrState, g *group, n int, emit func(CorrelationMatch), depth int) {
	m := CorrelationMatch{Correlation: st.c, Group: g.vals, First: g.first, Last: g.last, Count: n}
	emit(m)
	if depth >= 16 {
		return
	}
	// Chained correlations see this hit as a base event.
	for _, ss := range k.byCorr[st.c] {
		fields := map[string]string{}
		for _, gb := range st.c.GroupBy {
			fields[gb] = g.vals[gb]
		}
		k.observeCorr(ss, st.c, g.last, fields, emit, depth+1)
	}
}

// observeCorr feeds a correlation hit to a chained correlation.
func (k *Correlator) observeCorr(ss stateStep, from *Correlation, t time.Time, fields map[string]string, emit func(CorrelationMatch), depth int) {
	pseudo := &Rule{ID: from.ID, Name: from.Name}
	k.observe(ss, pseudo, t, fields, emit, depth)
}

// groupKey builds the group key and values of a base match.
func groupKey(c *Correlation, r *Rule, fields map[string]string) (string, map[string]string) {
	vals := make(map[string]string, len(c.GroupBy))
	var b strings.Builder
	for _, g := range c.GroupBy {
		v := fields[c.fieldFor(r, g)]
		vals[g] = v
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String(), vals
}
