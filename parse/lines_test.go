package parse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"
)

type got struct {
	n    int64
	line string
}

func collect(t *testing.T, ctx context.Context, r io.Reader) ([]got, int64, int64, error) {
	t.Helper()
	var out []got
	lines, long, err := Lines(ctx, r, func(n int64, line []byte) error {
		out = append(out, got{n, string(line)})
		return nil
	})
	return out, lines, long, err
}

func TestLinesEndings(t *testing.T) {
	cases := []struct {
		name, in string
		want     []got
		lines    int64
	}{
		{"lf", "a\nb\n", []got{{1, "a"}, {2, "b"}}, 2},
		{"crlf", "a\r\nb\r\n", []got{{1, "a"}, {2, "b"}}, 2},
		{"no final newline", "a\nb", []got{{1, "a"}, {2, "b"}}, 2},
		{"bom", "\xEF\xBB\xBFa\nb\n", []got{{1, "a"}, {2, "b"}}, 2},
		{"bom only first line", "a\n\xEF\xBB\xBFb\n", []got{{1, "a"}, {2, "\xEF\xBB\xBFb"}}, 2},
		{"empty lines counted", "\n\na\n", []got{{1, ""}, {2, ""}, {3, "a"}}, 3},
		{"nul padding before record", "#Software: Microsoft Internet Information Services 10.0\n\x00\x00\x00b\n", []got{{1, "#Software: Microsoft Internet Information Services 10.0"}, {2, "b"}}, 2},
		{"lone cr kept", "a\rb\n", []got{{1, "a\rb"}}, 1},
		{"empty", "", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, lines, long, err := collect(t, context.Background(), strings.NewReader(c.in))
			if err != nil || long != 0 || lines != c.lines {
				t.Fatalf("lines=%d long=%d err=%v", lines, long, err)
			}
			if len(out) != len(c.want) {
				t.Fatalf("got %v want %v", out, c.want)
			}
			for i := range out {
				if out[i] != c.want[i] {
					t.Errorf("line %d: got %v want %v", i, out[i], c.want[i])
				}
			}
		})
	}
}

func TestLinesOverlong(t *testing.T) {
	for _, size := range []int{MaxLine + 1, MaxLine + 2, 10 << 20} {
		in := "first\n" + strings.Repeat("x", size) + "\r\nthird\nfourth"
		out, lines, long, err := collect(t, context.Background(), strings.NewReader(in))
		if err != nil || long != 1 || lines != 4 {
			t.Fatalf("size %d: lines=%d long=%d err=%v", size, lines, long, err)
		}
		want := []got{{1, "first"}, {3, "third"}, {4, "fourth"}}
		if len(out) != 3 || out[0] != want[0] || out[1] != want[1] || out[2] != want[2] {
			t.Fatalf("size %d: got %d lines", size, len(out))
		}
	}
	// A line of exactly MaxLine bytes is kept.
	out, _, long, _ := collect(t, context.Background(), strings.NewReader(strings.Repeat("y", MaxLine)+"\r\n"))
	if long != 0 || len(out) != 1 || len(out[0].line) != MaxLine {
		t.Fatalf("MaxLine line: long=%d n=%d", long, len(out))
	}
	// Over-long last line without newline.
	_, lines, long, err := collect(t, context.Background(), strings.NewReader("a\n"+strings.Repeat("z", 3*MaxLine)))
	if err != nil || lines != 2 || long != 1 {
		t.Fatalf("tail: lines=%d long=%d err=%v", lines, long, err)
	}
}

