package sigma

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// Benchmarks: Scan over synthetic Windows events (the mix in gen_test.go:
// Sysmon 1/3/7/10/11/13/22, Security 4624/4688, PowerShell 4104, System)
// and IIS lines. events/s is per core.
//
//	go test -run '^$' -bench Scan -benchtime 2s ./detect/sigma

func benchEvents(n int) []*event.Event {
	rng := rand.New(rand.NewPCG(1, 1))
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = realisticEvent(rng)
	}
	return evs
}

func runScanBench(b *testing.B, e *Engine, evs []*event.Event) {
	sc := e.NewScanner()
	sc.OnError = func(err error) { b.Fatal(err) }
	hits := 0
	emit := func(*Rule, Match) { hits++ }
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		sc.Scan(evs[i%len(evs)], emit)
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(hits)/float64(i), "hits/event")
}

// BenchmarkScanSigmaHQWindows: every SigmaHQ rules/windows rule.
func BenchmarkScanSigmaHQWindows(b *testing.B) {
	lr := loadHQ(b, "rules/windows")
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := e.Stats()
	b.Logf("%d rules, %d routed, %d buckets, %d needles, %d placements, %d without needles", st.Rules, st.Routed, st.Buckets, st.Needles, st.Placements, st.AlwaysEval)
	runScanBench(b, e, benchEvents(4096))
}

// BenchmarkScanSmall: a handful of Exchange rules, the pack's scale.
func BenchmarkScanSmall(b *testing.B) {
	src := strings.Join([]string{
		ruleYAML("    sel:\n        ParentImage|endswith: '\\w3wp.exe'\n        Image|endswith:\n            - '\\cmd.exe'\n            - '\\powershell.exe'\n    condition: sel\n"),
		strings.Replace(ruleYAML("    sel:\n        CommandLine|contains|all:\n            - comsvcs\n            - MiniDump\n    condition: sel\n"), "11111111", "22222222", 1),
		strings.Replace(ruleYAML("    sel:\n        Image|endswith: '\\UMWorkerProcess.exe'\n    filter:\n        Image|endswith:\n            - '\\wermgr.exe'\n            - '\\WerFault.exe'\n    condition: sel and not filter\n"), "11111111", "33333333", 1),
		strings.Replace(ruleYAML("    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel\n"), "11111111", "44444444", 1),
		strings.Replace(ruleYAML("    sel:\n        CommandLine|re: '(?i)new-mailboxexportrequest.+-filepath'\n    condition: sel\n"), "11111111", "55555555", 1),
	}, "\n---\n")
	lr := ParseFile("small.yml", []byte(src))
	if len(lr.Loaded) != 5 {
		b.Fatalf("loaded %d: %v %v", len(lr.Loaded), lr.Invalid, lr.Unsupported)
	}
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	runScanBench(b, e, benchEvents(4096))
}

// BenchmarkScanSigmaHQWeb: the SigmaHQ web and emerging-threats rules over
// IIS lines.
func BenchmarkScanSigmaHQWeb(b *testing.B) {
	lr := loadHQ(b, "rules/web", "rules-emerging-threats")
	e, err := NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	stems := []string{"/owa/auth/logon.aspx", "/ecp/default.aspx", "/mapi/emsmdb/", "/EWS/Exchange.asmx", "/Microsoft-Server-ActiveSync", "/autodiscover/autodiscover.xml", "/owa/service.svc"}
	uas := []string{"Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/120.0.0.0+Safari/537.36", "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.5056;+Pro)", "Apple-iPhone14C2/2005.3"}
	evs := make([]*event.Event, 2048)
	for i := range evs {
		evs[i] = lineEvent(b, event.IIS, "date", "2021-03-02", "time", "21:04:11", "s-ip", "10.0.0.5", "cs-method", pick(rng, []string{"GET", "POST"}),
			"cs-uri-stem", pick(rng, stems), "cs-uri-query", pick(rng, []string{"", "ExchClientVer=15.1.2176", "action=GetFolder&ID=-12&AC=1"}), "s-port", "443",
			"cs-username", pick(rng, []string{"", `CONTOSO\alice`}), "c-ip", "203.0.113.7", "cs(User-Agent)", pick(rng, uas), "cs(Referer)", "",
			"sc-status", pick(rng, []string{"200", "302", "401"}), "sc-substatus", "0", "sc-win32-status", "0", "time-taken", "15")
	}
	runScanBench(b, e, evs)
}
