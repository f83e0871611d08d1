package probe

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"

	"github.com/exhunt/exhunt/exchange"
)

// evidence gathers what the responses of one host say about Exchange. It
// is filled one response at a time (observe) and judged once (assess), so
// that classification can be tested on recorded responses without a
// network.
type evidence struct {
	target   string // our own host (name or address), to tell on-host redirects from federation
	readings []Reading
	fe       []string
	markers  []string
	fedTo    string
	answered bool

	xjs *xjsObs
	pns *pnsObs
}

type xjsObs struct {
	status   int
	betarget string
	aborted  bool   // the connection dropped instead of an answer
	control  int    // status of the control request after an abort (0: none or failed)
	err      string // what went wrong when there is no answer
}

type pnsObs struct {
	status  int
	aborted bool
	err     string
}

var (
	reOWAPath     = regexp.MustCompile(`/owa/auth/(\d{1,2}\.\d{1,2}\.\d{1,5})/`)
	reOWA2010Path = regexp.MustCompile(`/owa/(\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})/`)
	reVersionAttr = regexp.MustCompile(`(?i)\bversion\s*=\s*["'](\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})["']`)
	reNameAttr    = regexp.MustCompile(`(?i)\bname\s*=\s*["']([^"']*)["']`)
	// Exchange Online front ends are named like CY4PR02CA0010,
	// AM6PR04MB1234 or LO2P265CA0123; on-premises ones carry NetBIOS names.
	reCloudFE = regexp.MustCompile(`^[A-Z]{2,3}[0-9][A-Z0-9]{0,2}P(R[0-9]{2,4}|[0-9]{3})[A-Z]{2}[0-9]{3,4}$`)
)

// OWA page markers: the logon page's own comment and the titles peers
// match on (nuclei ms-exchange-server, exposure.md §1.1).
var owaMarkers = []struct{ text, name string }{
	{"OwaPage = ASP.auth_logon_aspx", "owa-logon-page"},
	{"<title>Outlook Web App</title>", "owa-title"},
	{"<title>Outlook</title>", "owa-title"},
	{"Exchange Log In", "owa-title"},
	{"Microsoft Exchange - Outlook Web Access", "owa-title"},
	{"Outlook Web Access", "owa-title"},
	{"Exchange Admin Center", "ecp-title"},
}

// observe reads one response. baseURL is scheme://host[:port] for the
// evidence URLs.
func (ev *evidence) observe(baseURL string, r *response) {
	ev.answered = true
	u := baseURL + r.Path
	h := r.Header
	if v := h.Get("X-OWA-Version"); v != "" {
		ev.read(SourceOWAHeader, v, u, "X-OWA-Version: "+clip(v, 60))
	}
	if v := h.Get("X-ServerApplication"); v != "" {
		ev.read(SourceServerApp, v, u, "X-ServerApplication: "+clip(v, 60))
	}
	if v := strings.TrimSpace(h.Get("X-FEServer")); v != "" {
		ev.addFE(clip(v, 64))
	}
	switch {
	case r.Path == pathOWA:
		if loc := h.Get("Location"); loc != "" && r.Status >= 300 && r.Status < 400 {
			lu, err := url.Parse(loc)
			switch {
			case err != nil:
			case lu.Host != "" && !sameHost(lu.Hostname(), ev.target):
				ev.fedTo = clip(lu.Host, 255)
				ev.mark("owa-redirect-external")
			case strings.Contains(strings.ToLower(lu.Path), "/owa/auth/logon.aspx"):
				ev.mark("owa-redirect-logon")
			}
		}
	case r.Path == pathLogon && r.Status == 200:
		ev.logonPage(u, r.Body)
	case r.Path == pathExport && r.Status == 200:
		ev.manifest(u, r.Body)
	case r.Path == pathEWS && r.Status == 401:
		auth := strings.ToLower(strings.Join(h.Values("WWW-Authenticate"), ","))
		if strings.Contains(auth, "negotiate") || strings.Contains(auth, "ntlm") {
			ev.mark("ews-401")
		}
	}
}

func (ev *evidence) logonPage(u string, body []byte) {
	for _, m := range owaMarkers {
		if bytes.Contains(body, []byte(m.text)) {
			ev.mark(m.name)
		}
	}
	if m := reOWAPath.FindSubmatchIndex(body); m != nil {
		ev.read(SourceOWAPath, string(body[m[2]:m[3]]), u, excerpt(body, m[0], m[1]))
	} else if m := reOWA2010Path.FindSubmatchIndex(body); m != nil {
		ev.read(SourceOWAPath, string(body[m[2]:m[3]]), u, excerpt(body, m[0], m[1]))
	}
}

