package yara

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// Scanner scans data with one Rules. It reuses its buffers between scans
// and is not safe for concurrent use: give each goroutine its own.
type Scanner struct {
	r *Rules
	// MaxScanSize is the most bytes ScanFile reads from one file
	// (DefaultMaxScanSize unless set).
	MaxScanSize int64

	machine re.Machine
	lists   []matchList
	touched []int32
	gen     uint32
	data    []byte
	starts  []int
	buf     []byte
	ruleRes []tri
	ruleGen []uint32 // == gen when one of the rule's strings matched
	nsFail  []bool
	ec      ectx
}

// matchList holds one slot's matches in one scan.
type matchList struct {
	gen   uint32
	count int
	ms    []rawMatch
}

type rawMatch struct {
	off  int64
	len  int32
	prio uint8
}

// NewScanner returns a scanner over r.
func (r *Rules) NewScanner() *Scanner {
	s := &Scanner{r: r, MaxScanSize: DefaultMaxScanSize}
	s.lists = make([]matchList, len(r.slots))
	s.ruleRes = make([]tri, len(r.rules))
	s.ruleGen = make([]uint32, len(r.rules))
	s.nsFail = make([]bool, len(r.nsName))
	s.ec.sc = s
	s.ec.loops = make([]any, r.maxLoops)
	s.ec.vars = make([]any, r.nvars)
	return s
}

// Scan matches the rules against data. vars sets external variables for
// this scan (nil: all empty strings). A rule whose evaluation fails does
// not match, and the failure is returned joined with the others; the
// matches of the other rules are still returned.
func (s *Scanner) Scan(data []byte, vars Vars) ([]Match, error) {
	return s.scan(data, int64(len(data)), vars)
}

// ScanFile scans the file f of the given size (path names it in errors
// and, unless vars sets them, supplies filename, filepath and extension).
// It reads at most MaxScanSize bytes into a buffer the scanner reuses, so
// memory stays bounded on huge files; a larger file is scanned over its
// head only and ErrTruncated is returned (wrapped) with the matches, while
// filesize still reports the real size.
func (s *Scanner) ScanFile(path string, f io.ReaderAt, size int64, vars Vars) ([]Match, error) {
	limit := s.MaxScanSize
	if limit <= 0 {
		limit = DefaultMaxScanSize
	}
	n := size
	truncated := false
	if n > limit {
		n, truncated = limit, true
	}
	if n < 0 {
		return nil, fmt.Errorf("yara: %s: negative size", path)
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	buf := s.buf[:n]
	got, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(got) == n) {
		if int64(got) < n && errors.Is(err, io.EOF) {
			buf = buf[:got]
		} else {
			return nil, fmt.Errorf("yara: %s: %w", path, err)
		}
	}
	all := VarsForPath(path)
	for k, v := range vars {
		all[k] = v
	}
	ms, err := s.scan(buf, size, all)
	if truncated {
		err = errors.Join(fmt.Errorf("yara: %s: %w (%d of %d bytes)", path, ErrTruncated, n, size), err)
	}
	return ms, err
}

// VarsForPath returns the external variables LOKI derives from a path:
// filename (base name), filepath (the path) and extension (lower case,
// with the dot).
func VarsForPath(path string) Vars {
	base := filepath.Base(path)
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		base = path[i+1:]
	}
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		ext = strings.ToLower(base[i:])
	}
	return Vars{"filename": base, "filepath": path, "extension": ext}
}

func (s *Scanner) scan(data []byte, size int64, vars Vars) (ms []Match, err error) {
	defer func() {
		if p := recover(); p != nil {
			ms, err = nil, fmt.Errorf("yara: internal error while scanning: %v", p)
		}
	}()
	if err := s.setVars(vars); err != nil {
		return nil, err
	}
	s.gen++
	if s.gen == 0 {
		for i := range s.lists {
			s.lists[i].gen = 0
		}
		clear(s.ruleGen)
		s.gen = 1
	}
	s.touched = s.touched[:0]
	s.data = data
	s.scanAtoms(data)
	s.scanBrute(data)
	s.finish()
	return s.evaluate(data, size)
}

