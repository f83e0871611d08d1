package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/exhunt/exhunt/finding"
)

// Limits on hostile rule files. Sigma rules are a few kilobytes; SigmaHQ's
// largest is under 100 KB.
const (
	MaxFileSize  = 4 << 20 // bytes per rule file
	MaxDocuments = 1000    // YAML documents per file
	maxNodes     = 200_000 // YAML nodes visited per document, aliases expanded
	maxDepth     = 64      // nesting depth of a document
)

// Loader loads rule files. The zero value is ready to use.
type Loader struct {
	// Placeholders maps a placeholder name (without %) to the values it
	// expands to for the `expand` modifier. It extends and overrides the
	// defaults: known_cdcs (the legitimate domain controllers a rule's
	// filter excludes) is empty, so that filter excludes nothing and every
	// candidate is reported for the analyst to judge. A placeholder with no
	// value makes its rule unsupported.
	Placeholders map[string][]string
}

var defaultPlaceholders = map[string][]string{
	"known_cdcs": {},
}

func (l *Loader) placeholder(name string) ([]string, bool) {
	if v, ok := l.Placeholders[name]; ok {
		return v, true
	}
	v, ok := defaultPlaceholders[name]
	return v, ok
}

// Load walks fsys under root and loads every *.yml and *.yaml file (but
// not rule samples, *.samples.yml), then resolves the references of
// correlations and filters across files.
func Load(fsys fs.FS, root string) LoadReport {
	var l Loader
	return l.Load(fsys, root)
}

// ParseFile loads the documents of one rule file; correlations and filters
// may name rules of the same file only (Load resolves across files). path
// names the file in errors and advisories.
func ParseFile(path string, data []byte) LoadReport {
	var l Loader
	return l.ParseFile(path, data)
}

// Load walks fsys under root and loads every *.yml and *.yaml file in
// lexical order, then resolves the references of correlations and filters.
func (l *Loader) Load(fsys fs.FS, root string) LoadReport {
	var lr LoadReport
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lr.Invalid = append(lr.Invalid, RuleError{Path: p, Reason: err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		lower := strings.ToLower(p)
		ext := path.Ext(lower)
		if ext != ".yml" && ext != ".yaml" || strings.HasSuffix(strings.TrimSuffix(lower, ext), ".samples") {
			return nil
		}
		info, err := d.Info()
		if err == nil && info.Size() > MaxFileSize {
			lr.Invalid = append(lr.Invalid, RuleError{Path: p, Reason: fmt.Sprintf("file is %d bytes, over the %d-byte limit", info.Size(), MaxFileSize)})
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		lr.Invalid = append(lr.Invalid, RuleError{Path: root, Reason: err.Error()})
	}
	// Decoding and compiling is CPU-bound and independent per file (about
	// 0.3 ms a rule): spread it over the cores, then merge in walk order so
	// that the result does not depend on scheduling.
	out := make([]LoadReport, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(files))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				data, err := readBounded(fsys, files[i])
				if err != nil {
					out[i] = LoadReport{Invalid: []RuleError{{Path: files[i], Reason: err.Error()}}}
					continue
				}
				out[i] = l.parseFile(files[i], data) // recovers its own panics
			}
		}()
	}
	wg.Wait()
	for _, r := range out {
		lr.merge(r)
	}
	lr.link()
	return lr
}

func readBounded(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("file is over the %d-byte limit", MaxFileSize)
	}
	return data, nil
}

// ParseFile loads the documents of one rule file; correlations and filters
// may name rules of the same file only.
func (l *Loader) ParseFile(p string, data []byte) LoadReport {
	lr := l.parseFile(p, data)
	lr.link()
	return lr
}

