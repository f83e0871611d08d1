package re

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxRepeat is YARA's largest repeat bound (RE_MAX_RANGE, INT16_MAX); "{n,}"
// means "{n,MaxRepeat}".
const MaxRepeat = 32767

// Parse parses a YARA regular expression (the text between the slashes,
// escapes intact) into a tree. It accepts what libyara 4.2's regex lexer
// and grammar accept and rejects what they reject, with their quirks:
// "\s" inside a class is only space and tab, a range start may be an
// escape ("[\w-z]" is the range w..z), "{" that does not open a valid
// repeat is a literal, unknown escapes stand for the escaped character,
// and back-references are errors.
func Parse(src string) (*Node, error) {
	p := &parser{src: src}
	n, err := p.alternative()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.src) {
		return nil, fmt.Errorf("regex: unexpected %q at offset %d", p.src[p.pos], p.pos)
	}
	if p.greedy && p.lazy {
		return nil, errors.New("regex: greedy and ungreedy quantifiers can't be mixed")
	}
	return n, nil
}

type parser struct {
	src   string
	pos   int
	depth int
	// greedy and lazy record the kinds of quantifiers seen; libyara
	// rejects a regex with both.
	greedy, lazy bool
}

var errEOF = errors.New("regex: unexpected end")

func (p *parser) alternative() (*Node, error) {
	first, err := p.concatenation()
	if err != nil {
		return nil, err
	}
	alts := []*Node{first}
	for p.pos < len(p.src) && p.src[p.pos] == '|' {
		p.pos++
		if p.pos >= len(p.src) || p.src[p.pos] == '|' || p.src[p.pos] == ')' {
			alts = append(alts, &Node{Op: OpEmpty})
			continue
		}
		n, err := p.concatenation()
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	if len(alts) == 1 {
		return first, nil
	}
	return &Node{Op: OpAlt, Subs: alts}, nil
}

func (p *parser) concatenation() (*Node, error) {
	var subs []*Node
	for p.pos < len(p.src) && p.src[p.pos] != '|' && p.src[p.pos] != ')' {
		n, err := p.repeat()
		if err != nil {
			return nil, err
		}
		subs = append(subs, n)
	}
	switch len(subs) {
	case 0:
		if p.pos >= len(p.src) {
			return nil, errEOF
		}
		return nil, fmt.Errorf("regex: unexpected %q at offset %d", p.src[p.pos], p.pos)
	case 1:
		return subs[0], nil
	}
	return &Node{Op: OpConcat, Subs: subs}, nil
}

func (p *parser) repeat() (*Node, error) {
	c := p.src[p.pos]
	switch c {
	case '^':
		p.pos++
		return &Node{Op: OpAssert, Assert: AssertStart}, nil
	case '$':
		p.pos++
		return &Node{Op: OpAssert, Assert: AssertEnd}, nil
	case '\\':
		if p.pos+1 < len(p.src) {
			switch p.src[p.pos+1] {
			case 'b':
				p.pos += 2
				return &Node{Op: OpAssert, Assert: AssertWordBoundary}, nil
			case 'B':
				p.pos += 2
				return &Node{Op: OpAssert, Assert: AssertNonWordBoundary}, nil
			}
		}
	}
	n, err := p.single()
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.src) {
		return n, nil
	}
	min, max := -1, -1
	switch p.src[p.pos] {
	case '*':
		min, max = 0, -1
		p.pos++
	case '+':
		min, max = 1, -1
		p.pos++
	case '?':
		min, max = 0, 1
		p.pos++
	case '{':
		lo, hi, width, ok, err := lexRange(p.src[p.pos:])
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		min, max = lo, hi
		p.pos += width
	default:
		return n, nil
	}
	greedy := true
	if p.pos < len(p.src) && p.src[p.pos] == '?' {
		greedy = false
		p.pos++
	}
	if greedy {
		p.greedy = true
	} else {
		p.lazy = true
	}
	if p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '*', '+', '?':
			return nil, fmt.Errorf("regex: nested repeat at offset %d", p.pos)
		case '{':
			if _, _, _, ok, _ := lexRange(p.src[p.pos:]); ok {
				return nil, fmt.Errorf("regex: nested repeat at offset %d", p.pos)
			}
		}
	}
	return &Node{Op: OpRepeat, Subs: []*Node{n}, Min: min, Max: max, Greedy: greedy}, nil
}

