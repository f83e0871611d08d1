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
	// Suffix is the part of the pattern from the atom on (the atom
	// included), as libyara's forward code: it runs once from the atom,
	// and every start the prefix reaches backwards shares its length.
	Suffix *Node
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
		pre := at.prefix.build()
		if pre == nil {
			pre = &Node{Op: OpEmpty}
		}
		lo, hi := pre.MinMaxLen()
		out[i] = Atom{Chars: at.chars, Prefix: pre, PrefixMin: lo, PrefixMax: hi, Next: a.following(at.next), Suffix: at.suffix.build()}
	}
	return out, c.quality
}

type candAtom struct {
	chars  []ByteSet
	prefix *lazyNode // nil: empty
	next   []*Node   // what follows the atom (for Atom.Next)
	suffix *lazyNode
}

// lazyNode is a prefix or suffix tree built only for the atoms finally
// chosen: before, then inner's tree (or node), then after.
type lazyNode struct {
	before []*Node
	inner  *lazyNode
	node   *Node
	after  []*Node
}

func (l *lazyNode) build() *Node {
	if l == nil {
		return nil
	}
	mid := l.node
	if l.inner != nil {
		mid = l.inner.build()
	}
	var subs []*Node
	subs = append(subs, l.before...)
	if mid != nil {
		subs = append(subs, mid)
	}
	subs = append(subs, l.after...)
	switch len(subs) {
	case 0:
		return nil
	case 1:
		return subs[0]
	}
	return &Node{Op: OpConcat, Subs: subs}
}

// suffixOf is the continuation of inner followed by rest.
func suffixOf(inner *Node, rest []*Node) *Node {
	if len(rest) == 0 {
		return inner
	}
	return &Node{Op: OpConcat, Subs: append([]*Node{inner}, rest...)}
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
		return SetOf(n, a.f.NoCase), true
	default:
		return s, false
	}
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

func lazyBefore(nodes []*Node) *lazyNode {
	if len(nodes) == 0 {
		return nil
	}
	return &lazyNode{before: nodes}
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
		// Atoms of the first repetition, followed by the others.
		c, ok := a.best(n.Subs[0])
		if !ok || n.Max == 1 {
			return c, ok
		}
		if n.Max < 0 {
			// "x+" is one loop in libyara's code: an atom in it may be in
			// any round, with more rounds before and after it.
			more := &Node{Op: OpRepeat, Subs: n.Subs, Min: 0, Max: -1, Greedy: n.Greedy}
			atoms := make([]candAtom, len(c.atoms))
			for i, at := range c.atoms {
				at.prefix = &lazyNode{before: []*Node{more}, inner: at.prefix}
				at.suffix = &lazyNode{inner: at.suffix, after: []*Node{more}}
				atoms[i] = at
			}
			c.atoms = atoms
			return c, true
		}
		rest := *n
		rest.Min = max(n.Min-1, 0)
		if n.Max > 0 {
			rest.Max = n.Max - 1
		}
		atoms := make([]candAtom, len(c.atoms))
		for i, at := range c.atoms {
			at.suffix = &lazyNode{inner: at.suffix, after: []*Node{&rest}}
			atoms[i] = at
		}
		c.atoms = atoms
		return c, true
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
					atoms:   []candAtom{{chars: w, prefix: lazyBefore(subs[:i]), next: subs[j+1:], suffix: &lazyNode{node: subs[i], after: subs[i+1:]}}},
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
				shifted.atoms = append(shifted.atoms, candAtom{chars: at.chars, prefix: &lazyNode{before: subs[:i], inner: at.prefix}, suffix: &lazyNode{inner: at.suffix, after: subs[i+1:]}})
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

// ResolveOptional reproduces how libyara 4.2 runs a regexp in which it
// finds no atom. Its atoms come only from literal characters (not classes,
// not \w \d \s, not optional "x?"/"{0,n}" or starred parts, and from an
// alternation only when every branch has one). Without any, it scans with
// an empty atom at every offset and runs the regexp's code from the entry
// of the root node, and that entry skips the split of a leading "x?" or
// "x{0,1}" (also inside a leading group or the first round of a leading
// "+" or "{n,m}"): the optional part becomes required, so /q?\w/ never
// matches text without a "q" and /(\d)?\s/ only a digit followed by a
// space. ResolveOptional returns the tree whose matches are libyara's, given
// libyara's atom choice for n (ChooseLibyaraAtoms).
func ResolveOptional(n *Node, choice LibyaraAtomNodes) *Node {
	if len(choice) > 0 {
		return n
	}
	return requireLeading(n)
}

// requireLeading copies n with its leading optional parts made required.
func requireLeading(n *Node) *Node {
	switch n.Op {
	case OpConcat:
		if len(n.Subs) == 0 {
			return n
		}
		first := requireLeading(n.Subs[0])
		if first == n.Subs[0] {
			return n
		}
		y := *n
		y.Subs = append([]*Node{first}, n.Subs[1:]...)
		return &y
	case OpRepeat:
		if n.Subs[0].Op == OpAny {
			// libyara's RANGE_ANY: one instruction, no split to skip.
			return n
		}
		if n.Min == 0 && n.Max == 1 {
			return requireLeading(n.Subs[0])
		}
		if n.Min >= 1 {
			// The first round is emitted apart (libyara's prolog).
			first := requireLeading(n.Subs[0])
			if first == n.Subs[0] {
				return n
			}
			rest := *n
			rest.Min--
			if rest.Max > 0 {
				rest.Max--
			}
			if rest.Max == 0 {
				return first
			}
			return &Node{Op: OpConcat, Subs: []*Node{first, &rest}}
		}
	}
	return n
}