// parseFile loads the documents of one file without resolving references.
func (l *Loader) parseFile(p string, data []byte) (lr LoadReport) {
	defer func() {
		// yaml.v3 and our walker are hardened, but a rule file is input:
		// a panic becomes an invalid file, never a crash.
		if v := recover(); v != nil {
			lr = LoadReport{Invalid: []RuleError{{Path: p, Reason: fmt.Sprintf("internal error while loading: %v", v)}}}
		}
	}()
	if len(data) > MaxFileSize {
		return LoadReport{Invalid: []RuleError{{Path: p, Reason: fmt.Sprintf("file is %d bytes, over the %d-byte limit", len(data), MaxFileSize)}}}
	}
	docs, err := decodeDocs(data)
	multi := len(docs) > 1 || (err != nil && len(docs) > 0)
	docNum := func(i int) int {
		if multi {
			return i + 1
		}
		return 0
	}
	var global *yaml.Node
	var prev *yaml.Node
	for i, doc := range docs {
		ctx := &docCtx{path: p, doc: docNum(i)}
		if doc == nil {
			continue
		}
		if doc.Kind != yaml.MappingNode {
			lr.Invalid = append(lr.Invalid, ctx.errf("", "document is a %s, not a mapping", kindName(doc)))
			continue
		}
		if a := mapGet(doc, "action"); a != nil && a.Kind == yaml.ScalarNode {
			switch a.Value {
			case "global":
				global = doc
				continue
			case "reset":
				global = nil
				continue
			case "repeat":
				if prev == nil {
					lr.Invalid = append(lr.Invalid, ctx.errf("action", "repeat without a previous document"))
					continue
				}
				doc = mergeNodes(prev, doc)
			default:
				lr.Invalid = append(lr.Invalid, ctx.errf("action", "unknown action %q (want global, reset or repeat)", a.Value))
				continue
			}
		}
		if global != nil {
			doc = mergeNodes(global, doc)
		}
		prev = doc
		l.parseDoc(ctx, doc, &lr)
	}
	if err != nil {
		lr.Invalid = append(lr.Invalid, RuleError{Path: p, Doc: docNum(len(docs)), Reason: err.Error()})
	}
	return lr
}

// decodeDocs splits data into YAML documents. A syntax error stops the
// file: yaml.v3 cannot resynchronise after one; documents before it are
// returned.
func decodeDocs(data []byte) (docs []*yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		if len(docs) >= MaxDocuments {
			return docs, fmt.Errorf("more than %d YAML documents", MaxDocuments)
		}
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return docs, fmt.Errorf("YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				docs = append(docs, nil)
				continue
			}
			c := n.Content[0]
			if c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
				docs = append(docs, nil)
				continue
			}
			docs = append(docs, c)
			continue
		}
		docs = append(docs, &n)
	}
}

// docCtx names one document for errors and bounds the work spent on it.
type docCtx struct {
	path  string
	doc   int
	id    string
	title string
	nodes int
}

func (c *docCtx) errf(field, format string, args ...any) RuleError {
	return RuleError{Path: c.path, Doc: c.doc, ID: c.id, Title: c.title, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// errBudget is returned when a document has too many nodes (alias bombs).
var errBudget = errors.New("document too large: too many YAML nodes (alias expansion?)")

// deref follows aliases, charging the node budget.
func (c *docCtx) deref(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			return nil, errBudget
		}
		n = n.Alias
	}
	c.nodes++
	if c.nodes > maxNodes {
		return nil, errBudget
	}
	if n == nil {
		return nil, errors.New("empty alias")
	}
	return n, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// mapGet returns the value of key in a mapping node (no alias following).
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mergeNodes deep-merges over onto base (Sigma v1 action: global/repeat).
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: over.Line, Column: over.Column}
	seen := map[string]int{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		k := base.Content[i].Value
		if k == "action" {
			continue
		}
		seen[k] = len(out.Content)
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k := over.Content[i].Value
		if k == "action" {
			continue
		}
		if j, ok := seen[k]; ok {
			out.Content[j+1] = mergeNodes(out.Content[j+1], over.Content[i+1])
			continue
		}
		seen[k] = len(out.Content)
		out.Content = append(out.Content, over.Content[i], over.Content[i+1])
	}
	return out
}

