package sigma

import (
	"math"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Needles: for each rule and route, clauses of literals such that the
// rule cannot match an event unless every clause has a literal occurring
// (ASCII case ignored) in the event's raw text. Derived from the condition
// tree (needleCNF): a field condition gives one clause, AND keeps its
// sides' clauses, OR unites them, NOT gives nothing. A needle is at least minNeedle bytes, and holds non-ASCII bytes
// only where the pattern compares them exactly (characters without case
// variants, spelled-out case variants, cased patterns), because the
// filter folds ASCII only; a rule without needles is evaluated on every
// event of its bucket.

const minNeedle = 3

// nset is a disjunction of needles; ok=false means "no constraint".
type nset struct {
	ok   bool
	lits []string
}

var noNeedles = nset{}

// score rates a needle set: higher means fewer expected raw-text hits.
func (s nset) score() float64 {
	if !s.ok || len(s.lits) == 0 {
		return math.Inf(-1)
	}
	min := math.Inf(1)
	for _, l := range s.lits {
		if x := needleScore(l); x < min {
			min = x
		}
	}
	return min - math.Log2(float64(len(s.lits)))
}

// needleScore rates one literal by length and byte rarity in log text.
func needleScore(l string) float64 {
	var s float64
	for i := 0; i < len(l) && i < 24; i++ {
		c := l[i]
		switch {
		case c >= '0' && c <= '9':
			s += 0.6
		case c == ' ' || c == '.' || c == '/' || c == '-' || c == ':' || c == ',' || c == '\\' || c == '=' || c == '_':
			s += 0.5
		case strings.IndexByte("etaoinsrhlcdETAOINSRHLCD", c) >= 0:
			s += 1.0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			s += 1.5
		default:
			s += 2.0
		}
	}
	if len(l) < 4 {
		s -= 2 // three-byte needles make the filter use its slower pair pass
	}
	return s
}

func union(a, b nset) nset {
	if !a.ok || !b.ok {
		return noNeedles
	}
	return nset{ok: true, lits: append(append([]string(nil), a.lits...), b.lits...)}
}

func better(a, b nset) nset {
	if !a.ok {
		return b
	}
	if !b.ok {
		return a
	}
	if b.score() > a.score() {
		return b
	}
	return a
}

// minimize drops duplicates and needles containing another needle of the
// set (the shorter one hits whenever the longer does).
func (s nset) minimize() nset {
	if !s.ok {
		return s
	}
	low := make([]string, 0, len(s.lits))
	seen := map[string]bool{}
	for _, l := range s.lits {
		l = lowerASCII(l)
		if !seen[l] {
			seen[l] = true
			low = append(low, l)
		}
	}
	sort.Slice(low, func(i, j int) bool { return len(low[i]) < len(low[j]) || len(low[i]) == len(low[j]) && low[i] < low[j] })
	var out []string
	for _, l := range low {
		dup := false
		for _, o := range out {
			if strings.Contains(l, o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, l)
		}
	}
	return nset{ok: true, lits: out}
}

// maxClauses bounds the needle clauses kept per rule.
const maxClauses = 3

// needleCNF returns clauses (each a needle disjunction) that every match
// of the condition satisfies: the rule is a candidate only when each
// clause has a needle in the raw text. No clauses: no constraint.
//
// AND concatenates its sides' clauses (keeping the best maxClauses). OR
// builds clause j as the union of each side's j-th best clause: whichever
// side matches satisfies all of its clauses, so every union holds.
func needleCNF(n *cnode, ctx *fieldCtx) []nset {
	switch n.op {
	case cSel:
		var alts [][]nset
		for _, alt := range n.sel.alts {
			var cl []nset
			for _, fc := range alt {
				cl = append(cl, fieldClauses(fc, ctx)...)
			}
			alts = append(alts, bestClauses(cl))
		}
		return orCNF(alts)
	case cAnd:
		var cl []nset
		for _, k := range n.kids {
			cl = append(cl, needleCNF(k, ctx)...)
		}
		return bestClauses(cl)
	case cOr:
		var kids [][]nset
		for _, k := range n.kids {
			kids = append(kids, needleCNF(k, ctx))
		}
		return orCNF(kids)
	case cAtLeast:
		if n.n >= len(n.kids) {
			return needleCNF(&cnode{op: cAnd, kids: n.kids}, ctx)
		}
		return needleCNF(&cnode{op: cOr, kids: n.kids}, ctx)
	}
	return nil
}

// bestClauses dedups clauses and keeps the maxClauses best, best first.
func bestClauses(cl []nset) []nset {
	seen := map[string]bool{}
	var out []nset
	for _, c := range cl {
		key := strings.Join(c.lits, "\x00")
		if !c.ok || len(c.lits) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score() > out[j].score() })
	if len(out) > maxClauses {
		out = out[:maxClauses]
	}
	return out
}

