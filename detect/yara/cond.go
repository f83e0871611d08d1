package yara

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/VirusTotal/gyp/ast"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// tri is a YARA boolean: false, true or undefined.
type tri uint8

const (
	tFalse tri = iota
	tTrue
	tUndef
)

func triOf(b bool) tri {
	if b {
		return tTrue
	}
	return tFalse
}

// vtype is the static type of an expression.
type vtype uint8

const (
	vBool vtype = iota + 1
	vInt
	vFloat
	vStr
	vRegex
	vObj // module structure, array or dictionary
	vFunc
)

func (t vtype) String() string {
	return [...]string{"?", "boolean", "integer", "float", "string", "regexp", "object", "function"}[t]
}

// expr is a compiled expression: one closure for its type.
type expr struct {
	t vtype
	b func(*ectx) tri
	i func(*ectx) (int64, bool)
	f func(*ectx) (float64, bool)
	s func(*ectx) (string, bool)
	o func(*ectx) (any, bool) // vObj and vFunc: the value (or, for vFunc, the parent)
	// sch describes vObj and vFunc values.
	sch *schema
	// rx is a regexp literal (vRegex).
	rx *re.Prog
	// constInt is set for integer literals (and folded constants).
	constInt *int64
}

// ectx is the state of one rule evaluation.
type ectx struct {
	sc     *Scanner
	data   []byte
	size   int64
	vars   []any
	rules  []tri
	loops  []any
	anon   []int32 // strDef index of "$" in nested for..of loops
	mods   map[string]map[string]any
	hashes map[hashKey]string
	steps  int // loop iterations, to bound pathological conditions
}

// maxLoopSteps bounds the iterations of all "for" loops of one rule
// evaluation; past it the loop is abandoned as undefined (false). libyara
// has no such bound but also no rules that need more.
const maxLoopSteps = 50_000_000

// loopVar is a variable bound by "for ... in".
type namedStr struct {
	name string // "" for anonymous strings
	idx  int32
}

type loopVar struct {
	slot int
	t    vtype
	sch  *schema
}

// cscope is the compile-time context of one rule's condition.
type cscope struct {
	c         *compiler
	ns        *namespace
	rule      *rule
	strs      map[string]int32 // "a" -> strDef index (named strings)
	order     []namedStr       // all strings in declaration order, for wildcards and "them"
	vars      map[string]loopVar
	nslots    *int
	inForOf   int
	forOfSets [][]int32
	imported  map[string]bool
}

func errorf(format string, a ...any) error { return unsupported(format, a...) }

// boolOf converts an expression to a boolean the way YARA does in a
// boolean context: integers and floats are true when non-zero, strings
// when non-empty; undefined stays undefined.
func boolOf(e *expr) (func(*ectx) tri, error) {
	switch e.t {
	case vBool:
		return e.b, nil
	case vInt:
		f := e.i
		return func(c *ectx) tri {
			v, ok := f(c)
			if !ok {
				return tUndef
			}
			return triOf(v != 0)
		}, nil
	case vFloat:
		f := e.f
		return func(c *ectx) tri {
			v, ok := f(c)
			if !ok {
				return tUndef
			}
			return triOf(v != 0)
		}, nil
	case vStr:
		f := e.s
		return func(c *ectx) tri {
			v, ok := f(c)
			if !ok {
				return tUndef
			}
			return triOf(v != "")
		}, nil
	}
	return nil, errorf("%s used as a boolean", e.t)
}

func floatOf(e *expr) func(*ectx) (float64, bool) {
	if e.t == vFloat {
		return e.f
	}
	f := e.i
	return func(c *ectx) (float64, bool) {
		v, ok := f(c)
		return float64(v), ok
	}
}

func isNum(e *expr) bool { return e.t == vInt || e.t == vFloat }

func constExpr(v int64) *expr {
	cv := v
	return &expr{t: vInt, i: func(*ectx) (int64, bool) { return cv, true }, constInt: &cv}
}

func boolExpr(f func(*ectx) tri) *expr { return &expr{t: vBool, b: f} }

// compileBool compiles a rule condition.
func (s *cscope) compileBool(n ast.Expression) (func(*ectx) tri, error) {
	e, err := s.expr(n)
	if err != nil {
		return nil, err
	}
	return boolOf(e)
}

