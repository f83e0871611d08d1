package sim

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// Request classes counted per host, so tests can hold a probe to its
// request budget.
const (
	pathRoot = iota
	pathOWA
	pathLogon
	pathECP
	pathExportTool
	pathEWS
	pathAutodiscover
	pathActiveSync
	pathMAPI
	pathSSRF
	pathProxyShell
	pathProxyNotShell
	pathStatic
	pathOther
	numPaths
)

// PathNames names the request classes of Stats.
var PathNames = [numPaths]string{"/", "/owa/", "logon.aspx", "/ecp/", "exporttool", "/EWS/", "autodiscover", "activesync", "/mapi/", "x.js-ssrf", "proxyshell-probe", "proxynotshell-probe", "static", "other"}

// response is one answer before the host's transport quirks (proxy
// header stripping, slow drip, oversized body) are applied.
type response struct {
	status int
	hdr    [][2]string
	body   [][]byte
	abort  bool // drop the connection without an answer (IIS AbortRequest)
	raw    bool // from the proxy itself: no Exchange headers
}

func (r *response) set(k, v string) { r.hdr = append(r.hdr, [2]string{k, v}) }

// The March 2021 URL-rewrite rules on {HTTP_COOKIE} (exposure.md §2.1); IIS
// patterns ignore case.
var (
	eomtAnon = regexp.MustCompile(`(?i)X-AnonResource-Backend(.*)`)
	eomtBE   = regexp.MustCompile(`(?i)X-BEResource=(.+)/(.+)~(.+)`)
	backend  = regexp.MustCompile(`(?i)X-(?:BEResource|AnonResource-Backend)=([^/~;]+)`)
)

func (f *Fleet) serveHTTP(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(hostKey{}).(*hostState)
	if st == nil {
		http.NotFound(w, r)
		return
	}
	n := st.n.Add(1) - 1
	p := &st.h.Profile
	if d := latency(*p, f.cfg.Seed, st.h.Index, n); d > 0 {
		if !f.sleep(r, time.Duration(d*float64(time.Millisecond))) {
			return
		}
	}
	class, resp := f.route(st, p, n, r)
	st.byPath[class].Add(1)
	if p.Pathology == "intermittent" && int(newRNG(f.cfg.Seed, st.h.Index, 2000+n).intn(100)) < p.FailPercent {
		resp = response{status: http.StatusServiceUnavailable, body: [][]byte{[]byte(iis503)}}
		resp.set("Content-Type", "text/html")
	}
	f.send(w, r, st, n, resp)
}

func (f *Fleet) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-f.done:
	}
	return false
}