// orCNF combines alternatives: clause j is the union of every
// alternative's j-th clause (its last when it has fewer).
func orCNF(kids [][]nset) []nset {
	if len(kids) == 0 {
		return nil
	}
	if len(kids) == 1 {
		return kids[0]
	}
	m := 0
	for i, k := range kids {
		if len(k) == 0 {
			return nil
		}
		if i == 0 || len(k) > m {
			m = len(k)
		}
	}
	out := make([]nset, 0, m)
	for j := 0; j < m; j++ {
		acc := nset{ok: true}
		for _, k := range kids {
			c := k[len(k)-1]
			if j < len(k) {
				c = k[j]
			}
			acc = union(acc, c)
		}
		out = append(out, acc.minimize())
	}
	return bestClauses(out)
}

// notInRaw lists Windows System fields the raw text does not carry.
var notInRaw = map[string]bool{"eventid": true, "level": true, "eventrecordid": true}

// fieldClauses returns the clauses of one field condition: one per value
// under |all, else one for the whole value list.
func fieldClauses(fc *fieldCond, ctx *fieldCtx) []nset {
	if fc.neg || fc.exists != 0 || len(fc.groups) == 0 {
		return nil
	}
	split := ctx.rawSplit
	if ctx.fam == famWindows {
		spec := ctx.spec(fc.lfield)
		name := fc.lfield
		if spec != nil {
			split += spec.split
			if spec.kind == sWin && len(spec.names) == 1 {
				name = strings.ToLower(spec.names[0])
			}
		}
		if notInRaw[name] {
			return nil
		}
	} else if spec := ctx.spec(fc.lfield); spec != nil {
		split += spec.split
	}
	groupSet := func(g []pattern) nset {
		acc := nset{ok: true}
		for i := range g {
			acc = union(acc, patternNeedles(&g[i], split, ctx.plus))
			if !acc.ok {
				return noNeedles
			}
		}
		return acc
	}
	if fc.all {
		var out []nset
		for _, g := range fc.groups {
			if ns := groupSet(g); ns.ok {
				out = append(out, ns.minimize())
			}
		}
		return out
	}
	acc := nset{ok: true}
	for _, g := range fc.groups {
		acc = union(acc, groupSet(g))
		if !acc.ok {
			return nil
		}
	}
	return []nset{acc.minimize()}
}

// patternNeedles returns the needles one pattern requires.
func patternNeedles(p *pattern, split string, plus bool) nset {
	var lits []string
	switch p.kind {
	case pExact, pPrefix, pSuffix, pContains, pGlob:
		for _, part := range p.src {
			if part.wild == 0 {
				lits = append(lits, part.lit)
			}
		}
		// A fast or cased pattern compares non-ASCII bytes exactly, so
		// they may be part of a needle (the filter folds ASCII only).
		return bestRun(lits, split, plus, p.fast || p.cased)
	case pRegex:
		s, ok := regexNeedles(p.reSrc)
		if !ok {
			return noNeedles
		}
		// Every literal of the disjunction must yield a needle.
		acc := nset{ok: true}
		for _, l := range s {
			acc = union(acc, bestRun([]string{l}, split, plus, false))
			if !acc.ok {
				return noNeedles
			}
		}
		return acc
	}
	return noNeedles
}

// bestRun picks the best necessary literal among lits (all of which occur
// in a match): the best run after splitting at split characters and, unless
// exact, at non-ASCII characters.
func bestRun(lits []string, split string, plus, exact bool) nset {
	best := ""
	bestScore := math.Inf(-1)
	for _, l := range lits {
		for _, run := range needleRuns(l, split, exact) {
			if len(run) < minNeedle {
				continue
			}
			if s := needleScore(run); s > bestScore {
				best, bestScore = run, s
			}
		}
	}
	if best == "" {
		return noNeedles
	}
	out := nset{ok: true, lits: []string{best}}
	if plus && strings.IndexByte(best, ' ') >= 0 {
		out.lits = append(out.lits, strings.ReplaceAll(best, " ", "+"))
	}
	return out
}