func (s *cscope) expr(n ast.Node) (*expr, error) {
	switch v := n.(type) {
	case ast.Keyword:
		return s.keyword(v)
	case *ast.Group:
		return s.expr(v.Expression)
	case *ast.LiteralInteger:
		return constExpr(v.Value), nil
	case *ast.LiteralFloat:
		f := v.Value
		return &expr{t: vFloat, f: func(*ectx) (float64, bool) { return f, true }}, nil
	case *ast.LiteralString:
		b, err := unescape(v.Value)
		if err != nil {
			return nil, errorf("string literal: %v", err)
		}
		str := string(b)
		return &expr{t: vStr, s: func(*ectx) (string, bool) { return str, true }}, nil
	case *ast.LiteralRegexp:
		node, err := re.Parse(v.Value)
		if err != nil {
			return nil, errorf("regexp /%s/: %v", v.Value, err)
		}
		prog, err := re.Compile(node, re.Flags{
			NoCase: v.Modifiers&ast.RegexpCaseInsensitive != 0,
			DotAll: v.Modifiers&ast.RegexpDotAll != 0,
		})
		if err != nil {
			return nil, errorf("regexp /%s/: %v", v.Value, err)
		}
		return &expr{t: vRegex, rx: prog}, nil
	case *ast.Not:
		b, err := s.compileBool(v.Expression)
		if err != nil {
			return nil, err
		}
		return boolExpr(func(c *ectx) tri {
			switch b(c) {
			case tTrue:
				return tFalse
			case tFalse:
				return tTrue
			}
			return tUndef
		}), nil
	case *ast.Defined:
		e, err := s.expr(v.Expression)
		if err != nil {
			return nil, err
		}
		def, err := definedOf(e)
		if err != nil {
			return nil, err
		}
		return boolExpr(func(c *ectx) tri { return triOf(def(c)) }), nil
	case *ast.Minus:
		e, err := s.expr(v.Expression)
		if err != nil {
			return nil, err
		}
		switch e.t {
		case vInt:
			if e.constInt != nil {
				return constExpr(-*e.constInt), nil
			}
			f := e.i
			return &expr{t: vInt, i: func(c *ectx) (int64, bool) { x, ok := f(c); return -x, ok }}, nil
		case vFloat:
			f := e.f
			return &expr{t: vFloat, f: func(c *ectx) (float64, bool) { x, ok := f(c); return -x, ok }}, nil
		}
		return nil, errorf("unary minus on %s", e.t)
	case *ast.BitwiseNot:
		e, err := s.expr(v.Expression)
		if err != nil {
			return nil, err
		}
		if e.t != vInt {
			return nil, errorf("~ on %s", e.t)
		}
		f := e.i
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) { x, ok := f(c); return ^x, ok }}, nil
	case *ast.Operation:
		return s.operation(v)
	case *ast.Identifier:
		return s.identifier(v.Identifier)
	case *ast.StringIdentifier:
		return s.stringIdent(v)
	case *ast.StringCount:
		return s.stringCount(v)
	case *ast.StringOffset:
		return s.stringOffLen(v.Identifier, v.Index, true)
	case *ast.StringLength:
		return s.stringOffLen(v.Identifier, v.Index, false)
	case *ast.FunctionCall:
		return s.call(v)
	case *ast.MemberAccess:
		return s.member(v)
	case *ast.Subscripting:
		return s.subscript(v)
	case *ast.Of:
		return s.of(v)
	case *ast.ForOf:
		return s.forOf(v)
	case *ast.ForIn:
		return s.forIn(v)
	}
	return nil, errorf("unsupported expression %T", n)
}

// definedOf returns whether an expression has a value.
func definedOf(e *expr) (func(*ectx) bool, error) {
	switch e.t {
	case vBool:
		f := e.b
		return func(c *ectx) bool { return f(c) != tUndef }, nil
	case vInt:
		f := e.i
		return func(c *ectx) bool { _, ok := f(c); return ok }, nil
	case vFloat:
		f := e.f
		return func(c *ectx) bool { _, ok := f(c); return ok }, nil
	case vStr:
		f := e.s
		return func(c *ectx) bool { _, ok := f(c); return ok }, nil
	case vObj:
		f := e.o
		return func(c *ectx) bool { _, ok := f(c); return ok }, nil
	}
	return nil, errorf("defined on %s", e.t)
}

func (s *cscope) keyword(k ast.Keyword) (*expr, error) {
	switch k {
	case ast.KeywordTrue:
		return boolExpr(func(*ectx) tri { return tTrue }), nil
	case ast.KeywordFalse:
		return boolExpr(func(*ectx) tri { return tFalse }), nil
	case ast.KeywordFilesize:
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) { return c.size, true }}, nil
	case ast.KeywordEntrypoint:
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) { return entryPointOffset(c.data) }}, nil
	}
	return nil, errorf("keyword %q out of place", string(k))
}

