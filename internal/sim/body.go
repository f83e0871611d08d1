package sim

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Synthetic bodies. They carry only the short markers that peer tools and
// our probe match (exposure.md §1.1, §1.3, §6.4), padded to the size of
// the real pages with neutral filler, never Microsoft page content. The
// filler is built once and shared by every host.

var (
	padOWA      = filler("owa", 26_600) // logon page ~28 KB
	padECP      = filler("ecp", 46_600) // ECP logon ~48 KB
	padManifest = signatureFiller(14_200)
	hugeChunk   = []byte(strings.Repeat("<!-- exhunt-sim: oversized body -->\n", 1820)) // ~64 KB
)

// filler is CSS-looking rules, so that a page keeps its markers near the
// top as real pages do and the rest looks like a stylesheet.
func filler(prefix string, n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, ".sim-%s-%04d{margin:0 %dpx %dpx 0;padding:%dpx;color:#%06x}\n", prefix, i, i%7, i%5, i%3, (i*2654435761)&0xffffff)
	}
	return []byte(b.String()[:n])
}

func signatureFiller(n int) []byte {
	raw := make([]byte, n*3/4)
	x := uint32(2463534242)
	for i := range raw {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		raw[i] = byte(x)
	}
	s := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	return []byte(b.String())
}

func title(v view, kind string, ecp bool) string {
	switch {
	case ecp:
		return "Exchange Admin Center"
	case kind == "exchange-2007":
		return "Microsoft Exchange - Outlook Web Access"
	case kind == "exchange-2010", kind == "exchange-2013":
		return "Outlook Web App"
	}
	return "Outlook"
}

// resourcePrefix is where the logon page's favicon, fonts and scripts
// live: /owa/auth/<a.b.c>/ from 2013 on, /owa/<a.b.c.d>/ before.
func resourcePrefix(v view) string {
	if v.modern {
		return "/owa/auth/" + v.owa3 + "/"
	}
	return "/owa/" + v.owa + "/"
}

// logonPage is the OWA (or, with ecp, the ECP) forms logon page.
func logonPage(v view, kind string, ecp bool) [][]byte {
	res := resourcePrefix(v)
	head := fmt.Sprintf(`<!DOCTYPE html>
<!-- exhunt-sim: synthetic logon page; only the markers peer tools match are kept -->
<!-- OwaPage = ASP.auth_logon_aspx -->
<html dir="ltr" lang="en"><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=10">
<link rel="shortcut icon" href="%sthemes/resources/favicon.ico" type="image/x-icon">
<meta name="robots" content="noindex, nofollow">
<title>%s</title>
<link rel="stylesheet" type="text/css" href="%sthemes/resources/logon.css">
<script type="text/javascript" src="%sscripts/premium/flogon.js"></script>
<style>
`, res, title(v, kind, ecp), res, res)
	pad := padOWA
	if ecp {
		pad = padECP
	}
	tail := `</style></head>
<body class="signInBg">
<form action="/owa/auth.owa" method="POST" name="logonForm" autocomplete="off">
<input type="hidden" name="destination" value="">
<label for="username">Domain\user name:</label><input id="username" name="username" type="text">
<label for="password">Password:</label><input id="password" name="password" type="password">
<input type="submit" value="sign in">
</form>
</body></html>
`
	return [][]byte{[]byte(head), pad, []byte(tail)}
}

// manifest is the eDiscovery export tool's ClickOnce deployment manifest
// with its two assemblyIdentity versions.
func manifest(version string) [][]byte {
	head := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" xmlns="urn:schemas-microsoft-com:asm.v2" xmlns:asmv2="urn:schemas-microsoft-com:asm.v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#">
  <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="%[1]s" publicKeyToken="5e1f0c2a9b3d4e6f" language="neutral" processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />
  <description asmv2:publisher="exhunt-sim" asmv2:product="synthetic export tool manifest" xmlns="urn:schemas-microsoft-com:asm.v1" />
  <deployment install="false" trustURLParameters="true" />
  <dependency>
    <dependentAssembly dependencyType="install" codebase="%[1]s\microsoft.exchange.ediscovery.exporttool.exe.manifest" size="21954">
      <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.exe" version="%[1]s" publicKeyToken="5e1f0c2a9b3d4e6f" language="neutral" processorArchitecture="msil" type="win32" />
    </dependentAssembly>
  </dependency>
  <publisherIdentity name="CN=exhunt-sim" />
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignatureValue>
`, version)
	return [][]byte{[]byte(head), padManifest, []byte("\n</SignatureValue></Signature>\n</asmv1:assembly>\n")}
}

// mapiPage is the diagnostic page of /mapi/nspi/ reached through the
// ProxyShell SSRF: it runs as SYSTEM on the backend.
func mapiPage(version, backend string) []byte {
	return []byte(fmt.Sprintf(`<html><head><title>Exchange MAPI/HTTP Connectivity Endpoint</title></head><body>
<p>Exchange MAPI/HTTP Connectivity Endpoint<br><br>Version: %s<br>Vdir Path: /mapi/nspi/<br><br>
<b>User:</b> NT AUTHORITY\SYSTEM<br><b>UPN:</b> <br><b>SID:</b> S-1-5-18<br><b>Organization:</b> <br>
<b>Authentication:</b> Negotiate<br><b>PUID:</b> <br><b>TenantGuid:</b> <br><br>
<b>Cafe:</b> %s<br><b>Mailbox:</b> %s<br><b>Created:</b> 2021-08-08T00:00:00Z<br></p></body></html>
`, version, backend, backend))
}

func movedBody(loc string) []byte {
	return []byte(fmt.Sprintf("<html><head><title>Object moved</title></head><body>\r\n<h2>Object moved to <a href=\"%s\">here</a>.</h2>\r\n</body></html>\r\n", htmlEscape(loc)))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

const (
	iis404 = `<!DOCTYPE html><html><head><title>404 - File or directory not found.</title></head>
<body><div id="header"><h1>Server Error</h1></div><div id="content"><fieldset><h2>404 - File or directory not found.</h2>
<p>exhunt-sim: no such path on this simulated server.</p></fieldset></div></body></html>
`
	iis503  = "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2><p>exhunt-sim: intermittent failure.</p></body></html>\r\n"
	iisHome = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>IIS Windows Server</title>
<style>body{background-color:#0072C6;margin:0}#container{margin-left:auto;margin-right:auto;text-align:center}</style></head>
<body><div id="container"><a href="https://www.iis.net/"><img src="iisstart.png" alt="IIS" width="960" height="600"></a></div></body></html>
`
	otherHome = `<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works</h1><p>This is the default page of a web server that is not Exchange.</p></body></html>
`
	other404    = "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>\n"
	portalLogin = `<!DOCTYPE html><html><head><title>Secure Access Gateway</title></head><body>
<h1>Sign in</h1><form method="POST" action="/portal/login"><input name="user"><input name="pass" type="password"></form></body></html>
`
)

// favicon is a 16x16 icon of one colour: the right shape, not Microsoft's
// bytes, so favicon-hash matchers do not fire (a known parity gap).
var favicon = func() []byte {
	b := []byte{0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0}
	size := 40 + 16*16*4 + 16*4
	b = append(b, byte(size), byte(size>>8), 0, 0, 22, 0, 0, 0)
	hdr := []byte{40, 0, 0, 0, 16, 0, 0, 0, 32, 0, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0}
	b = append(b, hdr...)
	b = append(b, make([]byte, 16)...)
	for i := 0; i < 16*16; i++ {
		b = append(b, 0xc6, 0x72, 0x00, 0xff)
	}
	return append(b, make([]byte, 16*4)...)
}()
