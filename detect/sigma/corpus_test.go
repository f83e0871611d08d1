package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	vevtx "www.velocidex.com/golang/evtx"

	"github.com/exhunt/exhunt/event"
)

// Real events: the public EVTX samples of the shared corpus
// (../shared/corpus, or $EXHUNT_CORPUS), read with a minimal flattener of
// our own so this package does not depend on the EVTX parser.

func corpusDir(t testing.TB) string {
	dir := os.Getenv("EXHUNT_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (set EXHUNT_CORPUS)", dir)
	}
	return dir
}

type corpusEvent struct {
	file string
	ev   *event.Event
}

func corpusEvents(t testing.TB) []corpusEvent {
	root := corpusDir(t)
	var out []corpusEvent
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		for _, w := range readEVTX(t, p) {
			ev := &event.Event{}
			ev.ResetWin(event.EVTX, event.Location{Path: rel, Record: w.RecordID}, w.Computer, w, w.AppendValues(nil))
			out = append(out, corpusEvent{rel, ev})
		}
		return nil
	})
	return out
}

func readEVTX(t testing.TB, path string) (out []*event.WinEvent) {
	defer func() {
		if v := recover(); v != nil {
			t.Logf("%s: evtx library panicked: %v", path, v)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunks, err := vevtx.GetChunks(f)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	for _, c := range chunks {
		recs, _ := c.Parse(0)
		for _, r := range recs {
			if w := flattenRecord(r.Event); w != nil {
				out = append(out, w)
			}
		}
	}
	return out
}

func dget(d *ordereddict.Dict, k string) any {
	v, _ := d.Get(k)
	return v
}

func flattenRecord(v any) *event.WinEvent {
	root, ok := v.(*ordereddict.Dict)
	if !ok {
		return nil
	}
	ev, ok := dget(root, "Event").(*ordereddict.Dict)
	if !ok {
		return nil
	}
	w := &event.WinEvent{}
	if sys, ok := dget(ev, "System").(*ordereddict.Dict); ok {
		w.Channel = fmt.Sprint(dget(sys, "Channel"))
		w.Computer = fmt.Sprint(dget(sys, "Computer"))
		if p, ok := dget(sys, "Provider").(*ordereddict.Dict); ok {
			w.Provider = fmt.Sprint(dget(p, "Name"))
		}
		id := dget(sys, "EventID")
		if d, ok := id.(*ordereddict.Dict); ok {
			id = dget(d, "Value")
		}
		fmt.Sscan(fmt.Sprint(id), &w.EventID)
		fmt.Sscan(fmt.Sprint(dget(sys, "EventRecordID")), &w.RecordID)
		fmt.Sscan(fmt.Sprint(dget(sys, "Level")), &w.Level)
		if tc, ok := dget(sys, "TimeCreated").(*ordereddict.Dict); ok {
			var secs float64
			fmt.Sscan(fmt.Sprint(dget(tc, "SystemTime")), &secs)
			w.Time = time.Unix(int64(secs), 0).UTC()
		}
	}
	var leaves func(key string, v any, depth int)
	leaves = func(key string, v any, depth int) {
		switch x := v.(type) {
		case *ordereddict.Dict:
			if depth > 8 {
				return
			}
			for _, k := range x.Keys() {
				leaves(k, dget(x, k), depth+1)
			}
		case []any:
			for _, e := range x {
				leaves(key, e, depth+1)
			}
		case nil:
			w.Add(key, "")
		default:
			w.Add(key, fmt.Sprint(x))
		}
	}
	for _, sec := range []string{"EventData", "UserData"} {
		if d, ok := dget(ev, sec).(*ordereddict.Dict); ok {
			for _, k := range d.Keys() {
				leaves(k, dget(d, k), 0)
			}
		}
	}
	return w
}

// TestCorpusEVTX runs every SigmaHQ windows, emerging-threats and
// threat-hunting rule over the real events of the corpus, checks the
// engine against brute-force evaluation on each, and logs what fired.
func TestCorpusEVTX(t *testing.T) {
	evs := corpusEvents(t)
	lr := loadHQ(t, "rules/windows", "rules-emerging-threats", "rules-threat-hunting")
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := e.NewScanner()
	sc.OnError = func(err error) { t.Error(err) }
	bf := e.NewScanner()
	perFile := map[string]map[string]int{}
	total := 0
	for _, ce := range evs {
		var got []int
		sc.Scan(ce.ev, func(r *Rule, _ Match) { got = append(got, slices.Index(e.rules, r)) })
		if want := bruteForceAll(bf, ce.ev); !slices.Equal(got, want) {
			t.Errorf("%s record %d: engine %v, brute force %v", ce.file, ce.ev.Loc.Record, names(e, got), names(e, want))
		}
		for _, i := range got {
			if perFile[ce.file] == nil {
				perFile[ce.file] = map[string]int{}
			}
			perFile[ce.file][e.rules[i].Title]++
			total++
		}
	}
	t.Logf("%d corpus events, %d rule hits", len(evs), total)
	var files []string
	for f := range perFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		var rs []string
		for r, n := range perFile[f] {
			rs = append(rs, fmt.Sprintf("%s ×%d", r, n))
		}
		sort.Strings(rs)
		t.Logf("%s:\n\t%s", f, strings.Join(rs, "\n\t"))
	}
	if len(evs) > 0 && total == 0 {
		t.Error("no SigmaHQ rule fired on the attack samples")
	}
}

// BenchmarkScanCorpusEVTX: the SigmaHQ windows rules over the corpus's
// real events (mostly Security and Sysmon).
func BenchmarkScanCorpusEVTX(b *testing.B) {
	ces := corpusEvents(b)
	lr := loadHQ(b, "rules/windows")
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]*event.Event, len(ces))
	for i, ce := range ces {
		evs[i] = ce.ev
	}
	runScanBench(b, e, evs)
}
