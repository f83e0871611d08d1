package yara

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/VirusTotal/gyp/ast"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// chainThreshold is libyara's YR_STRING_CHAINING_THRESHOLD: a hex string
// (or regex) is cut at a jump longer than this into pieces that are found
// separately and chained by distance.
const chainThreshold = 200

// strDef is one string of one rule.
type strDef struct {
	rule     int32
	slot     int32  // its match list
	id       string // "$a"
	private  bool
	fullword bool
	// keepAll is set when the condition needs every offset or length (@s,
	// !s, at, in): then every match up to MaxStringMatches is stored.
	keepAll bool
	// dedupe is set when two patterns, or two runs of one pattern, can
	// report the same offset; the match list is then made unique after the
	// scan, so every match is stored.
	dedupe bool
	// greedy is libyara's greedy-regexp flag: of matches at one offset
	// the last found is kept, not the first.
	greedy bool
	chain  *chain
	// atOnly is set while the condition uses the string only as "$s at N"
	// with one constant N: libyara then records (and reports) only a match
	// at N. atFixed is N; atMixed clears it for good.
	atOnly  bool
	atMixed bool
	atFixed int64
	// literal is libyara's STRING_IS_LITERAL: text strings, and hex strings
	// and regexes that are plain byte sequences. Only literals get the
	// fixed-offset treatment.
	literal bool
}

// hasGroup reports whether a regex source has a parenthesised group
// (outside classes and escapes).
func hasGroup(src string) bool {
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '[':
			i++
			if i < len(src) && src[i] == '^' {
				i++
			}
			if i < len(src) && src[i] == ']' {
				i++
			}
			for i < len(src) && src[i] != ']' {
				if src[i] == '\\' {
					i++
				}
				i++
			}
		case '(':
			return true
		}
	}
	return false
}

// fitsInAtom is libyara's STRING_FLAGS_FITS_IN_ATOM for a literal of n
// characters: then every atom hit (ascii or wide) is its own match, without
// the ascii-before-wide order of checks.
func fitsInAtom(n int, wide bool) bool {
	if wide {
		n *= 2
	}
	return n <= 4
}

// literalLen is the length of a literal tree (see isLiteralNode).
func literalLen(n *re.Node) int {
	if n.Op == re.OpConcat {
		return len(n.Subs)
	}
	return 1
}

// isLiteralNode reports whether a tree is a plain sequence of bytes.
func isLiteralNode(n *re.Node) bool {
	switch n.Op {
	case re.OpSet:
		return !n.Class && n.Set.Count() == 1
	case re.OpConcat:
		for _, s := range n.Subs {
			if s.Op != re.OpSet || s.Class || s.Set.Count() != 1 {
				return false
			}
		}
		return true
	}
	return false
}

// chain is a string cut at long jumps: pieces[i+1] must start between
// gaps[i].min and gaps[i].max bytes (max -1: any distance) after the end of
// a match of pieces[i].
type chain struct {
	slots []int32 // match-list slot of each piece
	gaps  []gap
}

type gap struct{ min, max int64 }

type patKind uint8

const (
	patLiteral patKind = iota
	patRegex
)

// pattern is one searchable form of a string (a variant: ascii, wide, one
// xor key, one base64 alignment, ...). Several patterns feed one slot.
type pattern struct {
	slot     int32
	kind     patKind
	prio     uint8 // at one offset the lowest prio wins, as libyara's order of checks
	wide     bool  // fullword and regex runs look at 2-byte characters
	fullword bool

	// ascii (text) and asciiFirst (regex) mark the wide form of a string
	// that is also ascii: libyara tries the wide form at an atom only when
	// the ascii one does not match there at all (even if it then fails
	// fullword, or, for a regex without atoms, matches empty). ascii is
	// the text string's ascii form; a regex runs its own code in ascii mode.
	ascii      *pattern
	asciiFirst bool

	lit    []byte // patLiteral
	nocase bool

	prog   *re.Prog // patRegex
	window bool     // apply re.ScanLimit around the atom
	atoms  []atomInfo
	first  re.ByteSet // bytes a match can start with (for patterns without atoms)
	// whole: the pattern runs from each start, not from its atom (libyara
	// found no atom in it; ours only find the starts).
	whole bool
}

