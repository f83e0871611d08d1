package re

import (
	"errors"
)

// ScanLimit is YARA's YR_RE_SCAN_LIMIT: a regex run looks at most this
// many bytes away from where it starts.
const ScanLimit = 4096

// MaxProg bounds the size of one compiled program (counted repeats are
// unrolled); larger patterns are refused rather than run slowly.
const MaxProg = 1 << 17

// ErrTooLarge is returned for patterns whose program would exceed MaxProg.
var ErrTooLarge = errors.New("regex: pattern too large once repeats are unrolled")

const (
	iSet    uint8 = iota // consume one character in sets[x]
	iSplit               // continue at x, then (lower priority) at y
	iJmp                 // continue at x
	iAssert              // zero-width test kind x
	iMatch
)

type inst struct {
	op uint8
	x  int32
	y  int32
}

// Prog is a compiled pattern.
type Prog struct {
	insts []inst
	sets  []ByteSet
	start int32
	// Anchored is true when the pattern can only match at offset 0.
	Anchored bool
}

// Len is the number of instructions.
func (p *Prog) Len() int { return len(p.insts) }

// Flags for Compile.
type Flags struct {
	NoCase bool // ASCII case-insensitive literals and classes
	DotAll bool // "." matches '\n'
}

var lowerTab, upperTab [256]byte

func init() {
	for i := 0; i < 256; i++ {
		lowerTab[i], upperTab[i] = byte(i), byte(i)
		if i >= 'A' && i <= 'Z' {
			lowerTab[i] = byte(i) + 32
		}
		if i >= 'a' && i <= 'z' {
			upperTab[i] = byte(i) - 32
		}
	}
}

// SetOf returns the bytes an OpSet node matches. Under nocase a negated
// class excludes both cases of its members, as libyara tests the byte and
// its other case against the class before negating: /[^a]/i matches
// neither 'a' nor 'A'.
func SetOf(n *Node, nocase bool) ByteSet {
	if !nocase {
		return n.Set
	}
	if !n.Neg {
		return FoldSet(n.Set)
	}
	p := n.Set
	p.Negate()
	p = FoldSet(p)
	p.Negate()
	return p
}

// FoldSet adds the other ASCII case of every letter in s.
func FoldSet(s ByteSet) ByteSet {
	// 'A'..'Z' are bits 1..26 of word 1, 'a'..'z' bits 33..58.
	const letters = uint64(0x7FFFFFE)
	up := s[1] & letters
	lo := s[1] & (letters << 32)
	s[1] |= up<<32 | lo>>32
	return s
}

// Compile compiles n forwards.
func Compile(n *Node, f Flags) (*Prog, error) { return compile(n, f, false) }

// CompileReverse compiles n to run backwards (concatenations reversed),
// for finding where a prefix starts given where it ends.
func CompileReverse(n *Node, f Flags) (*Prog, error) { return compile(n, f, true) }

func compile(n *Node, f Flags, reverse bool) (*Prog, error) {
	if size(n) > MaxProg {
		return nil, ErrTooLarge
	}
	c := &compiler{f: f, reverse: reverse, setIdx: map[ByteSet]int32{}}
	c.emit(n)
	c.add(inst{op: iMatch})
	p := &Prog{insts: c.insts, sets: c.sets}
	p.Anchored = !reverse && startsAnchored(n)
	return p, nil
}

func startsAnchored(n *Node) bool {
	switch n.Op {
	case OpAssert:
		return n.Assert == AssertStart
	case OpConcat:
		for _, s := range n.Subs {
			if startsAnchored(s) {
				return true
			}
			if lo, hi := s.MinMaxLen(); lo != 0 || hi != 0 || s.Op != OpAssert {
				return false
			}
		}
	case OpAlt:
		for _, s := range n.Subs {
			if !startsAnchored(s) {
				return false
			}
		}
		return len(n.Subs) > 0
	}
	return false
}

// size estimates the number of instructions n compiles to.
func size(n *Node) int {
	const inf = MaxProg + 1
	switch n.Op {
	case OpSet, OpAny, OpEmpty, OpAssert:
		return 1
	case OpConcat, OpAlt:
		t := 0
		for _, s := range n.Subs {
			t += size(s) + 1
			if t > inf {
				return inf
			}
		}
		return t
	case OpRepeat:
		s := size(n.Subs[0]) + 2
		min, max := effectiveBounds(n)
		reps := min
		if max < 0 {
			reps++
		} else {
			reps = max
		}
		if reps == 0 {
			return 1
		}
		if s > inf/reps {
			return inf
		}
		return s * reps
	}
	return 1
}

