package sigma

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
)

// Engine evaluates a fixed set of compiled rules. It is immutable after
// NewEngine and safe for concurrent use through one Scanner per goroutine.
type Engine struct {
	rules  []*Rule
	filter [][]*Filter // per rule: the filters that apply
	extra  [][]string  // per rule: fields always copied into Match (rule `fields:`, correlation group-by)
	corrs  []*Correlation
	fams   [numFamilies]*famIndex
	maxPos int // largest bucket, for scanner scratch
	stats  Stats

	// cnf memoises needleCNF per rule and field mapping while building: a
	// rule of an unspecific logsource lands in hundreds of buckets, and the
	// analysis was most of the load time.
	cnf map[cnfKey][]nset
}

type cnfKey struct {
	ri  int
	ctx *fieldCtx
}

// Stats describes the index, for reports and benchmarks.
type Stats struct {
	Rules        int // rules given
	Routed       int // rules with at least one route
	NoEvidence   int // rules routed nowhere
	Buckets      int // index buckets (one keyword filter each)
	Needles      int // needles, summed over buckets
	AlwaysEval   int // (rule, bucket) pairs without needles
	Placements   int // (rule, bucket) pairs
	Correlations int
	Filters      int
}

type famIndex struct {
	channels map[string]*chanIndex // lower-cased Channel (Windows)
	anyCh    *chanIndex            // Windows events of a channel no rule names
	all      *bucket               // line families
}

type chanIndex struct {
	byEID map[uint32]*bucket
	rest  *bucket // EventIDs with no bucket of their own
}

// bucket is the rules one kind of event can match, behind one keyword
// filter over their needles.
type bucket struct {
	entries []entry
	kw      *detect.KeywordFilter
	owners  [][]int32 // needle -> entry position<<3 | clause
	full    []uint8   // per entry: the clause mask that makes it a candidate
	always  []int32   // entries without needles
}

type entry struct {
	rule *Rule
	ri   int // index into Engine.rules
	ctx  *fieldCtx
}

// NewEngine indexes rules. filters are applied to the rules they name (or
// to every rule of their logsource); correlations receive the matches of
// their base rules through a Correlator, and the engine copies their
// group-by fields into each Match.
func NewEngine(rules []*Rule, filters []*Filter, correlations []*Correlation) (*Engine, error) {
	e := &Engine{rules: rules, corrs: correlations}
	e.stats.Rules = len(rules)
	e.stats.Correlations = len(correlations)
	e.stats.Filters = len(filters)
	idx := map[*Rule]int{}
	for i, r := range rules {
		if r == nil || r.det == nil {
			return nil, fmt.Errorf("rule %d: not a compiled rule", i)
		}
		if _, dup := idx[r]; dup {
			return nil, fmt.Errorf("rule %s listed twice", r)
		}
		idx[r] = i
	}
	e.filter = make([][]*Filter, len(rules))
	for _, f := range filters {
		if f == nil || f.det == nil {
			return nil, fmt.Errorf("not a compiled filter")
		}
		for i, r := range rules {
			if f.appliesTo(r) {
				e.filter[i] = append(e.filter[i], f)
			}
		}
	}
	e.extra = make([][]string, len(rules))
	for i, r := range rules {
		e.extra[i] = append(e.extra[i], r.Fields...)
	}
	for _, c := range correlations {
		if c == nil || len(c.bases) == 0 {
			return nil, fmt.Errorf("correlation %v: rule references not resolved (load it with Load or ParseFile)", c)
		}
		for _, b := range c.bases {
			if b.rule != nil {
				if _, ok := idx[b.rule]; !ok {
					return nil, fmt.Errorf("correlation %s: rule %q is not in the engine", c, b.ref)
				}
			}
		}
		for _, r := range c.baseRules() {
			i, ok := idx[r]
			if !ok {
				continue
			}
			for _, g := range c.GroupBy {
				e.extra[i] = append(e.extra[i], c.fieldFor(r, g))
			}
			if c.Condition.Field != "" {
				e.extra[i] = append(e.extra[i], c.fieldFor(r, c.Condition.Field))
			}
		}
	}
	for i := range e.extra {
		slices.Sort(e.extra[i])
		e.extra[i] = slices.Compact(e.extra[i])
	}
	if err := e.build(); err != nil {
		return nil, err
	}
	return e, nil
}

