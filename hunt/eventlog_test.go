package hunt

import (
	"context"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/sample"
)

// TestSampleEventLogs hunts the generated sample trees end to end (walker,
// EVTX parser, Sigma pack) and checks the findings against the planted
// ground truth: every attack record found, at its record number; the
// Exchange look-alikes silent.
func TestSampleEventLogs(t *testing.T) {
	for _, name := range sample.Names() {
		t.Run(name, func(t *testing.T) {
			tr, err := sample.Generate(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := tr.Write(dir); err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), Config{Roots: []string{dir + "/" + name}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Errorf("errors: %+v", res.Errors)
			}
			at := map[string][]finding.Finding{}
			evtxFindings := 0
			for _, f := range res.Findings {
				if f.Evidence.Source != "evtx" {
					continue
				}
				evtxFindings++
				if f.Evidence.Record == 0 {
					t.Errorf("%s: no record number: %+v", f.ID, f.Evidence)
				}
				k := f.Evidence.Path + "#" + itoa(f.Evidence.Record)
				at[k] = append(at[k], f)
			}
			marked := map[string]bool{}
			for _, m := range tr.Marks {
				if m.Source != "evtx" {
					continue
				}
				k := m.Path + "#" + itoa(uint64(m.Line))
				marked[k] = true
				fs := at[k]
				if strings.HasPrefix(m.Kind, "benign.") {
					for _, f := range fs {
						t.Errorf("look-alike %s (%s) flagged by %s %s", m.Kind, k, f.ID, f.Title)
					}
					continue
				}
				if len(fs) == 0 {
					t.Errorf("attack record %s (%s: %s) not found", k, m.Kind, m.Note)
				}
			}
			for k, fs := range at {
				if !marked[k] {
					for _, f := range fs {
						t.Errorf("finding on an unmarked record %s: %s %s", k, f.ID, f.Title)
					}
				}
			}
			if name == sample.Clean && evtxFindings > 0 {
				t.Errorf("clean server: %d event log findings", evtxFindings)
			}
		})
	}
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
