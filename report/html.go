package report

import (
	"errors"
	"io"

	"github.com/exhunt/exhunt/finding"
)

// HTML writes one self-contained HTML report (being written).
func HTML(w io.Writer, doc *finding.Document, opt Options) error {
	return errors.New("html report: not built yet")
}
