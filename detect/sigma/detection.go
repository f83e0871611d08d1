package sigma

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// detection is a compiled detection section (or the selection part of a
// filter): named selections and the condition over them.
type detection struct {
	sels  []*selection
	root  *cnode
	conds []string // condition text, as written
}

// selection is a named search identifier: an OR of alternatives (a list
// of maps), each an AND of field conditions.
type selection struct {
	name string
	alts [][]*fieldCond
}

// fieldCond is one `field|modifiers: values` item, or a keyword list
// (field == "").
type fieldCond struct {
	field  string // as written
	lfield string // lower-cased
	groups [][]pattern
	all    bool // AND over groups instead of OR
	neg    bool // neq modifier: the item is negated
	exists int8 // exists modifier: 1 must exist, -1 must not exist
	lower  bool // some pattern compares ASCII-lowered values
	// nonASCII[i]: every pattern of group i needs a non-ASCII character,
	// so pure-ASCII values cannot match it.
	nonASCII []bool
}

// compileErr is a problem found while compiling, with the attribute path.
type compileErr struct {
	field       string
	reason      string
	unsupported bool
}

func cerr(field, format string, args ...any) *compileErr {
	return &compileErr{field: field, reason: fmt.Sprintf(format, args...)}
}

func cunsup(field, format string, args ...any) *compileErr {
	return &compileErr{field: field, reason: fmt.Sprintf(format, args...), unsupported: true}
}

// compileDetection compiles a detection (or filter) mapping at path base.
func (l *Loader) compileDetection(c *docCtx, n *yaml.Node, base string) (*detection, *compileErr) {
	n, err := c.deref(n)
	if err != nil {
		return nil, cerr(base, "%v", err)
	}
	if n.Kind != yaml.MappingNode {
		return nil, cerr(base, "want a mapping, got a %s", kindName(n))
	}
	d := &detection{}
	var condNode *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, err := c.deref(n.Content[i])
		if err != nil {
			return nil, cerr(base, "%v", err)
		}
		key := kn.Value
		if kn.Kind != yaml.ScalarNode || key == "" {
			return nil, cerr(base, "selection names must be non-empty strings")
		}
		if seen[key] {
			return nil, cerr(base+"."+key, "defined twice")
		}
		seen[key] = true
		switch key {
		case "condition":
			condNode = n.Content[i+1]
			continue
		case "timeframe":
			// Sigma v1 aggregation window: only meaningful with an
			// aggregation in the condition, which is refused there.
			continue
		case "rules":
			if base == "filter" {
				continue
			}
		}
		sel, ce := l.compileSelection(c, key, n.Content[i+1], base+"."+key)
		if ce != nil {
			return nil, ce
		}
		d.sels = append(d.sels, sel)
	}
	if condNode == nil {
		return nil, cerr(base+".condition", "missing")
	}
	cn, err := c.deref(condNode)
	if err != nil {
		return nil, cerr(base+".condition", "%v", err)
	}
	switch cn.Kind {
	case yaml.ScalarNode:
		d.conds = []string{cn.Value}
	case yaml.SequenceNode:
		for i, it := range cn.Content {
			s, e := c.scalar(it, fmt.Sprintf("%s.condition[%d]", base, i))
			if e != nil {
				return nil, cerr(e.Field, "%s", e.Reason)
			}
			d.conds = append(d.conds, s)
		}
	default:
		return nil, cerr(base+".condition", "want a string or a list of strings, got a %s", kindName(cn))
	}
	if len(d.conds) == 0 {
		return nil, cerr(base+".condition", "empty")
	}
	var roots []*cnode
	for i, s := range d.conds {
		field := base + ".condition"
		if len(d.conds) > 1 {
			field = fmt.Sprintf("%s[%d]", field, i)
		}
		root, ce := parseCondition(s, d.sels)
		if ce != nil {
			ce.field = field
			return nil, ce
		}
		roots = append(roots, root)
	}
	if len(roots) == 1 {
		d.root = roots[0]
	} else {
		d.root = &cnode{op: cOr, kids: roots}
	}
	return d, nil
}

