// Package detect holds the detector contract and the runner that feeds
// events to detectors behind one keyword prefilter.
//
// A detector is a plain value carrying its metadata (an Advisory), the log
// families it reads, the keywords that must occur in a line before it is
// worth evaluating, a match function, and its own positive and negative
// samples. Hand-written detectors are listed explicitly in detect/builtin.
package detect

import (
	"fmt"
	"strings"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// Hit is what a match function returns for one event: the fields that
// matched and any context worth showing (client_ip, user_agent, ...).
// Keys are lower-case snake case.
type Hit struct {
	Fields map[string]string
}

// Detector is one event detector.
type Detector struct {
	finding.Advisory

	// Sources are the log families the detector reads; empty means all.
	Sources []event.Source

	// Keywords gate evaluation: the match function runs only when at least
	// one keyword occurs in the raw line, compared ignoring ASCII case. A
	// detector with no keywords runs on every event of its sources, which is
	// slow: the runner reports it (see Validate).
	Keywords []string

	// Match decides. It must not retain ev or its Raw bytes.
	Match func(ev *event.Event) (Hit, bool)

	// Samples are the detector's own test cases, run by `exhunt rules test`
	// and by the package tests.
	Samples []Sample
}

// Sample is one test case: a log excerpt in its native format (header lines
// included where the format needs them) and whether the detector must fire
// on its last line.
type Sample struct {
	Source event.Source
	Text   string // whole log excerpt; the detector is expected to fire (or not) on the last line
	Match  bool
	Note   string
}

// Validate checks the static parts of a detector.
func (d *Detector) Validate() error {
	errs := d.Advisory.Problems()
	if d.Match == nil {
		errs = append(errs, "no match function")
	}
	if len(d.Keywords) == 0 {
		errs = append(errs, "no prefilter keywords")
	}
	for _, k := range d.Keywords {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, "blank keyword")
		}
	}
	var pos, neg bool
	for _, s := range d.Samples {
		if s.Match {
			pos = true
		} else {
			neg = true
		}
	}
	if !pos || !neg {
		errs = append(errs, "needs at least one positive and one negative sample")
	}
	if len(errs) > 0 {
		return fmt.Errorf("detector %s: %s", d.ID, strings.Join(errs, "; "))
	}
	return nil
}

// Wants reports whether the detector reads events of source s.
func (d *Detector) Wants(s event.Source) bool {
	if len(d.Sources) == 0 {
		return true
	}
	for _, x := range d.Sources {
		if x == s {
			return true
		}
	}
	return false
}

// Correlator derives findings from the findings of a whole run, for
// judgements no single line can make (the stages of one SSRF chain).
type Correlator struct {
	finding.Advisory
	// Correlate receives every finding of the run, sorted, and returns new ones.
	Correlate func(fs []finding.Finding) []finding.Finding
}
