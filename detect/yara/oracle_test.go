//go:build yara_cgo

// The oracle: libyara (through go-yara, cgo) and this engine must agree on
// every corpus sample for every rule this engine loads. Needs libyara-dev
// 4.2.x and github.com/hillu/go-yara/v4 v4.2.4 in go.mod:
//
//	go test -tags yara_cgo -run Oracle ./detect/yara
package yara

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	goyara "github.com/hillu/go-yara/v4"
)

func TestOracleWebshellSubset(t *testing.T) {
	oracle(t, webshellRuleFiles(t))
}

// TestOracleAllSignatureBase runs the same comparison over every
// signature-base file; it is slow, so it runs only with -oracle-all.
func TestOracleAllSignatureBase(t *testing.T) {
	if os.Getenv("EXHUNT_ORACLE_ALL") == "" {
		t.Skip("set EXHUNT_ORACLE_ALL=1 to compare the whole signature-base")
	}
	oracle(t, allRuleFiles(t))
}

func oracle(t *testing.T, files []string) {
	srcs := loadSources(t, files)
	type sample struct {
		name string
		data []byte
	}
	var samples []sample
	for _, path := range corpusFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Dir(filepath.Dir(filepath.Dir(path))), path)
		samples = append(samples, sample{rel, data})
	}
	nCorpus := len(samples)
	// Synthetic samples built from the rules' own strings reach far more
	// rules (and near misses) than the corpus.
	g := &sampleGen{r: rand.New(rand.NewPCG(7, 11))}
	for _, s := range srcs {
		frags := g.fragments(s.Data)
		for i, d := range g.samples(frags, 3*len(frags)+1) {
			samples = append(samples, sample{fmt.Sprintf("synthetic/%s/%d.bin", s.Name, i), d})
		}
	}

	comp, err := goyara.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range defaultExternals {
		if err := comp.DefineVariable(name, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range srcs {
		if err := comp.AddString(string(s.Data), s.Name); err != nil {
			t.Fatalf("libyara rejects %s: %v", s.Name, err)
		}
	}
	yrules, err := comp.GetRules()
	if err != nil {
		t.Fatal(err)
	}
	ysc, err := goyara.NewScanner(yrules)
	if err != nil {
		t.Fatal(err)
	}

	ours, rep := Compile(srcs)
	loaded := map[string]bool{}
	for _, f := range rep.Files {
		for _, r := range f.Rules {
			if r.Loaded {
				loaded[f.Name+":"+r.Rule] = true
			}
		}
	}
	sc := ours.NewScanner()

	var nSamples, nBytes, yMatches, oMatches, ruleDiffs, strDiffs, lenDiffs, skipped, corpusMatches int
	for si, smp := range samples {
		data, rel, path := smp.data, smp.name, smp.name
		nSamples++
		nBytes += len(data)
		vars := corpusVars(path)
		for k, v := range vars {
			if err := ysc.DefineVariable(k, v); err != nil {
				t.Fatal(err)
			}
		}
		var ym goyara.MatchRules
		if err := ysc.SetCallback(&ym).ScanMem(data); err != nil {
			t.Errorf("libyara on %s: %v", path, err)
			continue
		}
		om, err := sc.Scan(data, vars)
		if err != nil {
			t.Errorf("ours on %s: %v", path, err)
		}

		want := map[string]goyara.MatchRule{}
		for _, m := range ym {
			key := m.Namespace + ":" + m.Rule
			if !loaded[key] {
				skipped++
				continue
			}
			want[key] = m
			yMatches++
			if si < nCorpus {
				corpusMatches++
			}
		}
		got := map[string]Match{}
		for _, m := range om {
			got[m.Namespace+":"+m.Rule] = m
			oMatches++
		}
		for k := range want {
			if _, ok := got[k]; !ok {
				ruleDiffs++
				t.Errorf("%s: libyara matches %s, we do not", rel, k)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				ruleDiffs++
				t.Errorf("%s: we match %s, libyara does not", rel, k)
			}
		}
		for k, y := range want {
			o, ok := got[k]
			if !ok {
				continue
			}
			d, l := compareStrings(y, o)
			strDiffs += len(d)
			lenDiffs += l
			for _, msg := range d {
				t.Errorf("%s: %s: %s", rel, k, msg)
			}
		}
	}
	t.Logf("oracle: %d rule files, %d rules loaded, %d unsupported; %d samples (%d corpus, %d synthetic), %.1f MB; rule matches libyara %d (corpus %d), ours %d (%d libyara matches of unloaded rules ignored); rule differences %d, string offset differences %d, match length differences %d",
		len(files), rep.Loaded, rep.Unsupported, nSamples, nCorpus, nSamples-nCorpus, float64(nBytes)/1e6, yMatches, corpusMatches, oMatches, skipped, ruleDiffs, strDiffs, lenDiffs)
}

// compareStrings compares the matches of one rule string by string: the
// offsets must agree where libyara listed no more than we report; lengths
// are counted, not failed (they depend on libyara's atom choice for some
// regexes).
func compareStrings(y goyara.MatchRule, o Match) (diffs []string, lenDiffs int) {
	type m struct {
		off int64
		n   int
	}
	ys := map[string][]m{}
	for _, s := range y.Strings {
		ys[s.Name] = append(ys[s.Name], m{int64(s.Offset), len(s.Data)})
	}
	os := map[string][]m{}
	for _, s := range o.Strings {
		os[s.ID] = append(os[s.ID], m{s.Offset, min(s.Length, MaxMatchData)})
	}
	ids := map[string]bool{}
	for k := range ys {
		ids[k] = true
	}
	for k := range os {
		ids[k] = true
	}
	var keys []string
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, id := range keys {
		a, b := ys[id], os[id]
		// Anonymous strings all share the name "$": compare them as one
		// set.
		sort.Slice(a, func(i, j int) bool { return a[i].off < a[j].off || a[i].off == a[j].off && a[i].n < a[j].n })
		sort.Slice(b, func(i, j int) bool { return b[i].off < b[j].off || b[i].off == b[j].off && b[i].n < b[j].n })
		if len(a) > MaxReportedMatches {
			a = a[:MaxReportedMatches]
		}
		if len(a) != len(b) {
			diffs = append(diffs, fmt.Sprintf("%s: libyara %d matches, ours %d (first: %s / %s)", id, len(a), len(b), firstOffs(a, func(x m) int64 { return x.off }), firstOffs(b, func(x m) int64 { return x.off })))
			continue
		}
		for i := range a {
			if a[i].off != b[i].off {
				diffs = append(diffs, fmt.Sprintf("%s: match %d at %d (libyara) vs %d (ours)", id, i, a[i].off, b[i].off))
				break
			}
			if a[i].n != b[i].n {
				lenDiffs++
			}
		}
	}
	return diffs, lenDiffs
}

func firstOffs[T any](l []T, off func(T) int64) string {
	var parts []string
	for i, x := range l {
		if i == 5 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprint(off(x)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
