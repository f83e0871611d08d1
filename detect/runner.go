package detect

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/exhunt/exhunt/event"
)

// Runner evaluates a fixed set of detectors. Per log family it keeps one
// keyword filter over the lower-cased keywords of the detectors that read
// that family, so a line costs one filter pass plus the match functions of
// the detectors whose keywords occur in it.
type Runner struct {
	dets     []*Detector
	families [256]*family
}

type family struct {
	dets   []int // indexes into Runner.dets
	kw     *keywordFilter
	owners [][]int32 // keyword pattern -> positions in dets
	always []int32   // detectors without keywords
}

// NewRunner validates and indexes detectors. Detectors that fail
// validation are rejected with an error naming them.
func NewRunner(dets []*Detector) (*Runner, error) {
	r := &Runner{dets: dets}
	seen := map[string]bool{}
	for _, d := range dets {
		if d.ID == "" || d.Match == nil {
			return nil, fmt.Errorf("detector %q: missing id or match function", d.ID)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("detector %s listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	for _, s := range append([]event.Source{event.Unknown}, event.Sources()...) {
		f := &family{}
		var patterns []string
		index := map[string]int{}
		for i, d := range dets {
			if !d.Wants(s) {
				continue
			}
			pos := int32(len(f.dets))
			f.dets = append(f.dets, i)
			if len(d.Keywords) == 0 {
				f.always = append(f.always, pos)
				continue
			}
			for _, k := range d.Keywords {
				if len(k) < 2 {
					return nil, fmt.Errorf("detector %s: keyword %q is too short for the prefilter", d.ID, k)
				}
				k = strings.ToLower(k)
				p, ok := index[k]
				if !ok {
					p = len(patterns)
					index[k] = p
					patterns = append(patterns, k)
					f.owners = append(f.owners, nil)
				}
				f.owners[p] = append(f.owners[p], pos)
			}
		}
		if len(patterns) > 0 {
			f.kw = newKeywordFilter(patterns)
		}
		r.families[s] = f
	}
	return r, nil
}

// Detectors returns the detectors in evaluation order.
func (r *Runner) Detectors() []*Detector { return r.dets }

// Keywords returns every distinct prefilter keyword (lower-cased), for
// benchmarks that compare against plain literal search.
func (r *Runner) Keywords() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range r.dets {
		for _, k := range d.Keywords {
			k = strings.ToLower(k)
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// Scanner is one worker's view of a Runner; it holds scratch space and is
// not safe for concurrent use. Make one per goroutine.
type Scanner struct {
	r    *Runner
	mark []uint32 // per family position: generation stamp of the last mark
	gen  uint32
	cand []int32
}

// NewScanner returns a scanner over r.
func (r *Runner) NewScanner() *Scanner {
	max := 0
	for _, f := range r.families {
		if f != nil && len(f.dets) > max {
			max = len(f.dets)
		}
	}
	return &Scanner{r: r, mark: make([]uint32, max)}
}

// PanicError is a recovered panic in a detector; the run goes on.
type PanicError struct {
	Detector string
	Value    any
	Stack    string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("detector %s panicked: %v", e.Detector, e.Value)
}

// Scan runs the detectors that want ev. hit is called for each match, in
// detector order; failed is called for a detector that panicked.
func (s *Scanner) Scan(ev *event.Event, hit func(d *Detector, h Hit), failed func(error)) {
	f := s.r.families[ev.Source]
	if f == nil || len(f.dets) == 0 {
		return
	}
	s.cand = s.cand[:0]
	s.gen++
	if s.gen == 0 { // wrapped: clear stamps
		for i := range s.mark {
			s.mark[i] = 0
		}
		s.gen = 1
	}
	if f.kw != nil {
		f.kw.find(ev.Raw, func(p int) {
			for _, pos := range f.owners[p] {
				if s.mark[pos] != s.gen {
					s.mark[pos] = s.gen
					s.cand = append(s.cand, pos)
				}
			}
		})
	}
	for _, pos := range f.always {
		if s.mark[pos] != s.gen {
			s.mark[pos] = s.gen
			s.cand = append(s.cand, pos)
		}
	}
	if len(s.cand) == 0 {
		return
	}
	sortInt32(s.cand)
	for _, pos := range s.cand {
		d := s.r.dets[f.dets[pos]]
		if h, ok, err := safeMatch(d, ev); err != nil {
			if failed != nil {
				failed(err)
			}
		} else if ok {
			hit(d, h)
		}
	}
}

func safeMatch(d *Detector, ev *event.Event) (h Hit, ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Detector: d.ID, Value: v, Stack: string(debug.Stack())}
		}
	}()
	h, ok = d.Match(ev)
	return h, ok, nil
}

// sortInt32 is an insertion sort: candidate lists are a handful long.
func sortInt32(a []int32) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
