package re

// This file reproduces libyara 4.2's choice of atoms for a regular
// expression (atoms.c: _yr_atoms_extract_from_re, _yr_atoms_choose and the
// heuristic quality). The choice matters beyond speed: libyara runs the
// pattern forwards from the atom and backwards from it to the start, so the
// atom's place decides match lengths at one offset, what fullword sees, and
// whether an ascii+wide string is tried as wide (only when the ascii form
// fails from the atom). Using the same atom makes those results libyara's.

const (
	yMaxAtomLen  = 4
	yMaxQuality  = 255
	yMinQuality  = 0
	yAtomQuality = yMaxQuality - 22*yMaxAtomLen
)

// yNode is one node of libyara's atom tree.
type yNode struct {
	kind  int // yLeaf, yOr, yAnd
	nodes []*Node
	subs  []*yNode
}

const (
	yLeaf = iota
	yOr
	yAnd
)

// yAtomByte returns the byte and mask libyara gives an atom node: a
// literal character (mask 0xFF) or "." (mask 0).
func yAtomByte(n *Node) (byte, byte, bool) {
	switch n.Op {
	case OpSet:
		if !n.Class {
			if b, ok := n.Set.Single(); ok {
				return b, 0xFF, true
			}
		}
	case OpAny:
		return 0, 0, true
	}
	return 0, 0, false
}

// yTrim is _yr_atoms_trim: it drops leading and trailing "." and keeps one
// byte when the atom has as many unknown bytes as known ones. It returns
// the shift (bytes dropped at the front) and the new length.
func yTrim(nodes []*Node) (int, int) {
	left, n := 0, len(nodes)
	mask := func(i int) byte { _, m, _ := yAtomByte(nodes[i]); return m }
	for left < n && mask(left) == 0 {
		left++
	}
	for n > left && mask(n-1) == 0 {
		n--
	}
	length := n - left
	if length == 0 {
		return 0, 0
	}
	ff, zero := 0, 0
	for i := left; i < n; i++ {
		if mask(i) == 0xFF {
			ff++
		} else {
			zero++
		}
	}
	if zero >= ff {
		length = 1
	}
	return left, length
}

// yQuality is yr_atoms_heuristic_quality of the (trimmed) atom nodes.
func yQuality(nodes []*Node) int {
	q, unique := 0, 0
	var seen ByteSet
	for _, n := range nodes {
		b, m, _ := yAtomByte(n)
		if m == 0 {
			q -= 10
			continue
		}
		switch b {
		case 0x00, 0x20, 0xCC, 0xFF:
			q += 12
		default:
			if l := lowerTab[b]; l >= 'a' && l <= 'z' {
				q += 18
			} else {
				q += 20
			}
		}
		if !seen.Has(b) {
			seen.Add(b)
			unique++
		}
	}
	if unique == 1 && (seen.Has(0x00) || seen.Has(0x20) || seen.Has(0x90) || seen.Has(0xCC) || seen.Has(0xFF)) {
		q -= 10 * len(nodes)
	} else {
		q += 2 * unique
	}
	return yAtomQuality + q
}

// yQual is the quality libyara computes for a window: of the trimmed atom
// (an empty one scores as the heuristic's base).
func yQual(nodes []*Node) (shift, n, q int) {
	shift, n = yTrim(nodes)
	return shift, n, yQuality(nodes[shift : shift+n])
}

// yBuilder walks a pattern the way _yr_atoms_extract_from_re does.
type yBuilder struct {
	recent []*Node
	best   []*Node
	bestQ  int
	cur    *yNode
}

// flush appends the pending window to the current OR node and switches to
// next (libyara's stack items with a new appending node).
func (b *yBuilder) flush(next *yNode) {
	if len(b.recent) > 0 {
		leaf := &yNode{kind: yLeaf}
		shift, _, q := yQual(b.recent)
		if q > b.bestQ {
			leaf.nodes = append([]*Node(nil), b.recent[shift:]...)
		} else {
			leaf.nodes = append([]*Node(nil), b.best...)
		}
		b.cur.subs = append(b.cur.subs, leaf)
		b.recent = b.recent[:0]
	}
	b.cur = next
	b.bestQ = -1
}