// Rules returns the engine's rules in evaluation order.
func (e *Engine) Rules() []*Rule { return e.rules }

// Correlations returns the engine's correlations.
func (e *Engine) Correlations() []*Correlation { return e.corrs }

// Stats describes the index.
func (e *Engine) Stats() Stats { return e.stats }

// placement is a rule put into part of the index.
type placement struct {
	entry
	channel string // lower-cased; "" any
	eid     uint32
	anyEID  bool
}

func (e *Engine) build() error {
	defer func() { e.cnf = nil }()
	var ps []placement
	for i, r := range e.rules {
		if len(r.routes) == 0 {
			e.stats.NoEvidence++
			continue
		}
		e.stats.Routed++
		req := eventIDs(r.det.root)
		for _, rt := range r.routes {
			ent := entry{rule: r, ri: i, ctx: rt.ctx}
			if rt.fam != famWindows {
				ps = append(ps, placement{entry: ent, anyEID: true, channel: "\x00" + rt.fam.String()})
				continue
			}
			ch := strings.ToLower(rt.channel)
			want := anyEID
			if len(rt.eids) > 0 {
				want = eidSet{ids: map[uint32]bool{}}
				for _, id := range rt.eids {
					want.ids[id] = true
				}
			}
			want = eidIntersect(want, req)
			if want.any {
				ps = append(ps, placement{entry: ent, channel: ch, anyEID: true})
				continue
			}
			ids := make([]uint32, 0, len(want.ids))
			for id := range want.ids {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				ps = append(ps, placement{entry: ent, channel: ch, eid: id})
			}
		}
	}
	e.precomputeCNF(ps)
	// Windows: per channel and EventID, the merged rule lists.
	specific := map[string]map[uint32][]entry{}
	chAny := map[string][]entry{}
	star := map[uint32][]entry{}
	var starAny []entry
	line := map[family][]entry{}
	for _, p := range ps {
		switch {
		case strings.HasPrefix(p.channel, "\x00"):
			f := famIIS
			if p.channel == "\x00"+famHTTPProxy.String() {
				f = famHTTPProxy
			}
			line[f] = append(line[f], p.entry)
		case p.channel == "" && p.anyEID:
			starAny = append(starAny, p.entry)
		case p.channel == "":
			star[p.eid] = append(star[p.eid], p.entry)
		case p.anyEID:
			chAny[p.channel] = append(chAny[p.channel], p.entry)
		default:
			if specific[p.channel] == nil {
				specific[p.channel] = map[uint32][]entry{}
			}
			specific[p.channel][p.eid] = append(specific[p.channel][p.eid], p.entry)
		}
	}
	win := &famIndex{channels: map[string]*chanIndex{}}
	chans := map[string]bool{}
	for ch := range specific {
		chans[ch] = true
	}
	for ch := range chAny {
		chans[ch] = true
	}
	mk := func(lists ...[]entry) (*bucket, error) {
		var all []entry
		for _, l := range lists {
			all = append(all, l...)
		}
		return e.newBucket(all)
	}
	for ch := range chans {
		ci := &chanIndex{byEID: map[uint32]*bucket{}}
		ids := map[uint32]bool{}
		for id := range specific[ch] {
			ids[id] = true
		}
		for id := range star {
			ids[id] = true
		}
		for id := range ids {
			b, err := mk(specific[ch][id], chAny[ch], star[id], starAny)
			if err != nil {
				return err
			}
			ci.byEID[id] = b
		}
		b, err := mk(chAny[ch], starAny)
		if err != nil {
			return err
		}
		ci.rest = b
		win.channels[ch] = ci
	}
	ci := &chanIndex{byEID: map[uint32]*bucket{}}
	for id := range star {
		b, err := mk(star[id], starAny)
		if err != nil {
			return err
		}
		ci.byEID[id] = b
	}
	b, err := mk(starAny)
	if err != nil {
		return err
	}
	ci.rest = b
	win.anyCh = ci
	e.fams[famWindows] = win
	for _, f := range []family{famIIS, famHTTPProxy} {
		b, err := mk(line[f])
		if err != nil {
			return err
		}
		e.fams[f] = &famIndex{all: b}
	}
	return nil
}

