package builtin

import (
	"sort"
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// Web shell use seen in the IIS log: requests to script pages in the
// folders where ProxyLogon, ProxyShell and ProxyNotShell shells were
// dropped. A file name alone proves nothing (legitimate Exchange pages
// share names with shells, trustedsec TS-03), so the rules either need a
// name Exchange never ships in that folder, a command in the query, or a
// POST to a page Exchange does not ship.

// shellDirs are the web folders of section 1.7 (URL form).
var shellDirs = []string{"/aspnet_client/", "/owa/auth/", "/ecp/auth/", "/oab/"}

func inShellDir(p string) string {
	for _, d := range shellDirs {
		if strings.HasPrefix(p, d) {
			return d
		}
	}
	return ""
}

func isScriptPage(p string) bool {
	return strings.HasSuffix(p, ".aspx") || strings.HasSuffix(p, ".ashx") || strings.HasSuffix(p, ".asmx")
}

// knownShellNames: Microsoft MSTIC file paths (section 4.2) and the
// ProxyNotShell names published by GTSC (PNS-02). RedirSuiteServiceProxy.aspx
// is left out on purpose: Exchange ships a file of that name in owa\auth,
// so only its hash can tell.
var knownShellNames = set(
	// <FE>\owa\auth\ and <FE>\OAB\
	"8Lw7tAhF9i1pJnRo.aspx", "OutlookZH.aspx", "authhead.aspx", "bob.aspx", "one1.aspx", "errorPage.aspx",
	"errorPages.aspx", "fatal-erro.aspx", "log.aspx", "logg.aspx", "logout.aspx", "one.aspx", "shel.aspx",
	"shel2.aspx", "shel90.aspx", "a.aspx", "default.aspx",
	// C:\inetpub\wwwroot\aspnet_client\
	"shell.aspx", "Server.aspx", "aspnet_client.aspx", "aspnet_iisstart.aspx", "aspnet_pages.aspx", "aspnet_www.aspx",
	"default1.aspx", "errorcheck.aspx", "iispage.aspx", "s.aspx", "session.aspx", "xclkmcfldfi948398430fdjkfdkj.aspx",
	"xx.aspx", "discover.aspx", "HttpProxy.aspx", "OutlookEN.aspx", "supp0rt.aspx", "services.aspx",
	// ProxyNotShell (GTSC)
	"xml.ashx", "errorEE.aspx", "Pxh4HG1v.ashx",
)

func knownShellKeywords() []string {
	out := make([]string, 0, len(knownShellNames))
	for n := range knownShellNames {
		out = append(out, n)
	}
	sort.Strings(out) // stable order for listings
	return out
}

// exchangePages are the script pages Exchange itself ships in the shell
// folders; a POST to them is normal (password change, logon errors).
var exchangePages = map[string]map[string]bool{
	"/owa/auth/": set("logon.aspx", "logoff.aspx", "errorfe.aspx", "expiredpassword.aspx", "frowny.aspx",
		"outlookcn.aspx", "redirsuiteserviceproxy.aspx", "signout.aspx", "svmfeedback.aspx", "timeoutlogoff.aspx"),
	"/ecp/auth/": set("timeoutlogoff.aspx"),
}

// commandNeedles are the shell commands a query may carry. Plain substring
// tests, not one alternation regexp: this runs on every OWA logon redirect
// (/owa/auth/logon.aspx?url=…), and Go's backtracker made it the hottest
// function of a hunt.
var commandNeedles = []string{"whoami", "ipconfig", "systeminfo", "tasklist", "net user", "net1 user", "net group", "net1 group", "net localgroup", "net1 localgroup", "nltest", "quser", "cmd.exe", "cmd /c", "powershell", "certutil", "rundll32", "&echo", "/bin/sh"}

// commandParams are query parameters that carry a command.
var commandParams = []string{"cmd=", "exec=", "command=", "execute="}

func commandQuery(ev *event.Event) (string, bool) {
	q := decodeURL(strings.ToLower(query(ev)))
	if q == "" || !hasCommand(q) {
		return "", false
	}
	if len(q) > 512 {
		q = q[:512]
	}
	return q, true
}

func hasCommand(q string) bool {
	for _, n := range commandNeedles {
		if strings.Contains(q, n) {
			return true
		}
	}
	for _, p := range commandParams {
		for i := 0; ; {
			j := strings.Index(q[i:], p)
			if j < 0 {
				break
			}
			at := i + j
			if at == 0 || strings.IndexByte("&?;", q[at-1]) >= 0 {
				return true
			}
			i = at + 1
		}
	}
	return false
}

var wsRefs = []string{"Microsoft HAFNIUM blog web shell paths (MSTIC IOC CSV)", "trustedsec HAFNIUM known_webshell_success.sql (TS-03)"}

func webShellDetectors() []*detect.Detector {
	return []*detect.Detector{
		{
			Advisory: adv("EXH-WS-01",
				"Known Exchange web shell file name requested",
				"A page whose name matches a web shell Microsoft or GTSC found on compromised Exchange servers (for example /aspnet_client/shell.aspx, /owa/auth/errorEE.aspx) was requested in a web-shell folder and not refused. Check the file on disk and its hash; a name alone can collide with a custom page.",
				finding.High, finding.StageExecution, cHAFNIUM, nil, []string{tWebShell},
				append([]string{"MSTIC IOC CSV MSTICIoCs-ExchangeServerVulnerabilitiesDisclosedMarch2021", "FrankysWeb Search-ExchangeProxyNotShell (PNS-02)"}, wsRefs...)),
			Sources:  []event.Source{event.IIS},
			Keywords: knownShellKeywords(),
			Match: func(ev *event.Event) (detect.Hit, bool) {
				p := stem(ev)
				dir := inShellDir(p)
				if dir == "" || !knownShellNames[baseName(p)] || clientError(status(ev)) {
					return detect.Hit{}, false
				}
				return hit(ev, "shell_dir", dir, "shell_name", baseName(p)), true
			},
			Samples: []detect.Sample{
				iis(true, "MSTIC aspnet_client name", req{Method: "POST", Stem: "/aspnet_client/system_web/xx.aspx"}),
				iis(true, "GTSC ProxyNotShell name", req{Stem: "/owa/auth/errorEE.aspx", Query: "a=1"}),
				iisCustom(true, "custom layout", req{Method: "POST", Stem: "/owa/auth/shel90.aspx"}),
				iis(false, "refused: the file is not there", req{Method: "POST", Stem: "/aspnet_client/shell.aspx", Status: "404"}),
				iis(false, "same name outside the shell folders", req{Stem: "/intranet/default.aspx"}),
				iis(false, "the real OWA logon page", req{Stem: "/owa/auth/logon.aspx", Query: "url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0"}),
			},
		},
		{
			Advisory: adv("EXH-WS-02",
				"Command sent to a script page in an Exchange web-shell folder",
				"A request to an .aspx/.ashx page under /aspnet_client/, /owa/auth/, /ecp/auth/ or /oab/ carried a shell command in its query (cmd=, whoami, ipconfig…) and was not refused: a web shell was most likely used. Vulnerability scanners send such requests too, but they are normally refused (404).",
				finding.High, finding.StageExecution, cHAFNIUM, nil, []string{tWebShell, tCmd}, wsRefs),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"aspnet_client", "/owa/auth/", "/ecp/auth/", "/oab/"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				p := stem(ev)
				dir := inShellDir(p)
				if dir == "" || !isScriptPage(p) || knownShellNames[baseName(p)] || clientError(status(ev)) {
					return detect.Hit{}, false
				}
				c, ok := commandQuery(ev)
				if !ok {
					return detect.Hit{}, false
				}
				return hit(ev, "shell_dir", dir, "shell_name", baseName(p), "cmd", c), true
			},
			Samples: []detect.Sample{
				iis(true, "GET cmd=whoami to a random page in owa/auth", req{Stem: "/owa/auth/aKdMadOeT.aspx", Query: "cmd=whoami"}),
				iis(true, "ipconfig through oab", req{Method: "POST", Stem: "/OAB/x7.ashx", Query: "c=ipconfig+/all"}),
				iis(false, "scanner refused with 404", req{Stem: "/owa/auth/aKdMadOeT.aspx", Query: "cmd=whoami", Status: "404"}),
				iis(false, "logon page with ordinary query", req{Stem: "/owa/auth/logon.aspx", Query: "replaceCurrent=1&url=https%3a%2f%2fmail.contoso.com%2fowa"}),
				iis(false, "command query outside shell folders", req{Stem: "/app/run.aspx", Query: "cmd=whoami"}),
			},
		},
		{
			Advisory: adv("EXH-WS-03",
				"POST to a page Exchange does not ship in a web-shell folder",
				"Something posted to an .aspx/.ashx page under /aspnet_client/, /owa/auth/, /ecp/auth/ or /oab/ that is not one of Exchange's own pages (logon.aspx, logoff.aspx, errorFE.aspx, expiredpassword.aspx, TimeoutLogoff.aspx…), and was not refused. Web shells are driven by POST; a customised logon page or third-party add-on in those folders would also match.",
				finding.Medium, finding.StageExecution, cHAFNIUM, nil, []string{tWebShell}, wsRefs),
			Sources:  []event.Source{event.IIS},
			Keywords: []string{"aspnet_client", "/owa/auth/", "/ecp/auth/", "/oab/"},
			Match: func(ev *event.Event) (detect.Hit, bool) {
				if method(ev) != "POST" {
					return detect.Hit{}, false
				}
				p := stem(ev)
				dir := inShellDir(p)
				name := baseName(p)
				if dir == "" || !isScriptPage(p) || knownShellNames[name] || exchangePages[dir][name] || clientError(status(ev)) {
					return detect.Hit{}, false
				}
				if _, cmd := commandQuery(ev); cmd {
					return detect.Hit{}, false // EXH-WS-02
				}
				return hit(ev, "shell_dir", dir, "shell_name", name), true
			},
			Samples: []detect.Sample{
				iis(true, "POST to a new page in owa/auth/Current", req{Method: "POST", Stem: "/owa/auth/Current/themes/resources/hkf3.aspx"}),
				iis(true, "POST to ecp/auth page other than TimeoutLogoff", req{Method: "POST", Stem: "/ecp/auth/errorpg.aspx"}),
				iis(false, "password change on the shipped page", req{Method: "POST", Stem: "/owa/auth/expiredpassword.aspx", Query: "url=/owa/"}),
				iis(false, "ECP timeout page", req{Method: "POST", Stem: "/ecp/auth/TimeoutLogoff.aspx"}),
				iis(false, "normal OWA logon POST", req{Method: "POST", Stem: "/owa/auth.owa", Status: "302"}),
				iis(false, "GET of a new page", req{Stem: "/owa/auth/hkf3.aspx"}),
			},
		},
	}
}