func (b *yBuilder) atomNode(n *Node) {
	if len(b.recent) < yMaxAtomLen {
		b.recent = append(b.recent, n)
		b.best = append(b.best[:0], b.recent...)
		return
	}
	if b.bestQ < yMaxQuality {
		shift, l, q := yQual(b.recent)
		if q > b.bestQ {
			b.best = append(b.best[:0], b.recent[shift:shift+l]...)
			b.bestQ = q
		}
	}
	copy(b.recent, b.recent[1:])
	b.recent[len(b.recent)-1] = n
}

func (b *yBuilder) visit(n *Node) {
	if _, _, ok := yAtomByte(n); ok {
		b.atomNode(n)
		return
	}
	switch n.Op {
	case OpConcat:
		for _, s := range n.Subs {
			b.visit(s)
		}
	case OpAlt:
		// libyara's alternation is binary and left-nested: (a|b|c) is
		// ((a|b)|c).
		b.alt(n.Subs)
	case OpRepeat:
		if n.Subs[0].Op == OpAny || n.Min == 0 && n.Max < 0 {
			// RANGE_ANY and STAR break the window.
			b.flush(b.cur)
			return
		}
		outer := b.cur
		if n.Max < 0 {
			// PLUS: the child once.
			b.visit(n.Subs[0])
		} else {
			for i := 0; i < min(n.Min, yMaxAtomLen); i++ {
				b.visit(n.Subs[0])
			}
		}
		b.flush(outer)
	default:
		b.flush(b.cur)
	}
}

func (b *yBuilder) alt(subs []*Node) {
	if len(subs) == 1 {
		b.visit(subs[0])
		return
	}
	outer := b.cur
	and := &yNode{kind: yAnd}
	left, right := &yNode{kind: yOr}, &yNode{kind: yOr}
	and.subs = []*yNode{left, right}
	outer.subs = append(outer.subs, and)
	b.flush(left)
	b.alt(subs[:len(subs)-1])
	b.flush(right)
	b.visit(subs[len(subs)-1])
	b.flush(outer)
}

// choose is _yr_atoms_choose: the atoms (their nodes, trimmed) of a tree
// node and their quality.
func yChoose(t *yNode) ([][]*Node, int) {
	switch t.kind {
	case yLeaf:
		shift, n := yTrim(t.nodes)
		if n == 0 {
			return nil, yMinQuality
		}
		nodes := t.nodes[shift : shift+n]
		return [][]*Node{nodes}, yQuality(nodes)
	case yOr:
		var best [][]*Node
		bestQ := yMinQuality
		for _, s := range t.subs {
			items, q := yChoose(s)
			if q > bestQ {
				best, bestQ = items, q
			}
			if bestQ == yMaxQuality {
				break
			}
		}
		return best, bestQ
	default:
		var all [][]*Node
		minQ := yMaxQuality
		for _, s := range t.subs {
			items, q := yChoose(s)
			minQ = min(minQ, q)
			// libyara prepends each child's atoms to its list and each
			// atom to its automaton state's list: at one position the
			// atoms are verified in the children's order, which ours
			// (insertion order) keeps.
			all = append(all, items...)
		}
		return all, minQ
	}
}

// yaraAtomNodes returns libyara's atoms for n: for each, the nodes of its
// characters (the first one is where libyara splits the pattern).
func yaraAtomNodes(n *Node) [][]*Node {
	root := &yNode{kind: yOr}
	b := &yBuilder{cur: root, bestQ: -1}
	b.visit(n)
	b.flush(root)
	atoms, _ := yChoose(root)
	return atoms
}

// LibyaraAtomNodes is libyara's atom choice for n, computed once for
// LibyaraAtoms (nil: libyara finds no atom).
type LibyaraAtomNodes [][]*Node

// ChooseLibyaraAtoms returns libyara's atom choice for n.
func ChooseLibyaraAtoms(n *Node) LibyaraAtomNodes { return yaraAtomNodes(n) }