// lexRange recognises "{n}", "{n,m}", "{,m}", "{n,}" and "{,}" at the start
// of s. ok is false when s does not start with one (then "{" is a literal).
func lexRange(s string) (lo, hi, width int, ok bool, err error) {
	i := 1
	digits := func() (int, bool, error) {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false, nil
		}
		v, err := strconv.Atoi(s[start:i])
		if err != nil || v > MaxRepeat {
			return 0, true, errors.New("regex: repeat interval too large")
		}
		return v, true, nil
	}
	a, hasA, err := digits()
	if err != nil {
		return 0, 0, 0, false, err
	}
	if i < len(s) && s[i] == '}' {
		if !hasA {
			return 0, 0, 0, false, nil
		}
		return a, a, i + 1, true, nil
	}
	if i >= len(s) || s[i] != ',' {
		return 0, 0, 0, false, nil
	}
	i++
	b, hasB, err := digits()
	if err != nil {
		return 0, 0, 0, false, err
	}
	if i >= len(s) || s[i] != '}' {
		return 0, 0, 0, false, nil
	}
	if !hasB {
		b = MaxRepeat
	}
	if b < a {
		return 0, 0, 0, false, errors.New("regex: bad repeat interval")
	}
	return a, b, i + 1, true, nil
}

func (p *parser) single() (*Node, error) {
	c := p.src[p.pos]
	switch c {
	case '(':
		p.depth++
		if p.depth > 1000 {
			return nil, errors.New("regex: too deeply nested")
		}
		p.pos++
		if p.pos < len(p.src) && p.src[p.pos] == ')' {
			return nil, fmt.Errorf("regex: empty group at offset %d", p.pos)
		}
		n, err := p.alternative()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, errors.New("regex: missing )")
		}
		p.pos++
		p.depth--
		n.Group = true
		return n, nil
	case '.':
		p.pos++
		return &Node{Op: OpAny}, nil
	case '[':
		return p.class()
	case '\\':
		if p.pos+1 >= len(p.src) {
			return nil, errEOF
		}
		e := p.src[p.pos+1]
		if set, ok := escapeClass(e); ok {
			p.pos += 2
			return &Node{Op: OpSet, Set: set, Class: true}, nil
		}
		if e >= '1' && e <= '9' {
			return nil, errors.New("regex: backreferences are not allowed")
		}
		b, w, err := escapedChar(p.src[p.pos:])
		if err != nil {
			return nil, err
		}
		p.pos += w
		return Lit(b), nil
	case ')', '|', '*', '+', '?':
		return nil, fmt.Errorf("regex: unexpected %q at offset %d", c, p.pos)
	case '{':
		if _, _, _, ok, _ := lexRange(p.src[p.pos:]); ok {
			return nil, fmt.Errorf("regex: repeat without operand at offset %d", p.pos)
		}
	}
	p.pos++
	return Lit(c), nil
}

var wordSet, digitSet, spaceSet ByteSet

func init() {
	wordSet.AddRange('a', 'z')
	wordSet.AddRange('A', 'Z')
	wordSet.AddRange('0', '9')
	wordSet.Add('_')
	digitSet.AddRange('0', '9')
	for _, c := range []byte(" \t\r\n\v\f") {
		spaceSet.Add(c)
	}
}