// precomputeCNF runs the needle analysis of every (rule, mapping) once,
// spread over the cores: it is quadratic in a selection's value count
// (subsumption between needles), and rules with long value lists made it
// most of the load time of the SigmaHQ set.
func (e *Engine) precomputeCNF(ps []placement) {
	seen := map[cnfKey]bool{}
	var keys []cnfKey
	for _, p := range ps {
		k := cnfKey{p.entry.ri, p.entry.ctx}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	res := make([][]nset, len(keys))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) {
					return
				}
				res[i] = safeCNF(e.rules[keys[i].ri], keys[i].ctx)
			}
		}()
	}
	wg.Wait()
	e.cnf = make(map[cnfKey][]nset, len(keys))
	for i, k := range keys {
		e.cnf[k] = res[i]
	}
}

// dropShortClauses leaves out the clauses that need a needle shorter than
// four bytes when the rule has another clause: the keyword filter scans
// such needles by 2-byte windows, which hit on almost every byte of a log
// line ("200" from sc-status made the pack's IIS rules cost more than all
// built-in detectors together). Dropping a clause only admits more events
// to the exact evaluation, so matches are unchanged.
func dropShortClauses(cs []nset) []nset {
	short := func(c nset) bool {
		for _, l := range c.lits {
			if len(l) < 4 {
				return true
			}
		}
		return false
	}
	n := 0
	for _, c := range cs {
		if !short(c) {
			n++
		}
	}
	if n == 0 || n == len(cs) {
		return cs
	}
	out := make([]nset, 0, n)
	for _, c := range cs {
		if !short(c) {
			out = append(out, c)
		}
	}
	return out
}

// safeCNF is needleCNF in a worker goroutine, where a panic would take
// the process down: a rule whose analysis fails gets no needles and is
// evaluated on every event of its buckets, which is slower but still right.
func safeCNF(r *Rule, ctx *fieldCtx) (out []nset) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return needleCNF(r.det.root, ctx)
}

// newBucket sorts entries into rule order and builds the keyword filter.
func (e *Engine) newBucket(ents []entry) (*bucket, error) {
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].ri < ents[j].ri })
	// A rule placed twice with the same mapping (two routes into one
	// bucket) is evaluated once.
	ents = slices.CompactFunc(ents, func(a, b entry) bool { return a.ri == b.ri && a.ctx == b.ctx })
	b := &bucket{entries: ents}
	if len(ents) == 0 {
		return b, nil
	}
	e.stats.Buckets++
	e.stats.Placements += len(ents)
	if len(ents) > e.maxPos {
		e.maxPos = len(ents)
	}
	index := map[string]int{}
	var pats []string
	b.full = make([]uint8, len(ents))
	for pos, ent := range ents {
		k := cnfKey{ent.ri, ent.ctx}
		clauses, ok := e.cnf[k]
		if !ok {
			clauses = needleCNF(ent.rule.det.root, ent.ctx)
			if e.cnf == nil {
				e.cnf = map[cnfKey][]nset{}
			}
			e.cnf[k] = clauses
		}
		clauses = dropShortClauses(clauses)
		if len(clauses) == 0 {
			b.always = append(b.always, int32(pos))
			e.stats.AlwaysEval++
			continue
		}
		b.full[pos] = uint8(1)<<len(clauses) - 1
		for j, cl := range clauses {
			for _, l := range cl.lits {
				p, ok := index[l]
				if !ok {
					p = len(pats)
					index[l] = p
					pats = append(pats, l)
					b.owners = append(b.owners, nil)
				}
				o := int32(pos)<<3 | int32(j)
				if ow := b.owners[p]; len(ow) == 0 || ow[len(ow)-1] != o {
					b.owners[p] = append(b.owners[p], o)
				}
			}
		}
	}
	e.stats.Needles += len(pats)
	if len(pats) > 0 {
		kw, err := detect.NewKeywordFilter(pats)
		if err != nil {
			return nil, err
		}
		b.kw = kw
	}
	return b, nil
}