func (s *cscope) operation(o *ast.Operation) (*expr, error) {
	ops := make([]*expr, len(o.Operands))
	for i, n := range o.Operands {
		if o.Operator == ast.OpMatches && i == 1 {
			break
		}
		e, err := s.expr(n)
		if err != nil {
			return nil, err
		}
		ops[i] = e
	}
	switch o.Operator {
	case ast.OpAnd, ast.OpOr:
		fs := make([]func(*ectx) tri, len(ops))
		for i, e := range ops {
			b, err := boolOf(e)
			if err != nil {
				return nil, err
			}
			fs[i] = b
		}
		if o.Operator == ast.OpAnd {
			// An undefined operand counts as false; the result is defined.
			return boolExpr(func(c *ectx) tri {
				for _, f := range fs {
					if f(c) != tTrue {
						return tFalse
					}
				}
				return tTrue
			}), nil
		}
		return boolExpr(func(c *ectx) tri {
			for _, f := range fs {
				if f(c) == tTrue {
					return tTrue
				}
			}
			return tFalse
		}), nil
	case ast.OpMatches:
		if ops[0].t != vStr {
			return nil, errorf("matches on %s", ops[0].t)
		}
		rx, err := s.expr(o.Operands[1])
		if err != nil {
			return nil, err
		}
		if rx.t != vRegex {
			return nil, errorf("matches needs a regexp")
		}
		sf, prog := ops[0].s, rx.rx
		return boolExpr(func(c *ectx) tri {
			v, ok := sf(c)
			if !ok {
				return tUndef
			}
			return triOf(c.sc.machine.Search(prog, []byte(v)))
		}), nil
	case ast.OpContains, ast.OpIContains, ast.OpStartsWith, ast.OpIStartsWith,
		ast.OpEndsWith, ast.OpIEndsWith, ast.OpIEquals:
		if len(ops) != 2 || ops[0].t != vStr || ops[1].t != vStr {
			return nil, errorf("%s needs strings", o.Operator)
		}
		a, b := ops[0].s, ops[1].s
		var test func(x, y string) bool
		switch o.Operator {
		case ast.OpContains:
			test = strings.Contains
		case ast.OpIContains:
			test = func(x, y string) bool { return strings.Contains(asciiLower(x), asciiLower(y)) }
		case ast.OpStartsWith:
			test = strings.HasPrefix
		case ast.OpIStartsWith:
			test = func(x, y string) bool { return strings.HasPrefix(asciiLower(x), asciiLower(y)) }
		case ast.OpEndsWith:
			test = strings.HasSuffix
		case ast.OpIEndsWith:
			test = func(x, y string) bool { return strings.HasSuffix(asciiLower(x), asciiLower(y)) }
		case ast.OpIEquals:
			test = func(x, y string) bool { return asciiLower(x) == asciiLower(y) }
		}
		return boolExpr(func(c *ectx) tri {
			x, ok1 := a(c)
			y, ok2 := b(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			return triOf(test(x, y))
		}), nil
	case ast.OpEqual, ast.OpNotEqual, ast.OpLessThan, ast.OpLessOrEqual, ast.OpGreaterThan, ast.OpGreaterOrEqual:
		if len(ops) != 2 {
			return nil, errorf("comparison with %d operands", len(ops))
		}
		return compare(o.Operator, ops[0], ops[1])
	case ast.OpAdd, ast.OpSub, ast.OpMul, ast.OpDiv, ast.OpMod:
		acc := ops[0]
		for _, e := range ops[1:] {
			var err error
			acc, err = arith(o.Operator, acc, e)
			if err != nil {
				return nil, err
			}
		}
		return acc, nil
	case ast.OpBitAnd, ast.OpBitOr, ast.OpBitXor, ast.OpShiftLeft, ast.OpShiftRight:
		acc := ops[0]
		for _, e := range ops[1:] {
			if acc.t != vInt || e.t != vInt {
				return nil, errorf("%s on %s and %s", o.Operator, acc.t, e.t)
			}
			a, b, op := acc.i, e.i, o.Operator
			acc = &expr{t: vInt, i: func(c *ectx) (int64, bool) {
				x, ok1 := a(c)
				y, ok2 := b(c)
				if !ok1 || !ok2 {
					return 0, false
				}
				switch op {
				case ast.OpBitAnd:
					return x & y, true
				case ast.OpBitOr:
					return x | y, true
				case ast.OpBitXor:
					return x ^ y, true
				case ast.OpShiftLeft:
					if y < 0 {
						return 0, false
					}
					if y >= 64 {
						return 0, true
					}
					return x << uint(y), true
				default:
					if y < 0 {
						return 0, false
					}
					if y >= 64 {
						return 0, true
					}
					return x >> uint(y), true
				}
			}}
		}
		return acc, nil
	}
	return nil, errorf("operator %q", o.Operator)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func compare(op ast.OperatorType, a, b *expr) (*expr, error) {
	cmpInt := func(x, y int64) bool {
		switch op {
		case ast.OpEqual:
			return x == y
		case ast.OpNotEqual:
			return x != y
		case ast.OpLessThan:
			return x < y
		case ast.OpLessOrEqual:
			return x <= y
		case ast.OpGreaterThan:
			return x > y
		}
		return x >= y
	}
	switch {
	case a.t == vInt && b.t == vInt:
		fa, fb := a.i, b.i
		return boolExpr(func(c *ectx) tri {
			x, ok1 := fa(c)
			y, ok2 := fb(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			return triOf(cmpInt(x, y))
		}), nil
	case isNum(a) && isNum(b):
		fa, fb := floatOf(a), floatOf(b)
		return boolExpr(func(c *ectx) tri {
			x, ok1 := fa(c)
			y, ok2 := fb(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			switch op {
			case ast.OpEqual:
				return triOf(x == y)
			case ast.OpNotEqual:
				return triOf(x != y)
			case ast.OpLessThan:
				return triOf(x < y)
			case ast.OpLessOrEqual:
				return triOf(x <= y)
			case ast.OpGreaterThan:
				return triOf(x > y)
			}
			return triOf(x >= y)
		}), nil
	case a.t == vStr && b.t == vStr:
		fa, fb := a.s, b.s
		return boolExpr(func(c *ectx) tri {
			x, ok1 := fa(c)
			y, ok2 := fb(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			return triOf(cmpInt(int64(strings.Compare(x, y)), 0))
		}), nil
	}
	return nil, errorf("cannot compare %s with %s", a.t, b.t)
}

func arith(op ast.OperatorType, a, b *expr) (*expr, error) {
	if !isNum(a) || !isNum(b) {
		return nil, errorf("%s on %s and %s", op, a.t, b.t)
	}
	if a.t == vInt && b.t == vInt {
		fa, fb := a.i, b.i
		if a.constInt != nil && b.constInt != nil && op != ast.OpDiv && op != ast.OpMod {
			x, y := *a.constInt, *b.constInt
			switch op {
			case ast.OpAdd:
				return constExpr(x + y), nil
			case ast.OpSub:
				return constExpr(x - y), nil
			case ast.OpMul:
				return constExpr(x * y), nil
			}
		}
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
			x, ok1 := fa(c)
			y, ok2 := fb(c)
			if !ok1 || !ok2 {
				return 0, false
			}
			switch op {
			case ast.OpAdd:
				return x + y, true
			case ast.OpSub:
				return x - y, true
			case ast.OpMul:
				return x * y, true
			case ast.OpDiv:
				if y == 0 || x == math.MinInt64 && y == -1 {
					return 0, false
				}
				return x / y, true
			}
			if y == 0 || x == math.MinInt64 && y == -1 {
				return 0, false
			}
			return x % y, true
		}}, nil
	}
	if op == ast.OpMod {
		return nil, errorf("%% on floats")
	}
	fa, fb := floatOf(a), floatOf(b)
	return &expr{t: vFloat, f: func(c *ectx) (float64, bool) {
		x, ok1 := fa(c)
		y, ok2 := fb(c)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch op {
		case ast.OpAdd:
			return x + y, true
		case ast.OpSub:
			return x - y, true
		case ast.OpMul:
			return x * y, true
		}
		return x / y, true
	}}, nil
}

// identifier resolves a bare name: loop variable, rule, external
// variable or module.
func (s *cscope) identifier(name string) (*expr, error) {
	if lv, ok := s.vars[name]; ok {
		return slotExpr(lv.t, lv.sch, lv.slot, func(c *ectx) []any { return c.loops }), nil
	}
	if ri, ok := s.ns.rules[name]; ok {
		idx := ri
		return boolExpr(func(c *ectx) tri { return c.rules[idx] }), nil
	}
	if ext, ok := s.c.externals[name]; ok {
		return slotExpr(ext.t, nil, ext.slot, func(c *ectx) []any { return c.vars }), nil
	}
	if m, ok := modules[name]; ok {
		if !s.imported[name] {
			return nil, errorf("module %q used without import", name)
		}
		mod := m
		return &expr{t: vObj, sch: mod.root, o: func(c *ectx) (any, bool) {
			return c.module(mod), true
		}}, nil
	}
	return nil, errorf("undefined identifier %q", name)
}

// slotExpr reads a typed value from a slot of a per-scan table (loop
// variables, external variables); a value of another type is undefined.
func slotExpr(t vtype, sch *schema, slot int, table func(*ectx) []any) *expr {
	switch t {
	case vInt:
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
			v, ok := table(c)[slot].(int64)
			return v, ok
		}}
	case vFloat:
		return &expr{t: vFloat, f: func(c *ectx) (float64, bool) {
			v, ok := table(c)[slot].(float64)
			return v, ok
		}}
	case vStr:
		return &expr{t: vStr, s: func(c *ectx) (string, bool) {
			v, ok := table(c)[slot].(string)
			return v, ok
		}}
	case vBool:
		return boolExpr(func(c *ectx) tri {
			v, ok := table(c)[slot].(bool)
			if !ok {
				return tUndef
			}
			return triOf(v)
		})
	}
	return &expr{t: vObj, sch: sch, o: func(c *ectx) (any, bool) {
		v := table(c)[slot]
		return v, v != nil
	}}
}

// module returns the root value of a module for this scan, building it once.
func (c *ectx) module(m *module) map[string]any {
	if v, ok := c.mods[m.name]; ok {
		return v
	}
	var v map[string]any
	if m.load != nil {
		v = m.load(c)
	}
	if c.mods == nil {
		c.mods = map[string]map[string]any{}
	}
	c.mods[m.name] = v
	return v
}

// valueExpr wraps a module value of schema sch, produced by get, as an
// expression of the matching type.
func valueExpr(sch *schema, get func(*ectx) (any, bool)) (*expr, error) {
	if sch.constant != nil {
		switch v := sch.constant.(type) {
		case int64:
			return constExpr(v), nil
		case float64:
			return &expr{t: vFloat, f: func(*ectx) (float64, bool) { return v, true }}, nil
		case string:
			return &expr{t: vStr, s: func(*ectx) (string, bool) { return v, true }}, nil
		}
	}
	switch sch.kind {
	case kInt:
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
			v, ok := get(c)
			if !ok {
				return 0, false
			}
			x, ok := v.(int64)
			return x, ok
		}}, nil
	case kFloat:
		return &expr{t: vFloat, f: func(c *ectx) (float64, bool) {
			v, ok := get(c)
			if !ok {
				return 0, false
			}
			x, ok := v.(float64)
			if ok && math.IsNaN(x) {
				return 0, false
			}
			return x, ok
		}}, nil
	case kStr:
		return &expr{t: vStr, s: func(c *ectx) (string, bool) {
			v, ok := get(c)
			if !ok {
				return "", false
			}
			x, ok := v.(string)
			return x, ok
		}}, nil
	case kFunc:
		return &expr{t: vFunc, sch: sch, o: get}, nil
	}
	return &expr{t: vObj, sch: sch, o: get}, nil
}