// LibyaraAtoms returns libyara's atoms for the pattern n as Atoms, split
// where libyara splits (Prefix before the atom's first node, Suffix from
// it). Only the split decides results: the key we scan for may be longer
// than libyara's atom, as any characters the Suffix must start with (at
// most maxChars, 2 for a wide pattern, and MaxExpansions keys), since
// where they are missing the forward run from libyara's atom fails and
// libyara reports nothing either. It returns nil when libyara has no atom
// or one of them cannot be placed (never expected).
func LibyaraAtoms(n *Node, choice LibyaraAtomNodes, f Flags, maxChars int) []Atom {
	var out []Atom
	for _, nodes := range choice {
		pre, suf, ok := splitAt(n, nodes[0])
		if !ok {
			return nil
		}
		lead := leadingChars(suf, nil)
		var chars []ByteSet
		for _, c := range lead {
			if len(chars) == maxChars {
				break
			}
			chars = append(chars, charSetOf(c, f))
			if len(chars) > 1 && expansions(chars) > MaxExpansions {
				chars = chars[:len(chars)-1]
				break
			}
		}
		if len(chars) == 0 {
			return nil
		}
		var next []byte
		for _, c := range lead[len(chars):] {
			s := charSetOf(c, f)
			var folded ByteSet
			for _, m := range s.Members() {
				folded.Add(lowerTab[m])
			}
			if folded.Count() != 1 || len(next) == 4 {
				break
			}
			next = append(next, folded.Members()[0])
		}
		if pre == nil {
			pre = &Node{Op: OpEmpty}
		}
		lo, hi := pre.MinMaxLen()
		out = append(out, Atom{Chars: chars, Prefix: pre, PrefixMin: lo, PrefixMax: hi, Suffix: suf, Next: next})
	}
	return out
}

func charSetOf(c *Node, f Flags) ByteSet {
	if c.Op == OpAny {
		var s ByteSet
		s.Negate()
		return s
	}
	return SetOf(c, f.NoCase)
}

// leadingChars appends to out the single-character nodes every match of n
// starts with, in order (zero-width assertions skipped), stopping at the
// first part that is not one.
func leadingChars(n *Node, out []*Node) []*Node {
	out, _ = leading(n, out)
	return out
}

// leading returns the leading characters and whether all of n was taken.
func leading(n *Node, out []*Node) ([]*Node, bool) {
	switch n.Op {
	case OpSet, OpAny:
		return append(out, n), true
	case OpAssert, OpEmpty:
		return out, true
	case OpConcat:
		for _, s := range n.Subs {
			var all bool
			if out, all = leading(s, out); !all {
				return out, false
			}
		}
		return out, true
	case OpRepeat:
		if n.Min >= 1 {
			out, all := leading(n.Subs[0], out)
			return out, all && n.Min == 1 && n.Max == 1
		}
	}
	return out, false
}

// splitAt splits n at the first occurrence of node x (libyara's code for x:
// in a repeat, its first round; in "x+", any round): the part before and
// the part from x on.
func splitAt(n, x *Node) (pre, suf *Node, ok bool) {
	if n == x {
		return nil, n, true
	}
	switch n.Op {
	case OpConcat:
		for i, s := range n.Subs {
			p, sf, ok := splitAt(s, x)
			if !ok {
				continue
			}
			return prefixOf(n.Subs[:i], p), suffixOf(sf, n.Subs[i+1:]), true
		}
	case OpAlt:
		for _, s := range n.Subs {
			if p, sf, ok := splitAt(s, x); ok {
				return p, sf, true
			}
		}
	case OpRepeat:
		p, sf, ok := splitAt(n.Subs[0], x)
		if !ok || n.Min == 0 {
			return nil, nil, false
		}
		if n.Max < 0 {
			more := &Node{Op: OpRepeat, Subs: n.Subs, Min: 0, Max: -1, Greedy: n.Greedy}
			return prefixOf([]*Node{more}, p), suffixOf(sf, []*Node{more}), true
		}
		if n.Max == 1 {
			return p, sf, true
		}
		rest := *n
		rest.Min = n.Min - 1
		rest.Max = n.Max - 1
		return p, suffixOf(sf, []*Node{&rest}), true
	}
	return nil, nil, false
}