// route answers one request as the host's profile says (exposure.md §1.1,
// §2, §6.4).
func (f *Fleet) route(st *hostState, p *Profile, n uint64, r *http.Request) (int, response) {
	path := strings.ToLower(r.URL.Path)
	switch p.Kind {
	case "iis-default":
		if path == "/" || path == "/iisstart.htm" {
			return pathRoot, page(http.StatusOK, "text/html", iisHome)
		}
		return pathOther, page(http.StatusNotFound, "text/html", iis404)
	case "other-web":
		if path == "/" || path == "/index.html" {
			return pathRoot, page(http.StatusOK, "text/html", otherHome)
		}
		return pathOther, page(http.StatusNotFound, "text/html", other404)
	}
	v := st.views[0]
	if p.Pathology == "pool" {
		v = st.views[n%2]
	}
	uri, err := url.PathUnescape(r.RequestURI)
	if err != nil {
		uri = r.RequestURI
	}
	uri = strings.ToLower(uri)
	cookie := strings.Join(r.Header.Values("Cookie"), "; ")
	pns := strings.Contains(uri, "autodiscover") && strings.Contains(uri, "powershell")
	ssrf := (strings.HasPrefix(path, "/owa/auth/") || strings.HasPrefix(path, "/ecp/")) && strings.HasSuffix(path, ".js") && backend.MatchString(cookie)
	class := classify(path, uri, pns, ssrf)

	// IIS URL rewrite runs before Exchange sees the request.
	if hasMitigation(*p, "eomt_v2_2022") && pns ||
		hasMitigation(*p, "eomt_2021") && (eomtAnon.MatchString(cookie) || eomtBE.MatchString(cookie)) {
		return class, response{abort: true}
	}
	if p.Proxy == "portal" {
		if resp, ok := portal(path, r); ok {
			return class, resp
		}
	}
	base := scheme(p) + "://" + hostOf(r, st)
	switch {
	case ssrf:
		return class, f.ssrf(p, v, cookie)
	case pns:
		if v.pnsOpen && p.Proxy != "portal" {
			loc := base + "/owa/auth/logon.aspx?url=" + url.QueryEscape(base+"/owa/") + "&reason=0"
			resp := redirect(http.StatusFound, loc)
			return class, resp
		}
		return class, page(f.cfg.PNSPatchedStatus, "text/html", "<html><body><h2>Bad Request</h2></body></html>\r\n")
	case class == pathProxyShell:
		return class, f.proxyShell(p, v, r, base)
	}
	switch {
	case path == "/":
		resp := response{status: http.StatusFound}
		resp.set("Location", base+"/owa/")
		return class, resp
	case path == "/owa":
		return class, redirect(http.StatusMovedPermanently, base+"/owa/")
	case path == "/owa/" || path == "/owa/default.aspx":
		if p.Front == "federated" {
			return class, owaHeader(p, v, sts(p, base))
		}
		loc := base + "/owa/auth/logon.aspx?url=" + url.QueryEscape(base+"/owa/") + "&reason=0"
		return class, owaHeader(p, v, redirect(http.StatusFound, loc))
	case path == "/owa/auth/logon.aspx":
		if p.Front == "federated" {
			return class, owaHeader(p, v, sts(p, base))
		}
		ecp := strings.Contains(strings.ToLower(r.URL.Query().Get("url")), "/ecp")
		resp := response{status: http.StatusOK, body: logonPage(v, p.Kind, ecp)}
		resp.set("Content-Type", "text/html; charset=utf-8")
		resp.set("Cache-Control", "no-cache, no-store")
		resp.set("X-AspNet-Version", "4.0.30319")
		resp.set("X-Frame-Options", "SAMEORIGIN")
		return class, owaHeader(p, v, resp)
	case class == pathStatic:
		return class, static(v, path)
	case class == pathECP || class == pathExportTool:
		return class, ecp(p, v, path, base)
	case class == pathEWS || class == pathAutodiscover || class == pathActiveSync || class == pathMAPI:
		if !v.modern && class == pathMAPI {
			break
		}
		resp := response{status: http.StatusUnauthorized}
		resp.set("WWW-Authenticate", "Negotiate")
		resp.set("WWW-Authenticate", "NTLM")
		resp.set("WWW-Authenticate", `Basic realm="`+hostOf(r, st)+`"`)
		if p.Kind == "exchange-online" || class == pathActiveSync && v.modern {
			resp.set("WWW-Authenticate", `Bearer client_id="00000002-0000-0ff1-ce00-000000000000"`)
		}
		if p.AuthHeader {
			resp.set("X-OWA-Version", v.owa)
		}
		return class, resp
	}
	return class, page(http.StatusNotFound, "text/html", iis404)
}

func classify(path, uri string, pns, ssrf bool) int {
	switch {
	case ssrf:
		return pathSSRF
	case pns:
		return pathProxyNotShell
	case path == "/autodiscover/autodiscover.json" && strings.Contains(uri, "email=autodiscover/autodiscover.json"):
		return pathProxyShell
	case path == "/":
		return pathRoot
	case path == "/owa" || path == "/owa/" || path == "/owa/default.aspx":
		return pathOWA
	case path == "/owa/auth/logon.aspx":
		return pathLogon
	case strings.HasPrefix(path, "/owa/auth/") || len(path) > 5 && strings.HasPrefix(path, "/owa/") && path[5] >= '0' && path[5] <= '9':
		return pathStatic
	case strings.HasPrefix(path, "/ecp/") && strings.HasSuffix(path, "/exporttool/microsoft.exchange.ediscovery.exporttool.application"):
		return pathExportTool
	case path == "/ecp" || strings.HasPrefix(path, "/ecp/"):
		return pathECP
	case strings.HasPrefix(path, "/ews/"):
		return pathEWS
	case strings.HasPrefix(path, "/autodiscover/"):
		return pathAutodiscover
	case path == "/microsoft-server-activesync" || strings.HasPrefix(path, "/microsoft-server-activesync/"):
		return pathActiveSync
	case strings.HasPrefix(path, "/mapi/"):
		return pathMAPI
	}
	return pathOther
}

// ssrf answers Microsoft's x.js probe and the /ecp/<x>.js variant: the
// front end proxies to the backend named in the cookie and fails to
// authenticate to it (exposure.md §2.1).
func (f *Fleet) ssrf(p *Profile, v view, cookie string) response {
	if !v.plVuln {
		return page(http.StatusNotFound, "text/html", iis404)
	}
	target := "localhost"
	if m := backend.FindStringSubmatch(cookie); m != nil {
		target = m[1]
	}
	resp := response{status: http.StatusInternalServerError}
	if p.Front == "federated" {
		resp.status = http.StatusFound
		resp.set("Location", "https://sts."+strings.TrimPrefix(p.Domain, "mail.")+"/adfs/ls/?wa=wsignin1.0")
	}
	resp.set("X-CalculatedBETarget", target)
	resp.set("Content-Type", "text/html")
	resp.body = [][]byte{[]byte(fmt.Sprintf("NegotiateSecurityContext failed with for host '%s' with status 'TargetUnknown'\r\n", target))}
	return resp
}

