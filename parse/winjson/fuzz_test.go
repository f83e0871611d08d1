package winjson_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/winjson"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzWinJSON")

// FuzzWinJSON checks that no input panics the parser, that it fails only
// on binary input, and that events, lines and stats are sound. Seeds live
// in testdata/fuzz/FuzzWinJSON (see TestFuzzSeeds).
func FuzzWinJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var n int64
		prev := int64(0)
		st, err := winjson.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "f.json", Source: event.WinJSON}, func(ev *event.Event) error {
			n++
			if ev.Win == nil || ev.Loc.Record != ev.Win.RecordID || ev.Loc.Line < prev || ev.Loc.Line < 1 {
				t.Fatalf("event %+v after line %d", ev.Loc, prev)
			}
			prev = ev.Loc.Line
			if tm, ok := ev.Time(); ok && tm.Location() != time.UTC {
				t.Fatalf("time %v", tm)
			}
			if x := ev.Excerpt(); !utf8.ValidString(x) || len(x) > event.MaxExcerpt+8 {
				t.Fatalf("excerpt %q", x)
			}
			if len(ev.Win.Data) > 4096 {
				t.Fatalf("%d fields", len(ev.Win.Data))
			}
			_, _ = ev.Get("EventID"), ev.Get("Data")
			return nil
		})
		if err != nil && !errors.Is(err, parse.ErrBinary) {
			t.Fatalf("err %v", err)
		}
		if st.Records != n || st.Malformed < 0 || prev > st.Lines || len(st.Problems) > parse.MaxProblems || st.First.After(st.Last) || st.First.IsZero() != st.Last.IsZero() {
			t.Fatalf("stats %+v after %d events, last line %d", st, n, prev)
		}
	})
}

func seeds() map[string][]byte {
	out := map[string][]byte{}
	for _, s := range shapes {
		out["line-"+strings.ReplaceAll(s.name, " ", "-")] = []byte(s.json + "\n")
	}
	out["array"] = []byte("[" + shapes[0].json + ",\n" + shapes[2].json + "]")
	out["pretty"] = []byte("Record 1\n" + strings.ReplaceAll(shapes[3].json, `,"`, ",\n  \"") + "\n")
	out["utf16"] = []byte(utf16LE(shapes[7].json + "\r\n"))
	out["broken"] = []byte(shapes[0].json[:80] + "\n" + `{"EventID":"x","Channel":null}` + "\n[]\n")
	return out
}

// TestFuzzSeeds keeps the committed seed corpus of FuzzWinJSON in step:
// go test -run TestFuzzSeeds ./parse/winjson -args -update-seeds
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzWinJSON")
	for name, data := range seeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		p := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != body {
			t.Errorf("%s is missing or stale (run with -update-seeds): %v", p, err)
		}
	}
}
