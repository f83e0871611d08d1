package probe

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

func TestPlanStopsAtFourPartHeader(t *testing.T) {
	fx := &fakeExchange{OWAHeader: "15.2.858.2", OWA3: "15.2.858", FE: "EX01"}
	srv := httptest.NewTLSServer(fx)
	defer srv.Close()
	r := one(t, testConfig(), srv.URL)
	if r.Status != StatusOK || r.Build != "15.2.858.2" || r.BuildSource != SourceOWAHeader || r.BuildPrecision != PrecisionBuild {
		t.Fatalf("got %+v", r)
	}
	if r.Requests != 1 || len(fx.seen()) != 1 {
		t.Errorf("a four-part header on /owa/ must end the plan: %d requests %v", r.Requests, fx.seen())
	}
	if r.Families[exchange.ProxyShell].Status != exchange.Vulnerable || r.Families[exchange.ProxyLogon].Status != exchange.NotVulnerable {
		t.Errorf("families %+v", r.Families)
	}
	if r.Scheme != "https" || r.CU != "CU9" {
		t.Errorf("scheme %q cu %q", r.Scheme, r.CU)
	}
	if len(r.Findings) != 3 {
		t.Fatalf("want PS, PNS, OWS findings, got %d", len(r.Findings))
	}
	f := r.Findings[0]
	if f.ID != "EXH-PROBE-PS" || f.Severity.String() != "high" || f.Evidence.Path != srv.URL+"/owa/" || !strings.Contains(f.Evidence.Excerpt, "X-OWA-Version: 15.2.858.2") || len(f.Problems()) != 0 {
		t.Errorf("finding %+v", f)
	}
}

func TestPlanEWSThenManifestThenCU(t *testing.T) {
	// ECP blocked: the manifest answers 404, the logon page gives the CU.
	blocked := &fakeExchange{OWA3: "15.1.2176"}
	bsrv := httptest.NewTLSServer(blocked)
	defer bsrv.Close()
	br := one(t, testConfig(), bsrv.URL)
	want := []string{"/owa/", "/EWS/Exchange.asmx", pathExport, "/owa/auth/logon.aspx"}
	if got := blocked.seen(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ECP blocked: requests %v, want %v", got, want)
	}
	if br.Build != "15.1.2176" || br.BuildPrecision != PrecisionCU || br.BuildSource != SourceOWAPath {
		t.Errorf("ECP blocked: got %+v", br)
	}

	// ECP open: the manifest's four parts end the plan before the logon page.
	fx := &fakeExchange{OWA3: "15.1.2176", Export: "15.1.2176.14"}
	srv := httptest.NewTLSServer(fx)
	defer srv.Close()
	r := one(t, testConfig(), srv.URL)
	want = []string{"/owa/", "/EWS/Exchange.asmx", pathExport}
	if got := fx.seen(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests %v, want %v", got, want)
	}
	if r.Build != "15.1.2176.14" || r.BuildSource != SourceExport || r.Exchange != ExchangeYes || r.SourcesDisagree {
		t.Fatalf("got %+v", r)
	}
	if len(r.Sources) != 1 {
		t.Errorf("sources %+v", r.Sources)
	}
	for _, f := range exchange.Families[:2] {
		if r.Families[f].Status != exchange.NotVulnerable {
			t.Errorf("%s: %+v", f, r.Families[f])
		}
	}
}

func TestPlainHTTPFallback(t *testing.T) {
	fx := &fakeExchange{OWAHeader: "15.0.1497.2"}
	srv := httptest.NewServer(fx)
	defer srv.Close()
	r := one(t, testConfig(), hostOf(srv)) // bare ip:port: TLS first, then HTTP
	if r.Status != StatusOK || r.Scheme != "http" || r.Build != "15.0.1497.2" {
		t.Fatalf("got %+v", r)
	}
	// A forced https scheme does not fall back.
	r = one(t, testConfig(), "https://"+hostOf(srv)+"/")
	if r.Status != StatusTLSError || r.Exchange != ExchangeUnknown {
		t.Fatalf("forced https on a plain server: %+v", r)
	}
}