// compileSelection compiles one search identifier.
func (l *Loader) compileSelection(c *docCtx, name string, n *yaml.Node, field string) (*selection, *compileErr) {
	n, err := c.deref(n)
	if err != nil {
		return nil, cerr(field, "%v", err)
	}
	sel := &selection{name: name}
	switch n.Kind {
	case yaml.MappingNode:
		alt, ce := l.compileMap(c, n, field)
		if ce != nil {
			return nil, ce
		}
		sel.alts = append(sel.alts, alt)
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, cerr(field, "empty list")
		}
		var keywords []*yaml.Node
		for i, it := range n.Content {
			it, err := c.deref(it)
			if err != nil {
				return nil, cerr(field, "%v", err)
			}
			switch it.Kind {
			case yaml.MappingNode:
				alt, ce := l.compileMap(c, it, fmt.Sprintf("%s[%d]", field, i))
				if ce != nil {
					return nil, ce
				}
				sel.alts = append(sel.alts, alt)
			case yaml.ScalarNode:
				keywords = append(keywords, it)
			default:
				return nil, cerr(fmt.Sprintf("%s[%d]", field, i), "want a mapping or a keyword, got a %s", kindName(it))
			}
		}
		if len(keywords) > 0 {
			fc, ce := l.compileField(c, "", keywords, field)
			if ce != nil {
				return nil, ce
			}
			sel.alts = append(sel.alts, []*fieldCond{fc})
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, cerr(field, "empty selection")
		}
		fc, ce := l.compileField(c, "", []*yaml.Node{n}, field)
		if ce != nil {
			return nil, ce
		}
		sel.alts = append(sel.alts, []*fieldCond{fc})
	default:
		return nil, cerr(field, "want a mapping or a list, got a %s", kindName(n))
	}
	return sel, nil
}

// compileMap compiles one mapping of field conditions (ANDed).
func (l *Loader) compileMap(c *docCtx, n *yaml.Node, field string) ([]*fieldCond, *compileErr) {
	if len(n.Content) == 0 {
		return nil, cerr(field, "empty mapping")
	}
	var out []*fieldCond
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, err := c.deref(n.Content[i])
		if err != nil {
			return nil, cerr(field, "%v", err)
		}
		if kn.Kind != yaml.ScalarNode {
			return nil, cerr(field, "field names must be strings")
		}
		key := kn.Value
		if seen[key] {
			return nil, cerr(field+"."+key, "defined twice in one mapping")
		}
		seen[key] = true
		vn, err := c.deref(n.Content[i+1])
		if err != nil {
			return nil, cerr(field+"."+key, "%v", err)
		}
		var vals []*yaml.Node
		switch vn.Kind {
		case yaml.ScalarNode:
			vals = []*yaml.Node{vn}
		case yaml.SequenceNode:
			if len(vn.Content) == 0 {
				return nil, cerr(field+"."+key, "empty value list")
			}
			for j, it := range vn.Content {
				it, err := c.deref(it)
				if err != nil {
					return nil, cerr(field+"."+key, "%v", err)
				}
				if it.Kind != yaml.ScalarNode {
					return nil, cerr(fmt.Sprintf("%s.%s[%d]", field, key, j), "want a value, got a %s", kindName(it))
				}
				vals = append(vals, it)
			}
		default:
			return nil, cerr(field+"."+key, "want a value or a list of values, got a %s", kindName(vn))
		}
		fc, ce := l.compileField(c, key, vals, field+"."+key)
		if ce != nil {
			return nil, ce
		}
		out = append(out, fc)
	}
	return out, nil
}

// mods is a parsed modifier chain.
type mods struct {
	match      string // "", contains, startswith, endswith
	all        bool
	re         bool
	reFlags    string
	cidr       bool
	cmp        bool
	op         cmpOp
	exists     bool
	fieldref   bool
	cased      bool
	neq        bool
	transforms []string // wide, utf16le, utf16be, utf16, base64, base64offset, windash, expand (in order)
}

