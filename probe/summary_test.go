package probe

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/internal/golden"
)

// fixedSummary is built from synthetic results with fixed times, so that
// the golden files do not depend on the machine.
func fixedSummary() *Summary {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSummary(t0)
	mk := func(status, exch, build, precision string, dur int64, fam map[exchange.Family]exchange.Status) *Result {
		r := &Result{Status: status, Exchange: exch, BuildPrecision: precision, DurationMS: dur, Requests: 3,
			Mitigations: Mitigations{MitUnknown, MitUnknown, MitUnknown}, Families: unknownFamilies("")}
		if build != "" {
			a := exchange.Classify(exchange.MustBuild(build))
			r.Build, r.Product, r.CU, r.EOL = build, string(a.Product), a.CU, a.EOLAt(t0)
		}
		for f, st := range fam {
			r.Families[f] = FamilyResult{Status: st}
		}
		return r
	}
	v, p, n := exchange.Vulnerable, exchange.Potentially, exchange.NotVulnerable
	s.add(mk(StatusOK, ExchangeYes, "15.2.858.2", PrecisionBuild, 120, map[exchange.Family]exchange.Status{exchange.ProxyLogon: n, exchange.ProxyShell: v, exchange.ProxyNotShell: v, exchange.OWASSRF: v}))
	s.add(mk(StatusOK, ExchangeYes, "15.1.2106", PrecisionCU, 300, map[exchange.Family]exchange.Status{exchange.ProxyLogon: p, exchange.ProxyShell: v, exchange.ProxyNotShell: v, exchange.OWASSRF: v}))
	s.add(mk(StatusOK, ExchangeLikely, "", PrecisionNone, 80, nil))
	s.add(mk(StatusOK, ExchangeNo, "", PrecisionNone, 40, nil))
	r := mk(StatusTimeout, ExchangeUnknown, "", PrecisionNone, 4000, nil)
	r.Errors = []Error{{Kind: errTimeout}, {Kind: errTimeout}}
	r.GaveUp = "2 network failures in a row (time-outs counted)"
	s.add(r)
	s.add(mk(StatusNotAllowed, ExchangeUnknown, "", PrecisionNone, 0, nil))
	s.badLine()
	s.BadLines = []BadLine{{Source: "hosts.txt", Line: 7, Text: "bogus", Reason: `"bogus" is neither an address nor a host name`}}
	s.finish(t0.Add(2*time.Second), 2*time.Second)
	return s
}

func TestSummaryGolden(t *testing.T) {
	for _, f := range SummaryFormats {
		var b bytes.Buffer
		if err := WriteSummary(&b, fixedSummary(), f); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "summary."+f, b.Bytes())
	}
	if err := WriteSummary(&bytes.Buffer{}, fixedSummary(), "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestPercentile(t *testing.T) {
	s := newSummary(time.Now())
	for i := int64(1); i <= 100; i++ {
		s.add(&Result{Status: StatusOK, DurationMS: i * 10})
	}
	p50, p99 := s.percentile(0.5), s.percentile(0.99)
	if p50 < 475 || p50 > 530 || p99 < 940 || p99 > 1040 {
		t.Errorf("p50 %d p99 %d", p50, p99)
	}
}

func TestResume(t *testing.T) {
	fx := &fakeExchange{OWAHeader: "15.2.1118.7"}
	var specs []string
	for i := 0; i < 6; i++ {
		srv := httptest.NewTLSServer(fx)
		defer srv.Close()
		specs = append(specs, srv.URL)
	}
	path := filepath.Join(t.TempDir(), "resume.json")
	rs, err := OpenResume(path, "args: a b")
	if err != nil {
		t.Fatal(err)
	}
	// A first run that only gets the first three targets.
	cfg := testConfig()
	cfg.Resume = rs
	results, _, _ := runTargets(t, context.Background(), cfg, specs[:3]...)
	if len(results) != 3 || rs.Next() != 3 {
		t.Fatalf("%d results, next %d", len(results), rs.Next())
	}
	// The rerun over the whole input skips them.
	rs2, err := OpenResume(path, "args: a b")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resume = rs2
	results, sum, _ := runTargets(t, context.Background(), cfg, specs...)
	if len(results) != 3 || sum.Resumed != 3 {
		t.Fatalf("rerun: %d results, %d resumed", len(results), sum.Resumed)
	}
	for _, r := range results {
		if r.Index < 3 {
			t.Errorf("index %d probed again", r.Index)
		}
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"next":6`) {
		t.Errorf("resume file %s", b)
	}
	if _, err := OpenResume(path, "other input"); err == nil {
		t.Error("a resume file for other inputs was accepted")
	}
	os.WriteFile(path, []byte("{garbage"), 0o644)
	if _, err := OpenResume(path, "args: a b"); err == nil {
		t.Error("a broken resume file was accepted")
	}
}

func TestResumeOutOfOrder(t *testing.T) {
	r, _ := OpenResume(filepath.Join(t.TempDir(), "r.json"), "x")
	for _, i := range []int64{2, 4, 0, 3} {
		r.Mark(i)
	}
	if r.Next() != 1 || !r.Done(2) || r.Done(1) || !r.Done(0) {
		t.Errorf("next %d", r.Next())
	}
	r.Mark(1)
	if r.Next() != 5 || len(r.done) != 0 {
		t.Errorf("next %d, %d left in the set", r.Next(), len(r.done))
	}
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	r2, err := OpenResume(r.path, "x")
	if err != nil || r2.Next() != 5 {
		t.Fatalf("reload: %v %d", err, r2.Next())
	}
}