// effectiveBounds turns a repeat whose upper bound cannot be reached within
// the scan limit into an unbounded one, so "\w{1,32767}" does not unroll.
// (When the body can match empty, only the count of empty rounds differs,
// which changes no match.)
func effectiveBounds(n *Node) (min, max int) {
	min, max = n.Min, n.Max
	if max > ScanLimit {
		max = -1
	}
	return min, max
}

type compiler struct {
	insts   []inst
	sets    []ByteSet
	setIdx  map[ByteSet]int32
	f       Flags
	reverse bool
}

func (c *compiler) add(i inst) int32 {
	c.insts = append(c.insts, i)
	return int32(len(c.insts) - 1)
}

func (c *compiler) set(s ByteSet) int32 {
	if c.f.NoCase {
		s = FoldSet(s)
	}
	if i, ok := c.setIdx[s]; ok {
		return i
	}
	c.sets = append(c.sets, s)
	i := int32(len(c.sets) - 1)
	c.setIdx[s] = i
	return i
}

func (c *compiler) pc() int32 { return int32(len(c.insts)) }

func (c *compiler) emit(n *Node) {
	switch n.Op {
	case OpSet:
		c.add(inst{op: iSet, x: c.set(SetOf(n, c.f.NoCase))})
	case OpAny:
		var s ByteSet
		s.Negate()
		if !c.f.DotAll && !n.DotAll {
			s[0] &^= 1 << '\n'
		}
		c.add(inst{op: iSet, x: c.set(s)})
	case OpEmpty:
		// nothing
	case OpAssert:
		c.add(inst{op: iAssert, x: int32(n.Assert)})
	case OpConcat:
		if c.reverse {
			for i := len(n.Subs) - 1; i >= 0; i-- {
				c.emit(n.Subs[i])
			}
		} else {
			for _, s := range n.Subs {
				c.emit(s)
			}
		}
	case OpAlt:
		var jumps []int32
		for i, s := range n.Subs {
			if i < len(n.Subs)-1 {
				split := c.add(inst{op: iSplit})
				c.insts[split].x = c.pc()
				c.emit(s)
				jumps = append(jumps, c.add(inst{op: iJmp}))
				c.insts[split].y = c.pc()
			} else {
				c.emit(s)
			}
		}
		for _, j := range jumps {
			c.insts[j].x = c.pc()
		}
	case OpRepeat:
		min, max := effectiveBounds(n)
		sub := n.Subs[0]
		for i := 0; i < min; i++ {
			c.emit(sub)
		}
		if max < 0 {
			// L: split body, out; body; jmp L
			l := c.add(inst{op: iSplit})
			body := c.pc()
			c.emit(sub)
			c.add(inst{op: iJmp, x: l})
			c.branch(l, body, c.pc(), n.Greedy)
			return
		}
		var splits []int32
		for i := min; i < max; i++ {
			s := c.add(inst{op: iSplit})
			splits = append(splits, s)
			body := c.pc()
			c.emit(sub)
			c.insts[s].x = body // patched below
		}
		end := c.pc()
		for _, s := range splits {
			c.branch(s, c.insts[s].x, end, n.Greedy)
		}
	}
}

// branch sets a split's two targets in priority order.
func (c *compiler) branch(split, body, out int32, greedy bool) {
	if greedy {
		c.insts[split].x, c.insts[split].y = body, out
	} else {
		c.insts[split].x, c.insts[split].y = out, body
	}
}

// FirstSet returns the set of bytes a match can start with, and false if
// the pattern can match the empty string or starts with an assertion we do
// not look through.
func FirstSet(n *Node, f Flags) (ByteSet, bool) {
	var s ByteSet
	ok := firstSet(n, f, &s)
	return s, ok
}

// firstSet adds the possible first bytes of n to s and reports whether n
// always consumes at least one byte.
func firstSet(n *Node, f Flags, s *ByteSet) bool {
	switch n.Op {
	case OpSet:
		set := SetOf(n, f.NoCase)
		s.Union(&set)
		return true
	case OpAny:
		var a ByteSet
		a.Negate()
		s.Union(&a)
		return true
	case OpEmpty:
		return false
	case OpAssert:
		return false
	case OpConcat:
		for _, sub := range n.Subs {
			if firstSet(sub, f, s) {
				return true
			}
		}
		return false
	case OpAlt:
		all := true
		for _, sub := range n.Subs {
			if !firstSet(sub, f, s) {
				all = false
			}
		}
		return all
	case OpRepeat:
		consumes := firstSet(n.Subs[0], f, s)
		return consumes && n.Min > 0
	}
	return false
}
