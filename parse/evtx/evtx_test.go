package evtx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
)

const (
	hdrSize   = evtxgen.FileHeaderSize
	chunkSize = evtxgen.ChunkSize
)

type result struct {
	ids []uint64
	st  parse.Stats
	err error
}

// run parses data and checks what every event must satisfy.
func run(t testing.TB, data []byte) result {
	t.Helper()
	var r result
	r.st, r.err = evtx.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "x.evtx", Host: "h", Source: event.EVTX}, func(ev *event.Event) error {
		checkEvent(t, ev)
		r.ids = append(r.ids, ev.Win.RecordID)
		return nil
	})
	checkStats(t, r.st)
	return r
}

func checkEvent(t testing.TB, ev *event.Event) {
	t.Helper()
	if ev.Source != event.EVTX || ev.Win == nil || ev.Schema != nil || ev.Loc.Record != ev.Win.RecordID || ev.Loc.Line != 0 {
		t.Fatalf("event %+v", ev)
	}
	if tm, ok := ev.Time(); ok && (tm.Location() != time.UTC || tm.Year() < 1970 || tm.Year() >= 2200) {
		t.Fatalf("time %v", tm)
	}
	if x := ev.Excerpt(); !utf8.ValidString(x) || len(x) > event.MaxExcerpt+8 {
		t.Fatalf("excerpt %q", x)
	}
	_, _ = ev.Get("EventID"), ev.Get("Data")
}

func checkStats(t testing.TB, st parse.Stats) {
	t.Helper()
	if st.Records < 0 || st.Malformed < 0 || len(st.Problems) > parse.MaxProblems || st.First.After(st.Last) || st.First.IsZero() != st.Last.IsZero() {
		t.Fatalf("stats %+v", st)
	}
}

// gen writes n sample records (three to four chunks for n=600).
func gen(t testing.TB, n int) ([]byte, []uint64) {
	t.Helper()
	recs := benchRecords(n)
	data, err := evtxgen.Bytes(recs)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, n)
	for i := range recs {
		ids[i] = recs[i].RecordID
	}
	return data, ids
}

