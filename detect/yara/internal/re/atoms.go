package re

// An Atom is a short run of character positions that every match of a
// pattern contains: the scanner looks for atoms and runs the pattern only
// where one occurs.
type Atom struct {
	// Chars are the atom's positions, each a set of byte values (already
	// folded to both cases for case-insensitive patterns).
	Chars []ByteSet
	// Prefix is the part of the pattern before the atom; the match starts
	// where Prefix, run backwards from the atom, ends. Empty when the atom
	// starts the pattern.
	Prefix *Node
	// PrefixMin and PrefixMax bound the prefix length in characters
	// (PrefixMax -1: unbounded).
	PrefixMin, PrefixMax int
	// Next are up to four single characters (case-folded) that always
	// follow the atom; a cheap pre-check before running the pattern.
	Next []byte
}

// Quality scores a candidate atom; higher is better, and a candidate that
// scores below zero is never used.
type Quality func(chars []ByteSet) int

// MaxExpansions bounds how many distinct byte strings (after ASCII case
// folding) one atom may stand for.
const MaxExpansions = 16

// Atoms picks atoms of at most maxLen characters such that every match of n
// contains one of them at a point where the preceding part of the match is
// matched by that atom's Prefix. It returns nil when no such set exists
// (the pattern must then be run at every position) and the quality of the
// set (the worst of its atoms).
func Atoms(n *Node, f Flags, maxLen int, q Quality) ([]Atom, int) {
	a := &atomizer{f: f, maxLen: maxLen, q: q}
	c, ok := a.best(n)
	if !ok {
		return nil, 0
	}
	out := make([]Atom, len(c.atoms))
	for i, at := range c.atoms {
		pre := at.prefix
		if pre == nil {
			pre = &Node{Op: OpEmpty}
		}
		lo, hi := pre.MinMaxLen()
		out[i] = Atom{Chars: at.chars, Prefix: pre, PrefixMin: lo, PrefixMax: hi, Next: at.next}
	}
	return out, c.quality
}

type candAtom struct {
	chars  []ByteSet
	prefix *Node // nil: empty
	next   []byte
}

type candidate struct {
	atoms   []candAtom
	quality int
}

type atomizer struct {
	f      Flags
	maxLen int
	q      Quality
}

// charSet returns the set of a single-character node, folded when the
// pattern ignores case, and whether the node is one.
func (a *atomizer) charSet(n *Node) (ByteSet, bool) {
	var s ByteSet
	switch n.Op {
	case OpSet:
		s = n.Set
	case OpAny:
		return s, false
	default:
		return s, false
	}
	if a.f.NoCase {
		s = FoldSet(s)
	}
	return s, true
}

// expansions counts the distinct case-folded byte strings a window stands for.
func expansions(chars []ByteSet) int {
	n := 1
	for i := range chars {
		var folded ByteSet
		for w := 0; w < 4; w++ {
			for bits := chars[i][w]; bits != 0; bits &= bits - 1 {
				c := w<<6 | tz(bits)
				folded.Add(lowerTab[c])
			}
		}
		n *= folded.Count()
		if n > MaxExpansions {
			return n
		}
	}
	return n
}

func prefixOf(nodes []*Node, inner *Node) *Node {
	var subs []*Node
	subs = append(subs, nodes...)
	if inner != nil {
		subs = append(subs, inner)
	}
	switch len(subs) {
	case 0:
		return nil
	case 1:
		return subs[0]
	}
	return &Node{Op: OpConcat, Subs: subs}
}

func (a *atomizer) better(best *candidate, ok bool, c candidate) (*candidate, bool) {
	if c.quality < 0 {
		return best, ok
	}
	if !ok || c.quality > best.quality {
		cp := c
		return &cp, true
	}
	return best, ok
}

func (a *atomizer) best(n *Node) (candidate, bool) {
	switch n.Op {
	case OpSet:
		return a.best(&Node{Op: OpConcat, Subs: []*Node{n}})
	case OpConcat:
		return a.concat(n.Subs)
	case OpAlt:
		var all candidate
		worst := 1 << 30
		for _, s := range n.Subs {
			c, ok := a.best(s)
			if !ok {
				return candidate{}, false
			}
			all.atoms = append(all.atoms, c.atoms...)
			if c.quality < worst {
				worst = c.quality
			}
		}
		// Every alternative adds candidates to verify.
		all.quality = worst - 2*(len(all.atoms)-1)
		if all.quality < 0 || len(all.atoms) > 64 {
			return candidate{}, false
		}
		return all, true
	case OpRepeat:
		if n.Min == 0 {
			return candidate{}, false
		}
		// Atoms of the first repetition.
		return a.best(n.Subs[0])
	}
	return candidate{}, false
}

// following returns the single (folded) bytes that open subs, up to four.
func (a *atomizer) following(subs []*Node) []byte {
	var out []byte
	for _, n := range subs {
		if len(out) == 4 {
			break
		}
		if n.Op == OpAssert {
			continue
		}
		s, ok := a.charSet(n)
		if !ok {
			break
		}
		var folded ByteSet
		for w := 0; w < 4; w++ {
			for bits := s[w]; bits != 0; bits &= bits - 1 {
				folded.Add(lowerTab[w<<6|tz(bits)])
			}
		}
		if folded.Count() != 1 {
			break
		}
		out = append(out, folded.Members()[0])
	}
	return out
}

func (a *atomizer) concat(subs []*Node) (candidate, bool) {
	var best *candidate
	ok := false
	for i := 0; i < len(subs); i++ {
		// A window of single characters starting at subs[i]; zero-width
		// assertions inside it are skipped over.
		if _, isChar := a.charSet(subs[i]); isChar {
			var chars []ByteSet
			for j := i; j < len(subs) && len(chars) < a.maxLen; j++ {
				if subs[j].Op == OpAssert {
					continue
				}
				s, isChar := a.charSet(subs[j])
				if !isChar {
					break
				}
				chars = append(chars, s)
				if expansions(chars) > MaxExpansions {
					chars = chars[:len(chars)-1]
					break
				}
				w := append([]ByteSet(nil), chars...)
				q := a.q(w)
				best, ok = a.better(best, ok, candidate{
					atoms:   []candAtom{{chars: w, prefix: prefixOf(subs[:i], nil), next: a.following(subs[j+1:])}},
					quality: q,
				})
			}
			continue
		}
		switch subs[i].Op {
		case OpConcat, OpAlt, OpRepeat:
			c, cok := a.best(subs[i])
			if !cok {
				continue
			}
			shifted := candidate{quality: c.quality}
			for _, at := range c.atoms {
				shifted.atoms = append(shifted.atoms, candAtom{chars: at.chars, prefix: prefixOf(subs[:i], at.prefix)})
			}
			best, ok = a.better(best, ok, shifted)
		}
	}
	if !ok {
		return candidate{}, false
	}
	return *best, true
}

func tz(x uint64) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}
