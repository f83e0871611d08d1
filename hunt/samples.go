package hunt

import (
	"context"
	"fmt"
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// SampleResult is the outcome of one detector sample.
type SampleResult struct {
	Detector string
	Index    int
	Sample   detect.Sample
	Got      bool
	Err      error
}

// OK reports whether the sample behaved as declared.
func (r SampleResult) OK() bool { return r.Err == nil && r.Got == r.Sample.Match }

// CheckSamples runs every detector's own samples through the real parser of
// the sample's family and the real runner (prefilter included), and reports
// whether the detector fired on the sample's last line.
func CheckSamples(ctx context.Context, dets []*detect.Detector) []SampleResult {
	var out []SampleResult
	for _, d := range dets {
		r, err := detect.NewRunner([]*detect.Detector{d})
		for i, s := range d.Samples {
			res := SampleResult{Detector: d.ID, Index: i, Sample: s}
			if err != nil {
				res.Err = err
				out = append(out, res)
				continue
			}
			res.Got, res.Err = fireOnLast(ctx, r, s)
			out = append(out, res)
		}
	}
	return out
}

func fireOnLast(ctx context.Context, r *detect.Runner, s detect.Sample) (bool, error) {
	p := ParserFor(s.Source)
	if p == nil {
		return false, fmt.Errorf("no parser for %s", s.Source)
	}
	sc := r.NewScanner()
	var last int64
	fired := map[int64]bool{}
	var derr error
	_, err := p(ctx, strings.NewReader(s.Text), parse.Meta{Path: "sample", Host: "sample", Source: s.Source}, func(ev *event.Event) error {
		last = ev.Loc.Line
		sc.Scan(ev, func(*detect.Detector, detect.Hit) { fired[ev.Loc.Line] = true }, func(e error) { derr = e })
		return nil
	})
	if err != nil {
		return false, err
	}
	if derr != nil {
		return false, derr
	}
	if last == 0 {
		return false, fmt.Errorf("sample has no data line")
	}
	return fired[last], nil
}