func TestTLS10Server(t *testing.T) {
	fx := &fakeExchange{OWAHeader: "15.0.1497.2"}
	srv := httptest.NewUnstartedServer(fx)
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}
	srv.StartTLS()
	defer srv.Close()
	r := one(t, testConfig(), srv.URL)
	if r.Status != StatusOK || r.Build != "15.0.1497.2" {
		t.Fatalf("TLS 1.0-only server: %+v", r)
	}
}

func TestTarpitHitsDeadlineAndRunGoesOn(t *testing.T) {
	addr, accepted := tarpit(t)
	fx := &fakeExchange{OWAHeader: "15.2.1118.7"}
	srv := httptest.NewTLSServer(fx)
	defer srv.Close()
	cfg := testConfig()
	cfg.RequestTimeout = 300 * time.Millisecond
	cfg.HostTimeout = 2 * time.Second
	start := time.Now()
	rs, sum, _ := runTargets(t, context.Background(), cfg, addr, srv.URL)
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if strings.HasSuffix(r.Target, addr) {
			if r.Status != StatusTimeout || r.GaveUp == "" || r.Exchange != ExchangeUnknown {
				t.Errorf("tarpit: %+v", r)
			}
			for f, v := range r.Families {
				if v.Status != exchange.Unknown {
					t.Errorf("tarpit %s: %s", f, v.Status)
				}
			}
			// Not one byte since accept: given up after the first time-out,
			// without the second try that K=2 would allow a host that spoke.
			if r.Requests != 1 || accepted.Load() != 1 || !strings.HasPrefix(r.GaveUp, "silent host") {
				t.Errorf("tarpit: %d requests, %d connections, gave up %q", r.Requests, accepted.Load(), r.GaveUp)
			}
		} else if r.Status != StatusOK {
			t.Errorf("healthy host: %+v", r)
		}
	}
	if d := time.Since(start); d > cfg.HostTimeout+time.Second {
		t.Errorf("run took %v", d)
	}
	if sum.Status[StatusTimeout] != 1 || sum.Errors[errTimeout] != 1 || sum.GaveUp != 1 {
		t.Errorf("summary %+v %+v", sum.Status, sum.Errors)
	}
}

// TestSilenceTimeout: a tarpit costs the silence time-out, not the
// request time-out; a host that completed its handshake and then stalls is
// not silent and gets the K=2 consecutive time-outs.
func TestSilenceTimeout(t *testing.T) {
	addr, _ := tarpit(t)
	cfg := testConfig()
	cfg.RequestTimeout = 5 * time.Second
	cfg.SilenceTimeout = 200 * time.Millisecond
	start := time.Now()
	r := one(t, cfg, addr)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent host held the worker %v", d)
	}
	if r.Status != StatusTimeout || !strings.HasPrefix(r.GaveUp, "silent host") {
		t.Errorf("tarpit: %+v", r)
	}

	release := make(chan struct{})
	var calls atomic.Int64
	stall := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		<-release
	}))
	defer stall.Close()
	defer close(release)
	cfg.RequestTimeout = 300 * time.Millisecond
	r = one(t, cfg, stall.URL)
	if r.Status != StatusTimeout || strings.HasPrefix(r.GaveUp, "silent") || r.Requests != 2 || calls.Load() != 2 {
		t.Errorf("stalling host: %d requests, %d served, gave up %q", r.Requests, calls.Load(), r.GaveUp)
	}
}

func TestHostDeadline(t *testing.T) {
	addr, _ := tarpit(t)
	cfg := testConfig()
	cfg.RequestTimeout = 5 * time.Second
	cfg.HostTimeout = 400 * time.Millisecond
	start := time.Now()
	r := one(t, cfg, addr)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("host deadline not kept: %v", d)
	}
	if r.Status != StatusTimeout || r.GaveUp != "host deadline reached" {
		t.Errorf("%+v", r)
	}
}

