package sigma

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/exhunt/exhunt/event"
)

// evalNode evaluates a condition over ev under a field mapping.
func (s *Scanner) evalNode(n *cnode, ev *event.Event, ctx *fieldCtx) bool {
	switch n.op {
	case cSel:
		return s.evalSel(n.sel, ev, ctx)
	case cAnd:
		for _, k := range n.kids {
			if !s.evalNode(k, ev, ctx) {
				return false
			}
		}
		return true
	case cOr:
		for _, k := range n.kids {
			if s.evalNode(k, ev, ctx) {
				return true
			}
		}
		return false
	case cNot:
		return !s.evalNode(n.kids[0], ev, ctx)
	case cAtLeast:
		hits := 0
		for i, k := range n.kids {
			if s.evalNode(k, ev, ctx) {
				hits++
				if hits >= n.n {
					return true
				}
			}
			if hits+len(n.kids)-i-1 < n.n {
				return false
			}
		}
		return false
	}
	return false
}

func (s *Scanner) evalSel(sel *selection, ev *event.Event, ctx *fieldCtx) bool {
	for _, alt := range sel.alts {
		ok := true
		for _, fc := range alt {
			if !s.evalField(fc, ev, ctx) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (s *Scanner) evalField(fc *fieldCond, ev *event.Event, ctx *fieldCtx) bool {
	mark := len(s.vals)
	s.vals = s.fetch(ev, ctx, fc.lfield, s.vals)
	r := s.matchValues(fc, s.vals[mark:], ev, ctx)
	s.vals = s.vals[:mark]
	return r
}

// matchValues applies a field condition to the field's values.
func (s *Scanner) matchValues(fc *fieldCond, vals []string, ev *event.Event, ctx *fieldCtx) bool {
	var r bool
	switch {
	case fc.exists != 0:
		r = (len(vals) > 0) == (fc.exists > 0)
	case fc.all:
		r = true
		ascii := -1
		for i, g := range fc.groups {
			if fc.nonASCII[i] && s.allASCII(vals, &ascii) || !s.matchGroup(g, vals, ev, ctx) {
				r = false
				break
			}
		}
	default:
		ascii := -1
		for i, g := range fc.groups {
			if fc.nonASCII[i] && s.allASCII(vals, &ascii) {
				continue
			}
			if s.matchGroup(g, vals, ev, ctx) {
				r = true
				break
			}
		}
	}
	if fc.neg {
		return !r
	}
	return r
}

// allASCII reports whether every value is pure ASCII, computed once per
// field condition (*memo: -1 unknown, 0 no, 1 yes).
func (s *Scanner) allASCII(vals []string, memo *int) bool {
	if *memo < 0 {
		*memo = 1
		for _, v := range vals {
			if !s.prep(v).ascii {
				*memo = 0
				break
			}
		}
	}
	return *memo == 1
}

// matchGroup: any variant matches any value.
func (s *Scanner) matchGroup(g []pattern, vals []string, ev *event.Event, ctx *fieldCtx) bool {
	for i := range g {
		p := &g[i]
		switch p.kind {
		case pNull:
			if len(vals) == 0 || vals[0] == "" {
				return true
			}
			continue
		case pFieldRef:
			if s.matchRef(p, vals, ev, ctx) {
				return true
			}
			continue
		}
		for _, v := range vals {
			lv := v
			if p.fast || p.nonASCII {
				pv := s.prep(v)
				if p.nonASCII && pv.ascii {
					continue
				}
				lv = pv.lower
			}
			if p.matchString(v, lv) {
				return true
			}
		}
	}
	return false
}

// matchRef compares the field with another field of the same event.
func (s *Scanner) matchRef(p *pattern, vals []string, ev *event.Event, ctx *fieldCtx) bool {
	mark := len(s.vals)
	s.vals = s.fetch(ev, ctx, strings.ToLower(p.ref), s.vals)
	refs := s.vals[mark:]
	defer func() { s.vals = s.vals[:mark] }()
	for _, v := range vals {
		for _, rv := range refs {
			if refMatch(p.mode, p.cased, v, rv) {
				return true
			}
		}
	}
	return false
}

func refMatch(mode patKind, cased bool, v, ref string) bool {
	if cased {
		switch mode {
		case pPrefix:
			return strings.HasPrefix(v, ref)
		case pSuffix:
			return strings.HasSuffix(v, ref)
		case pContains:
			return strings.Contains(v, ref)
		}
		return v == ref
	}
	switch mode {
	case pPrefix:
		_, ok := foldPrefix(v, ref)
		return ok
	case pSuffix:
		return foldSuffix(v, ref)
	case pContains:
		return foldIndex(v, ref) >= 0
	}
	n, ok := foldPrefix(v, ref)
	return ok && n == len(v)
}

// prepped is a value prepared for matching.
type prepped struct {
	p     *byte
	n     int
	gen   uint32
	ascii bool
	lower string // ASCII upper case folded
}

// prep folds v's ASCII upper case and notes whether v is pure ASCII,
// cached per event so that a long value (a script block) is folded once
// however many rules read it.
func (s *Scanner) prep(v string) *prepped {
	if len(v) == 0 {
		return &emptyPrep
	}
	p := unsafe.StringData(v)
	h := (uintptr(unsafe.Pointer(p))>>3 ^ uintptr(len(v))) & (prepSlots - 1)
	e := &s.preps[h]
	if e.gen == s.evGen && e.p == p && e.n == len(v) {
		return e
	}
	e.p, e.n, e.gen = p, len(v), s.evGen
	ascii, upper := true, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			ascii = false
		} else if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	e.ascii = ascii
	if !upper {
		e.lower = v
		return e
	}
	start := len(s.arena)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.arena = append(s.arena, c)
	}
	e.lower = s.str(start)
	return e
}

const prepSlots = 64

var emptyPrep = prepped{ascii: true}

// str stores b in the per-event arena and returns it as a string.
func (s *Scanner) str(start int) string {
	if len(s.arena) == start {
		return ""
	}
	return unsafe.String(&s.arena[start], len(s.arena)-start)
}

// fetch appends the values of a Sigma field (lower-cased; "" for a
// keyword search over every value) to dst. No values means the field is
// absent. The first value is the primary one (null tests read it); more
// values are alternative spellings of it (IIS '+' decoding, URL forms).
func (s *Scanner) fetch(ev *event.Event, ctx *fieldCtx, lfield string, dst []string) []string {
	if w := ev.Win; w != nil {
		if lfield == "" {
			dst = append(dst, w.Channel, w.Provider, w.Computer)
			for i := range w.Data {
				dst = append(dst, w.Data[i].Value)
			}
			return dst
		}
		spec := ctx.spec(lfield)
		if spec == nil {
			return s.winField(w, lfield, dst)
		}
		switch spec.kind {
		case sWin:
			for _, n := range spec.names {
				mark := len(dst)
				dst = s.winField(w, n, dst)
				if len(dst) > mark {
					return dst
				}
			}
			return dst
		case sJoin:
			start := len(s.arena)
			found := false
			for _, n := range spec.names {
				v, ok := winFirst(w, n)
				if !ok {
					continue
				}
				if found {
					s.arena = append(s.arena, spec.sep...)
				}
				s.arena = append(s.arena, v...)
				found = true
			}
			if found {
				dst = append(dst, s.str(start))
			}
			return dst
		}
		return dst
	}
	if ev.Schema == nil {
		return dst
	}
	vals := ev.Values()
	iis := ctx.fam == famIIS
	if lfield == "" {
		for i, v := range vals {
			dst = s.lineValue(dst, v, iis, iis && i < len(ev.Schema.Names) && strings.IndexByte(ev.Schema.Names[i], '(') >= 0)
		}
		return dst
	}
	spec := ctx.spec(lfield)
	if spec == nil {
		i, ok := ev.Schema.Index(lfield)
		if !ok || i >= len(vals) {
			return dst
		}
		return s.lineValue(dst, vals[i], iis, iis && strings.IndexByte(lfield, '(') >= 0)
	}
	switch spec.kind {
	case sColumn:
		for _, n := range spec.names {
			if i, ok := ev.Schema.Index(n); ok {
				if i >= len(vals) {
					return dst
				}
				return s.lineValue(dst, vals[i], iis, iis && strings.IndexByte(n, '(') >= 0)
			}
		}
	case sURIQuery, sURI:
		stem, sok := column(ev, vals, spec.names, iis)
		query, qok := column(ev, vals, spec.query, iis)
		if !sok && !qok {
			return dst
		}
		joined := stem
		if query != "" {
			joined = s.derive(dJoinURI, stem, query)
		}
		if spec.kind == sURI {
			return append(dst, joined)
		}
		if !qok {
			query = ""
		}
		dst = append(dst, query)
		if stem != "" {
			dst = append(dst, stem)
		}
		if query != "" {
			dst = append(dst, joined)
		}
	}
	return dst
}

// column reads the first present column of names ("" for IIS '-').
func column(ev *event.Event, vals []string, names []string, iis bool) (string, bool) {
	for _, n := range names {
		if i, ok := ev.Schema.Index(n); ok {
			if i >= len(vals) {
				return "", true
			}
			v := vals[i]
			if iis && v == "-" {
				v = ""
			}
			return v, true
		}
	}
	return "", false
}

// lineValue appends one column value: IIS writes "-" for no value (the
// primary value is then "", with "-" as an alternative) and '+' for
// spaces in header values (the decoded form is primary, the raw form the
// alternative).
func (s *Scanner) lineValue(dst []string, v string, iis, header bool) []string {
	if !iis {
		return append(dst, v)
	}
	if v == "-" {
		return append(dst, "", "-")
	}
	if header && strings.IndexByte(v, '+') >= 0 {
		return append(dst, s.derive(dPlus, v, ""), v)
	}
	return append(dst, v)
}

// Derived values (decoded, joined) are built once per event, so that
// their prepared (lowered) forms are cached too.
type derivedKind uint8

const (
	dPlus    derivedKind = iota + 1 // IIS '+' decoded to spaces
	dJoinURI                        // stem?query
)

type derived struct {
	kind derivedKind
	a, b string
	out  string
}

func (s *Scanner) derive(kind derivedKind, a, b string) string {
	for i := range s.derived {
		d := &s.derived[i]
		if d.kind == kind && sameString(d.a, a) && sameString(d.b, b) {
			return d.out
		}
	}
	start := len(s.arena)
	switch kind {
	case dPlus:
		for i := 0; i < len(a); i++ {
			c := a[i]
			if c == '+' {
				c = ' '
			}
			s.arena = append(s.arena, c)
		}
	case dJoinURI:
		s.arena = append(s.arena, a...)
		if b[0] != '?' {
			s.arena = append(s.arena, '?')
		}
		s.arena = append(s.arena, b...)
	}
	out := s.str(start)
	if len(s.derived) < 32 {
		s.derived = append(s.derived, derived{kind: kind, a: a, b: b, out: out})
	}
	return out
}

// sameString compares strings by identity (same bytes in memory).
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// winField appends the values of a Windows field by lower-cased name: the
// System fields, then every data value of that name.
func (s *Scanner) winField(w *event.WinEvent, lname string, dst []string) []string {
	switch lname {
	case "eventid":
		if !s.eidOK {
			start := len(s.arena)
			s.arena = strconv.AppendUint(s.arena, uint64(w.EventID), 10)
			s.eidStr, s.eidOK = s.str(start), true
		}
		return append(dst, s.eidStr)
	case "channel":
		return append(dst, w.Channel)
	case "provider_name", "provider", "providername":
		return append(dst, w.Provider)
	case "computer":
		return append(dst, w.Computer)
	case "level":
		start := len(s.arena)
		s.arena = strconv.AppendUint(s.arena, uint64(w.Level), 10)
		return append(dst, s.str(start))
	case "eventrecordid":
		start := len(s.arena)
		s.arena = strconv.AppendUint(s.arena, w.RecordID, 10)
		return append(dst, s.str(start))
	}
	for i := range w.Data {
		if equalFoldKey(w.Data[i].Key, lname) {
			dst = append(dst, w.Data[i].Value)
		}
	}
	return dst
}

// winFirst returns the first data value named lname.
func winFirst(w *event.WinEvent, lname string) (string, bool) {
	for i := range w.Data {
		if equalFoldKey(w.Data[i].Key, lname) {
			return w.Data[i].Value, true
		}
	}
	return "", false
}

// equalFoldKey compares a field name with a lower-cased name.
func equalFoldKey(key, lname string) bool {
	if len(key) != len(lname) {
		return strings.EqualFold(key, lname) && !isASCII(key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= utf8.RuneSelf {
			return strings.EqualFold(key, lname)
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lname[i] {
			return false
		}
	}
	return true
}
