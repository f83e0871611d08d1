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

func isSep(c byte) bool { return c == ' ' || c == '\t' }

// Split splits a W3C data line on spaces (IIS never writes an unescaped
// space inside a value; runs of spaces and tabs are tolerated). The values
// share one copy of the line: one allocation per call.
func Split(raw []byte, dst []string) []string {
	s := string(raw)
	if strings.IndexByte(s, '\t') < 0 {
		// Common case: spaces only, so the vectorised IndexByte finds
		// each separator.
		for len(s) > 0 {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				return append(dst, s)
			}
			if i > 0 {
				dst = append(dst, s[:i])
			}
			s = s[i+1:]
		}
		return dst
	}
	for i := 0; i < len(s); {
		for i < len(s) && isSep(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		j := i + 1
		for j < len(s) && !isSep(s[j]) {
			j++
		}
		dst = append(dst, s[i:j])
		i = j
	}
	return dst
}

// Time reads date + time (UTC, as IIS writes them), or a combined
// "date-time" column some custom layouts use.
func Time(s *event.Schema, vals []string) (time.Time, bool) {
	di, dok := s.Index("date")
	ti, tok := s.Index("time")
	if dok && tok && di < len(vals) && ti < len(vals) {
		return parse.TimeOf(vals[di], vals[ti])
	}
	if i, ok := s.Index("date-time"); ok && i < len(vals) {
		return parse.ISOTime(vals[i])
	}
	return time.Time{}, false
}

// NewSchema builds the schema for a "#Fields:" list.
func NewSchema(names []string) *event.Schema { return event.NewSchema(names, aliases) }

// layout is a schema plus what the hot path needs from it, computed once
// per "#Fields:" directive instead of once per line.
type layout struct {
	schema *event.Schema
	di, ti int // date and time columns, -1 when absent
	dti    int // combined date-time column, -1 when absent
	split  event.Splitter
}

func newLayout(names []string) *layout {
	l := &layout{schema: NewSchema(names), di: -1, ti: -1, dti: -1}
	if i, ok := l.schema.Index("date"); ok {
		l.di = i
	}
	if i, ok := l.schema.Index("time"); ok {
		l.ti = i
	}
	if i, ok := l.schema.Index("date-time"); ok {
		l.dti = i
	}
	n := len(names)
	ua, hasUA := l.schema.Index("cs(User-Agent)")
	if !hasUA {
		l.split = Split
		return l
	}
	// A hand-edited or pasted line may carry a user agent with real spaces
	// (more values than columns). Those extra values belong to the user
	// agent, the only free-text column; join them back so that the columns
	// after it (status, time-taken) stay right. IIS itself never does this.
	l.split = func(raw []byte, dst []string) []string {
		base := len(dst)
		dst = Split(raw, dst)
		vals := dst[base:]
		if extra := len(vals) - n; extra > 0 && ua < n {
			vals[ua] = strings.Join(vals[ua:ua+extra+1], " ")
			copy(vals[ua+1:], vals[ua+extra+1:])
			dst = dst[:base+n]
		}
		return dst
	}
	return l
}

var defaultLayout = newLayout(DefaultFields)

// when returns the record time of a data line without splitting it.
func (l *layout) when(line []byte) (time.Time, bool) {
	if l.di >= 0 && l.ti >= 0 {
		var date, clock []byte
		if l.di == 0 && l.ti == 1 {
			// Default layout: "YYYY-MM-DD hh:mm:ss ..." at the line start.
			date = field(line, 0)
			clock = field(line[len(date):], 0)
		} else {
			date, clock = field(line, l.di), field(line, l.ti)
		}
		return parse.TimeOf(date, clock)
	}
	if l.dti >= 0 {
		return parse.ISOTime(field(line, l.dti))
	}
	return time.Time{}, false
}

// field returns the i-th space-separated value of line, nil when short.
func field(line []byte, i int) []byte {
	for k := 0; ; k++ {
		for len(line) > 0 && isSep(line[0]) {
			line = line[1:]
		}
		if len(line) == 0 {
			return nil
		}
		j := 1
		for j < len(line) && !isSep(line[j]) {
			j++
		}
		if k == i {
			return line[:j]
		}
		line = line[j:]
	}
}

// Parse reads one W3C log.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	var st parse.Stats
	lay := defaultLayout
	sawFields := false
	var lastDirective []byte // raw text of the current "#Fields:" line
	var ev event.Event
	var prevStamp [32]byte // time text of the previous line: most share it
	prevLen := -1
	lines, overlong, err := parse.Lines(ctx, r, func(n int64, line []byte) error {
		if len(line) == 0 {
			return nil
		}
		if line[0] == '#' {
			if sawFields && bytes.Equal(line, lastDirective) {
				return nil // the same block again after a restart
			}
			if names, ok := fieldsDirective(line); ok {
				lay = newLayout(names)
				sawFields = true
				lastDirective = append(lastDirective[:0], line...)
			}
			return nil
		}
		if isSep(line[0]) && len(bytes.Trim(line, " \t")) == 0 {
			return nil // blank: no values, not a record
		}
		// Counting separators is far cheaper than splitting, and splitting
		// is left to the detectors that survive the prefilter.
		nf := bytes.Count(line, space) + 1
		short := nf < 2 || (sawFields && nf < len(lay.schema.Names)/2)
		if short && bytes.IndexByte(line, '\t') >= 0 {
			// Tab-separated (re-exported) logs: Split accepts tabs too.
			nf += bytes.Count(line, tab)
			short = nf < 2 || (sawFields && nf < len(lay.schema.Names)/2)
		}
		if short {
			st.Malformed++
			return nil
		}
		st.Records++
		// Lines of the same second repeat the time text: parse it once.
		if lay.di == 0 && lay.ti == 1 && len(line) >= 19 && bytes.Equal(line[:19], prevStamp[:max(prevLen, 0)]) {
			// same time as the previous line: already seen
		} else if t, ok := lay.when(line); ok {
			st.Seen(t)
			if lay.di == 0 && lay.ti == 1 && len(line) >= 19 {
				prevLen = copy(prevStamp[:], line[:19])
			}
		}
		ev.Reset(event.IIS, event.Location{Path: m.Path, Line: n}, m.Host, line, lay.schema, lay.split, Time)
		return emit(&ev)
	})
	st.Lines = lines
	if overlong > 0 {
		st.Malformed += overlong
		st.Note(parse.OverlongNote(overlong))
	}
	if st.Malformed > overlong {
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

var space, tab = []byte{' '}, []byte{'\t'}