func (s *cscope) member(m *ast.MemberAccess) (*expr, error) {
	cont, err := s.expr(m.Container)
	if err != nil {
		return nil, err
	}
	if cont.t != vObj || cont.sch.kind != kStruct {
		return nil, errorf("member %q of a %s", m.Member, cont.t)
	}
	f, ok := cont.sch.fields[m.Member]
	if !ok {
		return nil, errorf("unknown field %q", m.Member)
	}
	if f.unimplemented != "" {
		return nil, errorf("%s is not implemented", f.unimplemented)
	}
	parent, name := cont.o, m.Member
	if f.kind == kFunc {
		// A function keeps its parent as the value; call() applies it.
		return &expr{t: vFunc, sch: f, o: parent}, nil
	}
	return valueExpr(f, func(c *ectx) (any, bool) {
		p, ok := parent(c)
		if !ok {
			return nil, false
		}
		mp, ok := p.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := mp[name]
		return v, ok && v != nil
	})
}

func (s *cscope) subscript(sub *ast.Subscripting) (*expr, error) {
	arr, err := s.expr(sub.Array)
	if err != nil {
		return nil, err
	}
	if arr.t != vObj || (arr.sch.kind != kArray && arr.sch.kind != kDict) {
		return nil, errorf("subscript of a %s", arr.t)
	}
	idx, err := s.expr(sub.Index)
	if err != nil {
		return nil, err
	}
	get := arr.o
	if arr.sch.kind == kArray {
		if idx.t != vInt {
			return nil, errorf("array index of type %s", idx.t)
		}
		fi := idx.i
		return valueExpr(arr.sch.elem, func(c *ectx) (any, bool) {
			a, ok := get(c)
			if !ok {
				return nil, false
			}
			i, ok := fi(c)
			if !ok {
				return nil, false
			}
			l, _ := a.([]any)
			if i < 0 || i >= int64(len(l)) {
				return nil, false
			}
			return l[i], l[i] != nil
		})
	}
	if idx.t != vStr {
		return nil, errorf("dictionary key of type %s", idx.t)
	}
	fs := idx.s
	return valueExpr(arr.sch.elem, func(c *ectx) (any, bool) {
		d, ok := get(c)
		if !ok {
			return nil, false
		}
		k, ok := fs(c)
		if !ok {
			return nil, false
		}
		m, _ := d.(map[string]any)
		v, ok := m[k]
		return v, ok && v != nil
	})
}

