package probe

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// rec is a recorded response.
type rec struct {
	path   string
	status int
	header map[string]string
	body   string
}

func TestClassifyRecorded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logon := func(res, title string) string {
		return "<!-- OwaPage = ASP.auth_logon_aspx -->\n<link rel=\"shortcut icon\" href=\"" + res + "themes/resources/favicon.ico\"><title>" + title + "</title>"
	}
	cases := []struct {
		name      string
		recs      []rec
		xjs       *xjsObs
		exchange  string
		build     string
		precision string
		source    string
		product   string
		pl, ps    exchange.Status
		eol       bool
		online    bool
		federated bool
		disagree  bool
	}{
		{"header-only four-part", []rec{{pathOWA, 302, map[string]string{"X-OWA-Version": "15.2.986.14", "X-FEServer": "EX01"}, ""}},
			nil, ExchangeYes, "15.2.986.14", PrecisionBuild, SourceOWAHeader, "Exchange 2019", exchange.NotVulnerable, exchange.NotVulnerable, true, false, false, false},
		{"manifest four-part", []rec{
			{pathLogon, 200, nil, logon("/owa/auth/15.1.2106/", "Outlook")},
			{pathExport, 200, nil, `<assemblyIdentity version="1.0.0.0" name="other" /><assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.1.2106.2" />`}},
			nil, ExchangeYes, "15.1.2106.2", PrecisionBuild, SourceExport, "Exchange 2016", exchange.Vulnerable, exchange.Vulnerable, true, false, false, false},
		{"three-part path", []rec{{pathLogon, 200, nil, logon("/owa/auth/15.1.2106/", "Outlook")}},
			nil, ExchangeYes, "15.1.2106", PrecisionCU, SourceOWAPath, "Exchange 2016", exchange.Potentially, exchange.Vulnerable, true, false, false, false},
		{"2010 path", []rec{{pathLogon, 200, nil, logon("/owa/14.3.123.4/", "Outlook Web App")}},
			nil, ExchangeYes, "14.3.123.4", PrecisionBuild, SourceOWAPath, "Exchange 2010", exchange.Unknown, exchange.Unknown, true, false, false, false},
		{"ADFS redirect, version on 401", []rec{
			{pathOWA, 302, map[string]string{"Location": "https://sts.example.org/adfs/ls/?wa=wsignin1.0"}, ""},
			{pathLogon, 302, map[string]string{"Location": "https://sts.example.org/adfs/ls/"}, ""},
			{pathEWS, 401, map[string]string{"X-OWA-Version": "15.2.1118.7", "WWW-Authenticate": "Negotiate"}, ""}},
			nil, ExchangeYes, "15.2.1118.7", PrecisionBuild, SourceOWAHeader, "Exchange 2019", exchange.NotVulnerable, exchange.NotVulnerable, true, false, true, false},
		{"reverse proxy stripped", []rec{
			{pathOWA, 302, map[string]string{"Location": "/owa/auth/logon.aspx?url=x"}, ""},
			{pathLogon, 200, nil, "<html><title>Secure Access Gateway</title></html>"},
			{pathEWS, 401, map[string]string{"WWW-Authenticate": "NTLM"}, ""}},
			nil, ExchangeLikely, "", PrecisionNone, "", "", exchange.Unknown, exchange.Unknown, false, false, false, false},
		{"Exchange Online", []rec{{pathOWA, 302, map[string]string{"X-OWA-Version": "15.20.5000.12", "X-FEServer": "CY4PR02CA0010"}, ""}},
			nil, ExchangeYes, "15.20.5000.12", PrecisionBuild, SourceOWAHeader, "Exchange Online", exchange.Unknown, exchange.Unknown, false, true, false, false},
		{"Exchange Online with an odd build", []rec{{pathOWA, 302, map[string]string{"X-OWA-Version": "15.1.1240.20", "X-FEServer": "AM6PR04MB1234"}, ""}},
			nil, ExchangeYes, "15.1.1240.20", PrecisionBuild, SourceOWAHeader, "Exchange Online", exchange.Unknown, exchange.Unknown, false, true, false, false},
		{"IIS default page", []rec{{pathOWA, 404, nil, "not found"}, {pathLogon, 404, nil, ""}, {pathEWS, 404, nil, ""}},
			nil, ExchangeNo, "", PrecisionNone, "", "", exchange.Unknown, exchange.Unknown, false, false, false, false},
		{"OwaVersion lags ExSetup", []rec{
			{pathEWS, 401, map[string]string{"X-OWA-Version": "15.2.858.2"}, ""},
			{pathExport, 200, nil, `<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.2.858.5" />`}},
			nil, ExchangeYes, "15.2.858.2", PrecisionBuild, SourceOWAHeader, "Exchange 2019", exchange.NotVulnerable, exchange.Vulnerable, true, false, false, true},
		{"x.js confirms a CU-level host", []rec{{pathLogon, 200, nil, logon("/owa/auth/15.2.792/", "Outlook")}},
			&xjsObs{status: 500, betarget: "localhost~1942062522"}, ExchangeYes, "15.2.792", PrecisionCU, SourceOWAPath, "Exchange 2019", exchange.Vulnerable, exchange.Potentially, true, false, false, false},
		{"x.js on a federated host (302)", []rec{{pathOWA, 302, map[string]string{"X-OWA-Version": "15.2.792.3", "Location": "https://sts.example.org/"}, ""}},
			&xjsObs{status: 302, betarget: "localhost"}, ExchangeYes, "15.2.792.3", PrecisionBuild, SourceOWAHeader, "Exchange 2019", exchange.Vulnerable, exchange.Vulnerable, true, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := &evidence{target: "127.0.0.1"}
			for _, r := range c.recs {
				h := http.Header{}
				for k, v := range r.header {
					h.Set(k, v)
				}
				ev.observe("https://127.0.0.1", &response{Path: r.path, Status: r.status, Header: h, Body: []byte(r.body)})
			}
			ev.xjs = c.xjs
			res := &Result{IP: "127.0.0.1", Port: 443, Scheme: "https"}
			assess(res, ev, c.xjs != nil, now)
			if res.Exchange != c.exchange || res.Build != c.build || res.BuildPrecision != c.precision || res.BuildSource != c.source || res.Product != c.product {
				t.Errorf("got exchange %q build %q precision %q source %q product %q", res.Exchange, res.Build, res.BuildPrecision, res.BuildSource, res.Product)
			}
			if res.Families[exchange.ProxyLogon].Status != c.pl || res.Families[exchange.ProxyShell].Status != c.ps {
				t.Errorf("families %+v", res.Families)
			}
			if res.EOL != c.eol || res.Online != c.online || res.Federated != c.federated || res.SourcesDisagree != c.disagree {
				t.Errorf("eol %v online %v federated %v disagree %v", res.EOL, res.Online, res.Federated, res.SourcesDisagree)
			}
			if c.xjs != nil && res.Families[exchange.ProxyLogon].Confidence != ConfidenceConfirmed {
				t.Errorf("x.js vulnerable must confirm: %+v", res.Families[exchange.ProxyLogon])
			}
			for _, f := range res.Findings {
				if len(f.Problems()) != 0 || f.Host != "127.0.0.1:443" || f.Stage.String() != "recon" {
					t.Errorf("finding %+v: %v", f, f.Problems())
				}
				if !strings.HasPrefix(f.ID, "EXH-PROBE-") || len(f.CVEs) == 0 || f.Techniques[0] != "T1190" {
					t.Errorf("finding %+v", f.Advisory)
				}
			}
		})
	}
}

// TestObserveHostile feeds junk: nothing may panic, nothing may be read.
func TestObserveHostile(t *testing.T) {
	bodies := []string{"", "<assemblyIdentity", `<assemblyIdentity version="99.99.99999.99999"`, "/owa/auth/1.2./", strings.Repeat("<assemblyIdentity ", 5000), "\xff\xfe/owa/auth/15.1.2106/\x00"}
	for _, b := range bodies {
		for _, p := range []string{pathLogon, pathExport} {
			ev := &evidence{}
			h := http.Header{"X-Owa-Version": {"Exchange/" + strings.Repeat("1.", 100)}, "X-Serverapplication": {"Exchange/15.02.0858.002"}}
			ev.observe("https://x", &response{Path: p, Status: 200, Header: h, Body: []byte(b)})
			res := &Result{}
			assess(res, ev, false, time.Now())
		}
	}
	ev := &evidence{}
	ev.observe("https://x", &response{Path: pathEWS, Status: 401, Header: http.Header{"X-Serverapplication": {"Exchange/15.02.0858.002"}}})
	if _, b, ok := ev.best(); !ok || b.String() != "15.2.858.2" {
		t.Errorf("X-ServerApplication not read: %v", b)
	}
}
