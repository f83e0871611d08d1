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
		for _, g := range fc.groups {
			if !s.matchGroup(g, vals, ev, ctx) {
				r = false
				break
			}
		}
	default:
		for _, g := range fc.groups {
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
			if p.fast {
				lv = s.lower(v)
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

// lower returns v with ASCII upper case folded, cached per event so that
// a long value (a script block) is folded once however many rules read it.
func (s *Scanner) lower(v string) string {
	if !hasUpperASCII(v) {
		return v
	}
	p := unsafe.StringData(v)
	for i := range s.lows {
		if s.lows[i].p == p && s.lows[i].n == len(v) {
			return s.lows[i].lower
		}
	}
	start := len(s.arena)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.arena = append(s.arena, c)
	}
	l := unsafe.String(&s.arena[start], len(v))
	if len(s.lows) < 64 {
		s.lows = append(s.lows, lowEntry{p: p, n: len(v), lower: l})
	}
	return l
}

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
			start := len(s.arena)
			s.arena = append(s.arena, stem...)
			if query[0] != '?' {
				s.arena = append(s.arena, '?')
			}
			s.arena = append(s.arena, query...)
			joined = s.str(start)
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
		start := len(s.arena)
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '+' {
				c = ' '
			}
			s.arena = append(s.arena, c)
		}
		return append(dst, s.str(start), v)
	}
	return append(dst, v)
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
