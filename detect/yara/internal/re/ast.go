// Package re is the byte-oriented regular-expression engine behind YARA
// regexes and hex strings.
//
// YARA regexes are not RE2 regexes: they match bytes, not UTF-8 runes (".",
// "[^a]" and "\xff" each consume exactly one byte), they have YARA's own
// escapes and class quirks, a 4096-byte scan window, leftmost-first
// ("Perl") priority between alternatives and repeats, and a wide mode in
// which every character is followed by a zero byte. Go's regexp package
// decodes UTF-8, so it cannot give the same answers on binary input or on
// text in legacy code pages; this package parses YARA syntax into its own
// tree and runs it on a Pike VM over bytes.
package re

import (
	"fmt"
	"math/bits"
	"strings"
)

// Op is the kind of a Node.
type Op uint8

const (
	OpSet    Op = iota // one byte out of Set
	OpAny              // any byte ("." follows the dot-all flag; hex "??" has DotAll set)
	OpConcat           // Subs in sequence
	OpAlt              // one of Subs, first has priority
	OpRepeat           // Subs[0] repeated Min..Max times (Max < 0: unbounded)
	OpEmpty            // matches the empty string
	OpAssert           // zero-width assertion (Assert)
)

// Assertion kinds.
const (
	AssertWordBoundary = iota + 1
	AssertNonWordBoundary
	AssertStart
	AssertEnd
)

// ByteSet is a set of byte values.
type ByteSet [4]uint64

// Has reports whether c is in the set.
func (s *ByteSet) Has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// Add adds c.
func (s *ByteSet) Add(c byte) { s[c>>6] |= 1 << (c & 63) }

// AddRange adds lo..hi inclusive.
func (s *ByteSet) AddRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.Add(byte(c))
	}
}

// Union adds every member of o.
func (s *ByteSet) Union(o *ByteSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

// Negate complements the set.
func (s *ByteSet) Negate() {
	for i := range s {
		s[i] = ^s[i]
	}
}

// Count returns the number of members.
func (s *ByteSet) Count() int {
	return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) + bits.OnesCount64(s[2]) + bits.OnesCount64(s[3])
}

// Single returns the only member of a one-member set.
func (s *ByteSet) Single() (byte, bool) {
	if s.Count() != 1 {
		return 0, false
	}
	for w, x := range s {
		if x != 0 {
			return byte(w<<6 | bits.TrailingZeros64(x)), true
		}
	}
	return 0, false
}

// Members returns the members in increasing order.
func (s *ByteSet) Members() []byte {
	out := make([]byte, 0, s.Count())
	for w, x := range s {
		for ; x != 0; x &= x - 1 {
			out = append(out, byte(w<<6|bits.TrailingZeros64(x)))
		}
	}
	return out
}

// Node is one node of a parsed pattern.
type Node struct {
	Op     Op
	Set    ByteSet // OpSet
	Neg    bool    // OpSet: a negated class [^...]; Set is already complemented
	Class  bool    // OpSet: from a class or \w \d \s (not a literal character)
	Group  bool    // written in parentheses (libyara does not chain through groups)
	DotAll bool    // OpAny: matches '\n' even without the /s flag
	Subs   []*Node
	Min    int  // OpRepeat
	Max    int  // OpRepeat; -1 for unbounded
	Greedy bool // OpRepeat
	Assert int  // OpAssert
}

// Greedy reports whether n has a greedy quantifier (libyara's
// STRING_FLAGS_GREEDY_REGEXP: of two matches at one offset the later found
// replaces the earlier).
func Greedy(n *Node) bool {
	if n.Op == OpRepeat && n.Greedy {
		return true
	}
	for _, s := range n.Subs {
		if Greedy(s) {
			return true
		}
	}
	return false
}

// Lit returns a node matching the single byte c.
func Lit(c byte) *Node {
	n := &Node{Op: OpSet}
	n.Set.Add(c)
	return n
}

// Concat returns the concatenation of subs.
func Concat(subs ...*Node) *Node { return &Node{Op: OpConcat, Subs: subs} }

// MinMaxLen returns the shortest and longest number of bytes (in ASCII mode)
// the node can match; max is -1 when unbounded.
func (n *Node) MinMaxLen() (min, max int) {
	switch n.Op {
	case OpSet, OpAny:
		return 1, 1
	case OpEmpty, OpAssert:
		return 0, 0
	case OpConcat:
		for _, s := range n.Subs {
			a, b := s.MinMaxLen()
			min += a
			if max >= 0 {
				if b < 0 {
					max = -1
				} else {
					max += b
				}
			}
		}
		return min, max
	case OpAlt:
		for i, s := range n.Subs {
			a, b := s.MinMaxLen()
			if i == 0 || a < min {
				min = a
			}
			if i == 0 {
				max = b
			} else if max >= 0 && (b < 0 || b > max) {
				max = b
			}
		}
		return min, max
	case OpRepeat:
		a, b := n.Subs[0].MinMaxLen()
		min = a * n.Min
		switch {
		case n.Max < 0:
			if b == 0 {
				return min, 0
			}
			return min, -1
		case b < 0:
			return min, -1
		default:
			return min, b * n.Max
		}
	}
	return 0, 0
}

// String renders the node in a debugging notation.
func (n *Node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *Node) write(b *strings.Builder) {
	switch n.Op {
	case OpSet:
		m := n.Set.Members()
		if len(m) == 1 {
			fmt.Fprintf(b, "%q", m[0])
			return
		}
		fmt.Fprintf(b, "[%d bytes]", len(m))
	case OpAny:
		b.WriteString(".")
	case OpEmpty:
		b.WriteString("()")
	case OpAssert:
		b.WriteString([]string{"", `\b`, `\B`, "^", "$"}[n.Assert])
	case OpConcat:
		b.WriteString("(")
		for _, s := range n.Subs {
			s.write(b)
		}
		b.WriteString(")")
	case OpAlt:
		b.WriteString("(")
		for i, s := range n.Subs {
			if i > 0 {
				b.WriteString("|")
			}
			s.write(b)
		}
		b.WriteString(")")
	case OpRepeat:
		n.Subs[0].write(b)
		fmt.Fprintf(b, "{%d,%d}", n.Min, n.Max)
		if !n.Greedy {
			b.WriteString("?")
		}
	}
}