func TestBodyCaps(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/owa/" {
			http.Redirect(w, r, "/owa/auth/logon.aspx?url=x&reason=0", http.StatusFound)
			return
		}
		if r.URL.Path != "/owa/auth/logon.aspx" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`<!-- OwaPage = ASP.auth_logon_aspx --><link href="/owa/auth/15.1.2375/themes/x.ico">`))
		chunk := []byte(strings.Repeat("A", 32<<10))
		for i := 0; i < 1000; i++ { // 32 MB unless the client stops reading
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	r := one(t, testConfig(), srv.URL)
	if r.Build != "15.1.2375" || r.BuildPrecision != PrecisionCU {
		t.Fatalf("got %+v", r)
	}
	if s := sent.Load(); s > 8<<20 {
		t.Errorf("server managed to send %d bytes: the body cap did not stop the read", s)
	}
}

func TestHeaderCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("HTTP/1.1 200 OK\r\nX-Junk: "))
				junk := []byte(strings.Repeat("j", 4096))
				for i := 0; i < 10000; i++ {
					if _, err := c.Write(junk); err != nil {
						return
					}
				}
			}()
		}
	}()
	r := one(t, testConfig(), "http://"+ln.Addr().String()+"/")
	if r.Status != StatusHTTPError {
		t.Errorf("endless headers: %+v", r)
	}
}

func TestConsecutiveFailureSkip(t *testing.T) {
	// Every connection is reset after the request: failures in a row.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				buf := make([]byte, 1024)
				c.Read(buf)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	cfg := testConfig()
	cfg.MaxFailures = 3
	r := one(t, cfg, "http://"+ln.Addr().String()+"/")
	if r.Status != StatusReset || !strings.Contains(r.GaveUp, "3 network failures") || r.Requests != 3 {
		t.Errorf("%+v", r)
	}
}

func TestRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	r := one(t, testConfig(), addr)
	if r.Status != StatusRefused || r.Requests != 1 || r.Exchange != ExchangeUnknown {
		t.Errorf("%+v", r)
	}
}

// servers starts n plain-404 TLS servers on 127.0.0.1 (one IP, n ports)
// whose handler runs inside h.
func servers(t *testing.T, n int, h func()) []string {
	var specs []string
	for i := 0; i < n; i++ {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h()
			w.WriteHeader(404)
		}))
		t.Cleanup(srv.Close)
		specs = append(specs, srv.URL)
	}
	return specs
}

func TestPerIPCap(t *testing.T) {
	// Eight servers on 127.0.0.1: one IP, eight targets. Requests only
	// travel over open connections, so with a cap of 2 connections the
	// servers together never handle more than 2 requests at once.
	var open, peak, total atomic.Int64
	var mu sync.Mutex
	specs := servers(t, 8, func() {
		mu.Lock()
		if n := open.Add(1); n > peak.Load() {
			peak.Store(n)
		}
		mu.Unlock()
		total.Add(1)
		time.Sleep(10 * time.Millisecond)
		open.Add(-1)
	})
	cfg := testConfig()
	cfg.PerIPConns = 2
	rs, _, _ := runTargets(t, context.Background(), cfg, specs...)
	if len(rs) != 8 {
		t.Fatalf("%d results", len(rs))
	}
	if p := peak.Load(); p > 2 || total.Load() < 16 {
		t.Errorf("peak of %d requests at once to one IP (cap 2), %d in all", p, total.Load())
	}
	// Without the cap the same run goes wider: the test can fail.
	peak.Store(0)
	cfg.PerIPConns = 64
	runTargets(t, context.Background(), cfg, specs...)
	if peak.Load() <= 2 {
		t.Logf("uncapped peak only %d (slow machine?)", peak.Load())
	}
}

func TestRateLimit(t *testing.T) {
	var n atomic.Int64
	specs := servers(t, 6, func() { n.Add(1) })
	// Every host is asked /owa/ and EWS (two 404s: not Exchange, and the
	// logon page under /owa/ is not asked). At 40 req/s with a burst of 2,
	// 12 requests cannot take less than 10/40 s. Only this lower bound is
	// asserted; a slow machine only makes the run longer.
	cfg := testConfig()
	cfg.Rate = 40
	start := time.Now()
	rs, sum, _ := runTargets(t, context.Background(), cfg, specs...)
	d := time.Since(start)
	if len(rs) != 6 || n.Load() != 12 || sum.Requests != 12 {
		t.Fatalf("%d results, %d requests served, %d counted", len(rs), n.Load(), sum.Requests)
	}
	if d < 10*time.Second/40 {
		t.Errorf("12 requests at 40/s took only %v", d)
	}

	// Per-IP rate: the six servers share 127.0.0.1; 20 req/s, burst 1.
	cfg = testConfig()
	cfg.PerIPRate = 20
	start = time.Now()
	runTargets(t, context.Background(), cfg, specs...)
	if d := time.Since(start); d < 11*time.Second/20 {
		t.Errorf("12 requests at 20/s per IP took only %v", d)
	}
}

