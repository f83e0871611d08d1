package exlog_test

import (
	"bytes"
	"context"
	"testing"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/exlog"
)

// FuzzExlog checks that no input (under any family the walker may have
// guessed) panics the parser, the ECP extras or the lazy accessors, and
// that the stats stay consistent. Seeds live in testdata/fuzz/FuzzExlog.
func FuzzExlog(f *testing.F) {
	f.Add([]byte(ecpHead+"2021-03-03T04:12:02.000Z,EX01,ECP.Request,S:CMD=Get-Mailbox;S:URL=/ecp/x\n"), byte(event.ECPServer))
	f.Fuzz(func(t *testing.T, data []byte, src byte) {
		var prev int64
		meta := parse.Meta{Path: "f", Source: event.Source(src % 8)}
		st, err := exlog.Parse(context.Background(), bytes.NewReader(data), meta, func(ev *event.Event) error {
			if ev.Loc.Line <= prev {
				t.Fatalf("line %d after %d", ev.Loc.Line, prev)
			}
			prev = ev.Loc.Line
			vals := ev.Values()
			if len(vals) == 0 {
				t.Fatalf("record without values: %q", ev.Raw)
			}
			if len(vals) > bytes.Count(ev.Raw, []byte{','})+1 {
				t.Fatalf("more values than commas allow: %q", ev.Raw)
			}
			for fl := event.FNone; fl <= event.FServerPort+1; fl++ {
				_ = ev.F(fl)
			}
			for _, k := range []string{"CMD", "URL", "EX", "EventData", "DateTime", "AnchorMailbox", "x"} {
				_ = ev.Get(k)
				_ = ev.Has(k)
			}
			if tm, ok := ev.Time(); ok && tm.Location().String() != "UTC" {
				t.Fatalf("time not UTC: %v", tm)
			}
			if x := ev.Excerpt(); !utf8.ValidString(x) || len(x) > event.MaxExcerpt+8 {
				t.Fatalf("excerpt %q", x)
			}
			return nil
		})
		if err != nil && err != parse.ErrBinary {
			t.Fatalf("err=%v", err)
		}
		if st.Records+st.Malformed > st.Lines || prev > st.Lines {
			t.Fatalf("stats %+v last line %d", st, prev)
		}
		if st.First.After(st.Last) || st.First.IsZero() != st.Last.IsZero() {
			t.Fatalf("first %v last %v", st.First, st.Last)
		}
		// Split on its own, with a reused dst.
		dst := exlog.Split(data, nil)
		if len(exlog.Split(data, dst[:0])) != len(dst) {
			t.Fatal("Split not deterministic")
		}
	})
}