func (s *Scanner) setVars(vars Vars) error {
	for i := range s.ec.vars {
		s.ec.vars[i] = nil
	}
	for _, e := range s.r.ext {
		if e.t == vStr {
			s.ec.vars[e.slot] = ""
		}
	}
	for k, v := range vars {
		e, ok := s.r.ext[k]
		if !ok {
			continue
		}
		var val any
		var t vtype
		switch x := v.(type) {
		case string:
			val, t = x, vStr
		case int:
			val, t = int64(x), vInt
		case int64:
			val, t = x, vInt
		case float64:
			val, t = x, vFloat
		case bool:
			val, t = x, vBool
		default:
			return fmt.Errorf("yara: external %s of type %T", k, v)
		}
		if t != e.t {
			return fmt.Errorf("yara: external %s must be a %s, not a %s", k, e.t, t)
		}
		s.ec.vars[e.slot] = val
	}
	return nil
}

// list returns slot's match list for this scan, resetting it on first use.
func (s *Scanner) list(slot int32) *matchList {
	l := &s.lists[slot]
	if l.gen != s.gen {
		l.gen = s.gen
		l.count = 0
		if cap(l.ms) > 1<<16 {
			l.ms = nil // do not keep a pathological file's matches around
		}
		l.ms = l.ms[:0]
		s.touched = append(s.touched, slot)
	}
	return l
}

func (s *Scanner) record(slot int32, off int64, length int, prio uint8) {
	l := s.list(slot)
	if l.count >= MaxStringMatches {
		return
	}
	l.count++
	if s.r.slots[slot].storeAll || len(l.ms) < MaxReportedMatches {
		l.ms = append(l.ms, rawMatch{off: off, len: int32(length), prio: prio})
	}
}

// scanAtoms makes the one pass over the data: a rolling window of the
// last four bytes (folded) is tested against each key length's bitmap, and
// only positions that pass look up the table and verify.
func (s *Scanner) scanAtoms(data []byte) {
	ix := s.r.idx
	if ix == nil || ix.keys == 0 {
		return
	}
	n := len(data)
	var w uint32
	if !ix.short {
		bits, shift := ix.bits4, ix.shift4
		for i := 0; i < n; i++ {
			w = w<<8 | uint32(fold[data[i]])
			h := (w * hashMul) >> shift
			if bits[h>>6]&(1<<(h&63)) != 0 && i >= 3 {
				s.hits(ix.tables[4], w, i-3)
			}
		}
		return
	}
	bits4, shift4, pairs := ix.bits4, ix.shift4, ix.pairs
	if bits4 == nil {
		// Only short keys: a bitmap nothing passes.
		bits4, shift4 = make([]uint64, 1), 26
	}
	for i := 0; i < n; i++ {
		w = w<<8 | uint32(fold[data[i]])
		h := (w * hashMul) >> shift4
		if bits4[h>>6]&(1<<(h&63)) != 0 && i >= 3 && ix.bits4 != nil {
			s.hits(ix.tables[4], w, i-3)
		}
		if p := w & 0xFFFF; pairs[p>>6]&(1<<(p&63)) != 0 {
			s.shortHits(w, i)
		}
	}
}

// shortHits looks up the 3-, 2- and 1-byte keys ending at i.
func (s *Scanner) shortHits(w uint32, i int) {
	ix := s.r.idx
	if ix.bits3 != nil && i >= 2 {
		k := w & 0xFFFFFF
		h := (k * hashMul) >> ix.shift3
		if ix.bits3[h>>6]&(1<<(h&63)) != 0 {
			s.hits(ix.tables[3], k, i-2)
		}
	}
	if ix.bits2 != nil && i >= 1 {
		k := w & 0xFFFF
		if ix.bits2[k>>6]&(1<<(k&63)) != 0 {
			s.hits(ix.tables[2], k, i-1)
		}
	}
	if k := w & 0xFF; ix.bits1[k>>6]&(1<<(k&63)) != 0 {
		s.hits(ix.tables[1], k, i)
	}
}

// keyLen is the length of the keys of table t.
func keyLen(_ uint32, t *atomTable) int { return t.keyLen }