func TestLinesBinary(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	garbage := make([]byte, 64<<10)
	rnd.Read(garbage)
	utf16 := []byte("\xFF\xFE#\x00S\x00o\x00f\x00t\x00w\x00a\x00r\x00e\x00:\x00 \x00M\x00S\x00\r\x00\n\x00")
	cases := map[string][]byte{
		"random":          garbage,
		"random after nl": append([]byte("\n"), garbage...),
		"utf16":           utf16,
		"zeros":           make([]byte, 10000),
		"gzip":            append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, garbage[:500]...),
	}
	for name, in := range cases {
		_, _, _, err := collect(t, context.Background(), bytes.NewReader(in))
		if !errors.Is(err, ErrBinary) {
			t.Errorf("%s: err=%v, want ErrBinary", name, err)
		}
	}
	text := map[string]string{
		"latin1":     "2021-03-01 10:00:00 GET /caf\xe9 - 443 - 1.2.3.4 Mozilla - 200 0 0 1\n",
		"stray nul":  "#Fields: date time\n2021-03-01 10:00:00\x00 x\n" + strings.Repeat("2021-03-01 10:00:00 y\n", 10),
		"utf8":       "#Software: Überwachung ✓\n",
		"bom":        "\xEF\xBB\xBF#Fields: date\n",
		"tabs/ff":    "a\tb\f\n",
		"cut rune":   strings.Repeat("a", binaryProbe-1) + "é",
		"empty line": "\n\n\n",
	}
	for name, in := range text {
		if _, _, _, err := collect(t, context.Background(), strings.NewReader(in)); err != nil {
			t.Errorf("%s: err=%v", name, err)
		}
	}
}

// failReader returns data then an error.
type failReader struct {
	data []byte
	err  error
}

func (f *failReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestLinesReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, in := range []string{"a\nb\nc", "a\nb\n" + strings.Repeat("x", 3*MaxLine), strings.Repeat("line\n", 5000)} {
		out, lines, _, err := collect(t, context.Background(), &failReader{[]byte(in), boom})
		if !errors.Is(err, boom) {
			t.Fatalf("err=%v", err)
		}
		if len(out) < 2 || out[0].line != "a" && out[0].line != "line" || lines < 2 {
			t.Fatalf("lines before the error lost: %d %v", lines, out[:min(len(out), 3)])
		}
	}
	// Error before any byte.
	if _, _, _, err := collect(t, context.Background(), &failReader{nil, boom}); !errors.Is(err, boom) {
		t.Fatalf("err=%v", err)
	}
}

func TestLinesContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, _, _, err := collect(t, ctx, strings.NewReader("a\nb\n"))
	if !errors.Is(err, context.Canceled) || len(out) != 0 {
		t.Fatalf("pre-cancelled: err=%v out=%d", err, len(out))
	}
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	_, _, err = Lines(ctx, strings.NewReader(strings.Repeat("line\n", 100000)), func(int64, []byte) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 100000 {
		t.Fatalf("mid-file: err=%v n=%d", err, n)
	}
	// Cancelled inside a huge line.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, _, err = Lines(ctx, io.MultiReader(strings.NewReader("x"), strings.NewReader(strings.Repeat("y", 10<<20))), func(int64, []byte) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("long line: err=%v", err)
	}
}