// atomInfo tells how to get from an atom hit to match starts.
type atomInfo struct {
	fwd *re.Prog // the pattern from the atom on
	rev *re.Prog // the part before the atom, reversed; nil when empty
}

// stringError marks a string the engine refuses, with the reason.
type stringError struct{ reason string }

func (e *stringError) Error() string { return e.reason }

func unsupported(format string, a ...any) error {
	return &stringError{reason: fmt.Sprintf(format, a...)}
}

// unescape decodes a YARA text string as written between the quotes:
// \" \\ \t \n \r \xHH; every other byte stands for itself.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New("dangling backslash")
		}
		switch s[i] {
		case '"', '\\':
			out = append(out, s[i])
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New(`bad \x escape`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, errors.New(`bad \x escape`)
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf(`illegal escape \%c`, s[i])
		}
	}
	return out, nil
}

func toWide(b []byte) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}

// compileString turns one declared string into patterns added to c.
func (c *compiler) compileString(s ast.String, sd *strDef, slot int32) error {
	switch v := s.(type) {
	case *ast.TextString:
		return c.compileText(v, sd, slot)
	case *ast.HexString:
		sd.private = v.Private
		n, err := hexNode(v.Tokens)
		if err != nil {
			return err
		}
		sd.literal = isLiteralNode(n)
		return c.compileNode(n, re.Flags{}, sd, slot, false, true, !hexHasAlt(v.Tokens))
	case *ast.RegexpString:
		sd.private = v.Private
		sd.fullword = v.Fullword
		n, err := re.Parse(v.Regexp.Value)
		if err != nil {
			return unsupported("%s: %v (libyara rejects it too)", sd.id, err)
		}
		// libyara treats a regex as a literal only without any group.
		sd.literal = isLiteralNode(n) && !hasGroup(v.Regexp.Value)
		sd.greedy = re.Greedy(n)
		f := re.Flags{
			NoCase: v.Nocase || v.Regexp.Modifiers&ast.RegexpCaseInsensitive != 0,
			DotAll: v.Regexp.Modifiers&ast.RegexpDotAll != 0,
		}
		ascii := v.ASCII || !v.Wide
		return c.compileNodeVariants(n, f, sd, slot, ascii, v.Wide)
	}
	return unsupported("%s: unknown string type %T", sd.id, s)
}

func (c *compiler) compileText(v *ast.TextString, sd *strDef, slot int32) error {
	sd.private = v.Private
	sd.fullword = v.Fullword
	val, err := unescape(v.Value)
	if err != nil {
		return unsupported("%s: %v", sd.id, err)
	}
	if len(val) == 0 {
		return unsupported("%s: empty string (libyara rejects it)", sd.id)
	}
	b64 := v.Base64 || v.Base64Wide
	sd.literal = !b64
	switch {
	case v.Xor && v.Nocase:
		return unsupported("%s: xor and nocase together (libyara rejects it)", sd.id)
	case b64 && (v.Nocase || v.Xor || v.Fullword):
		return unsupported("%s: base64 with nocase, xor or fullword (libyara rejects it)", sd.id)
	}
	if b64 {
		return c.compileBase64(v, val, sd, slot)
	}
	ascii := v.ASCII || !v.Wide
	add := func(lit []byte, prio uint8, wide bool) *pattern {
		p := &pattern{slot: slot, kind: patLiteral, prio: prio, wide: wide, fullword: v.Fullword, lit: lit, nocase: v.Nocase}
		c.addLiteral(p)
		return p
	}
	// libyara's order of checks at one offset: ascii, wide, xor wide, xor.
	if !v.Xor || v.XorMin == 0 {
		var a *pattern
		if ascii {
			a = add(val, 0, false)
		}
		if v.Wide {
			w := add(toWide(val), 1, true)
			if v.Fullword && !fitsInAtom(len(val), true) {
				w.ascii = a
			}
		}
	}
	if v.Xor {
		lo := int(v.XorMin)
		if lo == 0 {
			lo = 1
		}
		for k := lo; k <= int(v.XorMax); k++ {
			if v.Wide {
				w := toWide(val)
				for i := range w {
					w[i] ^= byte(k)
				}
				add(w, 2, true)
			}
			if ascii {
				x := make([]byte, len(val))
				for i := range val {
					x[i] = val[i] ^ byte(k)
				}
				add(x, 3, false)
			}
		}
	}
	for _, b := range val {
		if b == 0 {
			sd.dedupe = true
		}
	}
	if v.Xor && v.Wide && ascii {
		sd.dedupe = true
	}
	return nil
}