// builtin integer readers: uint8(x), int16be(x), ...
func readInt(name string) (func(data []byte, off int64) (int64, bool), bool) {
	type spec struct {
		size   int
		signed bool
		be     bool
	}
	specs := map[string]spec{
		"uint8": {1, false, false}, "uint16": {2, false, false}, "uint32": {4, false, false},
		"int8": {1, true, false}, "int16": {2, true, false}, "int32": {4, true, false},
		"uint8be": {1, false, true}, "uint16be": {2, false, true}, "uint32be": {4, false, true},
		"int8be": {1, true, true}, "int16be": {2, true, true}, "int32be": {4, true, true},
	}
	sp, ok := specs[name]
	if !ok {
		return nil, false
	}
	return func(data []byte, off int64) (int64, bool) {
		if off < 0 || off > int64(len(data))-int64(sp.size) {
			return 0, false
		}
		b := data[off : off+int64(sp.size)]
		var u uint64
		switch sp.size {
		case 1:
			u = uint64(b[0])
			if sp.signed {
				return int64(int8(b[0])), true
			}
		case 2:
			if sp.be {
				u = uint64(binary.BigEndian.Uint16(b))
			} else {
				u = uint64(binary.LittleEndian.Uint16(b))
			}
			if sp.signed {
				return int64(int16(u)), true
			}
		case 4:
			if sp.be {
				u = uint64(binary.BigEndian.Uint32(b))
			} else {
				u = uint64(binary.LittleEndian.Uint32(b))
			}
			if sp.signed {
				return int64(int32(u)), true
			}
		}
		return int64(u), true
	}, true
}

func (s *cscope) call(f *ast.FunctionCall) (*expr, error) {
	if id, ok := f.Callable.(*ast.Identifier); ok && f.Builtin {
		read, ok := readInt(id.Identifier)
		if !ok || len(f.Arguments) != 1 {
			return nil, errorf("unknown function %s", id.Identifier)
		}
		arg, err := s.expr(f.Arguments[0])
		if err != nil {
			return nil, err
		}
		if arg.t != vInt {
			return nil, errorf("%s of a %s", id.Identifier, arg.t)
		}
		fa := arg.i
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
			off, ok := fa(c)
			if !ok {
				return 0, false
			}
			return read(c.data, off)
		}}, nil
	}
	callee, err := s.expr(f.Callable)
	if err != nil {
		return nil, err
	}
	if callee.t != vFunc {
		return nil, errorf("call of a %s", callee.t)
	}
	args := make([]*expr, len(f.Arguments))
	var sig strings.Builder
	for i, a := range f.Arguments {
		e, err := s.expr(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
		switch e.t {
		case vInt:
			sig.WriteByte('i')
		case vFloat:
			sig.WriteByte('f')
		case vStr:
			sig.WriteByte('s')
		case vRegex:
			sig.WriteByte('r')
		case vBool:
			sig.WriteByte('b')
		default:
			return nil, errorf("argument of type %s", e.t)
		}
	}
	var fn *fnDef
	for _, d := range callee.sch.funcs {
		if d.args == sig.String() {
			fn = d
		}
	}
	if fn == nil {
		// Let integers stand for floats, as a convenience.
		for _, d := range callee.sch.funcs {
			if len(d.args) == len(args) && promotable(sig.String(), d.args) {
				fn = d
			}
		}
	}
	if fn == nil {
		return nil, errorf("no overload for (%s)", sig.String())
	}
	if fn.fn == nil {
		return nil, errorf("function not implemented")
	}
	getters := make([]func(*ectx) (any, bool), len(args))
	for i, a := range args {
		getters[i] = argGetter(a, fn.args[i])
	}
	parent, call := callee.o, fn.fn
	get := func(c *ectx) (any, bool) {
		p, ok := parent(c)
		if !ok {
			return nil, false
		}
		vals := make([]any, len(getters))
		for i, g := range getters {
			v, ok := g(c)
			if !ok {
				return nil, false
			}
			vals[i] = v
		}
		return call(c, p, vals)
	}
	return valueExpr(&schema{kind: fn.ret}, get)
}

func promotable(have, want string) bool {
	for i := range have {
		if have[i] != want[i] && !(have[i] == 'i' && want[i] == 'f') && !(want[i] == 'b' && have[i] != 'r') {
			return false
		}
	}
	return true
}

// argGetter evaluates an argument as the Go value a module function takes:
// int64, float64, string, *re.Prog, or int64 0/1 for booleans.
func argGetter(e *expr, want byte) func(*ectx) (any, bool) {
	switch want {
	case 'f':
		f := floatOf(e)
		return func(c *ectx) (any, bool) { return f(c) }
	case 'b':
		b, _ := boolOf(e)
		return func(c *ectx) (any, bool) {
			switch b(c) {
			case tTrue:
				return int64(1), true
			case tFalse:
				return int64(0), true
			}
			return nil, false
		}
	}
	switch e.t {
	case vInt:
		f := e.i
		return func(c *ectx) (any, bool) { return f(c) }
	case vStr:
		f := e.s
		return func(c *ectx) (any, bool) { return f(c) }
	case vRegex:
		p := e.rx
		return func(*ectx) (any, bool) { return p, true }
	}
	return func(*ectx) (any, bool) { return nil, false }
}

// --- strings in conditions ---

