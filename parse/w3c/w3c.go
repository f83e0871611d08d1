// Package w3c parses IIS W3C extended logs.
//
// No maintained Go library reads W3C logs (engines.md), so this is our own:
// a byte splitter over space-separated fields, with the column list taken
// from the latest "#Fields:" directive, because IIS rewrites the directive
// block mid-file whenever an admin changes the logged fields or the service
// restarts. Spaces inside values are logged as '+', which we keep for
// user agents (that is how rules and IOC lists spell them) and decode for
// nothing else: the raw form is what analysts grep for.
package w3c

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// DefaultFields is the IIS default field set, used when a file has data
// lines before any "#Fields:" directive (a truncated or carved log).
var DefaultFields = []string{"date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken"}

var aliases = map[event.Field][]string{
	event.FMethod:     {"cs-method"},
	event.FStem:       {"cs-uri-stem"},
	event.FQuery:      {"cs-uri-query"},
	event.FStatus:     {"sc-status"},
	event.FClientIP:   {"c-ip", "x-forwarded-for"},
	event.FUserAgent:  {"cs(User-Agent)"},
	event.FUser:       {"cs-username"},
	event.FServerPort: {"s-port"},
}

// Split splits a W3C data line on spaces (IIS never writes an unescaped
// space inside a value; runs of spaces are tolerated).
func Split(raw []byte, dst []string) []string {
	for len(raw) > 0 {
		for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
			raw = raw[1:]
		}
		if len(raw) == 0 {
			break
		}
		i := bytes.IndexAny(raw, " \t")
		if i < 0 {
			i = len(raw)
		}
		dst = append(dst, string(raw[:i]))
		raw = raw[i:]
	}
	return dst
}

// Time reads date + time (UTC, as IIS writes them), or a combined
// "date-time" column some custom layouts use.
func Time(s *event.Schema, vals []string) (time.Time, bool) {
	di, dok := s.Index("date")
	ti, tok := s.Index("time")
	if dok && tok && di < len(vals) && ti < len(vals) {
		t, err := time.Parse("2006-01-02 15:04:05", vals[di]+" "+vals[ti])
		if err == nil {
			return t.UTC(), true
		}
		t, err = time.Parse("2006-01-02 15:04:05.000", vals[di]+" "+vals[ti])
		return t.UTC(), err == nil
	}
	return time.Time{}, false
}

// NewSchema builds the schema for a "#Fields:" list.
func NewSchema(names []string) *event.Schema { return event.NewSchema(names, aliases) }

var defaultSchema = NewSchema(DefaultFields)

// Parse reads one W3C log.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	var st parse.Stats
	schema := defaultSchema
	sawFields := false
	var ev event.Event
	var vals []string
	var minT, maxT string // ISO date+time sorts as text; parsed once at the end
	lines, overlong, err := parse.Lines(ctx, r, func(n int64, line []byte) error {
		if len(line) == 0 {
			return nil
		}
		if line[0] == '#' {
			if names, ok := fieldsDirective(line); ok {
				schema = NewSchema(names)
				sawFields = true
			}
			return nil
		}
		// Counting separators is far cheaper than splitting, and splitting
		// is left to the detectors that survive the prefilter.
		nf := bytes.Count(line, space) + 1
		if nf < 2 || (sawFields && nf < len(schema.Names)/2) {
			st.Malformed++
			return nil
		}
		st.Records++
		if ts, ok := dateTime(schema, line, &vals); ok {
			if minT == "" || ts < minT {
				minT = ts
			}
			if ts > maxT {
				maxT = ts
			}
		}
		ev.Reset(event.IIS, event.Location{Path: m.Path, Line: n}, m.Host, line, schema, Split, Time)
		return emit(&ev)
	})
	for _, ts := range []string{minT, maxT} {
		if t, err := time.Parse("2006-01-02 15:04:05", ts); err == nil {
			st.Seen(t)
		}
	}
	st.Lines = lines
	if overlong > 0 {
		st.Malformed += overlong
		st.Note(parse.OverlongNote(overlong))
	}
	if st.Malformed > 0 && st.Malformed != overlong {
		st.Note("truncated or malformed data lines skipped")
	}
	return st, err
}

// fieldsDirective parses "#Fields: a b c" (also the "# Fields:" spelling
// seen in hand-edited logs), ignoring case.
func fieldsDirective(line []byte) ([]string, bool) {
	s := strings.TrimSpace(string(line[1:]))
	const key = "fields:"
	if len(s) < len(key) || !strings.EqualFold(s[:len(key)], key) {
		return nil, false
	}
	names := strings.Fields(s[len(key):])
	if len(names) == 0 {
		return nil, false
	}
	return names, true
}

var space = []byte{' '}

// dateTime returns "YYYY-MM-DD hh:mm:ss" of a data line: straight from the
// line prefix in the default layout (date and time first), else by
// splitting.
func dateTime(s *event.Schema, line []byte, scratch *[]string) (string, bool) {
	di, dok := s.Index("date")
	ti, tok := s.Index("time")
	if !dok || !tok {
		return "", false
	}
	if di == 0 && ti == 1 {
		if len(line) >= 19 && line[10] == ' ' && line[4] == '-' && line[13] == ':' {
			return string(line[:19]), true
		}
		return "", false
	}
	v := Split(line, (*scratch)[:0])
	*scratch = v
	if di >= len(v) || ti >= len(v) || len(v[di]) != 10 || len(v[ti]) < 8 {
		return "", false
	}
	return v[di] + " " + v[ti][:8], true
}