// lookup finds the bucket for an event; nil when no rule can match.
func (e *Engine) lookup(ev *event.Event, lowBuf []byte) (*bucket, []byte) {
	fam := familyOf(ev.Source)
	fi := e.fams[fam]
	if fi == nil {
		return nil, lowBuf
	}
	if fam != famWindows {
		return fi.all, lowBuf
	}
	if ev.Win == nil {
		return nil, lowBuf
	}
	lowBuf = appendLower(lowBuf[:0], ev.Win.Channel)
	ci, ok := fi.channels[string(lowBuf)]
	if !ok {
		ci = fi.anyCh
	}
	if b, ok := ci.byEID[ev.Win.EventID]; ok {
		return b, lowBuf
	}
	return ci.rest, lowBuf
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// Match is one rule hit.
type Match struct {
	// Fields holds the values of the fields that matched, then the rule's
	// `fields:` and any correlation group-by fields, keyed by Sigma field
	// name ("keywords" for a keyword match). Bounded: MaxMatchFields
	// entries of at most MaxFieldValue bytes.
	Fields map[string]string
	// Mapping names the field mapping the rule was evaluated under
	// (sysmon, security-4688, windows, iis, httpproxy).
	Mapping string
}

// Bounds on Match.Fields.
const (
	MaxMatchFields = 16
	MaxFieldValue  = 512
)

// PanicError is a recovered panic while evaluating a rule.
type PanicError struct {
	Rule  string // rule file and id
	Value any
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("sigma rule %s panicked: %v", e.Rule, e.Value)
}

// Scanner is one goroutine's view of an Engine, with reusable scratch
// space; it is not safe for concurrent use.
type Scanner struct {
	e *Engine
	// OnError receives evaluation failures (a *PanicError); the scan goes
	// on with the next rule. Nil drops them.
	OnError func(error)

	mark    []uint32 // per bucket position: generation stamp
	mask    []uint8  // per bucket position: needle clauses seen
	gen     uint32
	touched []int32
	cand    []int32
	chb     []byte

	// Per-event evaluation scratch.
	vals    []string
	arena   []byte
	preps   [prepSlots]prepped
	derived []derived
	evGen   uint32
	eidStr  string
	eidOK   bool
	ev      *event.Event
}

// NewScanner returns a scanner over e.
func (e *Engine) NewScanner() *Scanner {
	return &Scanner{e: e, mark: make([]uint32, e.maxPos), mask: make([]uint8, e.maxPos), vals: make([]string, 0, 64), arena: make([]byte, 0, 4096)}
}

// Scan evaluates every rule that can match ev and calls emit for each hit,
// in rule order. It does not retain ev; emit must not call Scan on the same
// scanner.
func (s *Scanner) Scan(ev *event.Event, emit func(r *Rule, m Match)) {
	var b *bucket
	b, s.chb = s.e.lookup(ev, s.chb)
	if b == nil || len(b.entries) == 0 {
		return
	}
	s.cand = s.cand[:0]
	s.gen++
	if s.gen == 0 {
		clear(s.mark)
		s.gen = 1
	}
	if b.kw != nil {
		s.touched = s.touched[:0]
		b.kw.Find(ev.Raw, func(p int) {
			for _, o := range b.owners[p] {
				pos, bit := o>>3, uint8(1)<<(o&7)
				if s.mark[pos] != s.gen {
					s.mark[pos] = s.gen
					s.mask[pos] = bit
					s.touched = append(s.touched, pos)
				} else {
					s.mask[pos] |= bit
				}
			}
		})
		for _, pos := range s.touched {
			if s.mask[pos] == b.full[pos] {
				s.cand = append(s.cand, pos)
			}
		}
	}
	for _, pos := range b.always {
		if s.mark[pos] != s.gen {
			s.mark[pos] = s.gen
			s.cand = append(s.cand, pos)
		}
	}
	if len(s.cand) == 0 {
		return
	}
	slices.Sort(s.cand)
	s.beginEvent(ev)
	defer s.endEvent()
	for _, pos := range s.cand {
		ent := &b.entries[pos]
		if s.evalEntry(ent, ev) {
			emit(ent.rule, s.match(ent, ev))
		}
	}
}

func (s *Scanner) beginEvent(ev *event.Event) {
	s.ev = ev
	s.arena = s.arena[:0]
	s.evGen++
	if s.evGen == 0 {
		s.preps = [prepSlots]prepped{}
		s.evGen = 1
	}
	s.vals = s.vals[:0]
	s.derived = s.derived[:0]
	s.eidOK = false
}

func (s *Scanner) endEvent() {
	s.ev = nil
	if cap(s.arena) > 1<<20 {
		// Do not keep a huge event's scratch (a script block) forever.
		s.arena = make([]byte, 0, 4096)
	}
	// Drop references into the event so the scanner does not pin it.
	clear(s.vals[:cap(s.vals)])
	for i := range s.preps {
		s.preps[i].p, s.preps[i].lower = nil, ""
	}
	clear(s.derived[:cap(s.derived)])
	s.eidStr = ""
}

// evalEntry evaluates a rule and its filters, recovering panics.
func (s *Scanner) evalEntry(ent *entry, ev *event.Event) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			s.vals = s.vals[:0]
			if s.OnError != nil {
				s.OnError(&PanicError{Rule: ent.rule.String(), Value: v, Stack: string(debug.Stack())})
			}
		}
	}()
	if !s.evalNode(ent.rule.det.root, ev, ent.ctx) {
		return false
	}
	for _, f := range s.e.filter[ent.ri] {
		if !s.evalNode(f.det.root, ev, ent.ctx) {
			return false
		}
	}
	return true
}