func (s *cscope) strIndex(id string) (int32, error) {
	if id == "" {
		if s.inForOf == 0 {
			return -1, errorf("$ outside of a for..of loop")
		}
		return -1, nil
	}
	i, ok := s.strs[id]
	if !ok {
		return 0, errorf("undefined string $%s", id)
	}
	return i, nil
}

// current returns the strDef of a (possibly anonymous) string reference.
func current(c *ectx, idx int32) int32 {
	if idx >= 0 {
		return idx
	}
	return c.anon[len(c.anon)-1]
}

// referenced notes a use of a string other than "$s at <constant>".
func (s *cscope) referenced(idx int32) {
	if idx >= 0 {
		sd := s.c.strs[idx]
		sd.atOnly, sd.atMixed = false, true
		return
	}
	for _, i := range s.forOfSets[len(s.forOfSets)-1] {
		s.referenced(i)
	}
}

// referencedAt notes "$s at N".
func (s *cscope) referencedAt(idx int32, at *expr) {
	if idx < 0 || at.constInt == nil {
		s.referenced(idx)
		return
	}
	sd := s.c.strs[idx]
	switch {
	case sd.atMixed:
	case !sd.atOnly:
		sd.atOnly, sd.atFixed = true, *at.constInt
	case sd.atFixed != *at.constInt:
		sd.atOnly, sd.atMixed = false, true
	}
}

func (s *cscope) markKeepAll(idx int32) {
	if idx >= 0 {
		s.c.strs[idx].keepAll = true
		return
	}
	// "$" inside for..of: every string of the loop's set.
	for _, i := range s.forOfSets[len(s.forOfSets)-1] {
		s.c.strs[i].keepAll = true
	}
}

func (s *cscope) rangeExprs(r *ast.Range) (*expr, *expr, error) {
	lo, err := s.expr(r.Start)
	if err != nil {
		return nil, nil, err
	}
	hi, err := s.expr(r.End)
	if err != nil {
		return nil, nil, err
	}
	if lo.t != vInt || hi.t != vInt {
		return nil, nil, errorf("range bounds must be integers")
	}
	return lo, hi, nil
}

func (s *cscope) stringIdent(v *ast.StringIdentifier) (*expr, error) {
	idx, err := s.strIndex(v.Identifier)
	if err != nil {
		return nil, err
	}
	switch {
	case v.At != nil:
		at, err := s.expr(v.At)
		if err != nil {
			return nil, err
		}
		if at.t != vInt {
			return nil, errorf("at needs an integer")
		}
		s.markKeepAll(idx)
		s.referencedAt(idx, at)
		fa := at.i
		return boolExpr(func(c *ectx) tri {
			off, ok := fa(c)
			if !ok {
				return tFalse
			}
			return triOf(c.sc.foundAt(current(c, idx), off))
		}), nil
	case v.In != nil:
		lo, hi, err := s.rangeExprs(v.In)
		if err != nil {
			return nil, err
		}
		s.markKeepAll(idx)
		s.referenced(idx)
		flo, fhi := lo.i, hi.i
		return boolExpr(func(c *ectx) tri {
			a, ok1 := flo(c)
			b, ok2 := fhi(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			return triOf(c.sc.countIn(current(c, idx), a, b, true) > 0)
		}), nil
	}
	s.referenced(idx)
	return boolExpr(func(c *ectx) tri { return triOf(c.sc.count(current(c, idx)) > 0) }), nil
}

func (s *cscope) stringCount(v *ast.StringCount) (*expr, error) {
	idx, err := s.strIndex(v.Identifier)
	if err != nil {
		return nil, err
	}
	s.referenced(idx)
	if v.In != nil {
		lo, hi, err := s.rangeExprs(v.In)
		if err != nil {
			return nil, err
		}
		s.markKeepAll(idx)
		flo, fhi := lo.i, hi.i
		return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
			a, ok1 := flo(c)
			b, ok2 := fhi(c)
			if !ok1 || !ok2 {
				return 0, false
			}
			return int64(c.sc.countIn(current(c, idx), a, b, false)), true
		}}, nil
	}
	return &expr{t: vInt, i: func(c *ectx) (int64, bool) { return int64(c.sc.count(current(c, idx))), true }}, nil
}

func (s *cscope) stringOffLen(id string, index ast.Expression, offset bool) (*expr, error) {
	idx, err := s.strIndex(id)
	if err != nil {
		return nil, err
	}
	s.markKeepAll(idx)
	s.referenced(idx)
	var fi func(*ectx) (int64, bool)
	if index != nil {
		e, err := s.expr(index)
		if err != nil {
			return nil, err
		}
		if e.t != vInt {
			return nil, errorf("string index must be an integer")
		}
		fi = e.i
	} else {
		fi = func(*ectx) (int64, bool) { return 1, true }
	}
	return &expr{t: vInt, i: func(c *ectx) (int64, bool) {
		i, ok := fi(c)
		if !ok {
			return 0, false
		}
		return c.sc.nth(current(c, idx), i, offset)
	}}, nil
}

// --- quantifiers ---

type quant struct {
	kind int // qAll, qAny, qNone, qNum, qPct
	n    func(*ectx) (int64, bool)
}

const (
	qAll = iota
	qAny
	qNone
	qNum
	qPct
)

func (s *cscope) quantifier(n ast.Expression) (quant, error) {
	switch v := n.(type) {
	case ast.Keyword:
		switch v {
		case ast.KeywordAll:
			return quant{kind: qAll}, nil
		case ast.KeywordAny:
			return quant{kind: qAny}, nil
		case ast.KeywordNone:
			return quant{kind: qNone}, nil
		}
	case *ast.Percentage:
		e, err := s.expr(v.Expression)
		if err != nil {
			return quant{}, err
		}
		if e.t != vInt {
			return quant{}, errorf("percentage must be an integer")
		}
		if e.constInt != nil && (*e.constInt < 1 || *e.constInt > 100) {
			return quant{}, errorf("percentage must be between 1 and 100")
		}
		return quant{kind: qPct, n: e.i}, nil
	}
	e, err := s.expr(n)
	if err != nil {
		return quant{}, err
	}
	if e.t != vInt {
		return quant{}, errorf("quantifier must be an integer")
	}
	return quant{kind: qNum, n: e.i}, nil
}