// needleRuns splits s into maximal runs without control characters, split
// characters and (unless exact) non-ASCII bytes.
func needleRuns(s, split string, exact bool) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		stop := i == len(s)
		if !stop {
			c := s[i]
			stop = c >= utf8.RuneSelf && !exact || c < 0x20 && c != '\t' || strings.IndexByte(split, c) >= 0
		}
		if stop {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// regexNeedles extracts literals such that every match of the regular
// expression contains one of them (ignoring case). ok=false when no such
// set is found.
func regexNeedles(expr string) ([]string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	s := reLits(re.Simplify(), 0)
	return s.lits, s.ok
}

func reLits(re *syntax.Regexp, depth int) nset {
	if depth > 50 {
		return noNeedles
	}
	switch re.Op {
	case syntax.OpLiteral:
		return nset{ok: true, lits: []string{string(re.Rune)}}
	case syntax.OpCapture:
		return reLits(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return reLits(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reLits(re.Sub[0], depth+1)
		}
	case syntax.OpAlternate:
		acc := nset{ok: true}
		for _, sub := range re.Sub {
			acc = union(acc, reLits(sub, depth+1))
			if !acc.ok || len(acc.lits) > 64 {
				return noNeedles
			}
		}
		return acc
	case syntax.OpConcat:
		best := noNeedles
		var run strings.Builder
		flush := func() {
			if run.Len() > 0 {
				best = better(best, bestRun([]string{run.String()}, "", false, false))
				run.Reset()
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run.WriteString(string(sub.Rune))
				continue
			}
			flush()
			best = better(best, reLits(sub, depth+1))
		}
		flush()
		return best
	}
	return noNeedles
}

// foldSafeRegex rewrites case-insensitive literals so that ASCII letters
// match ASCII case variants only: Go's (?i) also matches k with U+212A
// (Kelvin sign) and s with U+017F, which would let a match escape the
// ASCII keyword prefilter. The rewritten expression matches the same
// strings otherwise.
func foldSafeRegex(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return expr
	}
	if !rewriteFold(re, 0) {
		return expr
	}
	return re.String()
}

// rewriteFold reports whether it changed anything.
func rewriteFold(re *syntax.Regexp, depth int) bool {
	if depth > 200 {
		return false
	}
	changed := false
	for _, sub := range re.Sub {
		if rewriteFold(sub, depth+1) {
			changed = true
		}
	}
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase == 0 {
		return changed
	}
	special := false
	for _, r := range re.Rune {
		if r == 'k' || r == 'K' || r == 's' || r == 'S' {
			special = true
		}
	}
	if !special {
		return changed
	}
	var subs []*syntax.Regexp
	var lit []rune
	flush := func() {
		if len(lit) > 0 {
			subs = append(subs, &syntax.Regexp{Op: syntax.OpLiteral, Flags: re.Flags, Rune: append([]rune(nil), lit...)})
			lit = lit[:0]
		}
	}
	for _, r := range re.Rune {
		switch r {
		case 'k', 'K', 's', 'S':
			flush()
			up, lo := r&^0x20, r|0x20
			subs = append(subs, &syntax.Regexp{Op: syntax.OpCharClass, Flags: re.Flags &^ syntax.FoldCase, Rune: []rune{up, up, lo, lo}})
		default:
			lit = append(lit, r)
		}
	}
	flush()
	*re = syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags &^ syntax.FoldCase, Sub: subs}
	return true
}

// eidSet is the set of EventIDs a match requires; any=true when none is
// required.
type eidSet struct {
	any bool
	ids map[uint32]bool
}

var anyEID = eidSet{any: true}

func eidUnion(a, b eidSet) eidSet {
	if a.any || b.any {
		return anyEID
	}
	out := eidSet{ids: map[uint32]bool{}}
	for id := range a.ids {
		out.ids[id] = true
	}
	for id := range b.ids {
		out.ids[id] = true
	}
	return out
}

func eidIntersect(a, b eidSet) eidSet {
	if a.any {
		return b
	}
	if b.any {
		return a
	}
	out := eidSet{ids: map[uint32]bool{}}
	for id := range a.ids {
		if b.ids[id] {
			out.ids[id] = true
		}
	}
	return out
}

// eventIDs analyses which EventIDs a match of the condition requires.
func eventIDs(n *cnode) eidSet {
	switch n.op {
	case cSel:
		acc := eidSet{ids: map[uint32]bool{}}
		for _, alt := range n.sel.alts {
			req := anyEID
			for _, fc := range alt {
				req = eidIntersect(req, fieldEIDs(fc))
			}
			acc = eidUnion(acc, req)
			if acc.any {
				return anyEID
			}
		}
		return acc
	case cAnd:
		req := anyEID
		for _, k := range n.kids {
			req = eidIntersect(req, eventIDs(k))
		}
		return req
	case cOr:
		acc := eidSet{ids: map[uint32]bool{}}
		for _, k := range n.kids {
			acc = eidUnion(acc, eventIDs(k))
			if acc.any {
				return anyEID
			}
		}
		return acc
	case cAtLeast:
		if n.n >= len(n.kids) {
			return eventIDs(&cnode{op: cAnd, kids: n.kids})
		}
		return eventIDs(&cnode{op: cOr, kids: n.kids})
	}
	return anyEID
}

func fieldEIDs(fc *fieldCond) eidSet {
	if fc.lfield != "eventid" || fc.neg || fc.exists != 0 || fc.all || len(fc.groups) == 0 {
		return anyEID
	}
	out := eidSet{ids: map[uint32]bool{}}
	for _, g := range fc.groups {
		for _, p := range g {
			if p.kind != pExact {
				return anyEID
			}
			id, err := strconv.ParseUint(p.lit, 10, 32)
			if err != nil || strconv.FormatUint(id, 10) != p.lit {
				return anyEID // "04688" never equals a formatted EventID, but stay general
			}
			out.ids[uint32(id)] = true
		}
	}
	return out
}