func TestLinesCallbackError(t *testing.T) {
	stop := errors.New("stop")
	lines, _, err := Lines(context.Background(), strings.NewReader("a\nb\nc\n"), func(n int64, _ []byte) error {
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || lines != 2 {
		t.Fatalf("lines=%d err=%v", lines, err)
	}
}

func TestTimeOf(t *testing.T) {
	cases := []struct {
		date, clock string
		want        string // RFC3339Nano, "" for invalid
	}{
		{"2021-03-02", "10:11:12", "2021-03-02T10:11:12Z"},
		{"2021-03-02", "10:11:12.345", "2021-03-02T10:11:12.345Z"},
		{"2021-03-02", "10:11:12.3456789Z", "2021-03-02T10:11:12.3456789Z"},
		{"2021-03-02", "10:11:12.1234567891Z", "2021-03-02T10:11:12.123456789Z"},
		{"2021-03-02", "10:11:12+02:00", "2021-03-02T08:11:12Z"},
		{"2021-03-02", "00:11:12-0130", "2021-03-02T01:41:12Z"},
		{"2021-03-02", "10:11:12+05", "2021-03-02T05:11:12Z"},
		{"2020-02-29", "23:59:59", "2020-02-29T23:59:59Z"},
		{"2000-02-29", "00:00:00", "2000-02-29T00:00:00Z"},
		{"1970-01-01", "00:00:00", "1970-01-01T00:00:00Z"},
		{"1969-12-31", "23:59:59", ""},
		{"0001-01-01", "00:00:00", ""},
		{"0000-01-01", "00:00:00", ""},
		{"9999-12-31", "23:59:59.999", "9999-12-31T23:59:59.999Z"},
		{"2021-02-29", "00:00:00", ""},
		{"1900-02-29", "00:00:00", ""},
		{"2021-13-01", "00:00:00", ""},
		{"2021-00-01", "00:00:00", ""},
		{"2021-04-31", "00:00:00", ""},
		{"2021-03-02", "24:00:00", ""},
		{"2021-03-02", "10:60:00", ""},
		{"2021-03-02", "10:00:60", ""},
		{"2021-03-02", "10:00:0x", ""},
		{"2021-03-02", "10:00:00.", ""},
		{"2021-03-02", "10:00:00Q", ""},
		{"2021-03-02", "10:00:00+2", ""},
		{"2021/03/02", "10:00:00", ""},
		{"21-03-02", "10:00:00", ""},
		{"2021-03-02", "10:00", ""},
		{"-021-03-02", "10:00:00", ""},
	}
	for _, c := range cases {
		tm, ok := TimeOf(c.date, c.clock)
		tb, okb := TimeOf([]byte(c.date), []byte(c.clock))
		if ok != okb || !tm.Equal(tb) {
			t.Errorf("%s %s: string and bytes disagree", c.date, c.clock)
		}
		if c.want == "" {
			if ok {
				t.Errorf("%s %s: accepted as %v", c.date, c.clock, tm)
			}
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, c.want)
		if !ok || !tm.Equal(want) || tm.Location() != time.UTC {
			t.Errorf("%s %s: got %v %v want %v", c.date, c.clock, tm, ok, want)
		}
	}
	if tm, ok := ISOTime("2021-03-07T15:04:04.546Z"); !ok || tm.Format(time.RFC3339Nano) != "2021-03-07T15:04:04.546Z" {
		t.Errorf("ISOTime: %v %v", tm, ok)
	}
	if tm, ok := ISOTime("2021-03-07 15:04:04"); !ok || tm.Second() != 4 {
		t.Errorf("ISOTime space: %v %v", tm, ok)
	}
	for _, bad := range []string{"", "2021-03-07", "2021-03-07X15:04:04", "2021-03-07T15:04"} {
		if _, ok := ISOTime(bad); ok {
			t.Errorf("ISOTime(%q) accepted", bad)
		}
	}
}

// TestTimeOfAgainstStdlib checks the day arithmetic across the whole range.
func TestTimeOfAgainstStdlib(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	for i := 0; i < 20000; i++ {
		want := time.Unix(rnd.Int63n(253402300799), int64(rnd.Intn(1000))*1e6).UTC()
		s := want.Format("2006-01-02T15:04:05.000Z")
		got, ok := ISOTime(s)
		if !ok || !got.Equal(want) {
			t.Fatalf("%s: got %v %v", s, got, ok)
		}
	}
}

func FuzzLines(f *testing.F) {
	for _, s := range []string{"a\nb\n", "\xEF\xBB\xBFa\r\nb", "", "\x00\x00\x00", "#Fields: date time\n\n\nx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var prev int64
		var total int
		lines, long, err := Lines(context.Background(), bytes.NewReader(data), func(n int64, line []byte) error {
			if n <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", n, prev)
			}
			prev = n
			if bytes.IndexByte(line, '\n') >= 0 || len(line) > MaxLine {
				t.Fatalf("bad line %q", line)
			}
			total += len(line)
			return nil
		})
		if err != nil && err != ErrBinary {
			t.Fatalf("err=%v", err)
		}
		if err == nil {
			if want := int64(bytes.Count(data, []byte{'\n'})); lines != want && lines != want+1 {
				t.Fatalf("lines=%d for %d newlines", lines, want)
			}
			if (long != 0 && len(data) <= MaxLine) || total > len(data) {
				t.Fatalf("long=%d total=%d", long, total)
			}
		}
		if s := string(data); len(s) >= 10 {
			if tm, ok := ISOTime(s[:min(len(s), 40)]); ok && tm.Location() != time.UTC {
				t.Fatal("not UTC")
			}
			TimeOf(s[:10], s[10:])
		}
	})
}
