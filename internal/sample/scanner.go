package sample

import (
	"encoding/binary"
	"time"
)

// scanner: EX03, an Exchange 2016 CU21 server with the July 2021 SU
// (15.1.2308.14) on 2021-08-20, in the middle of the ProxyShell mass
// scanning. Internet scanners probe it all day; every ProxyShell probe
// fails (401 or 400), the ProxyLogon localhost probes get 500 or 400 and
// the SSRF attempts stop at autodiscover. Nothing succeeds and nothing is
// written to disk. Build evidence: HttpProxy and Rps_Http version
// columns, OWA resource paths in IIS, the owa/auth/15.1.2308 folder next
// to the CU18 folder the upgrade left behind, and Bin/ExSetup.exe.
func scanner() *Tree {
	b := newBuilder(Scanner)
	s := newServer(20210820, "EX03", "10.30.0.8", "15.01.2308.014", 150, "S-1-5-21-3055186104-2290744415-1019293847")
	s.b = b
	b.extra = append(b.extra, s.applicationHost())
	d := day(2021, 8, 20)
	s.normalDay(d, 600, []string{"Mapi", "Owa", "Ecp"})
	s.scannerNoise(d)
	s.eventLogs(b, s.scannerEvents)
	s.scannerFiles(b)
	return b.tree()
}