// satisfied applies a quantifier to found out of total. As libyara, an
// undefined number behaves as "all" and an undefined percentage is
// undefined.
func (q quant) satisfied(c *ectx, found, total int64) tri {
	switch q.kind {
	case qAll:
		return triOf(found >= total)
	case qAny:
		return triOf(found >= 1)
	case qNone:
		return triOf(found == 0)
	case qNum:
		n, ok := q.n(c)
		if !ok {
			return triOf(found >= total)
		}
		return triOf(found >= n)
	}
	p, ok := q.n(c)
	if !ok {
		return tUndef
	}
	return triOf(float64(found) >= float64(total)*float64(p)/100.0)
}

// stringSet expands a string set ("them", "($a, $b*)") to strDef indexes.
func (s *cscope) stringSet(n ast.Node) ([]int32, error) {
	var out []int32
	seen := map[int32]bool{}
	add := func(i int32) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	switch v := n.(type) {
	case ast.Keyword:
		if v != ast.KeywordThem {
			return nil, errorf("string set %q", string(v))
		}
		for _, ns := range s.order {
			add(ns.idx)
		}
	case *ast.Enum:
		for _, item := range v.Values {
			si, ok := item.(*ast.StringIdentifier)
			if !ok {
				return nil, errorf("string set item %T", item)
			}
			if prefix, wild := strings.CutSuffix(si.Identifier, "*"); wild {
				n := 0
				for _, ns := range s.order {
					if (prefix == "" || ns.name != "") && strings.HasPrefix(ns.name, prefix) {
						add(ns.idx)
						n++
					}
				}
				if n == 0 {
					return nil, errorf("no string matches $%s", si.Identifier)
				}
				continue
			}
			if _, ok := s.strs[si.Identifier]; !ok {
				return nil, errorf("undefined string $%s", si.Identifier)
			}
			add(s.strs[si.Identifier])
		}
	default:
		return nil, errorf("string set %T", n)
	}
	if len(out) == 0 {
		return nil, errorf("empty string set")
	}
	for _, i := range out {
		s.referenced(i)
	}
	return out, nil
}

func (s *cscope) ruleSet(n ast.Node) ([]int32, error) {
	e, ok := n.(*ast.Enum)
	if !ok {
		return nil, errorf("rule set %T", n)
	}
	var out []int32
	for _, item := range e.Values {
		id, ok := item.(*ast.Identifier)
		if !ok {
			return nil, errorf("rule set item %T", item)
		}
		if prefix, wild := strings.CutSuffix(id.Identifier, "*"); wild {
			for _, name := range s.ns.order {
				if strings.HasPrefix(name, prefix) {
					out = append(out, s.ns.rules[name])
				}
			}
			continue
		}
		ri, ok := s.ns.rules[id.Identifier]
		if !ok {
			return nil, errorf("undefined rule %s", id.Identifier)
		}
		out = append(out, ri)
	}
	if len(out) == 0 {
		return nil, errorf("empty rule set")
	}
	return out, nil
}

func (s *cscope) of(v *ast.Of) (*expr, error) {
	q, err := s.quantifier(v.Quantifier)
	if err != nil {
		return nil, err
	}
	if v.TextStrings != nil {
		return nil, errorf("quantifier over text strings (YARA 4.3) is not supported")
	}
	if v.Rules != nil {
		rules, err := s.ruleSet(v.Rules)
		if err != nil {
			return nil, err
		}
		total := int64(len(rules))
		return boolExpr(func(c *ectx) tri {
			var found int64
			for _, r := range rules {
				if c.rules[r] == tTrue {
					found++
				}
			}
			return q.satisfied(c, found, total)
		}), nil
	}
	set, err := s.stringSet(v.Strings)
	if err != nil {
		return nil, err
	}
	total := int64(len(set))
	switch {
	case v.In != nil:
		lo, hi, err := s.rangeExprs(v.In)
		if err != nil {
			return nil, err
		}
		for _, i := range set {
			s.c.strs[i].keepAll = true
		}
		flo, fhi := lo.i, hi.i
		return boolExpr(func(c *ectx) tri {
			a, ok1 := flo(c)
			b, ok2 := fhi(c)
			if !ok1 || !ok2 {
				return tUndef
			}
			var found int64
			for _, i := range set {
				if c.sc.countIn(i, a, b, true) > 0 {
					found++
				}
			}
			return q.satisfied(c, found, total)
		}), nil
	case v.At != nil:
		at, err := s.expr(v.At)
		if err != nil {
			return nil, err
		}
		if at.t != vInt {
			return nil, errorf("at needs an integer")
		}
		for _, i := range set {
			s.c.strs[i].keepAll = true
		}
		fa := at.i
		return boolExpr(func(c *ectx) tri {
			off, ok := fa(c)
			var found int64
			if ok {
				for _, i := range set {
					if c.sc.foundAt(i, off) {
						found++
					}
				}
			}
			return q.satisfied(c, found, total)
		}), nil
	}
	return boolExpr(func(c *ectx) tri {
		var found int64
		for _, i := range set {
			if c.sc.count(i) > 0 {
				found++
			}
		}
		return q.satisfied(c, found, total)
	}), nil
}

