package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeExchange is a small loopback server that answers the plan's paths
// the way exposure.md §1.1 and §2.1 describe a real server.
type fakeExchange struct {
	OWAHeader  string // X-OWA-Version on /owa/
	AuthHeader string // X-OWA-Version on the 401 endpoints
	OWA3       string // /owa/auth/<a.b.c>/ in the logon page
	OWA2010    string // /owa/<a.b.c.d>/ in the logon page
	Export     string // manifest version; "" = ECP blocked (404)
	FE         string
	Federated  string // Location host of /owa/ (an STS)
	XJS        string // "vuln", "patched", "abort"
	PNSAbort   bool
	NotEx      bool // an IIS default page
	LogonBody  []byte

	mu    sync.Mutex
	paths []string
}

func (f *fakeExchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.RequestURI())
	f.mu.Unlock()
	h := w.Header()
	if f.NotEx {
		if r.URL.Path == "/" {
			fmt.Fprint(w, "<html><title>IIS Windows Server</title></html>")
			return
		}
		http.NotFound(w, r)
		return
	}
	if f.FE != "" {
		h.Set("X-FEServer", f.FE)
	}
	switch {
	case r.URL.Path == "/owa/":
		if f.OWAHeader != "" {
			h.Set("X-OWA-Version", f.OWAHeader)
		}
		loc := "/owa/auth/logon.aspx?url=https%3a%2f%2fx%2fowa%2f&reason=0"
		if f.Federated != "" {
			loc = "https://" + f.Federated + "/adfs/ls/?wa=wsignin1.0"
		}
		h.Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		fmt.Fprint(w, "<html><head><title>Object moved</title></head><body>moved</body></html>")
	case r.URL.Path == "/owa/auth/logon.aspx":
		if f.LogonBody != nil {
			w.Write(f.LogonBody)
			return
		}
		res := "/owa/auth/" + f.OWA3 + "/"
		if f.OWA2010 != "" {
			res = "/owa/" + f.OWA2010 + "/"
		}
		fmt.Fprintf(w, "<!-- OwaPage = ASP.auth_logon_aspx -->\n<link rel=\"shortcut icon\" href=\"%sthemes/resources/favicon.ico\">\n<title>Outlook</title>\n%s", res, strings.Repeat("x", 20000))
	case r.URL.Path == "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application" && f.Export != "":
		fmt.Fprintf(w, `<?xml version="1.0"?><asmv1:assembly><assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="%s" publicKeyToken="x" /></asmv1:assembly>`, f.Export)
	case r.URL.Path == "/EWS/Exchange.asmx" || r.URL.Path == "/autodiscover/autodiscover.xml":
		if strings.Contains(strings.ToLower(r.URL.RawQuery), "powershell") && f.PNSAbort {
			abortConn(w)
			return
		}
		if f.AuthHeader != "" {
			h.Set("X-OWA-Version", f.AuthHeader)
		}
		h.Add("WWW-Authenticate", "Negotiate")
		h.Add("WWW-Authenticate", "NTLM")
		w.WriteHeader(http.StatusUnauthorized)
	case r.URL.Path == "/owa/auth/x.js":
		cookie := r.Header.Get("Cookie")
		switch {
		case cookie != "" && f.XJS == "abort" && strings.Contains(cookie, "X-AnonResource-Backend"):
			abortConn(w)
		case cookie != "" && f.XJS == "vuln":
			h.Set("X-CalculatedBETarget", "localhost")
			w.WriteHeader(500)
			fmt.Fprint(w, "NegotiateSecurityContext failed with for host 'localhost' with status 'TargetUnknown'")
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeExchange) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func abortConn(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// testConfig is fast and unthrottled: every test server shares 127.0.0.1.
func testConfig() Config {
	return Config{
		Workers:        16,
		PerIPConns:     64,
		PerIPRate:      -1,
		ConnectTimeout: time.Second,
		RequestTimeout: 2 * time.Second,
		HostTimeout:    5 * time.Second,
		Grace:          200 * time.Millisecond,
	}
}

// runTargets runs the engine over specs and returns the results by target.
func runTargets(t *testing.T, ctx context.Context, cfg Config, specs ...string) ([]*Result, *Summary, string) {
	t.Helper()
	var mu sync.Mutex
	var out []*Result
	cfg.OnResult = func(r *Result) {
		mu.Lock()
		out = append(out, r)
		mu.Unlock()
	}
	var buf bytes.Buffer
	sum, err := Run(ctx, cfg, []Input{{Name: "arg", Args: specs}}, &buf)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Every JSONL line must decode.
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad JSONL line %q: %v", line, err)
		}
	}
	return out, sum, buf.String()
}

func one(t *testing.T, cfg Config, spec string) *Result {
	t.Helper()
	rs, _, _ := runTargets(t, context.Background(), cfg, spec)
	if len(rs) != 1 {
		t.Fatalf("%d results for one target", len(rs))
	}
	return rs[0]
}

func hostOf(s *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
}

// tarpit accepts connections and never answers.
func tarpit(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String(), &n
}
