package report

import (
	"encoding/json"
	"io"

	"github.com/exhunt/exhunt/finding"
)

// JSONL writes one finding per line (errors go to stderr, not here).
func JSONL(w io.Writer, doc *finding.Document, _ Options) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, f := range doc.Findings {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}
