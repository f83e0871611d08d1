package yara

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/VirusTotal/gyp"
	"github.com/VirusTotal/gyp/ast"
)

// Rules is a compiled rule set. It is immutable and safe for concurrent
// use; each goroutine scans with its own Scanner.
type Rules struct {
	rules  []*rule
	strs   []*strDef
	slots  []slotInfo
	pats   []*pattern
	idx    *atomIndex
	brute  []int32 // patterns without atoms: tried at every position
	chains []int32 // strDefs that are chains of pieces
	nsName []string
	hashes []string
	nvars  int
	ext    map[string]external
	// maxLoops is the most loop-variable slots one condition needs.
	maxLoops int
	// slotRules lists, per match list, the rules whose strings feed it.
	slotRules [][]int32
}

type rule struct {
	ns      int32
	name    string
	tags    []string
	meta    map[string]any
	private bool
	global  bool
	strs    []int32
	cond    func(*ectx) tri
	// needsMatch is set when the condition can only be true if one of
	// the rule's strings matched (libyara's "required strings"): a scan
	// where none did skips the evaluation.
	needsMatch bool
}

// slotInfo describes one match list: a string's, or a chain piece's.
type slotInfo struct {
	str      int32 // owning strDef
	storeAll bool  // keep every match, not just the first MaxReportedMatches
	regex    bool  // matches may repeat an offset
	greedy   bool  // of matches at one offset keep the last found
}

type external struct {
	slot int
	t    vtype
}

// defaultExternals are the external variables signature-base's rules use
// (LOKI and THOR define them per file); all are strings.
var defaultExternals = []string{"filename", "filepath", "extension", "filetype", "owner"}

type namespace struct {
	name   string
	rules  map[string]int32  // loaded rule name -> index in Rules.rules
	failed map[string]string // rule name -> why it did not load
	order  []string          // loaded rule names in order
}

// compiler holds the state of one Compile call.
type compiler struct {
	*Rules
	idx       *indexBuilder
	externals map[string]external
	slotRegex map[int32]bool
	nss       map[string]*namespace
	// slotByKey shares one match list between identical string
	// definitions (signature-base repeats strings across many rules), so
	// each is searched and verified once.
	slotByKey map[string]int32
	keysAdded []string
}

// Compile parses and compiles sources. Every source is its own namespace
// (sources sharing a Name share one). Rules the engine cannot evaluate
// exactly are left out and listed in the Report with the reason; a source
// that does not parse contributes no rules. Compile never panics.
func Compile(sources []Source) (*Rules, Report) {
	c := &compiler{
		Rules:     &Rules{ext: map[string]external{}},
		idx:       newIndexBuilder(),
		externals: map[string]external{},
		slotRegex: map[int32]bool{},
		nss:       map[string]*namespace{},
		slotByKey: map[string]int32{},
	}
	for i, name := range defaultExternals {
		c.externals[name] = external{slot: i, t: vStr}
	}
	c.nvars = len(defaultExternals)
	c.ext = c.externals
	var rep Report
	for _, src := range sources {
		fr := c.compileSource(src)
		for _, r := range fr.Rules {
			if r.Loaded {
				rep.Loaded++
			} else {
				rep.Unsupported++
			}
		}
		rep.Files = append(rep.Files, fr)
	}
	for i := range c.slots {
		c.slots[i].regex = c.slotRegex[int32(i)]
		c.slots[i].storeAll = c.slots[i].storeAll || c.slots[i].regex
	}
	for _, sd := range c.strs {
		if sd.keepAll || sd.dedupe {
			c.slots[sd.slot].storeAll = true
		}
		if sd.greedy && sd.chain == nil {
			c.slots[sd.slot].greedy = true
		}
	}
	c.slotRules = make([][]int32, len(c.slots))
	for ri, r := range c.rules {
		for _, si := range r.strs {
			slot := c.strs[si].slot
			if l := c.slotRules[slot]; len(l) == 0 || l[len(l)-1] != int32(ri) {
				c.slotRules[slot] = append(l, int32(ri))
			}
		}
	}
	c.Rules.idx = c.idx.build()
	return c.Rules, rep
}

