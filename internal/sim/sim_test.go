package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/exchange"
)

func truth(t *testing.T, cfg Config) []byte {
	t.Helper()
	hosts, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTruth(&b, hosts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Hosts: 1000, Seed: 7, Faults: true, Tarpit: 0.05}
	a, b := truth(t, cfg), truth(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of one Config differ")
	}
	// Host i does not depend on the fleet size, nor on sharding.
	small := truth(t, Config{Hosts: 100, Seed: 7, Faults: true, Tarpit: 0.05})
	lines := bytes.SplitAfter(a, []byte("\n"))
	if !bytes.Equal(small, bytes.Join(lines[:100], nil)) {
		t.Error("the first 100 hosts of a 1,000-host fleet differ from a 100-host fleet")
	}
	shard := truth(t, Config{Hosts: 1000, Seed: 7, Faults: true, Tarpit: 0.05, First: 400, Count: 200})
	if !bytes.Equal(shard, bytes.Join(lines[400:600], nil)) {
		t.Error("shard [400, 600) differs from the same hosts of the whole fleet")
	}
	if bytes.Equal(a, truth(t, Config{Hosts: 1000, Seed: 8, Faults: true, Tarpit: 0.05})) {
		t.Error("another seed gives the same fleet")
	}
	// Faults and tarpits leave the installed builds alone.
	plain, _ := Generate(Config{Hosts: 1000, Seed: 7, Tarpit: 0})
	faulty, _ := Generate(cfg)
	for i := range plain {
		if plain[i].Profile.SetupVersion != faulty[i].Profile.SetupVersion || plain[i].Profile.Kind != faulty[i].Profile.Kind {
			t.Fatalf("host %d: build changes with Faults: %s vs %s", i, plain[i].Profile.SetupVersion, faulty[i].Profile.SetupVersion)
		}
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, tc := range []struct {
		base string
		n    int
	}{
		{"10.0.0.1", 1},
		{"192.168.1.10", 10},
		{"0.0.0.0", 1},
		{"::1", 1},
		{"128.0.0.1", 1},
		{"127.255.255.200", 100}, // runs off the end of 127/8
	} {
		cfg := Config{Hosts: tc.n, Base: netip.MustParseAddr(tc.base), Port: 28443}
		if _, err := Generate(cfg); err == nil {
			t.Errorf("Generate with base %s, %d hosts: no error", tc.base, tc.n)
		}
		if f, err := Start(context.Background(), cfg, nil); err == nil {
			f.Close()
			t.Errorf("Start with base %s: no error", tc.base)
		}
	}
	if _, err := Generate(Config{Hosts: 10, Scenario: "1999"}); err == nil {
		t.Error("unknown scenario accepted")
	}
}

// The presets roughly follow exposure.md §6.5.
func TestScenarioShares(t *testing.T) {
	const n = 8000
	for _, tc := range []struct {
		scenario string
		family   exchange.Family
		vuln     float64 // share of 2013–2019 hosts below the family's fix
		eomt     float64 // share of 2013–2019 hosts with eomt_2021 (-1: do not check)
		eomtV2   float64
	}{
		{"2021-03-02", exchange.ProxyLogon, 0.97, 0, 0},
		{"2021-03-14", exchange.ProxyLogon, 0.25, -1, 0},
		{"2021-03-22", exchange.ProxyLogon, 0.14, -1, 0},
		{"2021-08-proxyshell", exchange.ProxyShell, 0.30, -1, 0},
		{"2022-10-proxynotshell", exchange.ProxyNotShell, 1, -1, 0.40},
		{"2023-12-eol", exchange.ProxyShell, 0.09, 0.03, 0.15},
		{"mixed", exchange.ProxyLogon, 0.25, -1, 0.15},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			hosts, err := Generate(Config{Hosts: n, Seed: 3, Scenario: tc.scenario, Tarpit: 0})
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(mustScenario(tc.scenario))
			var onprem, vuln, eomt, eomtV2, exch, unmitigated int
			products := map[string]int{}
			for _, h := range hosts {
				p := h.Profile
				if strings.HasPrefix(p.Kind, "exchange-") && p.Kind != "exchange-online" {
					exch++
					products[p.Product]++
				}
				rel, ok := w.byBuild[p.SetupVersion]
				if !ok {
					continue
				}
				onprem++
				if openTo(rel, tc.family) {
					vuln++
					if !hasMitigation(p, "eomt_2021") {
						unmitigated++
					}
				}
				if hasMitigation(p, "eomt_2021") {
					eomt++
				}
				if hasMitigation(p, "eomt_v2_2022") {
					eomtV2++
				}
				if d := releaseDate(rel.Date); d.After(w.sc.Date) {
					t.Fatalf("host %d runs %s, released %s after the scenario's day", h.Index, p.SetupVersion, rel.Date)
				}
			}
			share := func(k int) float64 { return float64(k) / float64(onprem) }
			near(t, "vulnerable share", share(vuln), tc.vuln, 0.03)
			if tc.eomt >= 0 {
				near(t, "eomt_2021 share", share(eomt), tc.eomt, 0.02)
			}
			near(t, "eomt_v2_2022 share", share(eomtV2), tc.eomtV2, 0.03)
			near(t, "Exchange share of the fleet", float64(exch+0)/n, mustScenario(tc.scenario).Kinds[kindExchange], 0.02)
			t.Logf("%s: %d on-premises 2013-2019, %.1f%% below the %s fix, %.1f%% of those unmitigated overall, eomt %.1f%%, eomtv2 %.1f%%; products %v",
				tc.scenario, onprem, 100*share(vuln), tc.family, 100*share(unmitigated), 100*share(eomt), 100*share(eomtV2), products)
			switch tc.scenario {
			case "2021-03-22":
				near(t, "vulnerable and unmitigated", share(unmitigated), 0.08, 0.025)
			case "2023-12-eol":
				// 2007 : 2010 : 2013 = 275 : 4,062 : 26,298 (Macnica, Dec 2023).
				eol := float64(products["Exchange 2007"] + products["Exchange 2010"] + products["Exchange 2013"])
				near(t, "2013 among EOL", float64(products["Exchange 2013"])/eol, 26298.0/30635, 0.02)
				near(t, "2010 among EOL", float64(products["Exchange 2010"])/eol, 4062.0/30635, 0.02)
			}
		})
	}
}