// manifest reads the export tool's ClickOnce manifest: the version of the
// assemblyIdentity naming the export tool, else of the first one.
func (ev *evidence) manifest(u string, body []byte) {
	var first, best []byte
	var firstAt, bestAt [2]int
	rest, off := body, 0
	for {
		i := bytes.Index(bytes.ToLower(rest), []byte("<assemblyidentity"))
		if i < 0 {
			break
		}
		j := bytes.IndexByte(rest[i:], '>')
		if j < 0 {
			j = len(rest) - i
		}
		tag := rest[i : i+j]
		if m := reVersionAttr.FindSubmatch(tag); m != nil {
			if first == nil {
				first, firstAt = m[1], [2]int{off + i, off + i + j}
			}
			if n := reNameAttr.FindSubmatch(tag); n != nil && bytes.Contains(bytes.ToLower(n[1]), []byte("exporttool")) && best == nil {
				best, bestAt = m[1], [2]int{off + i, off + i + j}
			}
		}
		rest, off = rest[i+j:], off+i+j
	}
	if best == nil {
		best, bestAt = first, firstAt
	}
	if best != nil {
		ev.read(SourceExport, string(best), u, excerpt(body, bestAt[0], bestAt[1]+1))
	}
}

// read records a build reading; text that is no Exchange version is ignored.
func (ev *evidence) read(source, text, u, exc string) {
	b, err := exchange.ParseBuild(text)
	if err != nil || exchange.ProductOf(b) == exchange.ExUnknown {
		return
	}
	for _, r := range ev.readings {
		if r.Source == source && r.Build == b.String() {
			return
		}
	}
	ev.readings = append(ev.readings, Reading{Source: source, Build: b.String(), URL: u, Excerpt: exc})
}

func (ev *evidence) addFE(name string) {
	for _, n := range ev.fe {
		if n == name {
			return
		}
	}
	if len(ev.fe) < 8 {
		ev.fe = append(ev.fe, name)
	}
}

func (ev *evidence) mark(m string) {
	for _, x := range ev.markers {
		if x == m {
			return
		}
	}
	ev.markers = append(ev.markers, m)
}

// best is the reading to judge by: four parts before three, then the
// rank of the source (exposure.md §1.2).
func (ev *evidence) best() (Reading, exchange.Build, bool) {
	rank := map[string]int{SourceOWAHeader: 0, SourceExport: 1, SourceServerApp: 2, SourceOWAPath: 3}
	var out Reading
	var ob exchange.Build
	found := false
	for _, r := range ev.readings {
		b, _ := exchange.ParseBuild(r.Build)
		if !found || b.Parts > ob.Parts || b.Parts == ob.Parts && rank[r.Source] < rank[out.Source] {
			out, ob, found = r, b, true
		}
	}
	return out, ob, found
}

// fourPart reports whether a full build has been read: the plan may stop.
func (ev *evidence) fourPart() bool {
	_, b, ok := ev.best()
	return ok && b.Parts == 4
}

// exchangeSeen reports any sign of Exchange so far.
func (ev *evidence) exchangeSeen() bool {
	return len(ev.readings) > 0 || len(ev.fe) > 0 || len(ev.markers) > 0
}

// disagree reports readings that name different builds (a CU prefix
// against a longer build counts as agreeing when the prefix matches).
func (ev *evidence) disagree() bool {
	for i, a := range ev.readings {
		ba, _ := exchange.ParseBuild(a.Build)
		for _, b := range ev.readings[i+1:] {
			bb, _ := exchange.ParseBuild(b.Build)
			if ba.Short() != bb.Short() || ba.Parts == 4 && bb.Parts == 4 && ba.Rev != bb.Rev {
				return true
			}
		}
	}
	return false
}

func sameHost(a, b string) bool {
	return strings.EqualFold(strings.Trim(a, "[]"), strings.Trim(b, "[]"))
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}

// excerpt is the matched bytes with a little context, on one line.
func excerpt(body []byte, from, to int) string {
	a, b := max(0, from-40), min(len(body), to+40)
	if to-from > 300 {
		b = from + 300
	}
	s := strings.Join(strings.Fields(string(body[a:b])), " ")
	return clip(s, 400)
}

func isCloudFE(name string) bool {
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return reCloudFE.MatchString(strings.ToUpper(name))
}