// proxyShell answers the unauthenticated autodiscover.json probe
// (exposure.md §2.2, §6.4).
func (f *Fleet) proxyShell(p *Profile, v view, r *http.Request, base string) response {
	if !v.psOpen || p.Proxy != "" {
		return page(http.StatusBadRequest, "text/html", "<html><body><h2>Bad Request</h2></body></html>\r\n")
	}
	be := backendName(p, v)
	uri := strings.ToLower(r.RequestURI)
	if strings.Contains(uri, "/mapi/nspi") {
		resp := response{status: http.StatusOK, body: [][]byte{mapiPage(v.owa, be)}}
		resp.set("Content-Type", "text/html")
		resp.set("X-BEServer", strings.ToUpper(strings.SplitN(be, ".", 2)[0]))
		resp.set("X-CalculatedBETarget", be)
		resp.set("X-DiagInfo", strings.ToUpper(strings.SplitN(be, ".", 2)[0]))
		resp.set("X-ServerApplication", "Exchange/"+exchange.MustBuild(v.owa).Padded())
		resp.set("Set-Cookie", "X-BackEndCookie=; expires=Thu, 01-Jan-1993 00:00:00 GMT; path=/autodiscover; secure; HttpOnly")
		return resp
	}
	loc := base + "/owa/auth/errorFE.aspx?httpCode=500&msg=Microsoft.Exchange.Clients.Owa2.Server.Core.OwaADUserNotFoundException&reason=0"
	resp := redirect(http.StatusFound, loc)
	resp.set("X-CalculatedBETarget", be)
	resp.set("X-BEServer", strings.ToUpper(strings.SplitN(be, ".", 2)[0]))
	return resp
}

func backendName(p *Profile, v view) string {
	fe := v.fe
	if fe == "" {
		fe = "EXMBX01"
	}
	return strings.ToLower(fe) + "." + strings.TrimSuffix(strings.TrimPrefix(p.Domain, "mail."), ".example") + ".local"
}

func ecp(p *Profile, v view, path, base string) response {
	switch p.ECP {
	case "404":
		return page(http.StatusNotFound, "text/html", iis404)
	case "403":
		return page(http.StatusForbidden, "text/html", "<html><body><h2>403 - Forbidden: Access is denied.</h2></body></html>\r\n")
	}
	if p.Front == "federated" {
		return sts(p, base)
	}
	if strings.HasSuffix(path, "/exporttool/microsoft.exchange.ediscovery.exporttool.application") {
		dir := strings.TrimSuffix(strings.TrimPrefix(path, "/ecp/"), "/exporttool/microsoft.exchange.ediscovery.exporttool.application")
		if !v.modern || v.export == "" || dir != "current" && dir != v.export && dir != v.setup {
			return page(http.StatusNotFound, "text/html", iis404)
		}
		resp := response{status: http.StatusOK, body: manifest(v.export)}
		resp.set("Content-Type", "application/x-ms-application")
		return resp
	}
	return redirect(http.StatusFound, base+"/owa/auth/logon.aspx?replaceCurrent=1&url="+url.QueryEscape(base+"/ecp"))
}

func static(v view, path string) response {
	if !strings.HasPrefix(path, resourcePrefix(v)) {
		return page(http.StatusNotFound, "text/html", iis404)
	}
	switch {
	case strings.HasSuffix(path, ".ico"):
		resp := response{status: http.StatusOK, body: [][]byte{favicon}}
		resp.set("Content-Type", "image/x-icon")
		return resp
	case strings.HasSuffix(path, ".css"):
		return page(http.StatusOK, "text/css", string(padOWA[:2048]))
	case strings.HasSuffix(path, ".js"):
		return page(http.StatusOK, "application/javascript", "/* exhunt-sim */\nvar simLogon = {};\n")
	}
	return page(http.StatusNotFound, "text/html", iis404)
}

