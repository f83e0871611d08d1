package sigma

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// cnode is a compiled condition.
type cnode struct {
	op   cop
	kids []*cnode
	sel  *selection // cSel
	n    int        // cAtLeast: at least n kids true
}

type cop uint8

const (
	cSel cop = iota
	cAnd
	cOr
	cNot
	cAtLeast
)

func (n *cnode) String() string {
	switch n.op {
	case cSel:
		return n.sel.name
	case cNot:
		return "not " + n.kids[0].String()
	case cAtLeast:
		var parts []string
		for _, k := range n.kids {
			parts = append(parts, k.String())
		}
		return fmt.Sprintf("%d of (%s)", n.n, strings.Join(parts, ", "))
	}
	sep := " and "
	if n.op == cOr {
		sep = " or "
	}
	var parts []string
	for _, k := range n.kids {
		parts = append(parts, k.String())
	}
	return "(" + strings.Join(parts, sep) + ")"
}

type token struct {
	kind byte // '(' ')' 'w' (word) '|' 'e' (end)
	text string
	pos  int
}

func lexCondition(s string) ([]token, *compileErr) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, token{kind: c, text: string(c), pos: i})
			i++
		case c == '|':
			return nil, cunsup("", "aggregation expressions (`| count() ...`) are Sigma v1; use a correlation rule")
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			out = append(out, token{kind: 'w', text: s[i:j], pos: i})
			i = j
		default:
			return nil, cerr("", "unexpected character %q at offset %d", c, i)
		}
	}
	return append(out, token{kind: 'e', pos: len(s)}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '*' || c == '?' || c == ':' || c == '/' || c == '\\' ||
		c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// condParser is a recursive-descent parser over:
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | quant "of" (pattern | "them") | identifier
//	quant   = "1" | "any" | "all" | N
type condParser struct {
	toks  []token
	i     int
	sels  []*selection
	byNm  map[string]*selection
	depth int
}

// parseCondition compiles one condition string against the selections.
func parseCondition(s string, sels []*selection) (*cnode, *compileErr) {
	toks, ce := lexCondition(s)
	if ce != nil {
		return nil, ce
	}
	p := &condParser{toks: toks, sels: sels, byNm: map[string]*selection{}}
	for _, sel := range sels {
		p.byNm[sel.name] = sel
	}
	n, ce := p.expr()
	if ce != nil {
		return nil, ce
	}
	if t := p.peek(); t.kind != 'e' {
		if isWord(t, "near") {
			return nil, cunsup("", "the near operator is Sigma v1; use a temporal correlation rule")
		}
		return nil, cerr("", "unexpected %q at offset %d", t.text, t.pos)
	}
	return n, nil
}

func (p *condParser) peek() token { return p.toks[p.i] }
func (p *condParser) next() token {
	t := p.toks[p.i]
	if t.kind != 'e' {
		p.i++
	}
	return t
}

func isWord(t token, w string) bool { return t.kind == 'w' && strings.EqualFold(t.text, w) }

func (p *condParser) expr() (*cnode, *compileErr) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return nil, cerr("", "condition nested too deeply")
	}
	left, ce := p.and()
	if ce != nil {
		return nil, ce
	}
	kids := []*cnode{left}
	for isWord(p.peek(), "or") {
		p.next()
		right, ce := p.and()
		if ce != nil {
			return nil, ce
		}
		kids = append(kids, right)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &cnode{op: cOr, kids: kids}, nil
}

func (p *condParser) and() (*cnode, *compileErr) {
	left, ce := p.unary()
	if ce != nil {
		return nil, ce
	}
	kids := []*cnode{left}
	for isWord(p.peek(), "and") {
		p.next()
		right, ce := p.unary()
		if ce != nil {
			return nil, ce
		}
		kids = append(kids, right)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &cnode{op: cAnd, kids: kids}, nil
}

func (p *condParser) unary() (*cnode, *compileErr) {
	if isWord(p.peek(), "not") {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > 100 {
			return nil, cerr("", "condition nested too deeply")
		}
		k, ce := p.unary()
		if ce != nil {
			return nil, ce
		}
		return &cnode{op: cNot, kids: []*cnode{k}}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*cnode, *compileErr) {
	t := p.next()
	switch t.kind {
	case '(':
		n, ce := p.expr()
		if ce != nil {
			return nil, ce
		}
		if c := p.next(); c.kind != ')' {
			return nil, cerr("", "missing ')' at offset %d", c.pos)
		}
		return n, nil
	case 'e':
		return nil, cerr("", "condition ends early")
	case ')':
		return nil, cerr("", "unexpected ')' at offset %d", t.pos)
	}
	low := strings.ToLower(t.text)
	switch low {
	case "and", "or", "of", "them":
		return nil, cerr("", "unexpected %q at offset %d", t.text, t.pos)
	case "near":
		return nil, cunsup("", "the near operator is Sigma v1; use a temporal correlation rule")
	}
	if isWord(p.peek(), "of") {
		p.next()
		return p.quantifier(t)
	}
	if strings.ContainsAny(t.text, "*?") {
		return nil, cerr("", "wildcard identifier %q needs \"1 of\" or \"all of\"", t.text)
	}
	sel, ok := p.byNm[t.text]
	if !ok {
		return nil, cerr("", "unknown identifier %q", t.text)
	}
	return &cnode{op: cSel, sel: sel}, nil
}

func (p *condParser) quantifier(q token) (*cnode, *compileErr) {
	target := p.next()
	if target.kind != 'w' {
		return nil, cerr("", "\"of\" wants an identifier pattern or \"them\" at offset %d", target.pos)
	}
	var kids []*cnode
	if isWord(target, "them") {
		for _, s := range p.sels {
			if strings.HasPrefix(s.name, "_") {
				continue
			}
			kids = append(kids, &cnode{op: cSel, sel: s})
		}
	} else {
		for _, s := range p.sels {
			if ok, _ := path.Match(escapeMatch(target.text), s.name); ok {
				kids = append(kids, &cnode{op: cSel, sel: s})
			}
		}
	}
	if len(kids) == 0 {
		return nil, cerr("", "%s of %s: no selection matches", q.text, target.text)
	}
	switch strings.ToLower(q.text) {
	case "all":
		if len(kids) == 1 {
			return kids[0], nil
		}
		return &cnode{op: cAnd, kids: kids}, nil
	case "any", "1":
		if len(kids) == 1 {
			return kids[0], nil
		}
		return &cnode{op: cOr, kids: kids}, nil
	}
	n, err := strconv.Atoi(q.text)
	if err != nil || n < 1 {
		return nil, cerr("", "bad quantifier %q (want 1, any, all or a positive number)", q.text)
	}
	return &cnode{op: cAtLeast, kids: kids, n: n}, nil
}

// escapeMatch turns a Sigma identifier pattern (only * and ? are special)
// into a path.Match pattern.
func escapeMatch(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