// match builds the Match for a hit (allocates; hits are rare).
func (s *Scanner) match(ent *entry, ev *event.Event) Match {
	m := Match{Fields: map[string]string{}, Mapping: ent.ctx.name}
	s.collect(ent.rule.det.root, ev, ent.ctx, m.Fields)
	for _, f := range s.e.extra[ent.ri] {
		if len(m.Fields) >= MaxMatchFields {
			break
		}
		if _, ok := m.Fields[f]; ok {
			continue
		}
		mark := len(s.vals)
		s.vals = s.fetch(ev, ent.ctx, strings.ToLower(f), s.vals)
		if len(s.vals) > mark {
			m.Fields[f] = boundValue(s.vals[mark])
		}
		s.vals = s.vals[:mark]
	}
	return m
}

// boundValue copies v, cut to MaxFieldValue bytes on a character boundary.
func boundValue(v string) string {
	if len(v) <= MaxFieldValue {
		return strings.Clone(v)
	}
	cut := MaxFieldValue
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return v[:cut] + "…"
}

// collect records the values of the fields that took part in the match:
// the selections reached without negation that are true.
func (s *Scanner) collect(n *cnode, ev *event.Event, ctx *fieldCtx, out map[string]string) {
	switch n.op {
	case cNot:
		return
	case cSel:
		for _, alt := range n.sel.alts {
			ok := true
			for _, fc := range alt {
				if !s.evalField(fc, ev, ctx) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			for _, fc := range alt {
				if fc.neg || fc.exists != 0 || len(out) >= MaxMatchFields {
					continue
				}
				key := fc.field
				if key == "" {
					key = "keywords"
				}
				if _, done := out[key]; done {
					continue
				}
				if v, ok := s.matchedValue(fc, ev, ctx); ok {
					out[key] = boundValue(v)
				}
			}
		}
	default:
		for _, k := range n.kids {
			if s.evalNode(k, ev, ctx) {
				s.collect(k, ev, ctx, out)
			}
		}
	}
}

// matchedValue returns the first value of fc's field that fc matches alone.
func (s *Scanner) matchedValue(fc *fieldCond, ev *event.Event, ctx *fieldCtx) (string, bool) {
	mark := len(s.vals)
	s.vals = s.fetch(ev, ctx, fc.lfield, s.vals)
	defer func() { s.vals = s.vals[:mark] }()
	vals := s.vals[mark:]
	for i := range vals {
		if s.matchValues(fc, vals[i:i+1], ev, ctx) {
			return vals[i], true
		}
	}
	if len(vals) > 0 {
		return vals[0], true
	}
	return "", false
}
