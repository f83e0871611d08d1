package report

import (
	"errors"
	"io"

	"github.com/exhunt/exhunt/finding"
)

// STIX writes a STIX 2.1 bundle (being written).
func STIX(w io.Writer, doc *finding.Document, opt Options) error {
	return errors.New("stix report: not built yet")
}