// compileBase64 builds libyara's alternatives for the base64 and
// base64wide modifiers: the string encoded at the three alignments, with
// the characters that depend on the neighbouring bytes cut off.
func (c *compiler) compileBase64(v *ast.TextString, val []byte, sd *strDef, slot int32) error {
	alphabet := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	if v.Base64Alphabet != "" {
		a, err := unescape(v.Base64Alphabet)
		if err != nil || len(a) != 64 {
			return unsupported("%s: bad base64 alphabet", sd.id)
		}
		alphabet = a
	}
	var alts [][]byte
	nodes := func(in []byte, wide bool) {
		for i := 0; i <= 2; i++ {
			if i == 1 && len(in) == 1 {
				continue
			}
			enc, pad := b64encode(in, alphabet, i)
			lead, trail := 0, 0
			if i > 0 {
				lead = i + 1
			}
			if pad > 0 {
				trail = pad + 1
			}
			if lead+trail >= len(enc) {
				continue
			}
			s := enc[lead : len(enc)-trail]
			if wide {
				s = toWide(s)
			}
			alts = append(alts, s)
		}
	}
	wideIn := toWide(val)
	if v.Wide {
		if v.Base64 {
			nodes(wideIn, false)
		}
		if v.Base64Wide {
			nodes(wideIn, true)
		}
	}
	if v.ASCII || !v.Wide {
		if v.Base64 {
			nodes(val, false)
		}
		if v.Base64Wide {
			nodes(val, true)
		}
	}
	if len(alts) == 0 {
		return unsupported("%s: base64 string too short", sd.id)
	}
	sd.dedupe = len(alts) > 1
	for i, a := range alts {
		prio := i
		if prio > 255 {
			prio = 255
		}
		c.addLiteral(&pattern{slot: slot, kind: patLiteral, prio: uint8(prio), lit: a})
	}
	return nil
}

// b64encode is libyara's _yr_modified_base64_encode: i filler bytes are
// prepended, and pad reports how many bytes the last group lacks.
func b64encode(in, alphabet []byte, i int) ([]byte, int) {
	src := make([]byte, 0, len(in)+i)
	for j := 0; j < i; j++ {
		src = append(src, 'A')
	}
	src = append(src, in...)
	pad := 0
	if (i+len(in))%3 != 0 {
		pad = 3 - (i+len(in))%3
	}
	var out []byte
	for len(src) >= 3 {
		out = append(out, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4|src[1]>>4],
			alphabet[(src[1]&0x0f)<<2|src[2]>>6], alphabet[src[2]&0x3f])
		src = src[3:]
	}
	switch len(src) {
	case 1:
		out = append(out, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4], '=', '=')
	case 2:
		out = append(out, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4|src[1]>>4], alphabet[(src[1]&0x0f)<<2], '=')
	}
	return out, pad
}

func hexHasAlt(toks ast.HexTokens) bool {
	for _, t := range toks {
		if _, ok := t.(*ast.HexOr); ok {
			return true
		}
	}
	return false
}