// scalar reads a scalar attribute as text.
func (c *docCtx) scalar(n *yaml.Node, field string) (string, *RuleError) {
	n, err := c.deref(n)
	if err != nil {
		e := c.errf(field, "%v", err)
		return "", &e
	}
	if n.Kind != yaml.ScalarNode {
		e := c.errf(field, "want a string, got a %s", kindName(n))
		return "", &e
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

// stringList reads a list of scalars; a single scalar is a one-item list.
func (c *docCtx) stringList(n *yaml.Node, field string) ([]string, *RuleError) {
	n, err := c.deref(n)
	if err != nil {
		e := c.errf(field, "%v", err)
		return nil, &e
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for i, it := range n.Content {
			s, e := c.scalar(it, fmt.Sprintf("%s[%d]", field, i))
			if e != nil {
				return nil, e
			}
			out = append(out, s)
		}
		return out, nil
	}
	e := c.errf(field, "want a list of strings, got a %s", kindName(n))
	return nil, &e
}

var validStatus = map[string]bool{"stable": true, "test": true, "experimental": true, "deprecated": true, "unsupported": true}

// parseDoc classifies one document and loads it into lr.
func (l *Loader) parseDoc(c *docCtx, doc *yaml.Node, lr *LoadReport) {
	// Read id and title first so that every error can name the rule.
	if v := mapGet(doc, "id"); v != nil {
		c.id, _ = c.scalar(v, "id")
	}
	if v := mapGet(doc, "title"); v != nil {
		c.title, _ = c.scalar(v, "title")
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Kind != yaml.ScalarNode {
			lr.Invalid = append(lr.Invalid, c.errf("", "top-level key is a %s", kindName(doc.Content[i])))
			return
		}
	}
	switch {
	case mapGet(doc, "correlation") != nil:
		corr, e, unsup := l.parseCorrelation(c, doc)
		l.file(lr, e, unsup)
		if corr != nil {
			lr.Correlations = append(lr.Correlations, corr)
		}
	case mapGet(doc, "filter") != nil && mapGet(doc, "detection") == nil:
		f, e, unsup := l.parseFilter(c, doc)
		l.file(lr, e, unsup)
		if f != nil {
			lr.Filters = append(lr.Filters, f)
		}
	default:
		r, e, unsup := l.parseRule(c, doc)
		l.file(lr, e, unsup)
		if r != nil {
			lr.Loaded = append(lr.Loaded, r)
		}
	}
}

func (l *Loader) file(lr *LoadReport, e *RuleError, unsupported bool) {
	if e == nil {
		return
	}
	if unsupported {
		lr.Unsupported = append(lr.Unsupported, *e)
	} else {
		lr.Invalid = append(lr.Invalid, *e)
	}
}

// header holds the attributes rules, correlations and filters share.
type header struct {
	id, name, title, status, level, description, author, date, modified string
	tags, references, falsePositives, fields                            []string
	meta                                                                *Meta
}

// parseHeader reads the common attributes.
func (c *docCtx) parseHeader(doc *yaml.Node) (h header, e *RuleError) {
	str := func(key string, dst *string) {
		if e != nil {
			return
		}
		if v := mapGet(doc, key); v != nil {
			*dst, e = c.scalar(v, key)
		}
	}
	list := func(key string, dst *[]string) {
		if e != nil {
			return
		}
		if v := mapGet(doc, key); v != nil {
			*dst, e = c.stringList(v, key)
		}
	}
	str("id", &h.id)
	str("name", &h.name)
	str("title", &h.title)
	str("status", &h.status)
	str("level", &h.level)
	str("description", &h.description)
	str("author", &h.author)
	str("date", &h.date)
	str("modified", &h.modified)
	list("tags", &h.tags)
	list("references", &h.references)
	list("falsepositives", &h.falsePositives)
	list("fields", &h.fields)
	if e != nil {
		return h, e
	}
	h.status = strings.ToLower(h.status)
	h.level = strings.ToLower(h.level)
	if strings.TrimSpace(h.title) == "" {
		err := c.errf("title", "missing")
		return h, &err
	}
	if h.status != "" && !validStatus[h.status] {
		err := c.errf("status", "unknown status %q (want stable, test, experimental, deprecated or unsupported)", h.status)
		return h, &err
	}
	if _, ok := severityOf(h.level); !ok {
		err := c.errf("level", "unknown level %q (want informational, low, medium, high or critical)", h.level)
		return h, &err
	}
	if v := mapGet(doc, "exhunt"); v != nil {
		h.meta, e = c.parseMeta(v)
		if e != nil {
			return h, e
		}
	}
	return h, nil
}

// parseMeta reads our `exhunt:` attribute.
func (c *docCtx) parseMeta(n *yaml.Node) (*Meta, *RuleError) {
	n, err := c.deref(n)
	if err != nil {
		e := c.errf("exhunt", "%v", err)
		return nil, &e
	}
	if n.Kind != yaml.MappingNode {
		e := c.errf("exhunt", "want a mapping, got a %s", kindName(n))
		return nil, &e
	}
	m := &Meta{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		field := "exhunt." + k
		var e *RuleError
		var s string
		switch k {
		case "id":
			m.ID, e = c.scalar(n.Content[i+1], field)
		case "campaign":
			m.Campaign, e = c.scalar(n.Content[i+1], field)
		case "stage":
			if s, e = c.scalar(n.Content[i+1], field); e == nil {
				var st finding.Stage
				if err := st.UnmarshalText([]byte(strings.ToLower(s))); err != nil || st == finding.StageNone {
					names := []string{}
					for _, x := range finding.Stages() {
						names = append(names, x.String())
					}
					err := c.errf(field, "unknown stage %q (want one of %s)", s, strings.Join(names, ", "))
					return nil, &err
				}
				m.Stage = st
			}
		case "severity":
			if s, e = c.scalar(n.Content[i+1], field); e == nil {
				sev, err := finding.ParseSeverity(s)
				if err != nil {
					err := c.errf(field, "%v", err)
					return nil, &err
				}
				m.Severity = &sev
			}
		case "cves":
			m.CVEs, e = c.stringList(n.Content[i+1], field)
			for j, v := range m.CVEs {
				m.CVEs[j] = strings.ToUpper(v)
			}
		case "techniques":
			m.Techniques, e = c.stringList(n.Content[i+1], field)
			for j, v := range m.Techniques {
				m.Techniques[j] = strings.ToUpper(v)
				if !isTechnique(m.Techniques[j]) {
					err := c.errf(field, "%q is not an ATT&CK technique id (T1234 or T1234.001)", v)
					return nil, &err
				}
			}
		default:
			err := c.errf(field, "unknown attribute (want id, stage, severity, campaign, cves or techniques)")
			return nil, &err
		}
		if e != nil {
			return nil, e
		}
	}
	return m, nil
}

// parseLogsource reads the logsource section.
func (c *docCtx) parseLogsource(n *yaml.Node) (Logsource, *RuleError) {
	var ls Logsource
	n, err := c.deref(n)
	if err != nil {
		e := c.errf("logsource", "%v", err)
		return ls, &e
	}
	if n.Kind != yaml.MappingNode {
		e := c.errf("logsource", "want a mapping, got a %s", kindName(n))
		return ls, &e
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		v, e := c.scalar(n.Content[i+1], "logsource."+k)
		if e != nil {
			return ls, e
		}
		switch k {
		case "product":
			ls.Product = strings.ToLower(strings.TrimSpace(v))
		case "category":
			ls.Category = strings.ToLower(strings.TrimSpace(v))
		case "service":
			ls.Service = strings.ToLower(strings.TrimSpace(v))
		case "definition":
			ls.Definition = v
		}
	}
	return ls, nil
}

// parseRule reads and compiles a detection rule.
func (l *Loader) parseRule(c *docCtx, doc *yaml.Node) (*Rule, *RuleError, bool) {
	h, e := c.parseHeader(doc)
	if e != nil {
		return nil, e, false
	}
	if strings.TrimSpace(h.id) == "" && (h.meta == nil || h.meta.ID == "") {
		err := c.errf("id", "missing")
		return nil, &err, false
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
	detNode := mapGet(doc, "detection")
	if detNode == nil {
		err := c.errf("detection", "missing")
		return nil, &err, false
	}
	det, ce := l.compileDetection(c, detNode, "detection")
	if ce != nil {
		err := c.errf(ce.field, "%s", ce.reason)
		return nil, &err, ce.unsupported
	}
	r := &Rule{
		ID: h.id, Name: h.name, Title: h.title, Status: h.status, Level: h.level,
		Description: h.description, Author: h.author, Date: h.date, Modified: h.modified,
		Tags: h.tags, References: h.references, FalsePositives: h.falsePositives, Fields: h.fields,
		Logsource: ls, Path: c.path, Doc: c.doc, Exhunt: h.meta, det: det,
	}
	r.routes, r.noRoute = routesFor(ls)
	id := r.ID
	if id == "" {
		id = h.meta.ID
	}
	r.advisory = buildAdvisory(id, r.Title, r.Description, r.Level, r.Path, r.Tags, r.References, r.Exhunt)
	if r.ID == "" {
		r.advisory.Rule = ""
	}
	return r, nil, false
}

// link resolves the rule references of correlations and filters across
// the whole load; unresolvable ones become invalid. Duplicate rule ids
// are invalid too (the later file loses).
func (lr *LoadReport) link() {
	byID := map[string]*Rule{}
	kept := lr.Loaded[:0]
	for _, r := range lr.Loaded {
		if r.ID != "" {
			if first, dup := byID[r.ID]; dup {
				lr.Invalid = append(lr.Invalid, RuleError{Path: r.Path, Doc: r.Doc, ID: r.ID, Title: r.Title, Field: "id", Reason: "duplicate id, first loaded from " + first.Path})
				continue
			}
			byID[r.ID] = r
		}
		kept = append(kept, r)
	}
	lr.Loaded = kept
	res := newResolver(lr.Loaded, lr.Correlations)
	var corrs []*Correlation
	for _, c := range lr.Correlations {
		if err := res.resolveCorrelation(c); err != nil {
			lr.Invalid = append(lr.Invalid, *err)
			continue
		}
		corrs = append(corrs, c)
	}
	lr.Correlations = corrs
	var filters []*Filter
	for _, f := range lr.Filters {
		if err := res.resolveFilter(f); err != nil {
			lr.Invalid = append(lr.Invalid, *err)
			continue
		}
		filters = append(filters, f)
	}
	lr.Filters = filters
	sortErrors(lr.Invalid)
	sortErrors(lr.Unsupported)
}

func sortErrors(es []RuleError) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Path != es[j].Path {
			return es[i].Path < es[j].Path
		}
		return es[i].Doc < es[j].Doc
	})
}
