// Package report writes a hunt's findings in one of several formats: a
// terminal report for people, and JSON, JSON lines and CSV for machines.
// Each format is one file and one entry in Formats.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// Options tune the human format; machine formats ignore them.
type Options struct {
	Color   bool   // ANSI colour (only when writing to a terminal)
	Verbose bool   // list every finding, not the first few per detector
	Elapsed string // run time, shown in the header
}

// Writer writes a document in one format.
type Writer func(w io.Writer, doc *finding.Document, opt Options) error

// Format is one output format.
type Format struct {
	Name  string
	Help  string
	Write Writer
}

// Formats lists the output formats; the first is the default.
var Formats = []Format{
	{"text", "terminal report for people (summary first, then details by stage)", Text},
	{"json", "one JSON document (docs/schema.md)", JSON},
	{"jsonl", "one JSON finding per line, for SIEM ingestion", JSONL},
	{"csv", "one CSV row per finding", CSV},
	{"html", "one self-contained HTML page: verdict, reasons, timeline, coverage, findings (works offline)", HTML},
	{"stix", "STIX 2.1 bundle: indicators, sightings, observed data, attack patterns, TLP marking (--tlp)", STIX},
}

// Lookup finds a format by name.
func Lookup(name string) (Format, error) {
	var names []string
	for _, f := range Formats {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return Format{}, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(names, ", "))
}

// sortedKeys returns map keys in order.
func sortedKeys[M ~map[K]V, K ~string, V any](m M) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
