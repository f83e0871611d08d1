package builtin

import (
	"regexp"
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// ProxyShell (2021) and ProxyNotShell (2022) both abuse the autodiscover
// front end as an SSRF: "/autodiscover/autodiscover.json?@x/<backend>…".
// ProxyShell is pre-authentication (no user at the front end, X-Rps-CAT
// token for PowerShell); ProxyNotShell needs a mailbox account, so the
// front end logs a user. OWASSRF (CVE-2022-41080) reaches PowerShell
// through /owa/<mailbox>/powershell instead.

// autodiscoverSSRF describes a request whose URI (stem+query, decoded)
// carries the autodiscover.json SSRF.
type adSSRF struct {
	text    string
	backend string // which back end the SSRF names
	scanner bool   // the Nessus @test.com probe (SB-L09 exclusion)
}

func autodiscoverSSRF(ev *event.Event) (adSSRF, bool) {
	t := requestText(ev)
	if !strings.Contains(t, "autodiscover.json") {
		return adSSRF{}, false
	}
	var backend string
	for _, b := range []string{"/powershell", "x-rps-cat", "/mapi/nspi", "/ews/", "email=autodiscover/autodiscover.json", "autodiscover.json?@"} {
		if strings.Contains(t, b) {
			backend = strings.Trim(b, "/")
			break
		}
	}
	if backend == "" {
		return adSSRF{}, false
	}
	return adSSRF{text: t, backend: backend, scanner: strings.Contains(t, "@test.com")}, true
}

// proxyNotShellShape: the PowerShell back end reached by an authenticated
// user without the ProxyShell X-Rps-CAT token.
func proxyNotShellShape(ev *event.Event, s adSSRF) bool {
	return strings.Contains(s.text, "powershell") && !strings.Contains(s.text, "x-rps-cat") && user(ev) != ""
}

var psRefs = []string{"signature-base EXPL_Exchange_ProxyShell_Failed_Aug21_1 (SB-L07)", "signature-base EXPL_Exchange_ProxyShell_Successful_Aug21_1 (SB-L08)", "Sigma web_exchange_proxyshell (SG-06)", "Sigma web_exchange_proxyshell_successful (SG-07)"}

var pnsRefs = []string{"signature-base EXPL_Exchange_ProxyNotShell_Patterns_CVE_2022_41040_Oct22_1 (SB-L09)", "FrankysWeb Search-ExchangeProxyNotShell (PNS-01)"}

const (
	psSuccess = "/autodiscover/autodiscover.json"
	psQuery   = "@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp"
	psRpsQ    = "@evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.corp"
	pnsQuery  = "@evil.corp/PowerShell/?Email=autodiscover/autodiscover.json%3F@evil.corp"
	nessusQ   = "@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com"
)

func proxyShellDetectors() []*detect.Detector {
	web := []event.Source{event.IIS, event.HTTPProxy}
	return []*detect.Detector{
		{
			Advisory: adv("EXH-PS-01",
				"ProxyShell-style autodiscover SSRF attempt that did not succeed",
				"A request to /autodiscover/autodiscover.json named a back end (/powershell, /mapi/nspi, /EWS, X-Rps-CAT, Email=autodiscover…) and was refused or failed: an exploitation attempt of ProxyShell (or ProxyNotShell) without sign of success in this row.",
				finding.Medium, finding.StageAttempt, cProxyShell, cvesProxyShell, []string{tExploitPublic}, psRefs),
			Sources:  web,
			Keywords: []string{"autodiscover.json"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				s, ok := autodiscoverSSRF(ev)
				code := status(ev)
				if !ok || s.scanner || succeeded(code) || code < 0 {
					return detect.Hit{}, false
				}
				return hit(ev, "ssrf_backend", s.backend), true
			},
			Samples: []detect.Sample{
				iis(true, "SB-L07 401 on mapi/nspi", req{Stem: psSuccess, Query: psQuery, Status: "401"}),
				proxy(true, "HttpProxy row, 401", map[string]string{"UrlStem": "/autodiscover/autodiscover.json", "UrlQuery": "?" + psQuery, "HttpStatus": "401", "Method": "GET"}),
				iis(false, "succeeded is EXH-PS-02", req{Stem: psSuccess, Query: psQuery, Status: "200"}),
				iis(false, "legitimate Autodiscover v2 lookup", req{Stem: "/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com", Query: "Protocol=EWS&RedirectCount=1", Status: "401"}),
				iis(false, "Nessus probe", req{Stem: psSuccess, Query: nessusQ, Status: "401"}),
			},
		},
		{
			Advisory: adv("EXH-PS-02",
				"ProxyShell exploitation succeeded: autodiscover SSRF reached an Exchange back end",
				"A pre-authentication request to /autodiscover/autodiscover.json reached /mapi/nspi, /EWS or PowerShell (X-Rps-CAT) and was answered 2xx/3xx: the ProxyShell SSRF (CVE-2021-34473) worked. Look for mailbox exports to .aspx files and new web shells.",
				finding.Critical, finding.StageExploit, cProxyShell, cvesProxyShell, []string{tExploitPublic}, psRefs),
			Sources:  web,
			Keywords: []string{"autodiscover.json"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				s, ok := autodiscoverSSRF(ev)
				if !ok || s.scanner || !succeeded(status(ev)) || proxyNotShellShape(ev, s) {
					return detect.Hit{}, false
				}
				return hit(ev, "ssrf_backend", s.backend), true
			},
			Samples: []detect.Sample{
				iis(true, "mapi/nspi 200", req{Stem: psSuccess, Query: psQuery, Status: "200", UA: "python-requests/2.26.0"}),
				iis(true, "PowerShell with X-Rps-CAT", req{Method: "POST", Stem: psSuccess, Query: psRpsQ, Status: "200"}),
				iisCustom(true, "custom layout", req{Stem: psSuccess, Query: psQuery, Status: "302"}),
				iis(false, "401 is an attempt", req{Stem: psSuccess, Query: psQuery, Status: "401"}),
				iis(false, "Nessus probe answered 302", req{Stem: psSuccess, Query: nessusQ, Status: "302"}),
				iis(false, "authenticated PowerShell SSRF is ProxyNotShell", req{Method: "POST", Stem: psSuccess, Query: pnsQuery, Status: "200", User: "CONTOSO\\jdoe"}),
			},
		},
		{
			Advisory: adv("EXH-PS-03",
				"Vulnerability scanner probe for ProxyShell / ProxyNotShell (@test.com)",
				"The autodiscover.json SSRF request used the @test.com address of the Nessus / nuclei checks: the server was scanned for ProxyShell or ProxyNotShell, not attacked. An answer of 302/200 suggests it was vulnerable at that time.",
				finding.Low, finding.StageRecon, cProxyShell, append(append([]string{}, cvesProxyShell...), "CVE-2022-41040"), []string{tVulnScan},
				[]string{"signature-base SB-L09 exclusions", "nuclei CVE-2021-34473 (EXP-03)"}),
			Sources:  web,
			Keywords: []string{"@test.com"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				s, ok := autodiscoverSSRF(ev)
				if !ok || !s.scanner {
					return detect.Hit{}, false
				}
				return hit(ev, "ssrf_backend", s.backend), true
			},
			Samples: []detect.Sample{
				iis(true, "Nessus probe", req{Stem: psSuccess, Query: nessusQ, Status: "302"}),
				iis(false, "real attack address", req{Stem: psSuccess, Query: psQuery, Status: "302"}),
			},
		},
		{
			Advisory: adv("EXH-PNS-01",
				"ProxyNotShell exploitation succeeded: authenticated autodiscover SSRF reached PowerShell",
				"An authenticated request to /autodiscover/autodiscover.json naming the PowerShell back end was answered 200 on the front end: the ProxyNotShell SSRF (CVE-2022-41040), usually followed by remote code execution through PowerShell (CVE-2022-41082). The account used is compromised.",
				finding.Critical, finding.StageExploit, cProxyNotShell, cvesProxyNotShell, []string{tExploitPublic, tPowerShell}, pnsRefs),
			Sources:  web,
			Keywords: []string{"autodiscover.json"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				s, ok := autodiscoverSSRF(ev)
				if !ok || s.scanner || status(ev) != 200 || !proxyNotShellShape(ev, s) {
					return detect.Hit{}, false
				}
				if clean(ev.F(event.FServerPort)) == "444" { // back-end copy of the same request
					return detect.Hit{}, false
				}
				return hit(ev, "ssrf_backend", s.backend), true
			},
			Samples: []detect.Sample{
				iis(true, "GTSC request shape", req{Method: "POST", Stem: psSuccess, Query: pnsQuery, Status: "200", User: "CONTOSO\\jdoe"}),
				proxy(true, "HttpProxy row", map[string]string{"UrlStem": "/autodiscover/autodiscover.json", "UrlQuery": "?" + pnsQuery, "HttpStatus": "200", "AuthenticatedUser": "CONTOSO\\jdoe", "IsAuthenticated": "true"}),
				iis(false, "Nessus probe", req{Method: "POST", Stem: psSuccess, Query: "@test.com/PowerShell/?Email=autodiscover/autodiscover.json%3F@test.com", Status: "200", User: "CONTOSO\\jdoe"}),
				iis(false, "refused", req{Method: "POST", Stem: psSuccess, Query: pnsQuery, Status: "401", User: "CONTOSO\\jdoe"}),
				iis(false, "back-end copy on 444", req{Method: "POST", Stem: psSuccess, Query: pnsQuery, Status: "200", User: "CONTOSO\\jdoe", Port: "444"}),
			},
		},
		{
			Advisory: adv("EXH-PNS-02",
				"ProxyNotShell public proof-of-concept request answered",
				"A request shaped like the testanull ProxyNotShell proof of concept (/autodiscover/autodiscover.json with query x=a, or /autodiscover/admin@localhost/) was answered 200. Scanners reuse this PoC, so check for PowerShell activity from the same address.",
				finding.High, finding.StageExploit, cProxyNotShell, cvesProxyNotShell, []string{tExploitPublic}, []string{"signature-base LOG_ProxyNotShell_POC_CVE_2022_41040_Nov22 (SB-L10)"}),
			Sources:  web,
			Keywords: []string{"autodiscover.json", "admin@localhost", "admin%40localhost"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				m := method(ev)
				if (m != "GET" && m != "POST") || status(ev) != 200 {
					return detect.Hit{}, false
				}
				p, q := decodeURL(stem(ev)), strings.ToLower(query(ev))
				if !(strings.HasSuffix(p, "/autodiscover.json") && strings.HasPrefix(q, "x=a")) && !strings.Contains(p, "/autodiscover/admin@localhost/") {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "x=a", req{Method: "POST", Stem: "/autodiscover/autodiscover.json", Query: "x=a", Status: "200"}),
				iis(true, "admin@localhost", req{Stem: "/autodiscover/admin@localhost/powershell", Status: "200"}),
				iis(true, "admin%40localhost", req{Method: "POST", Stem: "/autodiscover/admin%40localhost/powershell", Status: "200"}),
				iis(false, "x=a refused", req{Method: "POST", Stem: "/autodiscover/autodiscover.json", Query: "x=a", Status: "404"}),
				iis(false, "normal autodiscover v2", req{Stem: "/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com", Query: "Protocol=ActiveSync", Status: "200"}),
			},
		},
		{
			Advisory: adv("EXH-PT-01",
				"ProxyToken: ECP inbox-rule or SecurityToken request answered with the telltale 500",
				"A POST to ECP creating an inbox rule (/RulesEditor/InboxRules.svc/NewObject) or carrying SecurityToken= ended in HTTP 500, the response the ProxyToken bypass (CVE-2021-33766) gives while the change still goes through, typically a forwarding rule on someone else's mailbox. Check the mailbox's inbox rules.",
				finding.High, finding.StageExploit, cProxyToken, []string{"CVE-2021-33766"}, []string{tExploitPublic, tEmailForward}, []string{"signature-base LOG_EXPL_ProxyToken_Exploitation_Aug21_1 (SB-L14)"}),
			Sources:  web,
			Keywords: []string{"securitytoken=", "inboxrules.svc/newobject"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if method(ev) != "POST" || status(ev) != 500 {
					return detect.Hit{}, false
				}
				t := strings.ToLower(uri(ev))
				if !strings.Contains(t, "/ecp/") || !(strings.Contains(t, "/ruleseditor/inboxrules.svc/newobject") || strings.Contains(t, "securitytoken=")) {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "ProxyToken request", req{Method: "POST", Stem: "/ecp/victim@contoso.com/RulesEditor/InboxRules.svc/NewObject", Query: "msExchEcpCanary=abc", Status: "500"}),
				iis(false, "normal rule creation", req{Method: "POST", Stem: "/ecp/RulesEditor/InboxRules.svc/NewObject", Query: "msExchEcpCanary=abc", Status: "200", User: "CONTOSO\\jdoe"}),
			},
		},
	}
}

// --- OWASSRF ---

var reOWASSRF = regexp.MustCompile(`^/owa/[^/\s]{1,64}(@|%40)[^/\s]{1,255}/powershell`)

// benignPSClient: the ClientInfo / user-agent values Exchange's own
// PowerShell traffic carries (SB-L11 exclusions, CrowdStrike CS-01).
func benignPSClient(ua string) bool {
	u := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(ua, "+", " ")))
	return u == "" || u == "-" || u == "clientinfo" || strings.Contains(u, "microsoft winrm client") || strings.Contains(u, "exchange backend probes")
}

const owaPoCUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.5195.54 Safari/537.36"

func owaSSRFMatch(success bool) func(ev *event.Event) (detect.Hit, bool) {
	return func(ev *event.Event) (detect.Hit, bool) {
		if method(ev) != "POST" {
			return detect.Hit{}, false
		}
		p := stem(ev)
		if !reOWASSRF.MatchString(p) || benignPSClient(userAgent(ev)) {
			return detect.Hit{}, false
		}
		if (status(ev) == 200) != success {
			return detect.Hit{}, false
		}
		h := hit(ev)
		if strings.HasPrefix(p, "/owa/mastermailbox") {
			h.Fields["poc"] = "mastermailbox"
		}
		if normUA(userAgent(ev)) == normUA(owaPoCUA) {
			h.Fields["poc_user_agent"] = "true"
		}
		return h, true
	}
}

var owaRefs = []string{"signature-base EXPL_LOG_ProxyNotShell_OWASSRF_Exploitation_Dec22_1/2 (SB-L11)", "Sigma web_cve_2022_41080_exchange_owassrf_exploitation (SG-08)", "Sigma owassrf_poc_exploitation (SG-09)"}

func owassrfDetectors() []*detect.Detector {
	web := []event.Source{event.IIS, event.HTTPProxy}
	pocUA := strings.ReplaceAll(owaPoCUA, " ", "+")
	return []*detect.Detector{
		{
			Advisory: adv("EXH-OWA-01",
				"OWASSRF exploitation succeeded: PowerShell reached through an OWA mailbox URL",
				"A POST to /owa/<mailbox>@<domain>/powershell from a client other than Exchange's own was answered 200: the OWASSRF bypass (CVE-2022-41080) that reaches remote PowerShell, used with CVE-2022-41082 for code execution. The account is compromised.",
				finding.Critical, finding.StageExploit, cOWASSRF, cvesOWASSRF, []string{tExploitPublic, tPowerShell}, owaRefs),
			Sources:  web,
			Keywords: []string{"/powershell"},
			Match:    owaSSRFMatch(true),
			Samples: []detect.Sample{
				iis(true, "public PoC", req{Method: "POST", Stem: "/owa/mastermailbox%40outlook.com/powershell", UA: pocUA, Status: "200", User: "CONTOSO\\jdoe"}),
				proxy(true, "HttpProxy row", map[string]string{"Protocol": "Owa", "UrlStem": "/owa/jdoe@contoso.com/powershell", "HttpStatus": "200", "Method": "POST", "UserAgent": "python-requests/2.28.1"}),
				iis(false, "Exchange's own WinRM client", req{Method: "POST", Stem: "/owa/jdoe@contoso.com/powershell", UA: "Microsoft+WinRM+Client", Status: "200"}),
				iis(false, "refused is EXH-OWA-02", req{Method: "POST", Stem: "/owa/jdoe@contoso.com/powershell", Status: "401"}),
				iis(false, "ordinary remote PowerShell", req{Method: "POST", Stem: "/powershell", Query: "serializationLevel=Full;ExchClientVer=15.2.1118.7", UA: "Microsoft+WinRM+Client", Status: "200"}),
			},
		},
		{
			Advisory: adv("EXH-OWA-02",
				"OWASSRF attempt: PowerShell requested through an OWA mailbox URL, not answered 200",
				"A POST to /owa/<mailbox>@<domain>/powershell was refused or failed: an OWASSRF exploitation attempt (CVE-2022-41080) without sign of success in this row.",
				finding.Medium, finding.StageAttempt, cOWASSRF, cvesOWASSRF, []string{tExploitPublic}, owaRefs),
			Sources:  web,
			Keywords: []string{"/powershell"},
			Match:    owaSSRFMatch(false),
			Samples: []detect.Sample{
				iis(true, "refused", req{Method: "POST", Stem: "/owa/jdoe@contoso.com/powershell", Status: "401"}),
				iis(false, "answered is EXH-OWA-01", req{Method: "POST", Stem: "/owa/jdoe@contoso.com/powershell", Status: "200"}),
				iis(false, "OWA mail traffic", req{Method: "POST", Stem: "/owa/service.svc", Query: "action=GetItem", Status: "200", User: "CONTOSO\\jdoe"}),
			},
		},
		{
			Advisory: adv("EXH-OWA-03",
				"Back-end PowerShell answered a POST from an unusual client (OWASSRF trace)",
				"The Exchange back end (port 444) logged a successful POST /powershell whose user agent is not Exchange's own (Microsoft WinRM Client, Exchange BackEnd Probes): how the OWASSRF request looks after the front end proxied it.",
				finding.High, finding.StageExploit, cOWASSRF, cvesOWASSRF, []string{tExploitPublic, tPowerShell}, []string{"signature-base EXPL_LOG_ProxyNotShell_OWASSRF_Exploitation_Dec22_3 (SB-L12)"}),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"/powershell"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if method(ev) != "POST" || stem(ev) != "/powershell" || query(ev) != "" || status(ev) != 200 {
					return detect.Hit{}, false
				}
				if clean(ev.F(event.FServerPort)) != "444" || benignPSClient(userAgent(ev)) {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "back end POST from python", req{Method: "POST", Stem: "/powershell", Port: "444", UA: "python-requests/2.28.1", User: "CONTOSO\\jdoe"}),
				iis(false, "Exchange's own client", req{Method: "POST", Stem: "/powershell", Port: "444", UA: "Microsoft+WinRM+Client", User: "CONTOSO\\admin"}),
				iis(false, "front end", req{Method: "POST", Stem: "/powershell", Port: "443", UA: "python-requests/2.28.1"}),
			},
		},
		{
			Advisory: adv("EXH-OWA-04",
				"Kerberos PowerShell proxy request from an unusual client (OWASSRF trace in HttpProxy)",
				"The HttpProxy PowerShell log shows a Kerberos-authenticated POST to /powershell answered 200 with a SOAP body, from a user agent that is not Exchange's own: signature-base's OWASSRF pattern. Admin tooling with a custom user agent would also match.",
				finding.Medium, finding.StageExploit, cOWASSRF, cvesOWASSRF, []string{tExploitPublic, tPowerShell}, []string{"signature-base EXPL_LOG_ProxyNotShell_PowerShell_Proxy_Log_Dec22_1 (SB-L13)"}),
			Sources:  []event.Source{event.HTTPProxy},
			Keywords: []string{"soap+xml"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if !strings.HasPrefix(stem(ev), "/powershell") || !strings.EqualFold(clean(ev.Get("AuthenticationType")), "Kerberos") ||
					!strings.EqualFold(clean(ev.Get("IsAuthenticated")), "true") || status(ev) != 200 || benignPSClient(userAgent(ev)) {
					return detect.Hit{}, false
				}
				gi := strings.ToLower(ev.Get("GenericInfo"))
				if !strings.Contains(gi, "contenttype=application/soap+xml") || !strings.Contains(gi, "httpmethod=post") {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				proxy(true, "SB-L13 shape", map[string]string{"Protocol": "PowerShell", "UrlStem": "/powershell", "AuthenticationType": "Kerberos", "IsAuthenticated": "true", "AuthenticatedUser": "CONTOSO\\jdoe", "HttpStatus": "200", "Method": "POST", "UserAgent": "python-requests/2.28.1", "GenericInfo": "OnEndRequest.End.ContentType=application/soap+xml charset UTF-8;S:ServiceCommonMetadata.HttpMethod=POST;"}),
				proxy(false, "Exchange Management Shell", map[string]string{"Protocol": "PowerShell", "UrlStem": "/powershell", "AuthenticationType": "Kerberos", "IsAuthenticated": "true", "AuthenticatedUser": "CONTOSO\\admin", "HttpStatus": "200", "Method": "POST", "UserAgent": "Microsoft WinRM Client", "GenericInfo": "OnEndRequest.End.ContentType=application/soap+xml charset UTF-8;S:ServiceCommonMetadata.HttpMethod=POST;"}),
			},
		},
		{
			Advisory: adv("EXH-OWA-05",
				"Remote PowerShell session from an unexpected client answered (OWASSRF, CrowdStrike check)",
				"The Rps_Http log shows a PowerShell request answered 200 whose ClientInfo is neither empty, Microsoft WinRM Client nor Exchange BackEnd Probes: an exploit carries the attacker's user agent there (possible successful OWASSRF, CVE-2022-41080 + CVE-2022-41082).",
				finding.High, finding.StageExploit, cOWASSRF, cvesOWASSRF, []string{tExploitPublic, tPowerShell}, []string{"CrowdStrike OWASSRF Rps_Http-IOC.ps1 (CS-01)"}),
			Sources:  []event.Source{event.RpsHTTP},
			Keywords: []string{"powershell"},
			Match:    rpsMatch(true),
			Samples: []detect.Sample{
				rps(true, "python client", map[string]string{"ClientInfo": "python-requests/2.28.1"}),
				rps(false, "Exchange's own client", map[string]string{"ClientInfo": "Microsoft WinRM Client"}),
				rps(false, "empty ClientInfo", nil),
				rps(false, "failed is EXH-OWA-06", map[string]string{"ClientInfo": "python-requests/2.28.1", "HttpStatus": "500"}),
			},
		},
		{
			Advisory: adv("EXH-OWA-06",
				"Remote PowerShell request from an unexpected client failed (OWASSRF attempt, CrowdStrike check)",
				"The Rps_Http log shows a PowerShell request with an unusual ClientInfo that was not answered 200: CrowdStrike's failed-attempt case of OWASSRF.",
				finding.Medium, finding.StageAttempt, cOWASSRF, cvesOWASSRF, []string{tExploitPublic}, []string{"CrowdStrike OWASSRF Rps_Http-IOC.ps1 (CS-01)"}),
			Sources:  []event.Source{event.RpsHTTP},
			Keywords: []string{"powershell"},
			Match:    rpsMatch(false),
			Samples: []detect.Sample{
				rps(true, "failed python client", map[string]string{"ClientInfo": "python-requests/2.28.1", "HttpStatus": "500"}),
				rps(false, "probe", map[string]string{"ClientInfo": "Exchange BackEnd Probes", "HttpStatus": "500"}),
			},
		},
	}
}

var reWord = regexp.MustCompile(`\w`)

func rpsMatch(success bool) func(ev *event.Event) (detect.Hit, bool) {
	return func(ev *event.Event) (detect.Hit, bool) {
		ci := strings.TrimSpace(ev.Get("ClientInfo"))
		if benignPSClient(ci) || !reWord.MatchString(ci) {
			return detect.Hit{}, false
		}
		code := status(ev)
		if (code == 200) != success {
			return detect.Hit{}, false
		}
		ip := clientIP(ev)
		f := map[string]string{
			"client_ip":          firstIP(ip),
			"client_ip_chain":    ip,
			"user_agent":         ci,
			"status":             clean(ev.Get("HttpStatus")),
			"user":               user(ev),
			"front_end_server":   clean(ev.Get("FrontEndServer")),
			"server":             clean(ev.Get("ServerHostName")),
			"uri":                uri(ev),
			"proxy_path":         strings.Join(append(strings.Fields(ip), clean(ev.Get("FrontEndServer")), clean(ev.Get("ServerHostName"))), " -> "),
			"powershell_command": clean(ev.Get("CommandName")),
		}
		for k, v := range f {
			if v == "" {
				delete(f, k)
			}
		}
		return detect.Hit{Fields: f}, true
	}
}
