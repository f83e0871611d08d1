package sim

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// The test fleet lives on its own corner of loopback, away from the
// default 127.1.0.1 that a developer's exhunt-sim may be using.
var testBase = netip.MustParseAddr("127.201.0.1")

const testPort = 28443

var (
	fleetOnce sync.Once
	testFleet *Fleet
	fleetErr  error
)

// fleet is one 200-host fleet with every fault, shared by the tests.
func fleet(t *testing.T) *Fleet {
	t.Helper()
	fleetOnce.Do(func() {
		testFleet, fleetErr = Start(context.Background(), Config{Hosts: 200, Seed: 5, Faults: true, Tarpit: 0.03, Base: testBase, Port: testPort}, nil)
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return testFleet
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testFleet != nil {
		testFleet.Close()
	}
	os.Exit(code)
}

// find returns the first host matching, failing the test when the fleet
// has none (then pick another seed).
func find(t *testing.T, f *Fleet, what string, ok func(Host) bool) Host {
	t.Helper()
	for _, h := range f.Hosts() {
		if ok(h) {
			return h
		}
	}
	t.Fatalf("no host in the test fleet is %s", what)
	return Host{}
}

// client speaks to one simulated host: no verification, TLS 1.0 allowed,
// no redirects, a fresh connection each time.
func client(h Host, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func hostURL(h Host, path string) string {
	s := "https"
	if h.Profile.TLS == "http" {
		s = "http"
	}
	return s + "://" + h.Addr.String() + path
}

type answer struct {
	status int
	hdr    http.Header
	body   string
	err    error
}

func get(h Host, path string, cookie string) answer {
	req, _ := http.NewRequest(http.MethodGet, hostURL(h, path), nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client(h, 5*time.Second).Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	return answer{status: resp.StatusCode, hdr: resp.Header, body: string(b), err: err}
}

const msCookie = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3"

var (
	owaPath   = regexp.MustCompile(`/owa/auth/(\d+\.\d+\.\d+)/`)
	owaPath10 = regexp.MustCompile(`/owa/(\d+\.\d+\.\d+\.\d+)/`)
	manifestV = regexp.MustCompile(`assemblyIdentity[^>]*version="(\d+\.\d+\.\d+\.\d+)"`)
)

// readBuild is a reference probe (exposure.md §4.3 plan): X-OWA-Version
// from /owa/ or a 401 endpoint, then the export-tool manifest, then the
// logon page's resource path; "likely" when only Exchange-only answers
// show.
func readBuild(h Host) (exch, build string) {
	a := get(h, "/owa/", "")
	if v := a.hdr.Get("X-OWA-Version"); v != "" {
		return "yes", v
	}
	ews := get(h, "/EWS/Exchange.asmx", "")
	if v := ews.hdr.Get("X-OWA-Version"); v != "" {
		return "yes", v
	}
	if m := manifestV.FindStringSubmatch(get(h, "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", "").body); m != nil {
		return "yes", m[1]
	}
	logon := get(h, "/owa/auth/logon.aspx", "")
	if m := owaPath.FindStringSubmatch(logon.body); m != nil {
		return "yes", m[1]
	}
	if m := owaPath10.FindStringSubmatch(logon.body); m != nil {
		return "yes", m[1]
	}
	if ews.status == http.StatusUnauthorized && strings.Contains(strings.Join(ews.hdr.Values("WWW-Authenticate"), ","), "NTLM") {
		return "likely", ""
	}
	return "no", ""
}

// Every plain host of the fleet gives a reference probe exactly the
// build, Exchange verdict and x.js answer of its ground truth.
func TestFleetAnswersAsTruth(t *testing.T) {
	f := fleet(t)
	var checked int
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, h := range f.Hosts() {
		if !h.Expect.Answers || !h.Expect.Decidable || h.Profile.Pathology == "huge" || h.Profile.Pathology == "drip" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(h Host) {
			defer wg.Done()
			defer func() { <-sem }()
			exch, build := readBuild(h)
			if exch != h.Expect.Exchange || build != h.Expect.Build {
				t.Errorf("host %d (%s, proxy %q, front %s): probe read exchange=%s build=%q, truth exchange=%s build=%q",
					h.Index, h.Profile.Kind, h.Profile.Proxy, h.Profile.Front, exch, build, h.Expect.Exchange, h.Expect.Build)
			}
			if got := msCheck(h); got != h.Expect.Active26855 {
				t.Errorf("host %d (%s %s, mitigations %v, proxy %q): x.js check says %q, truth %q", h.Index, h.Profile.Kind, h.Profile.SetupVersion, h.Profile.Mitigations, h.Profile.Proxy, got, h.Expect.Active26855)
			}
			mu.Lock()
			checked++
			mu.Unlock()
		}(h)
	}
	wg.Wait()
	if checked < 120 {
		t.Errorf("only %d hosts checked", checked)
	}
	t.Logf("%d hosts checked", checked)
}

// msCheck is Microsoft's http-vuln-cve2021-26855 decision in its final
// form, plus "mitigated" for an aborted connection.
func msCheck(h Host) string {
	if h.Profile.SetupVersion == "" {
		return ""
	}
	a := get(h, "/owa/auth/x.js", msCookie)
	switch {
	case a.err != nil:
		return "mitigated"
	case strings.Contains(a.hdr.Get("X-CalculatedBETarget"), "localhost"):
		return "vulnerable"
	}
	return "not vulnerable"
}

func TestEndpoints(t *testing.T) {
	f := fleet(t)
	plain := func(h Host) bool {
		return h.Expect.Answers && h.Profile.Pathology == "" && h.Profile.Proxy == "" && h.Profile.Front == "forms"
	}
	t.Run("owa header and logon page", func(t *testing.T) {
		h := find(t, f, "showing X-OWA-Version on /owa/", func(h Host) bool {
			return plain(h) && h.Profile.OWAHeader && strings.HasPrefix(h.Profile.Kind, "exchange-20")
		})
		a := get(h, "/owa/", "")
		if a.status != http.StatusFound || a.hdr.Get("X-OWA-Version") != h.Profile.OWAVersion || !strings.Contains(a.hdr.Get("Location"), "/owa/auth/logon.aspx?url=") {
			t.Errorf("/owa/: %d %v", a.status, a.hdr)
		}
		if a.hdr.Get("X-FEServer") != h.Profile.FEServer || a.hdr.Get("Server") != h.Profile.Server {
			t.Errorf("/owa/ headers: %v", a.hdr)
		}
		root := get(h, "/", "")
		if root.status != http.StatusFound || !strings.HasSuffix(root.hdr.Get("Location"), "/owa/") {
			t.Errorf("/: %d %v", root.status, root.hdr)
		}
		logon := get(h, "/owa/auth/logon.aspx", "")
		want := "/owa/auth/" + exchange.MustBuild(h.Profile.OWAVersion).Short() + "/themes/resources/favicon.ico"
		if logon.status != 200 || !strings.Contains(logon.body, want) || !strings.Contains(logon.body, "OwaPage = ASP.auth_logon_aspx") || len(logon.body) < 27000 || len(logon.body) > 30000 {
			t.Errorf("logon page: %d, %d bytes, has %s: %v", logon.status, len(logon.body), want, strings.Contains(logon.body, want))
		}
		ecp := get(h, "/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2fx%2fecp", "")
		if !strings.Contains(ecp.body, "<title>Exchange Admin Center</title>") || len(ecp.body) < 46000 {
			t.Errorf("ECP logon: %d bytes", len(ecp.body))
		}
		icon := get(h, want, "")
		if icon.status != 200 || !strings.HasPrefix(icon.body, "\x00\x00\x01\x00") {
			t.Errorf("favicon: %d", icon.status)
		}
	})
	t.Run("no owa header", func(t *testing.T) {
		h := find(t, f, "hiding X-OWA-Version everywhere", func(h Host) bool {
			return plain(h) && !h.Profile.OWAHeader && !h.Profile.AuthHeader && strings.HasPrefix(h.Profile.Kind, "exchange-201")
		})
		for _, p := range []string{"/owa/", "/EWS/Exchange.asmx", "/Microsoft-Server-ActiveSync", "/autodiscover/autodiscover.xml"} {
			if a := get(h, p, ""); a.hdr.Get("X-OWA-Version") != "" {
				t.Errorf("%s: X-OWA-Version %s", p, a.hdr.Get("X-OWA-Version"))
			}
		}
	})
	t.Run("401 endpoints", func(t *testing.T) {
		h := find(t, f, "showing X-OWA-Version on 401s", func(h Host) bool {
			return plain(h) && h.Profile.AuthHeader && !h.Profile.OWAHeader
		})
		for _, p := range []string{"/EWS/Exchange.asmx", "/Microsoft-Server-ActiveSync", "/autodiscover/autodiscover.xml", "/mapi/nspi/"} {
			a := get(h, p, "")
			auth := strings.Join(a.hdr.Values("WWW-Authenticate"), ", ")
			if a.status != 401 || a.hdr.Get("X-OWA-Version") != h.Profile.OWAVersion || !strings.Contains(auth, "NTLM") || !strings.Contains(auth, "Basic realm=") {
				t.Errorf("%s: %d %v", p, a.status, a.hdr)
			}
		}
	})
	t.Run("export tool manifest", func(t *testing.T) {
		h := find(t, f, "with ECP open", func(h Host) bool {
			return plain(h) && h.Profile.ECP == "open" && h.Profile.ExportVersion != ""
		})
		a := get(h, "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", "")
		if a.status != 200 || !strings.Contains(a.body, `name="microsoft.exchange.ediscovery.exporttool.application" version="`+h.Profile.ExportVersion+`"`) || len(a.body) < 15000 || len(a.body) > 18000 {
			t.Errorf("manifest: %d, %d bytes", a.status, len(a.body))
		}
		if b := get(h, "/ecp/"+h.Profile.ExportVersion+"/exporttool/microsoft.exchange.ediscovery.exporttool.application", ""); b.status != 200 {
			t.Errorf("manifest under the build's folder: %d", b.status)
		}
		if b := get(h, "/ecp/15.0.1.1/exporttool/microsoft.exchange.ediscovery.exporttool.application", ""); b.status != 404 {
			t.Errorf("manifest under a wrong build: %d", b.status)
		}
		blocked := find(t, f, "with ECP blocked", func(h Host) bool { return plain(h) && h.Profile.ECP != "open" })
		if b := get(blocked, "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", ""); b.status != 404 && b.status != 403 {
			t.Errorf("blocked ECP: %d", b.status)
		}
	})
	t.Run("x.js vulnerable", func(t *testing.T) {
		h := find(t, f, "ProxyLogon-vulnerable and unmitigated", func(h Host) bool { return plain(h) && h.Expect.Active26855 == "vulnerable" })
		a := get(h, "/owa/auth/x.js", msCookie)
		if a.status != 500 || a.hdr.Get("X-CalculatedBETarget") != "localhost" || a.hdr.Get("X-FEServer") != h.Profile.FEServer || !strings.Contains(a.body, "NegotiateSecurityContext failed") {
			t.Errorf("x.js: %d %v %q", a.status, a.hdr, a.body)
		}
		b := get(h, "/ecp/y.js", "X-BEResource=localhost~1942062522")
		if b.hdr.Get("X-CalculatedBETarget") != "localhost" {
			t.Errorf("/ecp/y.js: %d %v", b.status, b.hdr)
		}
		if c := get(h, "/owa/auth/x.js", ""); c.status != 404 {
			t.Errorf("x.js without cookies: %d", c.status)
		}
	})
	t.Run("x.js patched", func(t *testing.T) {
		h := find(t, f, "patched", func(h Host) bool {
			return plain(h) && h.Expect.Active26855 == "not vulnerable" && len(h.Profile.Mitigations) == 0 && strings.HasPrefix(h.Profile.Kind, "exchange-201")
		})
		a := get(h, "/owa/auth/x.js", msCookie)
		if a.status != 404 || a.hdr.Get("X-CalculatedBETarget") != "" {
			t.Errorf("x.js: %d %v", a.status, a.hdr)
		}
	})
	t.Run("x.js eomt_2021", func(t *testing.T) {
		h := find(t, f, "mitigated with EOMT", func(h Host) bool { return plain(h) && h.Expect.Active26855 == "mitigated" })
		if a := get(h, "/owa/auth/x.js", msCookie); a.err == nil {
			t.Errorf("x.js on a mitigated host answered %d", a.status)
		}
		if a := get(h, "/owa/", ""); a.err != nil {
			t.Errorf("control request: %v", a.err)
		}
		// The /ecp/ variant's cookie has no '/', so the rule misses it.
		vuln := find(t, f, "mitigated but unpatched", func(h Host) bool {
			return plain(h) && h.Expect.Active26855 == "mitigated" && exchangeRow(h).State(exchange.ProxyLogon) == exchange.Vulnerable
		})
		if b := get(vuln, "/ecp/y.js", "X-BEResource=localhost~1942062522"); b.hdr.Get("X-CalculatedBETarget") != "localhost" {
			t.Errorf("/ecp/y.js on mitigated-unpatched: %v %d %v", b.err, b.status, b.hdr)
		}
	})
	t.Run("federated", func(t *testing.T) {
		h := find(t, f, "federated and vulnerable", func(h Host) bool {
			return h.Expect.Answers && h.Profile.Pathology == "" && h.Profile.Proxy == "" && h.Profile.Front == "federated" && h.Profile.Kind != "exchange-online"
		})
		if a := get(h, "/owa/", ""); a.status != 302 || !strings.Contains(a.hdr.Get("Location"), "/adfs/ls/") {
			t.Errorf("/owa/: %d %v", a.status, a.hdr)
		}
		if h.Expect.Active26855 == "vulnerable" {
			if a := get(h, "/owa/auth/x.js", msCookie); a.status != 302 || a.hdr.Get("X-CalculatedBETarget") != "localhost" {
				t.Errorf("x.js federated: %d %v", a.status, a.hdr)
			}
		}
	})
	t.Run("reverse proxy strips X- headers", func(t *testing.T) {
		h := find(t, f, "behind a stripping proxy", func(h Host) bool {
			return h.Expect.Answers && h.Profile.Pathology == "" && h.Profile.Proxy == "strip" && (h.Profile.OWAHeader || h.Profile.AuthHeader)
		})
		for _, p := range []string{"/owa/", "/EWS/Exchange.asmx"} {
			a := get(h, p, "")
			for k := range a.hdr {
				if strings.HasPrefix(k, "X-") {
					t.Errorf("%s: %s leaked through the proxy", p, k)
				}
			}
			if a.hdr.Get("Server") != h.Profile.ProxyServer {
				t.Errorf("%s: Server %q", p, a.hdr.Get("Server"))
			}
		}
	})
	t.Run("proxyshell probe", func(t *testing.T) {
		const q = "/autodiscover/autodiscover.json?@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com"
		const mapi = "/autodiscover/autodiscover.json?@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com"
		h := find(t, f, "ProxyShell-open", func(h Host) bool { return plain(h) && h.Expect.ProxyShellProbe == "vulnerable" })
		a := get(h, q, "")
		if a.status != 302 || !strings.Contains(a.body, "Microsoft.Exchange.Clients.Owa2.Server.Core.OwaADUserNotFoundException") {
			t.Errorf("owa variant: %d %q", a.status, a.body)
		}
		m := get(h, mapi, "")
		if m.status != 200 || !strings.Contains(m.body, "Exchange MAPI/HTTP Connectivity Endpoint") || !strings.Contains(m.body, "S-1-5-18") ||
			m.hdr.Get("X-ServerApplication") != "Exchange/"+exchange.MustBuild(h.Profile.OWAVersion).Padded() {
			t.Errorf("mapi variant: %d %v", m.status, m.hdr)
		}
		p := find(t, f, "ProxyShell-patched", func(h Host) bool {
			return plain(h) && h.Expect.ProxyShellProbe == "not vulnerable" && strings.HasPrefix(h.Profile.Kind, "exchange-201")
		})
		if a := get(p, q, ""); a.status != 400 {
			t.Errorf("patched: %d", a.status)
		}
	})
	t.Run("proxynotshell heuristic", func(t *testing.T) {
		const q = "/autodiscover/autodiscover.json?a@foo.var/owa/?&Email=autodiscover/autodiscover.json?a@foo.var&Protocol=XYZ&FooProtocol=Powershell"
		h := find(t, f, "with EOMTv2", func(h Host) bool { return plain(h) && h.Expect.PNSMitigation == "present" })
		if a := get(h, q, ""); a.err == nil {
			t.Errorf("EOMTv2 host answered %d", a.status)
		}
		u := find(t, f, "below Nov22SU without EOMTv2", func(h Host) bool {
			return plain(h) && h.Expect.PNSMitigation == "absent" && exchangeRow(h).State(exchange.ProxyNotShell) == exchange.Vulnerable && h.Profile.FEServer != ""
		})
		if a := get(u, q, ""); a.status != 302 || strings.Contains(a.body, "Protocol") || a.hdr.Get("X-FEServer") == "" {
			t.Errorf("unmitigated: %d %v %q", a.status, a.hdr, a.body)
		}
		p := find(t, f, "Nov22SU-patched", func(h Host) bool {
			return plain(h) && h.Expect.PNSMitigation == "absent" && exchangeRow(h).Build.Major == 15 && exchangeRow(h).State(exchange.ProxyNotShell) == exchange.NotVulnerable
		})
		if a := get(p, q, ""); a.status != 400 {
			t.Errorf("patched: %d", a.status)
		}
	})
	t.Run("not exchange", func(t *testing.T) {
		for _, kind := range []string{"iis-default", "other-web"} {
			h := find(t, f, kind, func(h Host) bool { return h.Expect.Answers && h.Profile.Kind == kind && h.Profile.Pathology == "" })
			if a := get(h, "/", ""); a.status != 200 || a.hdr.Get("X-FEServer") != "" {
				t.Errorf("%s /: %d", kind, a.status)
			}
			if a := get(h, "/owa/", ""); a.status != 404 {
				t.Errorf("%s /owa/: %d", kind, a.status)
			}
		}
	})
	t.Run("2010 resource path", func(t *testing.T) {
		h := find(t, f, "Exchange 2010", func(h Host) bool { return plain(h) && h.Profile.Kind == "exchange-2010" })
		if a := get(h, "/owa/auth/logon.aspx", ""); !strings.Contains(a.body, "/owa/"+h.Profile.OWAVersion+"/themes/") || strings.Contains(a.body, "/owa/auth/1") {
			t.Errorf("2010 logon page lacks /owa/%s/", h.Profile.OWAVersion)
		}
	})
}

func exchangeRow(h Host) exchange.Release {
	for _, r := range exchange.Table() {
		if r.Build.String() == h.Profile.SetupVersion {
			return r
		}
	}
	return exchange.Release{}
}

func TestTransports(t *testing.T) {
	f := fleet(t)
	t.Run("plain HTTP refuses TLS", func(t *testing.T) {
		h := find(t, f, "plain HTTP", func(h Host) bool { return h.Expect.Answers && h.Profile.TLS == "http" && h.Profile.Pathology == "" })
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", h.Addr.String(), &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			c.Close()
			t.Fatal("TLS handshake with a plain-HTTP host succeeded")
		}
		if a := get(h, "/", ""); a.err != nil || a.status == 0 {
			t.Errorf("plain HTTP GET: %v", a.err)
		}
	})
	t.Run("TLS 1.0 only", func(t *testing.T) {
		h := find(t, f, "TLS 1.0 only", func(h Host) bool { return h.Expect.Answers && h.Profile.TLS == "tls10" && h.Profile.Pathology == "" })
		c, err := tls.Dial("tcp", h.Addr.String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
		if err != nil {
			t.Fatalf("TLS 1.0 handshake: %v", err)
		}
		if v := c.ConnectionState().Version; v != tls.VersionTLS10 {
			t.Errorf("version %x", v)
		}
		c.Close()
		if c, err := tls.Dial("tcp", h.Addr.String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}); err == nil {
			c.Close()
			t.Error("TLS 1.2 handshake with a TLS 1.0-only host succeeded")
		}
	})
	t.Run("expired certificate", func(t *testing.T) {
		h := find(t, f, "with an expired certificate", func(h Host) bool { return h.Expect.Answers && h.Profile.TLS == "expired" && h.Profile.Pathology == "" })
		c, err := tls.Dial("tcp", h.Addr.String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if na := c.ConnectionState().PeerCertificates[0].NotAfter; !na.Before(time.Now()) {
			t.Errorf("certificate valid until %s", na)
		}
	})
	t.Run("tarpit", func(t *testing.T) {
		h := find(t, f, "a tarpit", func(h Host) bool { return h.Profile.Pathology == "tarpit" })
		before := f.Stats().Tarpitted
		c, err := net.DialTimeout("tcp", h.Addr.String(), 2*time.Second)
		if err != nil {
			t.Fatalf("tarpit refused the connection: %v", err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		n, err := c.Read(make([]byte, 1))
		var ne net.Error
		if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("tarpit read: %d bytes, %v (want a timeout)", n, err)
		}
		if f.Stats().Tarpitted <= before {
			t.Error("tarpit connection not counted")
		}
	})
	t.Run("reset", func(t *testing.T) {
		h := find(t, f, "resetting", func(h Host) bool { return h.Profile.Pathology == "reset" })
		c, err := net.DialTimeout("tcp", h.Addr.String(), 2*time.Second)
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_, err = c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read from a resetting host: %v, want connection reset", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h := find(t, f, "closed", func(h Host) bool { return h.Profile.Kind == "closed" })
		if c, err := net.DialTimeout("tcp", h.Addr.String(), 2*time.Second); err == nil {
			c.Close()
			t.Error("closed host accepted")
		}
	})
}

func TestPathologies(t *testing.T) {
	f := fleet(t)
	t.Run("intermittent", func(t *testing.T) {
		h := find(t, f, "intermittent", func(h Host) bool { return h.Profile.Pathology == "intermittent" })
		var fails int
		for i := 0; i < 40; i++ {
			if get(h, "/owa/", "").status == 503 {
				fails++
			}
		}
		if fails == 0 || fails == 40 {
			t.Errorf("%d of 40 requests failed at %d %%", fails, h.Profile.FailPercent)
		}
	})
	t.Run("front-end pool", func(t *testing.T) {
		h := find(t, f, "a front-end pool", func(h Host) bool { return h.Profile.Pathology == "pool" })
		seen := map[string]bool{}
		for i := 0; i < 6; i++ {
			seen[get(h, "/EWS/Exchange.asmx", "").hdr.Get("X-FEServer")] = true
		}
		if h.Profile.Proxy == "" && len(seen) != 2 {
			t.Errorf("pool showed front ends %v", seen)
		}
		if h.Expect.Decidable {
			t.Error("a pool host is decidable")
		}
	})
	t.Run("huge body", func(t *testing.T) {
		h := find(t, f, "with a huge body", func(h Host) bool { return h.Profile.Pathology == "huge" && h.Profile.SetupVersion != "" })
		resp, err := client(h, 10*time.Second).Get(hostURL(h, "/owa/auth/logon.aspx"))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if n < 4<<20 && h.Profile.Front == "forms" && h.Profile.Proxy != "portal" {
			t.Errorf("huge body ended after %d bytes", n)
		}
	})
	t.Run("slow drip", func(t *testing.T) {
		h := find(t, f, "dripping", func(h Host) bool { return h.Profile.Pathology == "drip" && h.Profile.SetupVersion != "" })
		start := time.Now()
		resp, err := client(h, 10*time.Second).Get(hostURL(h, "/owa/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if el := time.Since(start); el > time.Second {
			t.Errorf("headers took %s", el)
		}
		br := bufio.NewReader(resp.Body)
		_, _ = io.ReadFull(br, make([]byte, 48))
		if el := time.Since(start); el < 400*time.Millisecond {
			t.Errorf("48 body bytes in %s: not dripping", el)
		}
	})
}

// Stats count what a probe sent, per host and per request class.
func TestStats(t *testing.T) {
	f := fleet(t)
	h := find(t, f, "plain Exchange", func(h Host) bool {
		return h.Expect.Answers && h.Profile.Pathology == "" && h.Profile.SetupVersion != "" && h.Profile.Kind != "exchange-online" && h.Profile.Proxy != "portal"
	})
	before, _ := f.HostStats(h.Index)
	get(h, "/owa/", "")
	get(h, "/owa/", "")
	get(h, "/EWS/Exchange.asmx", "")
	get(h, "/owa/auth/x.js", msCookie)
	after, ok := f.HostStats(h.Index)
	if !ok {
		t.Fatal("no stats")
	}
	if after.Requests-before.Requests != 4 || after.ByPath["/owa/"]-before.ByPath["/owa/"] != 2 ||
		after.ByPath["/EWS/"]-before.ByPath["/EWS/"] != 1 || after.ByPath["x.js-ssrf"]-before.ByPath["x.js-ssrf"] != 1 {
		t.Errorf("stats before %+v after %+v", before, after)
	}
	if after.Conns-before.Conns != 4 {
		t.Errorf("%d connections counted, want 4", after.Conns-before.Conns)
	}
	if s := f.Stats(); s.Requests < 4 || len(s.Hosts) != 200 {
		t.Errorf("fleet stats: %d requests, %d hosts", s.Requests, len(s.Hosts))
	}
}