func TestAllowDeny(t *testing.T) {
	fx := &fakeExchange{OWAHeader: "15.2.1118.7"}
	srv := httptest.NewTLSServer(fx)
	defer srv.Close()
	cfg := testConfig()
	cfg.Deny = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	rs, sum, _ := runTargets(t, context.Background(), cfg, srv.URL, "192.0.2.1", "[2001:db8::1]:443")
	if len(rs) != 3 {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		switch r.IP {
		case "127.0.0.1":
			if r.Status != StatusSkipped || !strings.Contains(r.Reason, "deny") || r.Requests != 0 {
				t.Errorf("denied: %+v", r)
			}
		default:
			if r.Status != StatusNotAllowed || r.Requests != 0 {
				t.Errorf("outside the default allow list: %+v", r)
			}
		}
	}
	if len(fx.seen()) != 0 {
		t.Errorf("a denied host was contacted: %v", fx.seen())
	}
	if sum.Status[StatusNotAllowed] != 2 || sum.Status[StatusSkipped] != 1 {
		t.Errorf("%+v", sum.Status)
	}
}

func TestCancelledRunWritesPartialSummary(t *testing.T) {
	addr, _ := tarpit(t)
	cfg := testConfig()
	cfg.RequestTimeout = 10 * time.Second
	cfg.HostTimeout = 20 * time.Second
	cfg.Grace = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	rs, sum, _ := runTargets(t, ctx, cfg, addr, "127.0.0.0/28")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if !sum.Interrupted {
		t.Error("summary not marked interrupted")
	}
	var buf strings.Builder
	WriteSummary(&buf, sum, "text")
	if !strings.Contains(buf.String(), "INTERRUPTED") {
		t.Errorf("text summary:\n%s", buf.String())
	}
	var cut bool
	for _, r := range rs {
		if strings.HasSuffix(r.Target, addr) {
			cut = r.Status == StatusInterrupted && r.GaveUp == "run interrupted" && !r.done
		}
	}
	if !cut {
		t.Errorf("the tarpit host in flight must end interrupted, with its partial result: %+v", rs)
	}

	// An already cancelled context: nothing is probed, the summary comes back.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	rs, sum, _ = runTargets(t, ctx, cfg, addr)
	if !sum.Interrupted || len(rs) > 1 {
		t.Errorf("cancelled run: %d results, %+v", len(rs), sum)
	}
}

func TestActiveChecks(t *testing.T) {
	cases := []struct {
		name     string
		fx       *fakeExchange
		result   string
		pl       exchange.Status
		conf     string
		eomt     string
		pns      string
		noteHas  string
		findings int
	}{
		{"vulnerable, 3-part", &fakeExchange{OWA3: "15.1.2106", XJS: "vuln"}, ActiveVulnerable, exchange.Vulnerable, ConfidenceConfirmed, MitAbsent, MitAbsent, "confirmed", 4},
		{"patched", &fakeExchange{OWAHeader: "15.1.2106.13", XJS: "patched"}, ActiveNotVulnerable, exchange.NotVulnerable, ConfidenceVersion, MitAbsent, MitAbsent, "", 3},
		{"mitigated", &fakeExchange{OWAHeader: "15.1.2106.2", XJS: "abort", PNSAbort: true}, ActiveMitigated, exchange.Vulnerable, ConfidenceVersion, MitPresent, MitPresent, "EOMT", 4},
		{"negative on a vulnerable build", &fakeExchange{OWAHeader: "15.1.2106.2", XJS: "patched"}, ActiveNotVulnerable, exchange.Vulnerable, ConfidenceVersion, MitAbsent, MitAbsent, "vulnerable-by-version, probe-negative", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(c.fx)
			defer srv.Close()
			cfg := testConfig()
			cfg.Active = true
			r := one(t, cfg, srv.URL)
			if r.Active == nil || r.Active.Result != c.result {
				t.Fatalf("active %+v", r.Active)
			}
			pl := r.Families[exchange.ProxyLogon]
			if pl.Status != c.pl || pl.Confidence != c.conf || !strings.Contains(pl.Note, c.noteHas) {
				t.Errorf("ProxyLogon %+v", pl)
			}
			if r.Mitigations.EOMT2021 != c.eomt || r.Mitigations.PNSMitigation != c.pns || r.Mitigations.EEMS != MitUnknown {
				t.Errorf("mitigations %+v", r.Mitigations)
			}
			if len(r.Findings) != c.findings {
				t.Errorf("%d findings", len(r.Findings))
			}
			xjs := 0
			for _, p := range c.fx.seen() {
				if strings.HasPrefix(p, "/owa/auth/x.js") {
					xjs++
				}
			}
			want := 1
			if c.result == ActiveMitigated {
				want = 3 // the check, once more on a new connection, and the control
			}
			if xjs != want {
				t.Errorf("%d x.js requests, want %d", xjs, want)
			}
		})
	}
}