// escapeClass returns the set for \w \W \s \S \d \D outside a class.
func escapeClass(e byte) (ByteSet, bool) {
	var s ByteSet
	switch e {
	case 'w':
		s = wordSet
	case 'W':
		s = wordSet
		s.Negate()
	case 's':
		s = spaceSet
	case 'S':
		s = spaceSet
		s.Negate()
	case 'd':
		s = digitSet
	case 'D':
		s = digitSet
		s.Negate()
	default:
		return s, false
	}
	return s, true
}

// escapedChar decodes the escape at the start of s (s[0] == '\\') the way
// libyara's read_escaped_char does, returning the byte and the width.
func escapedChar(s string) (byte, int, error) {
	if len(s) < 2 {
		return 0, 0, errEOF
	}
	switch s[1] {
	case 'x':
		if len(s) < 4 || !isHex(s[2]) || !isHex(s[3]) {
			return 0, 0, errors.New(`regex: bad \x escape`)
		}
		v, _ := strconv.ParseUint(s[2:4], 16, 8)
		return byte(v), 4, nil
	case 'n':
		return '\n', 2, nil
	case 't':
		return '\t', 2, nil
	case 'r':
		return '\r', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'a':
		return '\a', 2, nil
	}
	return s[1], 2, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (p *parser) class() (*Node, error) {
	p.pos++ // '['
	var set ByteSet
	negated := false
	if p.pos < len(p.src) && p.src[p.pos] == '^' {
		negated = true
		p.pos++
	}
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		set.Add(']')
		p.pos++
	}
	for {
		if p.pos >= len(p.src) {
			return nil, errors.New("regex: missing terminating ] for character class")
		}
		c := p.src[p.pos]
		if c == ']' {
			p.pos++
			break
		}
		// A range: start (char or escape), '-', end (anything but ']').
		if lo, w, ok, err := p.classChar(p.pos); err != nil {
			return nil, err
		} else if ok && p.pos+w+1 < len(p.src) && p.src[p.pos+w] == '-' && p.src[p.pos+w+1] != ']' {
			hi, w2, _, err := p.classChar(p.pos + w + 1)
			if err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, errors.New("regex: bad character range")
			}
			set.AddRange(lo, hi)
			p.pos += w + 1 + w2
			continue
		}
		if c == '\\' {
			if p.pos+1 >= len(p.src) {
				return nil, errEOF
			}
			switch e := p.src[p.pos+1]; e {
			case 'w':
				set.Union(&wordSet)
			case 'W':
				s := wordSet
				s.Negate()
				set.Union(&s)
			case 's':
				set.Add(' ')
				set.Add('\t')
			case 'S':
				var s ByteSet
				s.Negate()
				s[0] &^= 1<<' ' | 1<<'\t'
				set.Union(&s)
			case 'd':
				set.Union(&digitSet)
			case 'D':
				s := digitSet
				s.Negate()
				set.Union(&s)
			default:
				b, w, err := escapedChar(p.src[p.pos:])
				if err != nil {
					return nil, err
				}
				set.Add(b)
				p.pos += w
				continue
			}
			p.pos += 2
			continue
		}
		if c < 32 || c >= 127 {
			return nil, errors.New("regex: non-ascii character in class")
		}
		set.Add(c)
		p.pos++
	}
	if negated {
		set.Negate()
	}
	return &Node{Op: OpSet, Set: set, Neg: negated, Class: true}, nil
}

// classChar reads one class character (literal or escape) at i for use as
// a range bound; ok is false for a backslash that ends the input.
func (p *parser) classChar(i int) (byte, int, bool, error) {
	c := p.src[i]
	if c != '\\' {
		if c < 32 || c >= 127 {
			return 0, 0, false, errors.New("regex: non-ascii character in class")
		}
		return c, 1, true, nil
	}
	if i+1 >= len(p.src) {
		return 0, 0, false, nil
	}
	b, w, err := escapedChar(p.src[i:])
	if err != nil {
		return 0, 0, false, err
	}
	return b, w, true, nil
}