var timeModifiers = map[string]bool{"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true}

func parseMods(list []string, field string) (mods, *compileErr) {
	var m mods
	for i, name := range list {
		switch name {
		case "contains", "startswith", "endswith":
			if m.match != "" && m.match != name {
				return m, cerr(field, "modifiers %q and %q exclude each other", m.match, name)
			}
			m.match = name
		case "all":
			m.all = true
		case "re":
			if i != 0 {
				return m, cerr(field, "modifier \"re\" must come first")
			}
			m.re = true
		case "i", "ignorecase":
			m.reFlags += "i"
		case "m", "multiline":
			m.reFlags += "m"
		case "s", "dotall":
			m.reFlags += "s"
		case "cidr":
			m.cidr = true
		case "lt", "lte", "gt", "gte":
			if m.cmp {
				return m, cerr(field, "more than one comparison modifier")
			}
			m.cmp = true
			m.op = map[string]cmpOp{"lt": opLT, "lte": opLTE, "gt": opGT, "gte": opGTE}[name]
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "wide", "utf16le", "utf16be", "utf16", "base64", "base64offset", "windash", "expand":
			m.transforms = append(m.transforms, name)
		default:
			if timeModifiers[name] {
				return m, cunsup(field, "timestamp modifier %q is not supported", name)
			}
			if name == "" {
				return m, cerr(field, "empty modifier")
			}
			return m, cerr(field, "unknown modifier %q", name)
		}
	}
	has := func(t string) bool {
		for _, x := range m.transforms {
			if x == t {
				return true
			}
		}
		return false
	}
	switch {
	case m.reFlags != "" && !m.re:
		return m, cerr(field, "regular expression flags (i, m, s) need the \"re\" modifier")
	case m.re && (m.cidr || m.cmp || m.exists || m.fieldref || m.cased || len(m.transforms) > 0 && !(len(m.transforms) == 1 && has("expand"))):
		return m, cerr(field, "modifier \"re\" cannot be combined with encoding, cidr, comparison, exists, fieldref or cased")
	case m.cidr && (m.match != "" || m.cmp || m.exists || m.fieldref || m.cased || len(m.transforms) > 0):
		return m, cerr(field, "modifier \"cidr\" cannot be combined with other value modifiers")
	case m.cmp && (m.match != "" || m.exists || m.fieldref || m.cased || len(m.transforms) > 0):
		return m, cerr(field, "comparison modifiers cannot be combined with other value modifiers")
	case m.exists && (m.match != "" || m.fieldref || m.cased || len(m.transforms) > 0 || m.all):
		return m, cerr(field, "modifier \"exists\" cannot be combined with other modifiers")
	case m.fieldref && (m.cased || len(m.transforms) > 0):
		return m, cerr(field, "modifier \"fieldref\" cannot be combined with encoding modifiers or cased")
	case has("base64") && has("base64offset"):
		return m, cerr(field, "modifiers \"base64\" and \"base64offset\" exclude each other")
	}
	return m, nil
}

// compileField compiles `key: values`; key "" (or "|mods") is a keyword
// search over every value of the event.
func (l *Loader) compileField(c *docCtx, key string, vals []*yaml.Node, field string) (*fieldCond, *compileErr) {
	parts := strings.Split(key, "|")
	name := parts[0]
	m, ce := parseMods(parts[1:], field)
	if ce != nil {
		return nil, ce
	}
	fc := &fieldCond{field: name, lfield: strings.ToLower(name), all: m.all, neg: m.neq}
	if name == "" && (m.exists || m.fieldref) {
		return nil, cerr(field, "keyword searches cannot use exists or fieldref")
	}
	if m.exists {
		if len(vals) != 1 || vals[0].Tag != "!!bool" {
			return nil, cerr(field, "modifier \"exists\" wants true or false")
		}
		b, _ := strconv.ParseBool(strings.ToLower(vals[0].Value))
		if b {
			fc.exists = 1
		} else {
			fc.exists = -1
		}
		return fc, nil
	}
	for i, v := range vals {
		vf := field
		if len(vals) > 1 {
			vf = fmt.Sprintf("%s[%d]", field, i)
		}
		pats, ce := l.compileValue(v, m, name == "", vf)
		if ce != nil {
			return nil, ce
		}
		need := len(pats) > 0
		for _, p := range pats {
			if p.fast {
				fc.lower = true
			}
			if !p.nonASCII {
				need = false
			}
		}
		fc.groups = append(fc.groups, pats)
		fc.nonASCII = append(fc.nonASCII, need)
	}
	return fc, nil
}

// compileValue compiles one YAML value into its variants (ORed).
func (l *Loader) compileValue(v *yaml.Node, m mods, keyword bool, field string) ([]pattern, *compileErr) {
	isNull := v.Tag == "!!null"
	text := v.Value
	switch v.Tag {
	case "!!int":
		if n, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64); err == nil {
			text = strconv.FormatInt(n, 10)
		}
	case "!!bool":
		text = strings.ToLower(text)
	}
	if isNull {
		if m.match != "" || m.re || m.cidr || m.cmp || m.fieldref || len(m.transforms) > 0 {
			return nil, cerr(field, "null cannot take value modifiers")
		}
		if keyword {
			return nil, cerr(field, "null is not a keyword")
		}
		return []pattern{{kind: pNull}}, nil
	}
	switch {
	case m.re:
		expr := text
		if len(m.transforms) > 0 { // expand on a regular expression
			return nil, cunsup(field, "expand on a regular expression is not supported")
		}
		switch m.match {
		case "startswith":
			expr = "^(?:" + expr + ")"
		case "endswith":
			expr = "(?:" + expr + ")$"
		}
		if m.reFlags != "" {
			expr = "(?" + dedupFlags(m.reFlags) + ")" + expr
		}
		re, err := regexp.Compile(foldSafeRegex(expr))
		if err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				switch se.Code {
				case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp, syntax.ErrInvalidNamedCapture, syntax.ErrNestingDepth, syntax.ErrLarge, syntax.ErrInvalidRepeatSize:
					return nil, cunsup(field, "regular expression not supported by Go RE2: %v", err)
				}
			}
			return nil, cerr(field, "bad regular expression: %v", err)
		}
		return []pattern{{kind: pRegex, re: re, reSrc: expr}}, nil
	case m.cidr:
		s := strings.TrimSpace(text)
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, cerr(field, "bad CIDR %q", text)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-unmapBits(pfx)).Masked()
		return []pattern{{kind: pCIDR, cidr: pfx}}, nil
	case m.cmp:
		x, ok := parseNumber(text)
		if !ok {
			return nil, cerr(field, "comparison modifiers want a number, got %q", text)
		}
		return []pattern{{kind: pCmp, op: m.op, num: x}}, nil
	case m.fieldref:
		if v.Tag != "!!str" || strings.ContainsAny(text, "*?") || text == "" {
			return nil, cerr(field, "fieldref wants a field name")
		}
		mode := pExact
		switch m.match {
		case "contains":
			mode = pContains
		case "startswith":
			mode = pPrefix
		case "endswith":
			mode = pSuffix
		}
		return []pattern{{kind: pFieldRef, ref: text, mode: mode, cased: m.cased}}, nil
	}
	var s sstr
	if v.Tag == "!!str" {
		s = parseSigmaString(text)
	} else {
		s = literalSigma(text)
	}
	variants := []sstr{s}
	for _, t := range m.transforms {
		var next []sstr
		for _, x := range variants {
			var out []sstr
			var err error
			switch t {
			case "expand":
				out, err = expandPlaceholders(x.insertPlaceholders(), l.placeholder)
			case "wide", "utf16le":
				var y sstr
				y, err = encodeUTF16(x, false, false)
				out = []sstr{y}
			case "utf16be":
				var y sstr
				y, err = encodeUTF16(x, true, false)
				out = []sstr{y}
			case "utf16":
				var y sstr
				y, err = encodeUTF16(x, false, true)
				out = []sstr{y}
			case "base64":
				var y sstr
				y, err = base64Encode(x)
				out = []sstr{y}
			case "base64offset":
				out, err = base64Offsets(x)
			case "windash":
				out, err = windash(x)
			}
			if err != nil {
				var ue *unsupportedError
				if errors.As(err, &ue) {
					return nil, cunsup(field, "%v", err)
				}
				return nil, cerr(field, "%s: %v", t, err)
			}
			next = append(next, out...)
			if len(next) > maxVariants {
				return nil, cerr(field, "value expands to more than %d variants", maxVariants)
			}
		}
		variants = next
	}
	if len(variants) == 0 {
		// An empty placeholder list: the value matches nothing.
		return []pattern{{kind: pNever}}, nil
	}
	lead, trail := false, false
	switch m.match {
	case "contains":
		lead, trail = true, true
	case "startswith":
		trail = true
	case "endswith":
		lead = true
	case "":
		if keyword {
			lead, trail = true, true
		}
	}
	// Base64 text is case-significant: its encodings compare as written.
	cased := m.cased
	for _, t := range m.transforms {
		if t == "base64" || t == "base64offset" {
			cased = true
		}
	}
	out := make([]pattern, 0, len(variants))
	for _, x := range variants {
		out = append(out, compileString(x.withWildcards(lead, trail), cased)...)
	}
	return out, nil
}

func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}

func dedupFlags(f string) string {
	var b strings.Builder
	for _, c := range "ims" {
		if strings.ContainsRune(f, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}