func TestNoActiveWithoutFlag(t *testing.T) {
	fx := &fakeExchange{OWA3: "15.1.2106", XJS: "vuln"}
	srv := httptest.NewTLSServer(fx)
	defer srv.Close()
	r := one(t, testConfig(), srv.URL)
	for _, p := range fx.seen() {
		if strings.Contains(p, "x.js") || strings.Contains(p, "autodiscover") {
			t.Errorf("sent %s without --active", p)
		}
	}
	if r.Active != nil || r.Mitigations.EOMT2021 != MitUnknown {
		t.Errorf("%+v %+v", r.Active, r.Mitigations)
	}
}

// TestSlowDripBodyIsCut: a logon page trickling a few bytes at a time is
// cut once it runs below minBodyRate instead of holding the worker for the
// request time-out; a page whose marker came before the trickle still
// gives its build.
func TestSlowDripBodyIsCut(t *testing.T) {
	drip := func(head string) *httptest.Server {
		return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/owa/" {
				w.Header().Set("X-FEServer", "EX01")
				http.Redirect(w, r, "/owa/auth/logon.aspx?url=x&reason=0", http.StatusFound)
				return
			}
			if r.URL.Path != "/owa/auth/logon.aspx" {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(head))
			w.(http.Flusher).Flush()
			for i := 0; i < 200; i++ {
				if _, err := w.Write([]byte("<!-- drip -->")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}))
	}
	cfg := testConfig()
	cfg.RequestTimeout = 20 * time.Second
	cfg.HostTimeout = 30 * time.Second

	slow := drip("<html>")
	defer slow.Close()
	start := time.Now()
	r := one(t, cfg, slow.URL)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow-drip host held the worker %v", d)
	}
	cut := false
	for _, e := range r.Errors {
		cut = cut || e.Kind == errSlowBody
	}
	if !cut || r.Build != "" {
		t.Errorf("slow-drip body not reported as cut: %+v", r)
	}

	marked := drip(`<!-- OwaPage = ASP.auth_logon_aspx --><link href="/owa/auth/15.1.2375/themes/x.ico">`)
	defer marked.Close()
	start = time.Now()
	r = one(t, cfg, marked.URL)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("marked slow-drip host held the worker %v", d)
	}
	if r.Build != "15.1.2375" || r.BuildPrecision != PrecisionCU {
		t.Errorf("build from the head of a slow page: %+v", r)
	}
}

// TestIPv6Loopback: a [::1]:port target is probed end to end (skipped
// where the machine has no IPv6 loopback).
func TestIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	fx := &fakeExchange{OWAHeader: "15.1.2106.2"}
	srv := httptest.NewUnstartedServer(fx)
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	r := one(t, testConfig(), "[::1]:"+port)
	if r.Status != StatusOK || r.IP != "::1" || r.Build != "15.1.2106.2" || r.Families[exchange.ProxyLogon].Status != exchange.Vulnerable {
		t.Fatalf("got %+v", r)
	}
}
