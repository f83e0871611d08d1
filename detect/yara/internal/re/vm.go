package re

// Machine runs programs. It keeps its thread lists between runs so that a
// run allocates nothing; it is not safe for concurrent use.
type Machine struct {
	clist, nlist threadList
	stack        []int32
}

type threadList struct {
	dense  []int32
	sparse []int32
}

func (l *threadList) reset(n int) {
	if cap(l.sparse) < n {
		l.sparse = make([]int32, n)
		l.dense = make([]int32, 0, n)
	}
	l.sparse = l.sparse[:n]
	l.dense = l.dense[:0]
}

func (l *threadList) has(pc int32) bool {
	i := l.sparse[pc]
	return int(i) < len(l.dense) && l.dense[i] == pc
}

func (l *threadList) insert(pc int32) {
	l.sparse[pc] = int32(len(l.dense))
	l.dense = append(l.dense, pc)
}

// run is the context of one run, for assertions.
type run struct {
	data    []byte
	cs      int  // character size: 1, or 2 in wide mode
	lo, hi  int  // window
	origin  int  // where the run started
	forward bool // direction
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// wordAt reports whether the character at i is a word character (in wide
// mode the byte after it must be zero), as libyara's _yr_re_is_word_char.
func (r *run) wordAt(i int) bool {
	if i < 0 || i >= len(r.data) || !isWordByte(r.data[i]) {
		return false
	}
	return r.cs == 1 || i+1 < len(r.data) && r.data[i+1] == 0
}

// assert evaluates a zero-width assertion at position x with libyara's
// edge rules: a word boundary holds where the run starts with nothing
// before it and where it reaches the end of its window; "^" holds only at
// the start of the data and "$" only at its end (and never backwards).
func (r *run) assert(kind int32, x int) bool {
	switch kind {
	case AssertWordBoundary, AssertNonWordBoundary:
		var b bool
		switch {
		case x == r.origin && x < r.cs:
			b = true
		case r.forward && x >= r.hi, !r.forward && x <= r.lo:
			b = true
		default:
			b = r.wordAt(x) != r.wordAt(x-r.cs)
		}
		if kind == AssertNonWordBoundary {
			b = !b
		}
		return b
	case AssertStart:
		return x == 0
	case AssertEnd:
		return r.forward && x == len(r.data)
	}
	return false
}

// add follows empty transitions from pc at position x, adding the
// consuming and matching states to l in priority order.
func (m *Machine) add(p *Prog, l *threadList, pc int32, x int, r *run) {
	m.stack = append(m.stack[:0], pc)
	for len(m.stack) > 0 {
		pc := m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-1]
		for {
			if l.has(pc) {
				break
			}
			l.insert(pc)
			in := p.insts[pc]
			switch in.op {
			case iJmp:
				pc = in.x
				continue
			case iSplit:
				m.stack = append(m.stack, in.y)
				pc = in.x
				continue
			case iAssert:
				if r.assert(in.x, x) {
					pc++
					continue
				}
			}
			break
		}
	}
}

// Match runs p anchored at data[start:], in wide mode if wide, looking at
// no byte at or after end. It returns the length of the leftmost-first
// (Perl priority) match, or -1.
func (m *Machine) Match(p *Prog, data []byte, start, end int, wide bool) int {
	if end > len(data) {
		end = len(data)
	}
	r := run{data: data, cs: 1, lo: start, hi: end, origin: start, forward: true}
	if wide {
		r.cs = 2
		// As libyara, round the window down to whole characters.
		r.hi = start + (end-start)&^1
	}
	n := len(p.insts)
	m.clist.reset(n)
	m.nlist.reset(n)
	clist, nlist := &m.clist, &m.nlist
	m.add(p, clist, p.start, start, &r)
	matched := -1
	for x := start; len(clist.dense) > 0; x += r.cs {
		nlist.dense = nlist.dense[:0]
		canStep := x+r.cs <= r.hi && (!wide || data[x+1] == 0)
		for _, pc := range clist.dense {
			in := p.insts[pc]
			if in.op == iMatch {
				matched = x - start
				break // lower-priority threads lose
			}
			if in.op == iSet && canStep && p.sets[in.x].Has(data[x]) {
				m.add(p, nlist, pc+1, x+r.cs, &r)
			}
		}
		clist, nlist = nlist, clist
	}
	return matched
}

// Reverse runs p (compiled with CompileReverse) backwards from data[:end],
// looking at no byte before lo, and calls fn with every position at which
// a match of the reversed pattern begins (exhaustively, in decreasing
// order). It reports whether it stopped because fn returned false.
func (m *Machine) Reverse(p *Prog, data []byte, end, lo int, wide bool, fn func(start int) bool) {
	if lo < 0 {
		lo = 0
	}
	r := run{data: data, cs: 1, lo: lo, hi: end, origin: end, forward: false}
	if wide {
		r.cs = 2
		r.lo = end - (end-lo)&^1
	}
	n := len(p.insts)
	m.clist.reset(n)
	m.nlist.reset(n)
	clist, nlist := &m.clist, &m.nlist
	m.add(p, clist, p.start, end, &r)
	for x := end; len(clist.dense) > 0; x -= r.cs {
		nlist.dense = nlist.dense[:0]
		canStep := x-r.cs >= r.lo && (!wide || data[x-1] == 0)
		reported := false
		for _, pc := range clist.dense {
			in := p.insts[pc]
			if in.op == iMatch {
				if !reported {
					reported = true
					if !fn(x) {
						return
					}
				}
				continue
			}
			if in.op == iSet && canStep && p.sets[in.x].Has(data[x-r.cs]) {
				m.add(p, nlist, pc+1, x-r.cs, &r)
			}
		}
		clist, nlist = nlist, clist
	}
}

// SearchEnd runs p over the first ScanLimit bytes of data as libyara's
// yr_re_match does, starting a new thread at every position, and returns
// the position where the last match it reached ended (what yr_re_match
// returns), or -1 when there is none.
func (m *Machine) SearchEnd(p *Prog, data []byte) int { return m.search(p, data, false) }

// Search reports whether p matches anywhere in the first ScanLimit bytes
// of data (YARA's "matches" operator).
func (m *Machine) Search(p *Prog, data []byte) bool { return m.search(p, data, true) >= 0 }

func (m *Machine) search(p *Prog, data []byte, first bool) int {
	end := len(data)
	if end > ScanLimit {
		end = ScanLimit
	}
	r := run{data: data, cs: 1, lo: 0, hi: end, origin: 0, forward: true}
	n := len(p.insts)
	m.clist.reset(n)
	m.nlist.reset(n)
	clist, nlist := &m.clist, &m.nlist
	m.add(p, clist, p.start, 0, &r)
	last := -1
	for x := 0; ; x++ {
		if len(clist.dense) == 0 && (p.Anchored || x >= end) {
			return last
		}
		nlist.dense = nlist.dense[:0]
		canStep := x+1 <= end
		for _, pc := range clist.dense {
			in := p.insts[pc]
			if in.op == iMatch {
				if first {
					return x
				}
				last = x
				break // lower-priority threads lose
			}
			if in.op == iSet && canStep && p.sets[in.x].Has(data[x]) {
				m.add(p, nlist, pc+1, x+1, &r)
			}
		}
		clist, nlist = nlist, clist
		if x+1 > end {
			return last
		}
		if !p.Anchored && x+1 < end {
			r.origin = x + 1
			m.add(p, clist, p.start, x+1, &r)
		}
	}
}
