package builtin

import (
	"strconv"
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// Field helpers shared by the detectors. They read columns by name through
// event.Get and event.F, which return "" for a missing column or a short
// row, so no helper can panic on a truncated line or a custom layout.

// absent reports an empty value: "", or the "-" IIS writes for nothing.
func absent(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || v == "-"
}

// clean returns v without the IIS "-" placeholder.
func clean(v string) string {
	if absent(v) {
		return ""
	}
	return strings.TrimSpace(v)
}

// status returns the HTTP status as a number, -1 when the column is missing
// or does not hold a number (a shifted row, a custom layout without it).
func status(ev *event.Event) int {
	s := strings.TrimSpace(ev.F(event.FStatus))
	if s == "" {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 999 {
		return -1
	}
	return n
}

// succeeded: 2xx or 3xx (the status signature-base and Sigma accept as
// "the server answered").
func succeeded(code int) bool { return code >= 200 && code < 400 }

// clientError: a clean 4xx; the request was refused or the file is absent.
func clientError(code int) bool { return code >= 400 && code < 500 }

// method returns the upper-cased HTTP method.
func method(ev *event.Event) string { return strings.ToUpper(clean(ev.F(event.FMethod))) }

// stem returns the lower-cased URL path.
func stem(ev *event.Event) string { return strings.ToLower(clean(ev.F(event.FStem))) }

// query returns the URL query without a leading '?', as logged.
func query(ev *event.Event) string {
	return strings.TrimPrefix(clean(ev.F(event.FQuery)), "?")
}

// uri is stem?query in the logged case, for evidence.
func uri(ev *event.Event) string {
	s, q := clean(ev.F(event.FStem)), query(ev)
	if q == "" {
		return s
	}
	return s + "?" + q
}

// requestText is the lower-cased stem and query with the common URL
// escapes decoded, for substring rules that Sigma writes against the whole
// URI ("/autodiscover.json" + "/powershell" in either part).
func requestText(ev *event.Event) string {
	return ev.Memo(memoRequestText, func(ev *event.Event) string { return decodeURL(strings.ToLower(uri(ev))) })
}

// Event memo slots of the built-in detectors.
const memoRequestText = 0

// decodeURL percent-decodes s leniently ('+' becomes a space): bad escapes
// are kept as written. s should already be lower case or not, either works.
func decodeURL(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// userAgent returns the user agent as logged (IIS keeps '+' for spaces).
func userAgent(ev *event.Event) string { return clean(ev.F(event.FUserAgent)) }

// normUA lower-cases a user agent and turns the IIS '+' back into spaces
// and the HttpProxy double space (a comma the CSV writer dropped) into one,
// so that IIS and HttpProxy spellings compare equal.
func normUA(ua string) string {
	ua = strings.ToLower(ua)
	ua = strings.ReplaceAll(ua, "+", " ")
	ua = strings.ReplaceAll(ua, ",", " ")
	return strings.Join(strings.Fields(ua), " ")
}

// clientIP is the first hop client address. HttpProxy and Rps_Http may log
// a proxy chain separated by spaces; the whole value is kept in the
// evidence, the first address is the grouping key.
func clientIP(ev *event.Event) string { return clean(ev.F(event.FClientIP)) }

func firstIP(v string) string {
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// user returns the authenticated user ("" for anonymous).
func user(ev *event.Event) string { return clean(ev.F(event.FUser)) }

// hit builds a Hit with the request context every web detector reports,
// plus the detector's own key/value pairs. Empty values are left out.
func hit(ev *event.Event, kv ...string) detect.Hit {
	f := make(map[string]string, 8+len(kv)/2)
	put := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	put("client_ip", clientIP(ev))
	// IIS's own address: on the back-end site (:444) the client is the
	// front end, i.e. this server, and the assess stage must not list it
	// as an attacker address.
	put("server_ip", clean(ev.Get("s-ip")))
	put("user_agent", userAgent(ev))
	put("method", method(ev))
	put("uri", uri(ev))
	put("status", clean(ev.F(event.FStatus)))
	put("user", user(ev))
	for i := 0; i+1 < len(kv); i += 2 {
		put(kv[i], kv[i+1])
	}
	return detect.Hit{Fields: f}
}

// baseName is the last path element of a lower-cased URL path.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// set builds a lookup set of lower-cased strings.
func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[strings.ToLower(s)] = true
	}
	return m
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// Shared metadata.
const (
	cProxyLogon    = "ProxyLogon"
	cProxyShell    = "ProxyShell"
	cProxyNotShell = "ProxyNotShell"
	cOWASSRF       = "OWASSRF"
	cProxyToken    = "ProxyToken"
	cHAFNIUM       = "HAFNIUM"
)

var (
	cvesProxyLogonSSRF = []string{"CVE-2021-26855"}
	cvesProxyLogonRCE  = []string{"CVE-2021-26855", "CVE-2021-27065"}
	cvesProxyShell     = []string{"CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"}
	cvesProxyNotShell  = []string{"CVE-2022-41040", "CVE-2022-41082"}
	cvesOWASSRF        = []string{"CVE-2022-41080", "CVE-2022-41082"}
)

const (
	tExploitPublic = "T1190"
	tWebShell      = "T1505.003"
	tPowerShell    = "T1059.001"
	tCmd           = "T1059.003"
	tLSASS         = "T1003.001"
	tArchive       = "T1560.001"
	tDeleteFile    = "T1070.004"
	tVulnScan      = "T1595.002"
	tEmail         = "T1114"
	tEmailForward  = "T1114.003"
	tAccountManip  = "T1098"
	tIngressTool   = "T1105"
)

const (
	refTPL       = "https://github.com/microsoft/CSS-Exchange/blob/main/Security/src/Test-ProxyLogon.ps1"
	refCSS100    = "https://github.com/microsoft/CSS-Exchange/issues/100"
	refCSS310    = "https://github.com/microsoft/CSS-Exchange/issues/310"
	refCSS312    = "https://github.com/microsoft/CSS-Exchange/issues/312"
	refSB125     = "https://github.com/Neo23x0/signature-base/pull/125"
	refCHIRP     = "CHIRP AA21-062A (cisagov/CHIRP indicators/AA21-062A/AA21062A.yaml)"
	refSBHafnium = "signature-base yara/apt_hafnium_log_sigs.yar"
)

// adv is a short constructor for an Advisory.
func adv(id, title, desc string, sev finding.Severity, st finding.Stage, campaign string, cves, techs, refs []string) finding.Advisory {
	return finding.Advisory{ID: id, Title: title, Description: desc, Severity: sev, Stage: st, Campaign: campaign, CVEs: cves, Techniques: techs, References: refs}
}
