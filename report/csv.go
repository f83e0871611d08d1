package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// CSVHeader is the column list of the CSV format (stable; docs/schema.md).
var CSVHeader = []string{"time", "host", "severity", "stage", "id", "title", "campaign", "cves", "techniques", "path", "line", "source", "client_ip", "user_agent", "excerpt", "fingerprint", "record"}

// CSV writes one row per finding. Lists are joined with ';'. Cells that a
// spreadsheet would run as a formula are prefixed with a quote, because
// excerpts come from attacker-controlled log lines.
func CSV(w io.Writer, doc *finding.Document, _ Options) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range doc.Findings {
		t := ""
		if !f.Time.IsZero() {
			t = f.Time.UTC().Format(time.RFC3339Nano)
		}
		row := []string{
			t, f.Host, f.Severity.String(), f.Stage.String(), f.ID, f.Title, f.Campaign,
			strings.Join(f.CVEs, ";"), strings.Join(f.Techniques, ";"),
			f.Evidence.Path, strconv.FormatInt(f.Evidence.Line, 10), f.Evidence.Source,
			f.Evidence.Fields["client_ip"], f.Evidence.Fields["user_agent"], f.Evidence.Excerpt, f.Fingerprint(), record(f.Evidence.Record),
		}
		for i, c := range row {
			row[i] = defuse(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func defuse(s string) string {
	if len(s) > 1 && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func record(r uint64) string {
	if r == 0 {
		return ""
	}
	return strconv.FormatUint(r, 10)
}