func (c *compiler) compileSource(src Source) (fr FileReport) {
	sum := sha256.Sum256(src.Data)
	fr.Name = src.Name
	fr.SHA256 = hex.EncodeToString(sum[:])
	c.hashes = append(c.hashes, fr.SHA256)
	defer func() {
		if p := recover(); p != nil {
			fr.Err = fmt.Sprintf("internal error while compiling: %v", p)
		}
	}()
	if bytes.IndexByte(src.Data, 0) >= 0 {
		fr.Err = "rule file contains a NUL byte"
		return fr
	}
	rs, err := gyp.ParseString(string(src.Data))
	if err != nil {
		fr.Err = "parse: " + err.Error()
		return fr
	}
	if len(rs.Includes) > 0 {
		fr.Err = "include directives are not supported (compile the included files as sources)"
		return fr
	}
	imported := map[string]bool{}
	for _, imp := range rs.Imports {
		imported[imp] = true
	}
	ns := c.nss[src.Name]
	if ns == nil {
		ns = &namespace{name: src.Name, rules: map[string]int32{}, failed: map[string]string{}}
		c.nss[src.Name] = ns
		c.nsName = append(c.nsName, src.Name)
	}
	nsIdx := int32(len(c.nsName) - 1)
	for i, n := range c.nsName {
		if n == src.Name {
			nsIdx = int32(i)
		}
	}
	badImport := ""
	for _, imp := range rs.Imports {
		if _, ok := modules[imp]; !ok {
			badImport = imp
		}
	}
	firstRule := len(c.rules)
	var globalFail string
	for _, r := range rs.Rules {
		st := RuleStatus{Rule: r.Identifier}
		var err error
		switch {
		case badImport != "":
			err = errorf("module %q is not implemented", badImport)
		case ns.has(r.Identifier) || ns.failed[r.Identifier] != "":
			err = errorf("duplicate rule name")
		default:
			err = c.compileRule(r, ns, nsIdx, imported)
		}
		if err != nil {
			st.Reason = reasonOf(err)
			ns.failed[r.Identifier] = st.Reason
			if r.Global && globalFail == "" {
				globalFail = r.Identifier
			}
		} else {
			st.Loaded = true
		}
		fr.Rules = append(fr.Rules, st)
	}
	if globalFail != "" {
		// Without its global rule a namespace cannot be evaluated.
		reason := fmt.Sprintf("global rule %s of this namespace is unsupported", globalFail)
		for i := range fr.Rules {
			if fr.Rules[i].Loaded {
				fr.Rules[i].Loaded = false
				fr.Rules[i].Reason = reason
			}
		}
		for _, r := range c.rules[firstRule:] {
			r.cond = func(*ectx) tri { return tFalse }
			r.private = true
			delete(ns.rules, r.name)
			ns.failed[r.name] = reason
		}
	}
	return fr
}

func (ns *namespace) has(name string) bool {
	_, ok := ns.rules[name]
	return ok
}

func reasonOf(err error) string {
	var se *stringError
	if errors.As(err, &se) {
		return se.reason
	}
	return err.Error()
}

// snapshot lets a failed rule roll back what it added.
type snapshot struct {
	strs, slots, pats, brute, chains, idx, keys int
}

func (c *compiler) snap() snapshot {
	return snapshot{len(c.strs), len(c.slots), len(c.pats), len(c.brute), len(c.chains), len(c.idx.pending), len(c.keysAdded)}
}

func (c *compiler) rollback(s snapshot) {
	for _, k := range c.keysAdded[s.keys:] {
		delete(c.slotByKey, k)
	}
	c.keysAdded = c.keysAdded[:s.keys]
	for i := s.slots; i < len(c.slots); i++ {
		delete(c.slotRegex, int32(i))
	}
	c.strs, c.slots, c.pats = c.strs[:s.strs], c.slots[:s.slots], c.pats[:s.pats]
	c.brute, c.chains = c.brute[:s.brute], c.chains[:s.chains]
	c.idx.pending = c.idx.pending[:s.idx]
}

func (c *compiler) newSlot() int32 {
	c.slots = append(c.slots, slotInfo{str: int32(len(c.strs) - 1), storeAll: true})
	return int32(len(c.slots) - 1)
}

func (c *compiler) addPattern(p *pattern) int32 {
	c.pats = append(c.pats, p)
	return int32(len(c.pats) - 1)
}

