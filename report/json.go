package report

import (
	"encoding/json"
	"io"

	"github.com/exhunt/exhunt/finding"
)

// JSON writes the whole document, indented.
func JSON(w io.Writer, doc *finding.Document, _ Options) error {
	d := *doc
	if d.Findings == nil {
		d.Findings = []finding.Finding{}
	}
	if d.Errors == nil {
		d.Errors = []finding.FileError{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}