func (s *cscope) forOf(v *ast.ForOf) (*expr, error) {
	q, err := s.quantifier(v.Quantifier)
	if err != nil {
		return nil, err
	}
	set, err := s.stringSet(v.Strings)
	if err != nil {
		return nil, err
	}
	s.inForOf++
	s.forOfSets = append(s.forOfSets, set)
	body, err := s.compileBool(v.Condition)
	s.inForOf--
	s.forOfSets = s.forOfSets[:len(s.forOfSets)-1]
	if err != nil {
		return nil, err
	}
	total := int64(len(set))
	return boolExpr(func(c *ectx) tri {
		var found int64
		for _, i := range set {
			c.anon = append(c.anon, i)
			r := body(c)
			c.anon = c.anon[:len(c.anon)-1]
			if r == tTrue {
				found++
			}
		}
		return q.satisfied(c, found, total)
	}), nil
}

// iterator yields the items of a for..in loop; each item is one value per
// loop variable.
type iterator func(c *ectx, yield func(vals ...any) bool) bool

func (s *cscope) forIn(v *ast.ForIn) (*expr, error) {
	q, err := s.quantifier(v.Quantifier)
	if err != nil {
		return nil, err
	}
	it, types, schemas, err := s.iterator(v.Iterator, len(v.Variables))
	if err != nil {
		return nil, err
	}
	saved := map[string]loopVar{}
	slots := make([]int, len(v.Variables))
	for i, name := range v.Variables {
		if old, ok := s.vars[name]; ok {
			saved[name] = old
		}
		slots[i] = *s.nslots
		*s.nslots++
		s.vars[name] = loopVar{slot: slots[i], t: types[i], sch: schemas[i]}
	}
	body, err := s.compileBool(v.Condition)
	for _, name := range v.Variables {
		delete(s.vars, name)
		if old, ok := saved[name]; ok {
			s.vars[name] = old
		}
	}
	if err != nil {
		return nil, err
	}
	return boolExpr(func(c *ectx) tri {
		var found, total int64
		aborted := false
		ok := it(c, func(vals ...any) bool {
			c.steps++
			if c.steps > maxLoopSteps {
				aborted = true
				return false
			}
			for i, slot := range slots {
				c.loops[slot] = vals[i]
			}
			total++
			if body(c) == tTrue {
				found++
			}
			// Short-circuit where the outcome is settled.
			switch q.kind {
			case qAny:
				return found == 0
			case qNone:
				return found == 0
			case qAll:
				return found == total
			}
			return true
		})
		if aborted {
			return tUndef
		}
		if !ok || total == 0 {
			// An undefined or empty iterator makes the loop false.
			return tFalse
		}
		// A short-circuited "all" stopped at a failing item, so found <
		// total; "any" and "none" stopped at the first success.
		return q.satisfied(c, found, total)
	}), nil
}

// iterator compiles the "in" part of a for..in loop.
func (s *cscope) iterator(n ast.Node, nvars int) (iterator, []vtype, []*schema, error) {
	switch v := n.(type) {
	case *ast.Range:
		if nvars != 1 {
			return nil, nil, nil, errorf("a range binds one variable")
		}
		lo, hi, err := s.rangeExprs(v)
		if err != nil {
			return nil, nil, nil, err
		}
		flo, fhi := lo.i, hi.i
		return func(c *ectx, yield func(...any) bool) bool {
			a, ok1 := flo(c)
			b, ok2 := fhi(c)
			if !ok1 || !ok2 || a > b {
				return false
			}
			for i := a; ; i++ {
				if !yield(i) || i == b {
					break
				}
			}
			return true
		}, []vtype{vInt}, []*schema{nil}, nil
	case *ast.Enum:
		if nvars != 1 {
			return nil, nil, nil, errorf("an enumeration binds one variable")
		}
		var fs []func(*ectx) (int64, bool)
		for _, item := range v.Values {
			e, err := s.expr(item)
			if err != nil {
				return nil, nil, nil, err
			}
			if e.t != vInt {
				return nil, nil, nil, errorf("enumeration of %s", e.t)
			}
			fs = append(fs, e.i)
		}
		return func(c *ectx, yield func(...any) bool) bool {
			for _, f := range fs {
				x, ok := f(c)
				var val any
				if ok {
					val = x
				}
				if !yield(val) {
					break
				}
			}
			return true
		}, []vtype{vInt}, []*schema{nil}, nil
	}
	e, err := s.expr(n)
	if err != nil {
		return nil, nil, nil, err
	}
	if e.t != vObj {
		return nil, nil, nil, errorf("cannot iterate over %s", e.t)
	}
	elemType := func(sch *schema) vtype {
		switch sch.kind {
		case kInt:
			return vInt
		case kFloat:
			return vFloat
		case kStr:
			return vStr
		}
		return vObj
	}
	get := e.o
	switch e.sch.kind {
	case kArray:
		if nvars != 1 {
			return nil, nil, nil, errorf("an array binds one variable")
		}
		return func(c *ectx, yield func(...any) bool) bool {
			a, ok := get(c)
			if !ok {
				return false
			}
			l, _ := a.([]any)
			for _, x := range l {
				if !yield(x) {
					break
				}
			}
			return true
		}, []vtype{elemType(e.sch.elem)}, []*schema{e.sch.elem}, nil
	case kDict:
		if nvars != 2 {
			return nil, nil, nil, errorf("a dictionary binds two variables")
		}
		return func(c *ectx, yield func(...any) bool) bool {
			d, ok := get(c)
			if !ok {
				return false
			}
			m, _ := d.(map[string]any)
			for _, k := range sortedKeys(m) {
				if !yield(k, m[k]) {
					break
				}
			}
			return true
		}, []vtype{vStr, elemType(e.sch.elem)}, []*schema{nil, e.sch.elem}, nil
	}
	return nil, nil, nil, errorf("cannot iterate over a %v", e.sch.kind)
}