func (c *compiler) compileRule(r *ast.Rule, ns *namespace, nsIdx int32, imported map[string]bool) (err error) {
	snap := c.snap()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
		if err != nil {
			c.rollback(snap)
		}
	}()
	ri := int32(len(c.rules))
	ru := &rule{ns: nsIdx, name: r.Identifier, tags: r.Tags, private: r.Private, global: r.Global}
	if len(r.Meta) > 0 {
		ru.meta = map[string]any{}
		for _, m := range r.Meta {
			if _, dup := ru.meta[m.Key]; dup {
				continue
			}
			switch v := m.Value.(type) {
			case string:
				b, err := unescape(v)
				if err != nil {
					return errorf("meta %s: %v", m.Key, err)
				}
				ru.meta[m.Key] = string(b)
			default:
				ru.meta[m.Key] = v
			}
		}
	}
	sc := &cscope{c: c, ns: ns, rule: ru, strs: map[string]int32{}, vars: map[string]loopVar{}, imported: imported}
	nslots := 0
	sc.nslots = &nslots
	for _, s := range r.Strings {
		id := s.GetIdentifier()
		if _, dup := sc.strs[id]; dup && id != "" {
			return errorf("duplicate string $%s", id)
		}
		sd := &strDef{rule: ri, id: "$" + id}
		c.strs = append(c.strs, sd)
		si := int32(len(c.strs) - 1)
		key := stringKey(s)
		if slot, ok := c.slotByKey[key]; ok {
			owner := c.strs[c.slots[slot].str]
			sd.slot, sd.fullword, sd.dedupe, sd.chain, sd.literal = slot, owner.fullword, owner.dedupe, owner.chain, owner.literal
			sd.private = isPrivate(s)
		} else {
			// Strings and chain pieces share one table of match lists.
			slot := c.newSlot()
			c.slots[slot].storeAll = false
			sd.slot = slot
			if err := c.compileString(s, sd, slot); err != nil {
				return err
			}
			if sd.chain != nil {
				c.chains = append(c.chains, si)
			}
			c.slotByKey[key] = slot
			c.keysAdded = append(c.keysAdded, key)
		}
		if id != "" {
			sc.strs[id] = si
		}
		sc.order = append(sc.order, namedStr{name: id, idx: si})
		ru.strs = append(ru.strs, si)
	}
	cond, err := sc.compileBool(r.Condition)
	if err != nil {
		var se *stringError
		if errors.As(err, &se) {
			if dep, ok := ns.failed[undefinedName(se.reason)]; ok {
				return errorf("depends on unsupported rule %s (%s)", undefinedName(se.reason), dep)
			}
		}
		return err
	}
	ru.cond = cond
	ru.needsMatch = requiresMatch(r.Condition)
	if nslots > c.maxLoops {
		c.maxLoops = nslots
	}
	c.rules = append(c.rules, ru)
	ns.rules[r.Identifier] = ri
	ns.order = append(ns.order, r.Identifier)
	return nil
}

// undefinedName extracts X from `undefined identifier "X"`.
func undefinedName(reason string) string {
	const p = `undefined identifier "`
	if !strings.HasPrefix(reason, p) {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(reason, p), `"`)
}

// stringKey identifies a string definition up to its name and the
// private modifier: strings with equal keys match alike.
func stringKey(s ast.String) string {
	switch v := s.(type) {
	case *ast.TextString:
		c := *v
		c.Identifier, c.LineNo, c.Private = "", 0, false
		return fmt.Sprintf("t%#v", c)
	case *ast.HexString:
		var b strings.Builder
		_ = v.Tokens.WriteSource(&b)
		return "h" + b.String()
	case *ast.RegexpString:
		return fmt.Sprintf("r%d/%s/%d %v%v%v%v", len(v.Regexp.Value), v.Regexp.Value, v.Regexp.Modifiers, v.ASCII, v.Wide, v.Nocase, v.Fullword)
	}
	return fmt.Sprintf("?%p", s)
}

func isPrivate(s ast.String) bool {
	switch v := s.(type) {
	case *ast.TextString:
		return v.Private
	case *ast.HexString:
		return v.Private
	case *ast.RegexpString:
		return v.Private
	}
	return false
}

// requiresMatch reports whether a condition can only be true when at
// least one string of the rule matched. It errs towards false.
func requiresMatch(n ast.Node) bool {
	switch v := n.(type) {
	case *ast.Group:
		return requiresMatch(v.Expression)
	case *ast.StringIdentifier:
		return v.Identifier != ""
	case *ast.Operation:
		switch v.Operator {
		case ast.OpAnd:
			for _, o := range v.Operands {
				if requiresMatch(o) {
					return true
				}
			}
			return false
		case ast.OpOr:
			for _, o := range v.Operands {
				if !requiresMatch(o) {
					return false
				}
			}
			return len(v.Operands) > 0
		case ast.OpGreaterThan, ast.OpGreaterOrEqual:
			// #a > 0, #a >= 1
			cnt, ok := v.Operands[0].(*ast.StringCount)
			lit, ok2 := v.Operands[1].(*ast.LiteralInteger)
			if !ok || !ok2 || cnt.Identifier == "" {
				return false
			}
			if v.Operator == ast.OpGreaterThan {
				return lit.Value >= 0
			}
			return lit.Value >= 1
		}
	case *ast.Of:
		if v.Strings == nil {
			return false
		}
		switch q := v.Quantifier.(type) {
		case ast.Keyword:
			return q == ast.KeywordAny || q == ast.KeywordAll
		case *ast.LiteralInteger:
			return q.Value >= 1
		case *ast.Percentage:
			lit, ok := q.Expression.(*ast.LiteralInteger)
			return ok && lit.Value >= 1
		}
	}
	return false
}