// hits verifies every pattern whose atom has this key, at atom position q.
func (s *Scanner) hits(t *atomTable, key uint32, q int) {
	es := t.lookup(key)
	if len(es) == 0 {
		return
	}
	// The (folded) bytes after the atom, little-endian; past the end of
	// the data they read as zero and verification rejects the hit.
	var next uint32
	n := keyLen(key, t)
	d := s.data
	if end := q + n + 4; end <= len(d) {
		next = uint32(fold[d[q+n]]) | uint32(fold[d[q+n+1]])<<8 | uint32(fold[d[q+n+2]])<<16 | uint32(fold[d[q+n+3]])<<24
	} else {
		for i := 0; q+n+i < len(d) && i < 4; i++ {
			next |= uint32(fold[d[q+n+i]]) << (8 * i)
		}
	}
	for i := range es {
		e := &es[i]
		if next&e.mask != e.next {
			continue
		}
		p := s.r.pats[e.pat]
		if p.kind == patLiteral {
			s.verifyLiteral(p, q-int(e.atom))
		} else {
			s.verifyRegexAtom(p, int(e.atom), q)
		}
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// fullwordOK applies libyara's fullword test: no alphanumeric character
// (followed by a zero byte in wide mode) right before or after the match.
func fullwordOK(data []byte, off, length int, wide bool) bool {
	if wide {
		if off >= 2 && data[off-1] == 0 && isAlnum(data[off-2]) {
			return false
		}
		if off+length+1 < len(data) && data[off+length+1] == 0 && isAlnum(data[off+length]) {
			return false
		}
		return true
	}
	if off >= 1 && isAlnum(data[off-1]) {
		return false
	}
	if off+length < len(data) && isAlnum(data[off+length]) {
		return false
	}
	return true
}

// literalAt reports whether lit occurs at data[start:].
func literalAt(data []byte, start int, lit []byte, nocase bool) bool {
	if start+len(lit) > len(data) {
		return false
	}
	d := data[start : start+len(lit)]
	if !nocase {
		return string(d) == string(lit)
	}
	for i, c := range lit {
		if fold[d[i]] != fold[c] {
			return false
		}
	}
	return true
}

func (s *Scanner) verifyLiteral(p *pattern, start int) {
	data := s.data
	lit := p.lit
	if start < 0 || start+len(lit) > len(data) {
		return
	}
	if a := p.ascii; a != nil && literalAt(data, start, a.lit, a.nocase) {
		return
	}
	d := data[start : start+len(lit)]
	if p.nocase {
		for i, c := range lit {
			if fold[d[i]] != fold[c] {
				return
			}
		}
	} else if string(d) != string(lit) {
		return
	}
	if p.fullword && !fullwordOK(data, start, len(lit), p.wide) {
		return
	}
	s.record(p.slot, int64(start), len(lit), p.prio)
}

// verifyRegexAtom runs a regex from an atom hit at q the way libyara
// does: the part from the atom on once (leftmost-first), then the part
// before it backwards, every start it reaches making a match that ends
// where the forward run did.
func (s *Scanner) verifyRegexAtom(p *pattern, ai, q int) {
	info := &p.atoms[ai]
	data := s.data
	hi := len(data)
	if p.window && q+re.ScanLimit < hi {
		hi = q + re.ScanLimit
	}
	if p.whole {
		s.verifyWhole(p, info, q)
		return
	}
	if p.asciiFirst && s.machine.Match(info.fwd, data, q, hi, false) >= 0 {
		return
	}
	f := s.machine.Match(info.fwd, data, q, hi, p.wide)
	if f < 0 {
		return
	}
	if info.rev == nil {
		s.candidate(p, q, f)
		return
	}
	lo := 0
	if p.window && q-re.ScanLimit > 0 {
		lo = q - re.ScanLimit
	}
	s.starts = s.starts[:0]
	s.machine.Reverse(info.rev, data, q, lo, p.wide, func(start int) bool {
		s.starts = append(s.starts, start)
		return true
	})
	for _, start := range s.starts {
		s.candidate(p, start, q-start+f)
	}
}

// verifyWhole runs a pattern libyara has no atom for from every start
// the part before our atom reaches.
func (s *Scanner) verifyWhole(p *pattern, info *atomInfo, q int) {
	if info.rev == nil {
		s.tryRegex(p, q, s.scanEnd(p, q))
		return
	}
	lo := 0
	if p.window && q-re.ScanLimit > 0 {
		lo = q - re.ScanLimit
	}
	s.starts = s.starts[:0]
	s.machine.Reverse(info.rev, s.data, q, lo, p.wide, func(start int) bool {
		s.starts = append(s.starts, start)
		return true
	})
	for _, start := range s.starts {
		s.tryRegex(p, start, s.scanEnd(p, start))
	}
}

// scanEnd bounds a forward run from pos by libyara's scan limit.
func (s *Scanner) scanEnd(p *pattern, pos int) int {
	hi := len(s.data)
	if p.window && pos+re.ScanLimit < hi {
		hi = pos + re.ScanLimit
	}
	return hi
}

// candidate records a regex match after the fullword test.
func (s *Scanner) candidate(p *pattern, start, n int) {
	if n <= 0 {
		return
	}
	if p.fullword && !fullwordOK(s.data, start, n, p.wide) {
		return
	}
	s.record(p.slot, int64(start), n, p.prio)
}

// tryRegex runs a pattern without atoms at start, as libyara's empty atom:
// an empty match is no match.
func (s *Scanner) tryRegex(p *pattern, start, hi int) {
	if p.asciiFirst && s.machine.Match(p.prog, s.data, start, hi, false) >= 0 {
		return
	}
	s.candidate(p, start, s.machine.Match(p.prog, s.data, start, hi, p.wide))
}

// scanBrute runs the patterns that have no atom at every position where
// their first byte can occur.
func (s *Scanner) scanBrute(data []byte) {
	for _, pi := range s.r.brute {
		p := s.r.pats[pi]
		for pos := 0; pos < len(data); pos++ {
			if !p.first.Has(data[pos]) {
				continue
			}
			if p.prog.Anchored && pos > 0 {
				break
			}
			hi := len(data)
			if p.window && pos+re.ScanLimit < hi {
				hi = pos + re.ScanLimit
			}
			s.tryRegex(p, pos, hi)
		}
	}
}

// finish sorts the match lists, makes them unique per offset (the lowest
// priority wins, as libyara's order of checks), and resolves chains.
func (s *Scanner) finish() {
	for _, slot := range s.touched {
		l := &s.lists[slot]
		if len(l.ms) < 2 {
			continue
		}
		// Stable: at one offset and priority, the order found is kept.
		slices.SortStableFunc(l.ms, func(a, b rawMatch) int {
			if a.off != b.off {
				if a.off < b.off {
					return -1
				}
				return 1
			}
			return int(a.prio) - int(b.prio)
		})
		if s.r.slots[slot].storeAll {
			if s.r.slots[slot].greedy {
				// libyara replaces a greedy regexp's match at an offset
				// with the one found later.
				w := 0
				for i := range l.ms {
					if i+1 < len(l.ms) && l.ms[i+1].off == l.ms[i].off {
						continue
					}
					l.ms[w] = l.ms[i]
					w++
				}
				l.ms = l.ms[:w]
			} else {
				l.ms = slices.CompactFunc(l.ms, func(a, b rawMatch) bool { return a.off == b.off })
			}
			l.count = len(l.ms)
		}
	}
	for _, si := range s.r.chains {
		s.resolveChain(s.r.strs[si])
	}
}

// resolveChain finds the matches of a chained string: a match of the first
// piece followed, at an allowed distance, by matches of all the others. As
// libyara the match ends with the earliest last piece that completes it.
func (s *Scanner) resolveChain(sd *strDef) {
	ch := sd.chain
	k := len(ch.slots)
	lists := make([][]rawMatch, k)
	for i, slot := range ch.slots {
		l := &s.lists[slot]
		if l.gen != s.gen || len(l.ms) == 0 {
			return
		}
		lists[i] = l.ms
	}
	// end[i][j]: the smallest end of a completed chain from lists[i][j], or -1.
	end := make([][]int64, k)
	end[k-1] = make([]int64, len(lists[k-1]))
	for j, m := range lists[k-1] {
		end[k-1][j] = m.off + int64(m.len)
	}
	for i := k - 2; i >= 0; i-- {
		g := ch.gaps[i]
		next, nextEnd := lists[i+1], end[i+1]
		end[i] = make([]int64, len(lists[i]))
		for j, m := range lists[i] {
			end[i][j] = -1
			from := m.off + int64(m.len) + g.min
			lo, _ := slices.BinarySearchFunc(next, from, func(a rawMatch, t int64) int {
				if a.off < t {
					return -1
				}
				if a.off > t {
					return 1
				}
				return 0
			})
			for x := lo; x < len(next); x++ {
				if g.max >= 0 && next[x].off > m.off+int64(m.len)+g.max {
					break
				}
				if e := nextEnd[x]; e >= 0 && (end[i][j] < 0 || e < end[i][j]) {
					end[i][j] = e
				}
			}
		}
	}
	for j, m := range lists[0] {
		if e := end[0][j]; e >= 0 {
			s.record(sd.slot, m.off, int(e-m.off), 0)
		}
	}
}

// --- access from conditions ---

func (s *Scanner) matchesOf(str int32) *matchList {
	l := &s.lists[s.r.strs[str].slot]
	if l.gen != s.gen {
		return nil
	}
	return l
}

func (s *Scanner) count(str int32) int {
	if l := s.matchesOf(str); l != nil {
		return l.count
	}
	return 0
}

func (s *Scanner) foundAt(str int32, off int64) bool {
	l := s.matchesOf(str)
	if l == nil {
		return false
	}
	_, ok := slices.BinarySearchFunc(l.ms, off, func(a rawMatch, t int64) int {
		if a.off < t {
			return -1
		}
		if a.off > t {
			return 1
		}
		return 0
	})
	return ok
}

// countIn counts matches starting in lo..hi (stopping at the first when
// any is set).
func (s *Scanner) countIn(str int32, lo, hi int64, any bool) int {
	l := s.matchesOf(str)
	if l == nil {
		return 0
	}
	i, _ := slices.BinarySearchFunc(l.ms, lo, func(a rawMatch, t int64) int {
		if a.off < t {
			return -1
		}
		if a.off > t {
			return 1
		}
		return 0
	})
	n := 0
	for ; i < len(l.ms) && l.ms[i].off <= hi; i++ {
		n++
		if any {
			break
		}
	}
	return n
}

// nth returns @s[i] (offset) or !s[i] (length), 1-based.
func (s *Scanner) nth(str int32, i int64, offset bool) (int64, bool) {
	l := s.matchesOf(str)
	if l == nil || i < 1 || i > int64(len(l.ms)) {
		return 0, false
	}
	m := l.ms[i-1]
	if offset {
		return m.off, true
	}
	return int64(m.len), true
}

// --- rule evaluation ---

func (s *Scanner) evaluate(data []byte, size int64) ([]Match, error) {
	c := &s.ec
	c.data, c.size = data, size
	c.rules = s.ruleRes
	c.anon = c.anon[:0]
	for k := range c.mods {
		delete(c.mods, k)
	}
	for k := range c.hashes {
		delete(c.hashes, k)
	}
	c.steps = 0
	for i := range s.nsFail {
		s.nsFail[i] = false
	}
	for _, slot := range s.touched {
		if s.lists[slot].count == 0 {
			continue
		}
		for _, ri := range s.r.slotRules[slot] {
			s.ruleGen[ri] = s.gen
		}
	}
	var errs []error
	for i, r := range s.r.rules {
		if r.needsMatch && s.ruleGen[i] != s.gen {
			s.ruleRes[i] = tFalse
			if r.global {
				s.nsFail[r.ns] = true
			}
			continue
		}
		res, err := s.evalRule(r)
		if err != nil {
			errs = append(errs, err)
		}
		s.ruleRes[i] = res
		if r.global && res != tTrue {
			s.nsFail[r.ns] = true
		}
	}
	var out []Match
	for i, r := range s.r.rules {
		if s.ruleRes[i] != tTrue || r.private || s.nsFail[r.ns] {
			continue
		}
		out = append(out, s.matchOf(r))
	}
	return out, errors.Join(errs...)
}

func (s *Scanner) evalRule(r *rule) (res tri, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = tFalse, fmt.Errorf("yara: rule %s:%s: internal error: %v", s.r.nsName[r.ns], r.name, p)
		}
	}()
	s.ec.anon = s.ec.anon[:0]
	s.ec.steps = 0
	return r.cond(&s.ec), nil
}

func (s *Scanner) matchOf(r *rule) Match {
	m := Match{Namespace: s.r.nsName[r.ns], Rule: r.name, Tags: r.tags, Meta: r.meta}
	for _, si := range r.strs {
		sd := s.r.strs[si]
		if sd.private {
			continue
		}
		l := s.matchesOf(si)
		if l == nil {
			continue
		}
		for i, rm := range l.ms {
			if i >= MaxReportedMatches {
				break
			}
			if sd.atOnly && sd.literal && rm.off != sd.atFixed {
				// libyara records such a string only at its one offset.
				continue
			}
			end := rm.off + int64(min(int(rm.len), MaxMatchData))
			if end > int64(len(s.data)) {
				end = int64(len(s.data))
			}
			m.Strings = append(m.Strings, StringMatch{
				ID:     sd.id,
				Offset: rm.off,
				Length: int(rm.len),
				Data:   append([]byte(nil), s.data[rm.off:end]...),
			})
		}
	}
	return m
}
