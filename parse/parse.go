// Package parse holds the parser contract shared by the log families and the
// line reader they all use. Each family lives in its own sub-package; the
// explicit list of parsers is in package hunt.
//
// Parsers stream: they emit one event per physical data line through a
// callback and never hold a file in memory, so a 20 GB log costs the same
// memory as a 20 KB one. Evidence is hostile: a parser never panics, skips
// and counts malformed lines, and returns an error only when it cannot go
// on with the file (the run goes on with the next one).
package parse

import (
	"context"
	"io"
	"time"

	"github.com/exhunt/exhunt/event"
)

// Meta describes the file being parsed.
type Meta struct {
	Path   string       // relative to the hunted root, forward slashes
	Host   string       // host the evidence belongs to
	Source event.Source // family, as classified by the evidence walker
}

// Stats is what a parser learned about one file, also on error.
type Stats struct {
	Lines     int64     // physical lines read, headers included
	Records   int64     // data lines emitted
	Malformed int64     // lines skipped (over-long, binary, too few fields)
	First     time.Time // earliest record time (UTC), zero when none
	Last      time.Time // latest record time (UTC)
	Problems  []string  // short notes on what was skipped and why (bounded)
}

// MaxProblems bounds Stats.Problems.
const MaxProblems = 5

// Note records a problem, bounded.
func (s *Stats) Note(format string) {
	if len(s.Problems) < MaxProblems {
		s.Problems = append(s.Problems, format)
	}
}

// Seen widens First/Last by t.
func (s *Stats) Seen(t time.Time) {
	if t.IsZero() {
		return
	}
	if s.First.IsZero() || t.Before(s.First) {
		s.First = t
	}
	if t.After(s.Last) {
		s.Last = t
	}
}

// Emit receives each event. The event and its Raw bytes are reused after it
// returns. A non-nil error stops the file (used for cancellation).
type Emit func(ev *event.Event) error

// Func parses one file.
type Func func(ctx context.Context, r io.Reader, m Meta, emit Emit) (Stats, error)