// chunkRecords returns the record ids of each chunk of a generated file.
func chunkRecords(data []byte) [][]uint64 {
	var out [][]uint64
	for off := hdrSize; off+chunkSize <= len(data); off += chunkSize {
		c := data[off : off+chunkSize]
		var ids []uint64
		free := int(binary.LittleEndian.Uint32(c[0x30:]))
		for r := 0x200; r < free; r += int(binary.LittleEndian.Uint32(c[r+4:])) {
			ids = append(ids, binary.LittleEndian.Uint64(c[r+8:]))
		}
		out = append(out, ids)
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func chunkAt(data []byte, k int) []byte { return data[hdrSize+k*chunkSize:][:chunkSize] }

func TestHostile(t *testing.T) {
	good, all := gen(t, 600)
	per := chunkRecords(good)
	if len(per) < 3 {
		t.Fatalf("need 3 chunks, got %d", len(per))
	}
	n0 := len(per[0])
	hdr := good[:hdrSize]
	zero := make([]byte, chunkSize)
	junk := make([]byte, chunkSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}

	mut := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	tests := []struct {
		name      string
		data      []byte
		err       error
		min, max  int // records
		problems  bool
		malformed bool
	}{
		{name: "empty", data: nil, err: evtx.ErrNotEVTX},
		{name: "three bytes", data: []byte("Elf"), err: evtx.ErrNotEVTX},
		{name: "wrong magic", data: mut(func(b []byte) { copy(b, "ElfFilX") }), err: evtx.ErrNotEVTX},
		{name: "text file", data: []byte("#Software: Microsoft Internet Information Services 10.0\r\n"), err: evtx.ErrNotEVTX},
		{name: "header cut", data: good[:100], err: evtx.ErrTruncated},
		{name: "header only", data: hdr, min: 0, max: 0},
		{name: "clean", data: good, min: len(all), max: len(all)},
		{name: "absurd chunk count", data: mut(func(b []byte) {
			binary.LittleEndian.PutUint16(b[0x2A:], 0xFFFF)
			binary.LittleEndian.PutUint64(b[0x10:], 1<<62)
		}), min: len(all), max: len(all), problems: true},
		{name: "trailing zero chunks", data: cat(good, zero, zero, zero), min: len(all), max: len(all)},
		{name: "zero chunk between", data: cat(hdr, chunkAt(good, 0), zero, good[hdrSize+chunkSize:]), min: len(all), max: len(all), problems: true},
		{name: "junk chunk between", data: cat(hdr, chunkAt(good, 0), junk, good[hdrSize+chunkSize:]), min: len(all), max: len(all), problems: true, malformed: true},
		{name: "chunk magic broken", data: mut(func(b []byte) { chunkAt(b, 1)[7] = 'X' }), min: len(all) - len(per[1]), max: len(all) - len(per[1]), problems: true, malformed: true},
		{name: "cut inside chunk 2", data: good[:hdrSize+chunkSize+chunkSize/2], min: n0 + 1, max: n0 + len(per[1]), problems: true},
		{name: "cut after chunk 1 header", data: good[:hdrSize+chunkSize+600], min: n0, max: n0, problems: true},
		{name: "free space offset absurd", data: mut(func(b []byte) { binary.LittleEndian.PutUint32(chunkAt(b, 0)[0x30:], 0xFFFFFFFF) }), min: len(all), max: len(all), problems: true},
		{name: "free space offset zero", data: mut(func(b []byte) { binary.LittleEndian.PutUint32(chunkAt(b, 0)[0x30:], 0) }), min: len(all), max: len(all), problems: true},
		{name: "record size broken", data: mut(func(b []byte) {
			c := chunkAt(b, 0)
			r := 0x200
			for i := 0; i < 10; i++ {
				r += int(binary.LittleEndian.Uint32(c[r+4:]))
			}
			binary.LittleEndian.PutUint32(c[r+4:], 0x7FFFFFF0) // record 11
		}), min: len(all) - 1, max: len(all) - 1, problems: true, malformed: true},
		{name: "first record magic broken", data: mut(func(b []byte) { chunkAt(b, 0)[0x200] = 'X' }), min: len(all), max: len(all), problems: true},
		{name: "first record broken", data: mut(func(b []byte) { binary.LittleEndian.PutUint64(chunkAt(b, 0)[0x200:], 0) }), min: len(all) - len(per[0]), max: len(all) - 1, problems: true, malformed: true},
		{name: "record header ids wild", data: mut(func(b []byte) {
			c := chunkAt(b, 0)
			binary.LittleEndian.PutUint64(c[0x200+8:], 1<<63+5)
			binary.LittleEndian.PutUint64(c[0x08:], 1<<63)
			binary.LittleEndian.PutUint64(c[0x10:], 3)
		}), min: len(all), max: len(all), problems: true},
		{name: "all zero after header", data: cat(hdr, zero, zero), min: 0, max: 0},
		{name: "junk after header", data: cat(hdr, junk), min: 0, max: 0, problems: true, malformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.data)
			if tt.err != nil {
				if !errors.Is(r.err, tt.err) || r.st.Records != 0 {
					t.Fatalf("err = %v (records %d), want %v", r.err, r.st.Records, tt.err)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("err = %v", r.err)
			}
			if len(r.ids) < tt.min || len(r.ids) > tt.max || int64(len(r.ids)) != r.st.Records {
				t.Fatalf("records = %d, want %d..%d; stats %+v", len(r.ids), tt.min, tt.max, r.st)
			}
			if (len(r.st.Problems) > 0) != tt.problems || (r.st.Malformed > 0) != tt.malformed {
				t.Errorf("problems %q malformed %d", r.st.Problems, r.st.Malformed)
			}
			// Records come back in file order, each once.
			seen := map[uint64]bool{}
			for _, id := range r.ids {
				if seen[id] {
					t.Fatalf("record %d twice", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestBitFlips damages generated files at random: never a panic or an
// error, and every chunk before the first damaged one is read in full.
func TestBitFlips(t *testing.T) {
	good, _ := gen(t, 600)
	per := chunkRecords(good)
	rng := rand.New(rand.NewPCG(7, 11))
	runs := 150
	if testing.Short() {
		runs = 50
	}
	for i := 0; i < runs; i++ {
		b := bytes.Clone(good)
		first := len(b)
		for k := rng.IntN(40) + 1; k > 0; k-- {
			at := hdrSize + rng.IntN(len(b)-hdrSize)
			b[at] ^= 1 << rng.IntN(8)
			first = min(first, at)
		}
		r := run(t, b)
		if r.err != nil {
			t.Fatalf("run %d: %v", i, r.err)
		}
		intact := (first - hdrSize) / chunkSize
		var want []uint64
		for k := 0; k < intact; k++ {
			want = append(want, per[k]...)
		}
		if len(r.ids) < len(want) {
			t.Fatalf("run %d: %d records, want at least the %d of the %d intact chunks", i, len(r.ids), len(want), intact)
		}
		for k, id := range want {
			if r.ids[k] != id {
				t.Fatalf("run %d: record %d is %d, want %d", i, k, r.ids[k], id)
			}
		}
	}
}

// TestCuts truncates a file at many lengths: the records of every whole
// chunk before the cut are read.
func TestCuts(t *testing.T) {
	good, _ := gen(t, 300)
	per := chunkRecords(good)
	for cut := hdrSize; cut < len(good); cut += 4093 {
		r := run(t, good[:cut])
		if r.err != nil {
			t.Fatalf("cut %d: %v", cut, r.err)
		}
		whole := 0
		for k := 0; k < (cut-hdrSize)/chunkSize; k++ {
			whole += len(per[k])
		}
		if len(r.ids) < whole {
			t.Fatalf("cut %d: %d records, want at least %d", cut, len(r.ids), whole)
		}
		if cut%chunkSize != hdrSize%chunkSize && len(r.st.Problems) == 0 {
			t.Errorf("cut %d: no problem noted", cut)
		}
	}
}

func TestCancel(t *testing.T) {
	good, _ := gen(t, 600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := evtx.Parse(ctx, bytes.NewReader(good), parse.Meta{}, func(*event.Event) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	_, err := evtx.Parse(ctx, bytes.NewReader(good), parse.Meta{}, func(*event.Event) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 600 {
		t.Errorf("cancel during parse: err = %v after %d records", err, n)
	}
	stop := errors.New("stop")
	st, err := evtx.Parse(context.Background(), bytes.NewReader(good), parse.Meta{}, func(*event.Event) error { return stop })
	if err != stop || st.Records != 1 {
		t.Errorf("emit error: %v, %d records", err, st.Records)
	}
	// A read error after the first chunk: the first chunk's records, then the error.
	broken := io.MultiReader(bytes.NewReader(good[:hdrSize+chunkSize+100]), iotestErr{})
	st, err = evtx.Parse(context.Background(), broken, parse.Meta{}, func(*event.Event) error { return nil })
	if err == nil || st.Records == 0 {
		t.Errorf("read error: %v, %d records", err, st.Records)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// corpusDir is the shared corpus of real public samples (absent on a
// user's machine).
const corpusDir = "/work/shared/corpus"

var manifestCount = regexp.MustCompile(`EVTX, (\d+) records \(([^)]*)\); (\S+)\.\.(\S+)`)

// TestCorpus reads every .evtx of the shared corpus and checks it against
// MANIFEST.tsv where the manifest states the content: record count, the
// per channel:EventID counts it lists, and the first and last time.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(filepath.Join(corpusDir, "MANIFEST.tsv")); err != nil {
		t.Skip("corpus not present")
	}
	want := map[string][]string{}
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) > 6 {
			if m := manifestCount.FindStringSubmatch(cols[6]); m != nil {
				want[cols[0]] = m[1:]
			}
		}
	}
	f.Close()
	var files, records int64
	var elapsed time.Duration
	err = filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".evtx") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, p)
		counts := map[string]int{}
		start := time.Now()
		st, err := evtx.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: rel, Source: event.EVTX}, func(ev *event.Event) error {
			checkEvent(t, ev)
			counts[fmt.Sprintf("%s:%d", ev.Win.Channel, ev.Win.EventID)]++
			return nil
		})
		elapsed += time.Since(start)
		files++
		records += st.Records
		if err != nil || st.Malformed != 0 || len(st.Problems) != 0 {
			t.Errorf("%s: err %v, stats %+v", rel, err, st)
		}
		m, ok := want[filepath.ToSlash(rel)]
		if !ok {
			t.Logf("%s: %d records (the manifest states no count)", rel, st.Records)
			return nil
		}
		if n, _ := strconv.Atoi(m[0]); int64(n) != st.Records {
			t.Errorf("%s: %d records, manifest says %d", rel, st.Records, n)
		}
		for _, part := range strings.Split(m[1], ", ") {
			key, n, ok := strings.Cut(part, " x")
			if !ok {
				continue // "..."
			}
			if c, _ := strconv.Atoi(n); counts[key] != c {
				t.Errorf("%s: %s x%d, manifest says x%d", rel, key, counts[key], c)
			}
		}
		if got := st.First.Format("2006-01-02T15:04:05"); got != m[2] {
			t.Errorf("%s: first %s, manifest says %s", rel, got, m[2])
		}
		if got := st.Last.Format("2006-01-02T15:04:05"); got != m[3] {
			t.Errorf("%s: last %s, manifest says %s", rel, got, m[3])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Skip("no .evtx in the corpus")
	}
	t.Logf("%d files, %d records in %v: %.0f records/s", files, records, elapsed, float64(records)/elapsed.Seconds())
}