func (s *server) scannerNoise(d time.Time) {
	r := s.r
	// ProxyShell probes from three scanners: autodiscover.json with the
	// @-suffix trick; the patched server refuses them all.
	sfx := "&Email=autodiscover/autodiscover.json%3F@evil.corp"
	for i, a := range []struct {
		ip     string
		h      int
		status int
	}{{"203.0.113.77", 3, 401}, {"198.51.100.99", 11, 400}, {"192.0.2.180", 19, 401}} {
		t := s.at(d, a.h)
		for _, st := range []struct{ method, path string }{
			{"GET", "@evil.corp/owa/?"},
			{"POST", "@evil.corp/autodiscover/autodiscover.xml?"},
			{"POST", "@evil.corp/mapi/nspi/?"},
		} {
			m := mark("scanner.proxyshell-failed", "ProxyShell probe refused by the patched server (HTTP "+itoa(a.status)+")")
			s.emit(&request{t: t, method: st.method, stem: "/autodiscover/autodiscover.json", query: st.path + sfx, proto: "Autodiscover",
				clientIP: a.ip, ua: "python-requests/2.26.0", status: a.status, taken: 3 + r.IntN(10), noBackend: true, feMark: m, pxMark: m})
			t = t.Add(time.Duration(700+r.IntN(900+i)) * time.Millisecond)
		}
	}
	// ProxyLogon localhost probes, answered 500 (the classic) or 400.
	for i := 0; i < 12; i++ {
		t := s.at(d, (i*5)%24)
		ip := wanIP(r)
		ua := "Mozilla/5.0 (Exchange check)"
		m := mark("scanner.localhost-probe", "CVE-2021-26855 scanner: ServerInfo~localhost, HTTP 500 or 400")
		if i%3 == 0 {
			s.emit(&request{t: t, method: "GET", stem: "/owa/auth/x.js", proto: "Owa", clientIP: ip, ua: ua, status: 400, taken: 200 + r.IntN(200),
				authType: "FBA", anchor: "ServerInfo~localhost/ecp/default.flt?", target: "localhost", targetVer: "0.00.0003.000",
				routingType: "CrossRegion", routingHint: "X-AnonResource-Backend-Cookie", beVersion: 3, noBackend: true, rowProxy: true,
				feMark: m, pxMark: m})
			continue
		}
		s.localhostProbe(t, ip, ua, m)
	}
	// SSRF attempts that stop at autodiscover: no valid mailbox found.
	for _, a := range []struct {
		ip, stem string
		h        int
	}{{"198.51.100.61", "/ecp/x.js", 6}, {"203.0.113.145", "/ecp/Pq.js", 15}} {
		t := s.at(d, a.h)
		anchor := "ServerInfo~a]@" + s.fqdn + ":444/autodiscover/autodiscover.xml?#"
		note := "SSRF attempt that stops at autodiscover (no valid mailbox); attempt, not compromise"
		s.emit(&request{t: t, method: "POST", stem: a.stem, proto: "Ecp", clientIP: a.ip, ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Safari/537.36",
			status: 200, taken: 200 + r.IntN(300), anchor: anchor, routingHint: "X-BEResource-Cookie", routingType: "CrossRegion", target: s.fqdn,
			targetVer: exploitBEVerTx, beVersion: exploitBEVer, beStem: "/autodiscover/autodiscover.xml", beUser: s.domain + `\` + s.name + "$",
			feMark: mark("scanner.ssrf-autodiscover-only", note), pxMark: mark("scanner.ssrf-autodiscover-only", note+"; AnchorMailbox "+anchor),
			beMark: mark("scanner.ssrf-autodiscover-only", "back end of "+note)})
	}
	// A banner grabber and a scanner that loads the OWA logon page and its
	// resources: the resource paths name the CU (15.1.2308).
	for _, h := range []int{2, 9, 17} {
		s.zgrab(s.at(d, h), wanIP(r), mark("scanner.zgrab", "zgrab banner grab"))
	}
	for _, h := range []int{8, 21} {
		t := s.at(d, h)
		ip := wanIP(r)
		ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Safari/537.36"
		s.emit(&request{t: t, method: "GET", stem: "/owa/auth/logon.aspx", query: "url=https%3a%2f%2f" + s.ext + "%2fowa%2f&reason=0", proto: "Owa",
			clientIP: ip, ua: ua, status: 200, noBackend: true, authType: "FBA", taken: 15})
		for _, res := range []string{"themes/resources/logon.css", "themes/resources/favicon.ico", "scripts/premium/flogon.js"} {
			t = t.Add(time.Duration(80+r.IntN(200)) * time.Millisecond)
			s.emit(&request{t: t, method: "GET", stem: "/owa/auth/15.1.2308/" + res, proto: "Owa", clientIP: ip, ua: ua, status: 200, noBackend: true, authType: "FBA", taken: 1,
				feMark: mark("benign.owa-resource", "OWA logon resource; the path names the CU (build evidence)")})
		}
	}
}

// scannerEvents is EX03's event log: an ordinary day.
func (s *server) scannerEvents() ([]File, []Mark) {
	l := newEventLog(s)
	l.background(day(2021, 8, 20))
	return l.files()
}

// scannerFiles: Exchange's own files, the CU21 resource folder beside the
// CU18 one the upgrade left, and ExSetup.exe.
func (s *server) scannerFiles(b *builder) {
	s.exchangeFiles(b)
	b.file(feDir+"owa/auth/15.1.2308/themes/resources/logon.css", []byte(logonCSS), nil)
	b.file("D/Exchange Server/V15/Bin/ExSetup.exe", exSetup(15, 1, 2308, 14),
		mark("benign.exsetup", "ExSetup.exe with a version resource naming 15.1.2308.14 (synthetic)"))
}

// exSetup is a synthetic ExSetup.exe: an MZ head that says what it is, and
// a VS_VERSIONINFO block whose VS_FIXEDFILEINFO carries the version.
func exSetup(major, minor, build, rev int) []byte {
	out := []byte("MZ")
	out = append(out, make([]byte, 62)...)
	out = append(out, "exhunt synthetic sample: not a real file. Microsoft Exchange Server setup stand-in.\x00"...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	// VS_VERSIONINFO: wLength, wValueLength (52), wType (0), key, padding.
	hdr := len(out)
	out = append(out, 0, 0, 52, 0, 0, 0)
	for _, c := range "VS_VERSION_INFO\x00" {
		out = append(out, byte(c), 0)
	}
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	var ffi [52]byte
	le := binary.LittleEndian
	le.PutUint32(ffi[0:], 0xFEEF04BD)
	le.PutUint32(ffi[4:], 0x00010000)
	le.PutUint32(ffi[8:], uint32(major<<16|minor))
	le.PutUint32(ffi[12:], uint32(build<<16|rev))
	le.PutUint32(ffi[16:], uint32(major<<16|minor))
	le.PutUint32(ffi[20:], uint32(build<<16|rev))
	le.PutUint32(ffi[32:], 0x00040004) // VOS_NT_WINDOWS32
	le.PutUint32(ffi[36:], 1)          // VFT_APP
	out = append(out, ffi[:]...)
	le.PutUint16(out[hdr:], uint16(len(out)-hdr))
	return out
}