// portal is a reverse proxy's own login in front of OWA and ECP; the 401
// endpoints pass through to Exchange.
func portal(path string, r *http.Request) (response, bool) {
	switch {
	case path == "/portal/login":
		resp := page(http.StatusOK, "text/html", portalLogin)
		resp.raw = true
		return resp, true
	case path == "/" || strings.HasPrefix(path, "/owa") || strings.HasPrefix(path, "/ecp"):
		resp := redirect(http.StatusFound, "/portal/login?return="+url.QueryEscape(r.URL.Path))
		resp.raw = true
		return resp, true
	case strings.HasPrefix(path, "/ews/"), strings.HasPrefix(path, "/autodiscover/"), strings.HasPrefix(path, "/microsoft-server-activesync"), strings.HasPrefix(path, "/mapi/"):
		return response{}, false
	}
	resp := page(http.StatusNotFound, "text/html", other404)
	resp.raw = true
	return resp, true
}

func owaHeader(p *Profile, v view, resp response) response {
	if p.OWAHeader {
		resp.set("X-OWA-Version", v.owa)
	}
	return resp
}

func sts(p *Profile, base string) response {
	// .example never resolves: a probe that follows the redirect goes
	// nowhere, and never off loopback.
	return redirect(http.StatusFound, "https://sts."+strings.TrimPrefix(p.Domain, "mail.")+"/adfs/ls/?wa=wsignin1.0&wtrealm="+url.QueryEscape(base+"/owa/"))
}

func redirect(status int, loc string) response {
	resp := response{status: status, body: [][]byte{movedBody(loc)}}
	resp.set("Location", loc)
	resp.set("Content-Type", "text/html; charset=utf-8")
	return resp
}

func page(status int, ctype, body string) response {
	resp := response{status: status, body: [][]byte{[]byte(body)}}
	resp.set("Content-Type", ctype)
	return resp
}

func scheme(p *Profile) string {
	if p.TLS == "http" {
		return "http"
	}
	return "https"
}

func hostOf(r *http.Request, st *hostState) string {
	if r.Host != "" {
		return r.Host
	}
	return st.h.Addr.String()
}

// send writes a response through the host's quirks.
func (f *Fleet) send(w http.ResponseWriter, r *http.Request, st *hostState, n uint64, resp response) {
	p := &st.h.Profile
	if resp.abort {
		if p.Proxy != "" {
			// The proxy sees its backend drop the request.
			resp = page(http.StatusBadGateway, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
			resp.raw = true
		} else {
			f.aborts.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					abort(c)
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
	}
	h := w.Header()
	if p.SetupVersion != "" && !resp.raw {
		h.Set("Server", p.Server)
		h.Set("X-Powered-By", "ASP.NET")
		h.Set("request-id", requestID(f.cfg.Seed, st.h.Index, n))
		v := st.views[0]
		if p.Pathology == "pool" {
			v = st.views[n%2]
		}
		if v.fe != "" {
			h.Set("X-FEServer", v.fe)
		}
	} else if p.Server != "" {
		h.Set("Server", p.Server)
	}
	for _, kv := range resp.hdr {
		h.Add(kv[0], kv[1])
	}
	if p.Proxy != "" {
		for k := range h {
			if strings.HasPrefix(k, "X-") {
				delete(h, k)
			}
		}
		h.Set("Server", p.ProxyServer)
	}
	size := 0
	for _, b := range resp.body {
		size += len(b)
	}
	huge := p.Pathology == "huge" && resp.status == http.StatusOK
	if !huge {
		h.Set("Content-Length", strconv.Itoa(size))
	}
	w.WriteHeader(resp.status)
	if r.Method == http.MethodHead {
		return
	}
	if p.Pathology == "drip" {
		f.drip(w, r, resp.body)
		return
	}
	for _, b := range resp.body {
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	if huge {
		// 64 MiB after the real content: a probe must cap what it reads.
		for sent := 0; sent < 64<<20 && !f.closed(); sent += len(hugeChunk) {
			if _, err := w.Write(hugeChunk); err != nil {
				return
			}
		}
	}
}

// drip sends a body 16 bytes every 250 ms (64 B/s) after prompt headers.
func (f *Fleet) drip(w http.ResponseWriter, r *http.Request, body [][]byte) {
	fl, _ := w.(http.Flusher)
	bw := bufio.NewWriterSize(w, 16)
	if fl != nil {
		fl.Flush()
	}
	for _, b := range body {
		for len(b) > 0 {
			k := min(16, len(b))
			if _, err := bw.Write(b[:k]); err != nil {
				return
			}
			_ = bw.Flush()
			if fl != nil {
				fl.Flush()
			}
			b = b[k:]
			if !f.sleep(r, 250*time.Millisecond) {
				return
			}
		}
	}
}

func requestID(seed int64, index int, n uint64) string {
	g := newRNG(seed, index, 3000+n)
	a, b := g.next(), g.next()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0x0fff|0x4000, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}