// hexNode converts hex tokens to a pattern tree: masked bytes become byte
// sets, "~" negates them, jumps are non-greedy repeats of any byte (dot-all)
// and alternatives keep their order.
func hexNode(toks ast.HexTokens) (*re.Node, error) {
	var subs []*re.Node
	for _, t := range toks {
		switch v := t.(type) {
		case *ast.HexBytes:
			for i, b := range v.Bytes {
				var set re.ByteSet
				switch v.Masks[i] {
				case 0xFF:
					set.Add(b)
				case 0xF0:
					set.AddRange(b&0xF0, b&0xF0|0x0F)
				case 0x0F:
					for hi := 0; hi < 16; hi++ {
						set.Add(byte(hi<<4) | b&0x0F)
					}
				case 0x00:
					set.Negate()
				default:
					return nil, unsupported("hex mask %#x", v.Masks[i])
				}
				if i < len(v.Nots) && v.Nots[i] {
					set.Negate()
				}
				if set.Count() == 256 {
					subs = append(subs, &re.Node{Op: re.OpAny, DotAll: true})
				} else {
					subs = append(subs, &re.Node{Op: re.OpSet, Set: set})
				}
			}
		case *ast.HexJump:
			max := v.End
			if v.End == 0 {
				// "[n-]" is libyara's RANGE_ANY up to RE_MAX_RANGE.
				max = re.MaxRepeat
			}
			subs = append(subs, &re.Node{Op: re.OpRepeat, Subs: []*re.Node{{Op: re.OpAny, DotAll: true}}, Min: v.Start, Max: max})
		case *ast.HexOr:
			alt := &re.Node{Op: re.OpAlt}
			for _, a := range v.Alternatives {
				at, ok := a.(ast.HexTokens)
				if !ok {
					return nil, unsupported("hex alternative %T", a)
				}
				n, err := hexNode(at)
				if err != nil {
					return nil, err
				}
				alt.Subs = append(alt.Subs, n)
			}
			subs = append(subs, alt)
		default:
			return nil, unsupported("hex token %T", t)
		}
	}
	if len(subs) == 1 {
		return subs[0], nil
	}
	return re.Concat(subs...), nil
}

// chainPieces cuts a top-level concatenation at non-greedy "any" repeats
// with a bound over the chaining threshold, as libyara does: ".{0,300}?"
// and ".{1,}?" chain, ".*?" and ".+?" (its STAR and PLUS nodes) do not,
// and nothing inside or around parentheses does.
func chainPieces(n *re.Node) ([]*re.Node, []gap) {
	if n.Op != re.OpConcat || n.Group {
		return []*re.Node{n}, nil
	}
	var pieces []*re.Node
	var gaps []gap
	cur := []*re.Node{}
	for i, s := range n.Subs {
		if i > 0 && i < len(n.Subs)-1 && len(cur) > 0 && s.Op == re.OpRepeat && !s.Greedy &&
			!s.Group && s.Subs[0].Op == re.OpAny && !s.Subs[0].Group && (s.Min > chainThreshold || s.Max > chainThreshold) {
			pieces = append(pieces, concatOf(cur))
			max := int64(s.Max)
			if s.Max < 0 || s.Max >= re.MaxRepeat {
				max = -1
			}
			gaps = append(gaps, gap{min: int64(s.Min), max: max})
			cur = []*re.Node{}
			continue
		}
		cur = append(cur, s)
	}
	pieces = append(pieces, concatOf(cur))
	return pieces, gaps
}

func concatOf(subs []*re.Node) *re.Node {
	if len(subs) == 1 {
		return subs[0]
	}
	return re.Concat(subs...)
}

// compileNode compiles a regex or hex tree in one mode (ascii).
func (c *compiler) compileNode(n *re.Node, f re.Flags, sd *strDef, slot int32, wide, hex, noWindow bool) error {
	return c.compileModes(n, f, sd, slot, !wide, wide, hex, noWindow, sd.literal)
}

// compileNodeVariants adds the ascii and wide forms of a regex.
func (c *compiler) compileNodeVariants(n *re.Node, f re.Flags, sd *strDef, slot int32, ascii, wide bool) error {
	if ascii && wide {
		sd.dedupe = true
	}
	return c.compileModes(n, f, sd, slot, ascii, wide, false, false, sd.literal)
}

// compileModes compiles a regex or hex tree in its modes, cut into a chain
// at long jumps as libyara does. A chain's pieces are strings of their own
// in the same modes (with fullword applying to each piece), and the gaps
// count bytes even for wide pieces (libyara does not double them).
func (c *compiler) compileModes(n *re.Node, f re.Flags, sd *strDef, slot int32, ascii, wide, hex, noWindow, literal bool) error {
	pieces, gaps := chainPieces(n)
	if len(pieces) > 1 && sd.chain != nil {
		return unsupported("%s: chained twice", sd.id)
	}
	var ch *chain
	if len(pieces) > 1 {
		ch = &chain{gaps: gaps}
	}
	for _, p := range pieces {
		ps := slot
		// Pieces of a hex string without alternatives run without the scan
		// window, like libyara's fast hex matcher.
		window := !noWindow
		lit := literal
		if ch != nil {
			ps = c.newSlot()
			ch.slots = append(ch.slots, ps)
			window = !(hex && noWindow)
			lit = isLiteralNode(p)
		}
		first := len(c.pats)
		if ascii {
			if err := c.addRegex(p, f, ps, 0, false, sd.fullword, window, hex); err != nil {
				return err
			}
		}
		mid := len(c.pats)
		if wide {
			if err := c.addRegex(p, f, ps, 0, true, sd.fullword, window, hex); err != nil {
				return err
			}
		}
		if ascii && wide && mid == first+1 && len(c.pats) == mid+1 && !(lit && fitsInAtom(literalLen(p), true)) {
			c.pats[mid].asciiFirst = true
		}
	}
	if ch != nil {
		sd.chain = ch
		sd.dedupe = true
	}
	return nil
}