func mustScenario(name string) scenario {
	s, ok := scenarioByName(name)
	if !ok {
		panic(name)
	}
	return s
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.3f, want %.3f ± %.3f", what, got, want, tol)
	}
}

// The ground truth is exchange.Classify of the readable build, and
// unknown when nothing is readable.
func TestExpectFollowsClassify(t *testing.T) {
	hosts, err := Generate(Config{Hosts: 5000, Seed: 11, Faults: true, Tarpit: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, h := range hosts {
		e := h.Expect
		seen["precision="+e.Precision]++
		seen["exchange="+e.Exchange]++
		seen["active="+e.Active26855]++
		if e.Build == "" {
			for f, s := range e.Families {
				if s != exchange.Unknown {
					t.Fatalf("host %d: no build but %s is %s", h.Index, f, s)
				}
			}
			if e.Precision != "none" {
				t.Fatalf("host %d: no build, precision %s", h.Index, e.Precision)
			}
			continue
		}
		b := exchange.MustBuild(e.Build)
		if want := map[int]string{3: "cu", 4: "build"}[b.Parts]; want != e.Precision {
			t.Fatalf("host %d: build %s with precision %s", h.Index, e.Build, e.Precision)
		}
		a := exchange.Classify(b)
		for _, f := range exchange.Families {
			if e.Families[f] != a.Status(f) {
				t.Fatalf("host %d: %s is %s, Classify(%s) says %s", h.Index, f, e.Families[f], e.Build, a.Status(f))
			}
			seen[string(f)+"="+string(e.Families[f])]++
		}
		if !e.Answers || e.Exchange != "yes" || e.Product != string(a.Product) {
			t.Fatalf("host %d: build %s but answers=%v exchange=%s product=%s", h.Index, e.Build, e.Answers, e.Exchange, e.Product)
		}
	}
	// Every branch of the rules shows up in the mixed fleet.
	for _, k := range []string{"precision=cu", "precision=build", "precision=none", "exchange=likely", "exchange=no",
		"active=vulnerable", "active=mitigated", "active=not vulnerable",
		"ProxyLogon=potentially vulnerable", "ProxyShell=vulnerable", "ProxyNotShell=not vulnerable", "OWASSRF=unknown"} {
		if seen[k] == 0 {
			t.Errorf("no host with %s", k)
		}
	}
	t.Logf("%v", seen)
}

func TestTruthIsJSONLines(t *testing.T) {
	b := truth(t, Config{Hosts: 50, Seed: 1})
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		var h Host
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if h.Index != i || h.Addr != netip.AddrPortFrom(addrAt(netip.MustParseAddr("127.1.0.1"), i), 18443) {
			t.Fatalf("line %d: index %d addr %s", i+1, h.Index, h.Addr)
		}
		if len(h.Expect.Families) != 4 {
			t.Fatalf("line %d: families %v", i+1, h.Expect.Families)
		}
	}
}

func TestMainGenerateOnly(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"-n", "20", "-seed", "2", "-generate-only", "-truth", dir + "/f.jsonl", "-targets", dir + "/t.txt"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	tb, err := os.ReadFile(dir + "/t.txt")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(tb)), "\n"); len(lines) != 20 || lines[0] != "127.1.0.1:18443" {
		t.Errorf("targets: %q", lines)
	}
	fb, _ := os.ReadFile(dir + "/f.jsonl")
	if !bytes.Equal(fb, truth(t, Config{Hosts: 20, Seed: 2, Tarpit: -1})) {
		t.Error("the command's truth differs from WriteTruth of the same fleet")
	}
	if code := Main(context.Background(), []string{"-n", "5", "-base", "192.168.0.1", "-generate-only"}, &out, &errb); code == 0 {
		t.Error("a base outside 127.0.0.0/8 was accepted")
	}
}
