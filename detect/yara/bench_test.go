package yara

import (
	"os"
	"sync"
	"testing"
)

type benchCorpus struct {
	datas [][]byte
	vars  []Vars
	total int64
}

func loadBenchCorpus(b *testing.B) benchCorpus {
	var c benchCorpus
	for _, p := range corpusFiles(b) {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		c.datas = append(c.datas, d)
		c.vars = append(c.vars, corpusVars(p))
		c.total += int64(len(d))
	}
	return c
}

// BenchmarkScanWebshellCorpus scans every corpus sample with the web-shell
// rule set on one scanner, files already in memory (the match, not the
// read, is measured). The yara CLI equivalent is
//
//	yarac -d filename= -d filepath= -d extension= -d filetype= -d owner= <ns:file>... ws.yarc
//	yara -p 1 -r -d ... -C ws.yarc shared/corpus
func BenchmarkScanWebshellCorpus(b *testing.B) {
	rules, _ := Compile(loadSources(b, webshellRuleFiles(b)))
	c := loadBenchCorpus(b)
	sc := rules.NewScanner()
	b.SetBytes(c.total)
	b.ReportAllocs()
	for b.Loop() {
		for i, d := range c.datas {
			if _, err := sc.Scan(d, c.vars[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkScanWebshellCorpus2 is the same with two scanners sharing the
// files, as `yara -p 2` does.
func BenchmarkScanWebshellCorpus2(b *testing.B) {
	rules, _ := Compile(loadSources(b, webshellRuleFiles(b)))
	c := loadBenchCorpus(b)
	scs := []*Scanner{rules.NewScanner(), rules.NewScanner()}
	b.SetBytes(c.total)
	for b.Loop() {
		var wg sync.WaitGroup
		for w, sc := range scs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(c.datas); i += len(scs) {
					sc.Scan(c.datas[i], c.vars[i])
				}
			}()
		}
		wg.Wait()
	}
}

func BenchmarkCompileWebshellSubset(b *testing.B) {
	srcs := loadSources(b, webshellRuleFiles(b))
	b.ReportAllocs()
	for b.Loop() {
		Compile(srcs)
	}
}
