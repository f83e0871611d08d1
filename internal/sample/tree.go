// Package sample generates the evidence trees that exhunt is tested and
// demonstrated on: a compromised Exchange 2016 server with the whole
// ProxyLogon chain in its logs, a busy clean server with scanner noise, and
// the large benchmark tree. Everything is generated from fixed seeds and
// fixed dates, so the output is byte-identical on every run and the
// committed samples/ trees can be checked against the generator.
package sample

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File is one generated file. Path is slash-separated and relative to the
// tree root.
type File struct {
	Path string
	Data []byte
}

// Mark is one planted line: ground truth for end-to-end tests.
type Mark struct {
	Path   string // slash-separated, relative to the tree root
	Line   int    // 1-based physical line in Path
	Source string // iis-fe, iis-be, httpproxy, ecp, oab, rps
	Kind   string // what the line is, e.g. proxylogon.ssrf.proxylogon
	Note   string
}

// Tree is a generated evidence tree.
type Tree struct {
	Name  string
	Files []File // sorted by Path
	Marks []Mark // sorted by Path, Line
}

// Names lists the committed sample trees.
func Names() []string { return []string{Compromised, Clean, Scanner} }

// Generate builds the named sample tree.
func Generate(name string) (*Tree, error) {
	switch name {
	case Compromised:
		return compromised(), nil
	case Clean:
		return clean(), nil
	case Scanner:
		return scanner(), nil
	}
	return nil, fmt.Errorf("sample: unknown tree %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// TruthTSV renders the marks as tab-separated text with a header line.
func (t *Tree) TruthTSV() []byte {
	var b bytes.Buffer
	b.WriteString("path\tline\tsource\tkind\tnote\n")
	for _, m := range t.Marks {
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\t%s\n", m.Path, m.Line, m.Source, m.Kind, m.Note)
	}
	return b.Bytes()
}

// Write writes the tree under dir/<name>/ and its ground truth to
// dir/<name>.truth.tsv. Files already there are overwritten; files the
// generator no longer makes are removed.
func (t *Tree) Write(dir string) error {
	root := filepath.Join(dir, t.Name)
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	for _, f := range t.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, t.Name+".truth.tsv"), t.TruthTSV(), 0o644)
}

// rec is one physical entry of a log file; line may be several physical
// lines (an IIS header block written again after a restart).
type rec struct {
	t    time.Time
	line string
	mark *Mark // nil for background traffic
}

type fileKind int

const (
	kIIS fileKind = iota
	kProxy
	kECP
	kOAB
	kRps
)

type logFile struct {
	path    string
	kind    fileKind
	version string // #Version of Exchange logs
	recs    []rec
}

// builder collects records into files and renders them.
type builder struct {
	name       string
	files      map[string]*logFile
	extra      []File
	extraMarks []Mark
}

func newBuilder(name string) *builder {
	return &builder{name: name, files: map[string]*logFile{}}
}

func (b *builder) add(path string, kind fileKind, version string, t time.Time, line string, m *Mark) {
	f := b.files[path]
	if f == nil {
		f = &logFile{path: path, kind: kind, version: version}
		b.files[path] = f
	}
	f.recs = append(f.recs, rec{t: t, line: line, mark: m})
}

func (b *builder) header(f *logFile) string {
	first := f.recs[0].t
	switch f.kind {
	case kIIS:
		return iisHeader(first)
	case kProxy:
		return exHeader(f.version, "HttpProxy Logs", first, proxyFields)
	case kECP:
		return exHeader("15.0.0.0", "ECP Server Log", first, ecpFields)
	case kOAB:
		return exHeader("15.0.0.0", "OAB Generator Log", first, oabFields)
	case kRps:
		return exHeader(f.version, "Rps_Http Logs", first, rpsFields)
	}
	panic("unknown kind")
}

func iisHeader(t time.Time) string {
	return "#Software: Microsoft Internet Information Services 10.0" + crlf +
		"#Version: 1.0" + crlf +
		"#Date: " + string(appendIISTime(nil, t)) + crlf +
		"#Fields: " + iisFields + crlf
}

func exHeader(version, logType string, t time.Time, fields string) string {
	return "#Software: Microsoft Exchange Server" + crlf +
		"#Version: " + version + crlf +
		"#Log-type: " + logType + crlf +
		"#Date: " + iso(t) + crlf +
		"#Fields: " + fields + crlf
}

func (b *builder) tree() *Tree {
	t := &Tree{Name: b.name}
	for _, f := range b.files {
		slices.SortStableFunc(f.recs, func(x, y rec) int { return x.t.Compare(y.t) })
		var buf bytes.Buffer
		h := b.header(f)
		buf.WriteString(h)
		line := strings.Count(h, "\n")
		for _, r := range f.recs {
			if r.mark != nil {
				m := *r.mark
				m.Path = f.path
				m.Source = sourceOf(f)
				m.Line = line + 1 + strings.Count(r.line, "\n")
				t.Marks = append(t.Marks, m)
			}
			buf.WriteString(r.line)
			buf.WriteString(crlf)
			line += strings.Count(r.line, "\n") + 1
		}
		t.Files = append(t.Files, File{Path: f.path, Data: buf.Bytes()})
	}
	t.Files = append(t.Files, b.extra...)
	t.Marks = append(t.Marks, b.extraMarks...)
	slices.SortFunc(t.Files, func(x, y File) int { return strings.Compare(x.Path, y.Path) })
	slices.SortFunc(t.Marks, func(x, y Mark) int {
		if c := strings.Compare(x.Path, y.Path); c != 0 {
			return c
		}
		return x.Line - y.Line
	})
	return t
}

func sourceOf(f *logFile) string {
	switch f.kind {
	case kIIS:
		if strings.Contains(f.path, "/W3SVC1/") {
			return "iis-fe"
		}
		return "iis-be"
	case kProxy:
		return "httpproxy"
	case kECP:
		return "ecp"
	case kOAB:
		return "oab"
	case kRps:
		return "rps"
	}
	return ""
}

// eventLogs adds a server's rendered event logs to the tree.
func (s *server) eventLogs(b *builder, gen func() ([]File, []Mark)) {
	fs, ms := gen()
	b.extra = append(b.extra, fs...)
	b.extraMarks = append(b.extraMarks, ms...)
}
