package finding

import (
	"sort"
	"strings"
)

// Set is the one owner of a run's findings. It is not safe for concurrent
// use: one collector goroutine feeds it.
type Set struct {
	// MaxPerDetector bounds the findings kept per detector and host, so that
	// a server hammered by a scanner for months cannot exhaust memory; the
	// rest are counted in Suppressed. Zero means no bound.
	MaxPerDetector int

	items      []Finding
	seen       map[string]bool
	perKey     map[string]int
	suppressed map[string]int
}

// Add keeps f unless an identical hit (same fingerprint) is already kept or
// the per-detector bound is reached.
func (s *Set) Add(f Finding) {
	if s.seen == nil {
		s.seen, s.perKey, s.suppressed = map[string]bool{}, map[string]int{}, map[string]int{}
	}
	fp := f.Fingerprint()
	if s.seen[fp] {
		return
	}
	key := f.ID + "\x00" + f.Host
	if s.MaxPerDetector > 0 && s.perKey[key] >= s.MaxPerDetector {
		s.suppressed[f.ID]++
		return
	}
	s.seen[fp] = true
	s.perKey[key]++
	s.items = append(s.items, f)
}

// Len is the number of findings kept.
func (s *Set) Len() int { return len(s.items) }

// Suppressed returns how many hits per detector ID were counted but not kept.
func (s *Set) Suppressed() map[string]int {
	out := make(map[string]int, len(s.suppressed))
	for k, v := range s.suppressed {
		out[k] = v
	}
	return out
}

// Sorted returns the findings in a deterministic order: by time, then host,
// evidence path, line and detector ID. Findings without a time come last.
func (s *Set) Sorted() []Finding {
	out := make([]Finding, len(s.items))
	copy(out, s.items)
	Sort(out)
	return out
}

// Sort orders findings deterministically (see Set.Sorted).
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Time.IsZero() != b.Time.IsZero() {
			return !a.Time.IsZero()
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Evidence.Path != b.Evidence.Path {
			return a.Evidence.Path < b.Evidence.Path
		}
		if a.Evidence.Line != b.Evidence.Line {
			return a.Evidence.Line < b.Evidence.Line
		}
		return strings.Compare(a.ID, b.ID) < 0
	})
}
