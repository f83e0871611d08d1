package builtin

import (
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// Two IIS-only signals that first lived in the Sigma pack (as EXH-EV-01 and
// EXH-EV-02). They read log lines, so they belong with the line detectors:
// here they share the one keyword pass every IIS line already gets, where
// as Sigma rules they cost a second pass over every line (1 GiB bench: 1.3 s
// without them, 2.0 s with them).

// iisCookieDetector: the ProxyLogon routing cookies in the optional
// cs(Cookie) column of IIS.
func iisCookieDetector() *detect.Detector {
	return &detect.Detector{
		Advisory: adv("EXH-PL-13",
			"ProxyLogon SSRF routing cookie seen in the IIS log",
			"The request carried X-AnonResource-Backend, or X-BEResource naming a host/path~version target: the cookies that steer the Exchange front end's proxy to a back-end URL of the attacker's choice (CVE-2021-26855). IIS logs cookies only when the cs(Cookie) field is enabled. Vulnerability scanners send the same cookies (Microsoft's nmap check targets localhost); the HttpProxy rows and the client address tell a scan from an attack.",
			finding.High, finding.StageAttempt, cProxyLogon, []string{"CVE-2021-26855"}, []string{tExploitPublic},
			[]string{"Microsoft CSS-Exchange Test-ProxyLogon", "Volexity: Operation Exchange Marauder (2021-03-02)"}),
		Sources:  []event.Source{event.IIS},
		Keywords: []string{"x-anonresource-backend", "x-beresource="},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			c := ev.Get("cs(Cookie)")
			lc := strings.ToLower(c)
			if !strings.Contains(lc, "x-anonresource-backend") {
				i := strings.Index(lc, "x-beresource=")
				if i < 0 {
					return detect.Hit{}, false
				}
				v := lc[i+len("x-beresource="):]
				if j := strings.IndexByte(v, ';'); j >= 0 {
					v = v[:j]
				}
				if !strings.Contains(v, "/") || !strings.Contains(v, "~") {
					return detect.Hit{}, false
				}
			}
			if len(c) > 512 {
				c = c[:512]
			}
			return hit(ev, "cookie", c), true
		},
		Samples: []detect.Sample{
			iisCookie(true, "X-BEResource naming the back-end ECP DDI endpoint", req{Method: "POST", Stem: "/ecp/y.js", UA: "python-requests/2.25.1"},
				"X-BEResource=Administrator@EX01.contoso.com:444/ecp/DDI/DDIService.svc/GetList?reqId=1615583487987&schema=VirtualDirectory&msExchEcpCanary=abc&a=~1942062522;"),
			iisCookie(true, "X-AnonResource-Backend probe of the kind Microsoft's nmap check sends", req{Stem: "/owa/auth/x.js", Status: "500"},
				"X-AnonResource=true;+X-AnonResource-Backend=localhost/ecp/default.flt?~3;+X-BEResource=localhost/owa/auth/logon.aspx?~3;"),
			iisCookie(false, "ordinary OWA session cookies (X-BackEndCookie is Exchange's own)", req{Method: "POST", Stem: "/owa/service.svc", Query: "action=GetAccessTokenforResource&UA=0&app=Mail"},
				"ClientId=6B1D8E07A1C94D0C9A3E;+X-BackEndCookie=S-1-5-21-1004336348-1177238915-682003330-1143=u56Lnp2ejJqBzJ7Pz8vNys;+X-OWA-CANARY=Xyz123"),
			iisCookie(false, "X-BEResource without a host/path~version target", req{Stem: "/owa/", Status: "302"}, "X-BEResource=1;+PrivateComputer=true"),
			iisCookie(false, "cookie field logged but empty", req{Stem: "/owa/auth/logon.aspx"}, "-"),
		},
	}
}

// iisCookie writes r under a layout with the cs(Cookie) field enabled.
func iisCookie(match bool, note string, r req, cookie string) detect.Sample {
	r = r.or()
	text := "#Software: Microsoft Internet Information Services 10.0\n" +
		"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) sc-status sc-substatus sc-win32-status time-taken\n" +
		strings.Join([]string{"2021-03-02", "21:04:11", "192.0.2.10", r.Method, r.Stem, r.Query, r.Port, r.User, r.IP, r.UA, cookie, r.Status, "0", "0", "31"}, " ") + "\n"
	return detect.Sample{Source: event.IIS, Match: match, Note: note, Text: text}
}

// aspnetClientGetDetector: a script page in aspnet_client that answered a
// GET. Exchange ships no script page there, so a 200 means a page exists
// and ran: attackers check their shell this way before using it.
func aspnetClientGetDetector() *detect.Detector {
	return &detect.Detector{
		Advisory: adv("EXH-WS-04",
			"Script page in aspnet_client answered to a non-POST request",
			"A GET (or other non-POST) request for an .aspx/.ashx/.asmx/.asp page under /aspnet_client/ was answered 200. Exchange ships no script pages there, so the page exists on disk and ran; attackers request their web shell this way to check it is in place. POSTs to such pages are EXH-WS-03; known shell names are EXH-WS-01. A third-party product's own page in that folder would also match: check the file.",
			finding.High, finding.StageExecution, cHAFNIUM, nil, []string{tWebShell}, wsRefs),
		Sources:  []event.Source{event.IIS},
		Keywords: []string{"/aspnet_client/"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			p := stem(ev)
			if !strings.HasPrefix(p, "/aspnet_client/") || method(ev) == "POST" || status(ev) != 200 {
				return detect.Hit{}, false
			}
			if !isScriptPage(p) && !strings.HasSuffix(p, ".asp") || knownShellNames[baseName(p)] {
				return detect.Hit{}, false
			}
			return hit(ev, "shell_dir", "/aspnet_client/", "shell_name", baseName(p)), true
		},
		Samples: []detect.Sample{
			iis(true, "attacker checks a dropped page", req{Stem: "/aspnet_client/system_web/RzGhK3.aspx", UA: "python-requests/2.25.1"}),
			iis(true, "HEAD of an .ashx", req{Method: "HEAD", Stem: "/aspnet_client/x.ashx"}),
			iis(false, "POST is EXH-WS-03", req{Method: "POST", Stem: "/aspnet_client/system_web/RzGhK3.aspx"}),
			iis(false, "not there", req{Stem: "/aspnet_client/system_web/RzGhK3.aspx", Status: "404"}),
			iis(false, "the web.config IIS protects", req{Stem: "/aspnet_client/web.config", Status: "404"}),
			iis(false, "static file", req{Stem: "/aspnet_client/system_web/4_0_30319/WebUIValidation.js"}),
			iis(false, "known shell name is EXH-WS-01", req{Stem: "/aspnet_client/shell.aspx"}),
		},
	}
}
