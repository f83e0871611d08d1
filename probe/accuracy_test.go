package probe

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/internal/sim"
)

// TestAccuracy probes a simulated fleet (2 % tarpits, every other fault
// on) and scores every verdict against the simulator's ground truth: one
// result per host, the exact detection, build, precision, product and
// family verdicts on every decidable host, tarpits as time-outs with
// unknown families, the run inside its deadline; then once more with
// --active for Microsoft's x.js check and the ProxyNotShell mitigation.
func TestAccuracy(t *testing.T) {
	hosts := 1000
	if testing.Short() {
		hosts = 200
	}
	// Own addresses and port, apart from the simulator's own tests.
	cfg := sim.Config{Hosts: hosts, Seed: 20210302, Tarpit: 0.02, Faults: true, Base: netip.MustParseAddr("127.61.0.1"), Port: 28443}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet, err := sim.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	fh := fleet.Hosts()
	specs := make([]string, len(fh))
	for i, h := range fh {
		specs[i] = h.Addr.String()
	}
	for _, active := range []bool{false, true} {
		t.Run(fmt.Sprintf("active=%v", active), func(t *testing.T) {
			pc := Config{
				Workers:        250,
				PerIPConns:     2,
				PerIPRate:      -1,
				ConnectTimeout: time.Second,
				RequestTimeout: 1500 * time.Millisecond,
				HostTimeout:    4 * time.Second,
				Active:         active,
			}
			var mu sync.Mutex
			got := map[string][]*Result{}
			pc.OnResult = func(r *Result) {
				mu.Lock()
				got[r.Target] = append(got[r.Target], r)
				mu.Unlock()
			}
			const deadline = 90 * time.Second
			rctx, rcancel := context.WithTimeout(context.Background(), deadline)
			defer rcancel()
			start := time.Now()
			sum, err := Run(rctx, pc, []Input{{Name: "arg", Args: specs}}, io.Discard)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Interrupted || rctx.Err() != nil {
				t.Fatalf("the run did not finish within %v", deadline)
			}
			score(t, fh, got, active)
			t.Logf("%d hosts in %.1f s (%.0f hosts/s), %d requests, p50 %d ms, p99 %d ms", sum.Hosts, elapsed.Seconds(), float64(sum.Hosts)/elapsed.Seconds(), sum.Requests, sum.P50MS, sum.P99MS)
		})
	}
}

type tally struct{ ok, total int }

func score(t *testing.T, fh []sim.Host, got map[string][]*Result, active bool) {
	t.Helper()
	fields := map[string]*tally{}
	kinds := map[string]*tally{}
	count := func(m map[string]*tally, k string, ok bool) {
		if m[k] == nil {
			m[k] = &tally{}
		}
		m[k].total++
		if ok {
			m[k].ok++
		}
	}
	var wrong []string
	undecidable := 0
	for _, h := range fh {
		rs := got[h.Addr.String()]
		if len(rs) != 1 {
			t.Errorf("host %d %s: %d results", h.Index, h.Addr, len(rs))
			continue
		}
		r, e := rs[0], h.Expect
		var bad []string
		check := func(field, want, have string) {
			ok := want == have
			count(fields, field, ok)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s %q want %q", field, have, want))
			}
		}
		if !e.Answers {
			for f, v := range r.Families {
				if v.Status != exchange.Unknown {
					bad = append(bad, fmt.Sprintf("silent host: %s %s", f, v.Status))
				}
			}
			if h.Profile.Pathology == "tarpit" {
				check("tarpit status", StatusTimeout, r.Status)
			}
			count(fields, "silent host unknown", len(bad) == 0)
		} else if !e.Decidable {
			undecidable++
			continue
		} else {
			check("exchange", e.Exchange, r.Exchange)
			check("build", e.Build, r.Build)
			check("precision", e.Precision, r.BuildPrecision)
			wantProduct := e.Product
			if wantProduct == string(exchange.ExUnknown) {
				wantProduct = ""
			}
			check("product", wantProduct, r.Product)
			for _, f := range exchange.Families {
				want := e.Families[f]
				if active && f == exchange.ProxyLogon && e.Active26855 == ActiveVulnerable {
					want = exchange.Vulnerable // §3.3 rule 5: a positive check overrides upwards
				}
				check("family "+string(f), string(want), string(r.Families[f].Status))
			}
			if active && e.Active26855 != "" {
				have := ""
				if r.Active != nil {
					have = r.Active.Result
				}
				check("x.js check", e.Active26855, have)
				check("pns_mitigation", e.PNSMitigation, r.Mitigations.PNSMitigation)
			}
		}
		count(kinds, kindOf(h), len(bad) == 0)
		if len(bad) > 0 {
			wrong = append(wrong, fmt.Sprintf("host %d %s (%s, %s): %s", h.Index, h.Addr, kindOf(h), r.Status, strings.Join(bad, "; ")))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy (%d hosts, %d undecidable skipped):\n", len(fh), undecidable)
	for _, m := range []map[string]*tally{fields, kinds} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-28s %5d / %-5d\n", k, m[k].ok, m[k].total)
		}
	}
	t.Log(b.String())
	for i, w := range wrong {
		if i == 25 {
			t.Errorf("… %d more wrong hosts", len(wrong)-25)
			break
		}
		t.Error(w)
	}
}

func kindOf(h sim.Host) string {
	k := h.Profile.Kind
	if h.Profile.Pathology != "" {
		k += "/" + h.Profile.Pathology
	}
	if h.Profile.Proxy != "" {
		k += "/proxy-" + h.Profile.Proxy
	}
	if h.Profile.Front == "federated" {
		k += "/federated"
	}
	return k
}
