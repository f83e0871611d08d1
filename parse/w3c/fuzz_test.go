package w3c_test

import (
	"bytes"
	"context"
	"testing"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/w3c"
)

// FuzzW3C checks that no input panics the parser or the lazy accessors of
// the events it emits, and that the stats stay consistent. Seeds live in
// testdata/fuzz/FuzzW3C.
func FuzzW3C(f *testing.F) {
	f.Add([]byte(header + defFields + "2021-03-02 07:11:04 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 UA - 200 0 0 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var prev int64
		st, err := w3c.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "f", Source: event.IIS}, func(ev *event.Event) error {
			if ev.Loc.Line <= prev {
				t.Fatalf("line %d after %d", ev.Loc.Line, prev)
			}
			prev = ev.Loc.Line
			vals := ev.Values()
			if len(vals) == 0 {
				t.Fatalf("record without values: %q", ev.Raw)
			}
			for _, v := range vals {
				if v == "" {
					t.Fatalf("bad value %q in %q", v, ev.Raw)
				}
			}
			for fl := event.FNone; fl <= event.FServerPort+1; fl++ {
				_ = ev.F(fl)
			}
			_, _ = ev.Get("date"), ev.Get("cs(User-Agent)")
			_ = ev.Get("nope")
			if tm, ok := ev.Time(); ok && tm.Location().String() != "UTC" {
				t.Fatalf("time not UTC: %v", tm)
			}
			if x := ev.Excerpt(); !utf8.ValidString(x) || len(x) > event.MaxExcerpt+8 {
				t.Fatalf("excerpt %q", x)
			}
			_ = w3c.Split(ev.Raw, nil)
			return nil
		})
		if err != nil && err != parse.ErrBinary {
			t.Fatalf("err=%v", err)
		}
		if st.Records+st.Malformed > st.Lines || prev > st.Lines || st.Records < 0 {
			t.Fatalf("stats %+v last line %d", st, prev)
		}
		if st.First.After(st.Last) || st.First.IsZero() != st.Last.IsZero() {
			t.Fatalf("first %v last %v", st.First, st.Last)
		}
		if len(st.Problems) > parse.MaxProblems {
			t.Fatalf("problems %d", len(st.Problems))
		}
	})
}