// addRegex compiles one tree into a regex pattern with its atoms.
func (c *compiler) addRegex(n *re.Node, f re.Flags, slot int32, prio uint8, wide, fullword, window, hex bool) error {
	maxLen := 4
	if wide {
		maxLen = 2
	}
	// Without an atom of its own libyara runs the pattern from every
	// offset (see re.ResolveOptional); our atoms then only find the starts.
	choice := re.ChooseLibyaraAtoms(n)
	whole := len(choice) == 0
	n = re.ResolveOptional(n, choice)
	prog, err := re.Compile(n, f)
	if err != nil {
		return unsupported("%v", err)
	}
	p := &pattern{slot: slot, kind: patRegex, prio: prio, wide: wide, fullword: fullword, prog: prog, window: window, whole: whole}
	var atoms []re.Atom
	if !hex && !whole {
		// libyara's own atoms: its split of the pattern decides lengths,
		// fullword and the ascii-before-wide order.
		atoms = re.LibyaraAtoms(n, choice, f, maxLen)
	}
	if atoms == nil {
		atoms, _ = re.Atoms(n, f, maxLen, charsQuality)
	}
	first, ok := re.FirstSet(n, f)
	if !ok {
		// The pattern can match the empty string (and so start anywhere).
		first = re.ByteSet{}
		first.Negate()
	}
	p.first = first
	idx := c.addPattern(p)
	c.slotRegex[slot] = true
	if len(atoms) == 0 {
		c.brute = append(c.brute, idx)
		return nil
	}
	for ai, a := range atoms {
		var info atomInfo
		if a.Suffix == n {
			info.fwd = prog
		} else if info.fwd, err = re.Compile(a.Suffix, f); err != nil {
			return unsupported("%v", err)
		}
		if a.Prefix.Op != re.OpEmpty {
			if info.rev, err = re.CompileReverse(a.Prefix, f); err != nil {
				return unsupported("%v", err)
			}
		}
		p.atoms = append(p.atoms, info)
		e := atomEntry{pat: idx, atom: int32(ai)}
		var next []byte
		for _, b := range a.Next {
			next = append(next, b)
			if wide {
				next = append(next, 0)
			}
		}
		for i, b := range next[:min(4, len(next))] {
			e.next |= uint32(b) << (8 * i)
			e.mask |= 0xff << (8 * i)
		}
		for _, key := range expandAtom(a.Chars, wide) {
			c.idx.add(key, e)
		}
	}
	return nil
}

// addLiteral registers a literal pattern and its best atom window.
func (c *compiler) addLiteral(p *pattern) {
	idx := c.addPattern(p)
	off, n := bestLiteralWindow(p.lit, p.wide)
	e := atomEntry{pat: idx, atom: int32(off)}
	for i, b := range p.lit[off+n : min(off+n+4, len(p.lit))] {
		e.next |= uint32(fold[b]) << (8 * i)
		e.mask |= 0xff << (8 * i)
	}
	c.idx.add(foldBytes(p.lit[off:off+n]), e)
}

// expandAtom lists the case-folded byte strings of an atom (wide: every
// character followed by a zero byte).
func expandAtom(chars []re.ByteSet, wide bool) [][]byte {
	out := [][]byte{nil}
	for _, set := range chars {
		var folded re.ByteSet
		for _, m := range set.Members() {
			folded.Add(fold[m])
		}
		var next [][]byte
		for _, prefix := range out {
			for _, m := range folded.Members() {
				s := append(append([]byte(nil), prefix...), m)
				if wide {
					s = append(s, 0)
				}
				next = append(next, s)
			}
		}
		out = next
	}
	return out
}
