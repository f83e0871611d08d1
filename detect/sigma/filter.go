package sigma

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Filter is a Sigma filter document (meta filter): its condition is ANDed
// to the condition of every rule it applies to, to tune out known-good
// activity without editing the rules.
//
// A filter applies to a rule when every logsource field the filter sets
// equals the rule's, and the rule's id or name is in Rules (an empty list,
// or "any"/"all", means every rule of that logsource).
type Filter struct {
	ID          string
	Title       string
	Description string
	Author      string
	Date        string
	Modified    string
	Logsource   Logsource
	Rules       []string // rule ids or names; empty: every rule of the logsource
	Path        string
	Doc         int

	det *detection
}

func (f *Filter) String() string { return fmt.Sprintf("%s (filter %s)", f.Path, f.ID) }

func (f *Filter) appliesTo(r *Rule) bool {
	ls := f.Logsource
	if ls.Product != "" && ls.Product != r.Logsource.Product ||
		ls.Category != "" && ls.Category != r.Logsource.Category ||
		ls.Service != "" && ls.Service != r.Logsource.Service {
		return false
	}
	if len(f.Rules) == 0 {
		return true
	}
	for _, ref := range f.Rules {
		if ref == r.ID || r.Name != "" && ref == r.Name {
			return true
		}
	}
	return false
}

// parseFilter reads a filter document.
func (l *Loader) parseFilter(c *docCtx, doc *yaml.Node) (*Filter, *RuleError, bool) {
	h, e := c.parseHeader(doc)
	if e != nil {
		return nil, e, false
	}
	lsNode := mapGet(doc, "logsource")
	if lsNode == nil {
		err := c.errf("logsource", "missing")
		return nil, &err, false
	}
	ls, e := c.parseLogsource(lsNode)
	if e != nil {
		return nil, e, false
	}
	fn, err := c.deref(mapGet(doc, "filter"))
	if err != nil {
		e := c.errf("filter", "%v", err)
		return nil, &e, false
	}
	if fn.Kind != yaml.MappingNode {
		e := c.errf("filter", "want a mapping, got a %s", kindName(fn))
		return nil, &e, false
	}
	f := &Filter{ID: h.id, Title: h.title, Description: h.description, Author: h.author, Date: h.date, Modified: h.modified,
		Logsource: ls, Path: c.path, Doc: c.doc}
	rn := mapGet(fn, "rules")
	if rn == nil {
		e := c.errf("filter.rules", "missing (use a list of rule ids or names, or \"any\")")
		return nil, &e, false
	}
	refs, e := c.stringList(rn, "filter.rules")
	if e != nil {
		return nil, e, false
	}
	if len(refs) == 1 && (strings.EqualFold(refs[0], "any") || strings.EqualFold(refs[0], "all")) {
		refs = nil
	}
	f.Rules = refs
	det, ce := l.compileDetection(c, fn, "filter")
	if ce != nil {
		e := c.errf(ce.field, "%s", ce.reason)
		return nil, &e, ce.unsupported
	}
	f.det = det
	return f, nil, false
}
