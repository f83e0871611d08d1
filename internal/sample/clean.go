package sample

import (
	"time"
)

// clean: EX02, the same CU18 build, one busy Tuesday a week after the
// ProxyLogon disclosure. Internet scanners hit it all day; none of them
// gets past the front end, and nothing is written to disk.
func clean() *Tree {
	b := newBuilder(Clean)
	s := newServer(20210309, "EX02", "10.20.0.15", "15.01.2106.002", 400, "S-1-5-21-1004336348-1177238915-682003330")
	s.b = b
	b.extra = append(b.extra, s.applicationHost())
	d := day(2021, 3, 9)
	s.normalDay(d, 1800, []string{"Ews", "Mapi", "Owa", "Ecp", "Autodiscover"})
	s.cleanNoise(d)
	s.eventLogs(b, s.cleanEvents)
	s.cleanFiles(b)
	return b.tree()
}

func (s *server) cleanNoise(d time.Time) {
	r := s.r
	uas := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/69.0.3497.81 Safari/537.36",
		"Mozilla/5.0 (Exchange check)",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36",
	}
	// Mass scanners checking for CVE-2021-26855 with the localhost probe.
	for i := 0; i < 36; i++ {
		h := (i * 7) % 24
		ip := wanIP(r)
		s.localhostProbe(s.at(d, h), ip, uas[i%len(uas)], mark("noise.localhost-probe", "scanner: x.js, ServerInfo~localhost/ecp/default.flt?, TargetServer localhost, HTTP 500"))
	}
	// SSRF attempts that stop at autodiscover: no valid mailbox found.
	for i, a := range []struct {
		ip, stem, ua string
		h            int
	}{
		{"198.51.100.144", "/ecp/x.js", uaEWSClient, 2},
		{"203.0.113.19", "/ecp/y.js", uaEWSClient, 11},
		{"192.0.2.201", "/ecp/ZTr.js", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36", 20},
	} {
		t := s.at(d, a.h)
		anchor := "ServerInfo~a]@" + s.fqdn + ":444/autodiscover/autodiscover.xml?#"
		note := "SSRF attempt that stops at autodiscover (no valid mailbox); attempt, not compromise"
		if i == 2 {
			// Metasploit's module uses a random 1-3 character name and
			// the autodiscover step with a guessed address.
			note = "Metasploit-style random .js name; autodiscover only; attempt, not compromise"
		}
		s.emit(&request{t: t, method: "POST", stem: a.stem, proto: "Ecp", clientIP: a.ip, ua: a.ua, status: 200, taken: 200 + r.IntN(300),
			anchor: anchor, routingHint: "X-BEResource-Cookie", routingType: "CrossRegion", target: s.fqdn, targetVer: exploitBEVerTx, beVersion: exploitBEVer,
			beStem: "/autodiscover/autodiscover.xml", beUser: s.domain + `\` + s.name + "$",
			feMark: mark("noise.ssrf-autodiscover-only", note), pxMark: mark("noise.ssrf-autodiscover-only", note+"; AnchorMailbox "+anchor),
			beMark: mark("noise.ssrf-autodiscover-only", "back end of "+note)})
	}
	// Nessus' ProxyShell check: the two probes signature-base excludes.
	nua := "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)"
	t := ms(d, 13, 41, 7, 220)
	s.emit(&request{t: t, method: "GET", stem: "/autodiscover/autodiscover.json", query: "@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com",
		proto: "Autodiscover", clientIP: "10.20.5.40", ua: nua, status: 302, noBackend: true, taken: 4,
		feMark: mark("noise.nessus-proxyshell", "Nessus ProxyShell check from the internal scanner (@test.com)"),
		pxMark: mark("noise.nessus-proxyshell", "Nessus ProxyShell check (@test.com)")})
	t = t.Add(1310 * time.Millisecond)
	s.emit(&request{t: t, method: "GET", stem: "/owa/", query: "&Email=autodiscover/autodiscover.json%3F@test.com&ClientId=" + hexString(r, 32),
		proto: "Owa", clientIP: "10.20.5.40", ua: nua, status: 302, noBackend: true, encoding: true, authType: "FBA", taken: 3,
		feMark: mark("noise.nessus-proxyshell", "Nessus ProxyShell check, OWA variant (@test.com)"),
		pxMark: mark("noise.nessus-proxyshell", "Nessus ProxyShell check, OWA variant (@test.com)")})
	// zgrab banner grabs.
	for _, h := range []int{1, 6, 14, 19, 23} {
		s.zgrab(s.at(d, h), wanIP(r), mark("noise.zgrab", "zgrab banner grab"))
	}
	// A legitimate OAB generation hiccup inside ClientAccess\OAB.
	ot := ms(d, 1, 31, 12, 905)
	s.oab(ot, "Warning", "Download failed and temporary file '"+InstallPath+`ClientAccess\OAB\`+s.oabVD+`\`+guid(r)+"-data-1.lzx' needs to be removed",
		mark("benign.oab-download-failed", "legitimate path under ClientAccess\\OAB"))
	// The administrator fixes the external URLs in ECP.
	s.adminURLChange(ms(d, 10, 12, 3, 0))
}

func (s *server) adminURLChange(t time.Time) {
	r := s.r
	a := &s.users[s.admins[0]]
	dom := s.domain + `\` + a.sam
	ua := browserUAs[1]
	c := canary(r)
	for _, x := range []struct{ schema, cmd, kind, note string }{
		{"OWAVirtualDirectory", "Set-OwaVirtualDirectory.ExternalUrl='https://" + s.ext + "/owa'.Identity='" + s.name + `\owa (Default Web Site)'`, "benign.ecp-set-owa-url", "admin sets the OWA external URL (plain URL, no markup)"},
		{"OABVirtualDirectory", "Set-OabVirtualDirectory.ExternalUrl='https://" + s.ext + "/OAB'.Identity='" + s.name + `\OAB (Default Web Site)'`, "benign.ecp-set-oab-url", "admin sets the OAB external URL (plain URL; CHIRP-04's literal prefix matches it, TPL-04 does not)"},
	} {
		q := "msExchEcpCanary=" + c + "&schema=" + x.schema
		s.emit(&request{t: t, method: "POST", stem: "/ecp/DDI/DDIService.svc/GetObject", query: q, proto: "Ecp", feUser: dom, clientIP: a.lanIP, ua: ua,
			referer: "https://" + s.ext + "/ecp/", status: 200, authType: "Negotiate", authUser: dom, anchor: "Sid~" + a.sid, routingHint: "CommonAccessToken-Windows"})
		t = t.Add(time.Duration(8000+r.IntN(20000)) * time.Millisecond)
		s.ecp(t.Add(-30*time.Millisecond), x.cmd, "/ecp/DDI/DDIService.svc/SetObject?"+q, "", mark(x.kind, x.note))
		s.emit(&request{t: t, method: "POST", stem: "/ecp/DDI/DDIService.svc/SetObject", query: q, proto: "Ecp", feUser: dom, clientIP: a.lanIP, ua: ua,
			referer: "https://" + s.ext + "/ecp/", status: 200, authType: "Negotiate", authUser: dom, anchor: "Sid~" + a.sid, routingHint: "CommonAccessToken-Windows"})
		t = t.Add(time.Duration(5000+r.IntN(20000)) * time.Millisecond)
	}
}
