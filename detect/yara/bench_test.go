package yara

import (
	"os"
	"testing"
)

// BenchmarkScanWebshellCorpus scans every corpus sample with the web-shell
// rule set, one scanner, files already in memory (the cost measured is the
// match, not the read). Compare with
//
//	yara -p 1 -r <compiled subset> shared/corpus
func BenchmarkScanWebshellCorpus(b *testing.B) {
	rules, _ := Compile(loadSources(b, webshellRuleFiles(b)))
	paths := corpusFiles(b)
	var datas [][]byte
	var vars []Vars
	total := 0
	for _, p := range paths {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		datas = append(datas, d)
		vars = append(vars, corpusVars(p))
		total += len(d)
	}
	sc := rules.NewScanner()
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for i, d := range datas {
			if _, err := sc.Scan(d, vars[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCompileWebshellSubset(b *testing.B) {
	srcs := loadSources(b, webshellRuleFiles(b))
	b.ReportAllocs()
	for b.Loop() {
		Compile(srcs)
	}
}
