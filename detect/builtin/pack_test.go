package builtin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/detect/builtin"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/hunt"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/exlog"
)

// Hard negatives run through the WHOLE pack, not one detector at a time:
// what may fire on each, and nothing else.

func hpRow(vals map[string]string) string {
	out := make([]string, len(exlog.HTTPProxyFields))
	for i, f := range exlog.HTTPProxyFields {
		v := vals[f]
		if strings.ContainsAny(v, ",\"") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		out[i] = v
	}
	return strings.Join(out, ",")
}

func hp(vals map[string]string) string {
	base := map[string]string{"DateTime": "2021-03-02T21:04:11.512Z", "Protocol": "Ecp", "UrlStem": "/ecp/default.aspx", "ClientIpAddress": "203.0.113.7",
		"HttpStatus": "200", "Method": "GET", "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}
	for k, v := range vals {
		base[k] = v
	}
	return "#Log-type: HttpProxy Logs\n#Fields: " + strings.Join(exlog.HTTPProxyFields, ",") + "\n" + hpRow(base) + "\n"
}

const iisHead = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"

func firedIDs(t *testing.T, r *detect.Runner, src event.Source, text string) map[string]finding.Advisory {
	t.Helper()
	sc := r.NewScanner()
	got := map[string]finding.Advisory{}
	_, err := hunt.ParserFor(src)(context.Background(), strings.NewReader(text), parse.Meta{Path: "x", Host: "x", Source: src}, func(ev *event.Event) error {
		sc.Scan(ev, func(d *detect.Detector, _ detect.Hit) { got[d.ID] = d.Advisory }, func(e error) { t.Error(e) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPackHardNegatives(t *testing.T) {
	r, err := detect.NewRunner(builtin.All())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		src     event.Source
		text    string
		allowed []string // IDs that may fire
		maxSev  finding.Severity
		maxSt   finding.Stage
	}{
		{"autodiscover-only SSRF is an attempt, never an exploit", event.HTTPProxy,
			hp(map[string]string{"AnchorMailbox": "ServerInfo~a]@EX01.contoso.com:444/autodiscover/autodiscover.xml?#", "UrlStem": "/ecp/y.js", "Method": "POST"}),
			[]string{"EXH-PL-01", "EXH-PL-11"}, finding.Low, finding.StageAttempt},
		{"localhost probe is a scan", event.HTTPProxy,
			hp(map[string]string{"AnchorMailbox": "ServerInfo~localhost/ecp/default.flt?", "UrlStem": "/owa/auth/x.js", "TargetServer": "localhost", "HttpStatus": "500"}),
			[]string{"EXH-PL-07"}, finding.Low, finding.StageRecon},
		{"health mailbox traffic", event.HTTPProxy,
			hp(map[string]string{"AnchorMailbox": "Sid~S-1-5-21-1-2-3-1142", "UserAgent": "AMProbe/Local/ClientAccess", "ClientIpAddress": "127.0.0.1", "UrlStem": "/ews/", "AuthenticatedUser": "CONTOSO\\HealthMailbox0c5d2a"}),
			nil, finding.Info, finding.StageNone},
		{"Nessus ProxyShell probe", event.IIS,
			iisHead + "2022-10-03 10:00:00 192.0.2.10 GET /autodiscover/autodiscover.json @test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com 443 - 198.51.100.4 Mozilla/5.0+(Nessus) - 302 0 0 15\n",
			[]string{"EXH-PS-03"}, finding.Low, finding.StageRecon},
		{"normal OWA logon POST", event.IIS,
			iisHead + "2021-03-02 08:00:00 192.0.2.10 POST /owa/auth.owa - 443 - 198.51.100.4 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 302 0 0 15\n",
			nil, finding.Info, finding.StageNone},
		{"OWA logon page", event.IIS,
			iisHead + "2021-03-02 08:00:00 192.0.2.10 GET /owa/auth/logon.aspx url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0 443 - 198.51.100.4 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 15\n",
			nil, finding.Info, finding.StageNone},
		{"password change on the shipped page", event.IIS,
			iisHead + "2021-03-02 08:00:00 192.0.2.10 POST /owa/auth/expiredpassword.aspx url=/owa/ 443 - 198.51.100.4 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 15\n",
			nil, finding.Info, finding.StageNone},
		{"legitimate OAB download failure", event.OABGen,
			"#Log-type: OAB Generator Log\n#Fields: DateTime,Message\n2021-03-02T21:06:40.003Z,Download failed and temporary file 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\Temp\\x\\oab.xml' needs to be removed\n",
			nil, finding.Info, finding.StageNone},
		{"plain admin URL change", event.ECPServer,
			"#Log-type: ECP Server Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n2021-03-02T21:05:02.117Z,EX01,ECP.Request,S:TIME=233;S:CMD=Set-OabVirtualDirectory.ExternalUrl='https://mail.contoso.com/OAB'.Identity='EX01\\OAB (Default Web Site)';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject\n",
			nil, finding.Info, finding.StageNone},
		{"Exchange management shell in Rps_Http", event.RpsHTTP,
			"#Log-type: Rps Http Logs\n#Fields: " + strings.Join(exlog.RpsHTTPFields, ",") + "\n2022-12-20T10:11:12.000Z,,,15,2,1118,7,,ex01.contoso.com,/powershell,Kerberos,true,CONTOSO\\admin,,,192.0.2.20,EX01,EX01,200,,,,,,,,,,,Microsoft WinRM Client,,,,,,,,\n",
			nil, finding.Info, finding.StageNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := firedIDs(t, r, tc.src, tc.text)
			allowed := map[string]bool{}
			for _, id := range tc.allowed {
				allowed[id] = true
			}
			for id, a := range got {
				if !allowed[id] {
					t.Errorf("%s fired (%s, %s)", id, a.Severity, a.Stage)
				}
				if a.Severity > tc.maxSev || a.Stage > tc.maxSt {
					t.Errorf("%s: %s/%s above %s/%s", id, a.Severity, a.Stage, tc.maxSev, tc.maxSt)
				}
			}
			if len(tc.allowed) > 0 && !allowed[firstKey(got, tc.allowed)] {
				t.Errorf("expected one of %v to fire, got %v", tc.allowed, got)
			}
		})
	}
}

func firstKey(got map[string]finding.Advisory, want []string) string {
	for _, id := range want {
		if _, ok := got[id]; ok {
			return id
		}
	}
	return ""
}
