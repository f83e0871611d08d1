package files

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/exhunt/exhunt/detect/files/pack"
	"github.com/exhunt/exhunt/finding"
)

// SampleResult is the outcome of one heuristic or pack-rule sample.
type SampleResult struct {
	Rule  string // detector ID, or "EXH-YARA-NN <rule>"
	Name  string // sample path
	Note  string
	Match bool // what the sample declares
	Got   bool
	Err   error
}

// OK reports whether the sample behaved as declared.
func (r SampleResult) OK() bool { return r.Err == nil && r.Got == r.Match }

// CheckSamples runs every heuristic's samples through a one-detector
// engine (the real scanner: hashing, head and tail, place filter).
func CheckSamples(ctx context.Context, dets []*Detector) []SampleResult {
	var out []SampleResult
	for _, d := range dets {
		e, err := NewEngine(Config{Detectors: []*Detector{d}})
		for _, s := range d.Samples {
			res := SampleResult{Rule: d.ID, Name: s.Path, Note: s.Note, Match: s.Match}
			if err != nil {
				res.Err = err
			} else {
				res.Got, res.Err = fires(ctx, e, s.Path, s.Place, s.Data, d.ID)
			}
			out = append(out, res)
		}
	}
	return out
}

// CheckPackSamples compiles the embedded YARA pack and runs every rule's
// samples: the rule must match its match/ samples and not its nomatch/
// ones. Every loaded pack rule must have both.
func CheckPackSamples(ctx context.Context) ([]SampleResult, error) {
	y, err := LoadYara(nil, false)
	if err != nil {
		return nil, err
	}
	e, err := NewEngine(Config{Yara: y})
	if err != nil {
		return nil, err
	}
	ss, err := pack.Samples()
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{} // pack rule names
	for _, f := range y.Report.Files {
		for _, r := range f.Rules {
			ids[r.Rule] = true
		}
	}
	have := map[string][2]bool{}
	var out []SampleResult
	for _, s := range ss {
		res := SampleResult{Rule: s.Rule, Name: s.Name, Match: s.Match}
		if !ids[s.Rule] {
			res.Err = fmt.Errorf("sample for a rule the pack does not have")
		} else {
			var rule string
			res.Got, rule, res.Err = firesRule(ctx, e, s.Name, s.Data, s.Rule)
			if rule != "" {
				res.Rule = rule + " " + s.Rule
			}
		}
		h := have[s.Rule]
		h[boolIdx(s.Match)] = true
		have[s.Rule] = h
		out = append(out, res)
	}
	for r := range ids {
		if h := have[r]; !h[0] || !h[1] {
			out = append(out, SampleResult{Rule: r, Name: "samples/" + r, Err: fmt.Errorf("needs at least one match/ and one nomatch/ sample")})
		}
	}
	return out, nil
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fires scans one sample and reports whether the detector id fired.
func fires(ctx context.Context, e *Engine, path, place string, data []byte, id string) (bool, error) {
	got := false
	_, err := e.NewScanner().Scan(ctx, sampleFile(path, place, data), func(f finding.Finding) {
		if f.ID == id {
			got = true
		}
	})
	return got, err
}

// firesRule scans one sample with YARA and reports whether the named rule
// matched, and the rule's exhunt id.
func firesRule(ctx context.Context, e *Engine, path string, data []byte, rule string) (bool, string, error) {
	got, id := false, ""
	_, err := e.NewScanner().Scan(ctx, sampleFile(path, "other", data), func(f finding.Finding) {
		if f.Evidence.Fields["rule"] != "" && hasSuffixRule(f.Evidence.Fields["rule"], rule) {
			got, id = true, f.ID
		}
	})
	return got, id, err
}

func hasSuffixRule(nsRule, rule string) bool {
	return len(nsRule) > len(rule) && nsRule[len(nsRule)-len(rule)-1:] == ":"+rule
}

func sampleFile(path, place string, data []byte) File {
	return File{Path: path, Host: "sample", Place: place, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}
