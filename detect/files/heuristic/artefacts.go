package heuristic

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/evidence"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/filegen"
)

// lsassModules are modules only the LSA process loads together.
var lsassModules = []string{"lsasrv.dll", "msv1_0.dll", "wdigest.dll", "kerberos.dll", "samsrv.dll"}

var lsassDump = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-05",
		Title:       "LSASS memory dump (credential theft)",
		Description: "A minidump whose module list is the LSA process's (lsass.exe, or lsasrv.dll with msv1_0.dll): a credential dump, whatever its name. HAFNIUM dumped LSASS with comsvcs.dll MiniDump and procdump after ProxyLogon.",
		Severity:    finding.Critical,
		Stage:       finding.StageCredential,
		Campaign:    "HAFNIUM",
		Techniques:  []string{"T1003.001"},
		References:  []string{refHafnium, "https://attack.mitre.org/techniques/T1003/001/"},
	},
	Match: func(t *files.Target) (files.Hit, bool) {
		if !bytes.HasPrefix(t.Head, mdmpMagic) {
			return files.Hit{}, false
		}
		at := t.At
		if at == nil {
			at = bytes.NewReader(t.Head)
		}
		md, err := readMinidump(at, t.Size)
		if err != nil || md == nil || len(md.Modules) == 0 {
			// No readable module list: the strings still tell.
			if bytes.Contains(t.Head, filegen.UTF16LE(`\lsass.exe`)) {
				return files.Hit{Offset: -1, Excerpt: "minidump naming lsass.exe (module list unreadable)", Severity: finding.High,
					Fields: fields("format", "minidump", "note", "module list unreadable; lsass.exe named in the first bytes")}, true
			}
			return files.Hit{}, false
		}
		image := baseName(md.Modules[0])
		lsa := 0
		for _, m := range md.Modules {
			for _, l := range lsassModules {
				if baseName(m) == l {
					lsa++
				}
			}
		}
		if image != "lsass.exe" && lsa < 2 {
			return files.Hit{}, false
		}
		return files.Hit{Offset: -1, Excerpt: "minidump of " + md.Modules[0],
			Fields: fields("format", "minidump", "process", md.Modules[0], "modules", fmt.Sprint(len(md.Modules)))}, true
	},
	Samples: []files.Sample{
		{Path: "ProgramData/lsass.dmp", Place: placeProgramData, Match: true, Note: "comsvcs MiniDump of lsass",
			Data: filegen.Minidump(`C:\Windows\System32\lsass.exe`, `C:\Windows\System32\ntdll.dll`, `C:\Windows\System32\lsasrv.dll`, `C:\Windows\System32\msv1_0.dll`)},
		{Path: "Windows/Temp/report.txt", Place: "windows_temp", Match: true, Note: "renamed dump, lsass found by its modules",
			Data: filegen.Minidump(`C:\Windows\System32\svchost_.exe`, `C:\Windows\System32\lsasrv.dll`, `C:\Windows\System32\msv1_0.dll`, `C:\Windows\System32\wdigest.dll`)},
		{Path: "ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_1/memory.hdmp", Place: "wer", Match: false, Note: "crash dump of an IIS worker",
			Data: filegen.Minidump(`c:\windows\system32\inetsrv\w3wp.exe`, `C:\Windows\System32\ntdll.dll`, `C:\Windows\System32\kernel32.dll`)},
		{Path: "root/lsass.dmp", Place: "root", Match: false, Note: "named lsass.dmp but not a minidump",
			Data: []byte("lsass.dmp: nothing here")},
	},
}

// Archive heads.
var archiveMagic = []struct {
	format string
	magic  []byte
}{
	{"7z", []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}},
	{"rar", []byte("Rar!\x1a\x07")},
	{"zip", []byte("PK\x03\x04")},
}

// zipContainers are file types that are zips inside but not archives
// anyone stages data in.
var zipContainers = map[string]bool{
	".docx": true, ".xlsx": true, ".pptx": true, ".docm": true, ".xlsm": true, ".odt": true, ".ods": true, ".odp": true,
	".jar": true, ".war": true, ".ear": true, ".apk": true, ".nupkg": true, ".vsix": true, ".appx": true, ".msix": true,
	".appxbundle": true, ".msixbundle": true, ".xpi": true, ".whl": true, ".epub": true, ".xps": true, ".oxps": true, ".kmz": true,
}

var stagingArchive = &files.Detector{
	Advisory: finding.Advisory{
		ID:          ArchiveID,
		Title:       "Archive in ProgramData (possible data staging)",
		Description: "7-Zip, RAR and zip archives under ProgramData (by content, whatever the name): HAFNIUM staged LSASS dumps and mailboxes there (C:\\ProgramData\\it.zip). Security products keep archives there too (CSS-Exchange#311), so this is low unless the host has other findings of medium or above; then the run raises it to medium.",
		Severity:    finding.Low,
		Stage:       finding.StageCollection,
		Campaign:    "HAFNIUM",
		Techniques:  []string{"T1560.001", "T1074.001"},
		References:  []string{refHafnium, "https://github.com/microsoft/CSS-Exchange/issues/311"},
	},
	Places: []string{placeProgramData},
	Match: func(t *files.Target) (files.Hit, bool) {
		if zipContainers[t.Ext()] {
			return files.Hit{}, false
		}
		for _, a := range archiveMagic {
			if bytes.HasPrefix(t.Head, a.magic) {
				return files.Hit{Offset: -1, Excerpt: a.format + " archive, " + fmt.Sprint(t.Size) + " bytes", Fields: fields("format", a.format)}, true
			}
		}
		return files.Hit{}, false
	},
	Samples: []files.Sample{
		{Path: "C/ProgramData/lsass.7z", Place: placeProgramData, Match: true, Note: "7-Zip archive", Data: filegen.SevenZip()},
		{Path: "C/ProgramData/it.dat", Place: placeProgramData, Match: true, Note: "RAR renamed", Data: filegen.RAR()},
		{Path: "C/ProgramData/McAfee/Agent/Backup/policy.zip", Place: placeProgramData, Match: true, Note: "a vendor zip: reported low (raised only with other findings)", Data: []byte("PK\x03\x04\x14\x00")},
		{Path: "C/ProgramData/Vendor/report.docx", Place: placeProgramData, Match: false, Note: "an Office document is a zip inside", Data: []byte("PK\x03\x04\x14\x00")},
		{Path: "C/ProgramData/Vendor/readme.zip", Place: placeProgramData, Match: false, Note: "named .zip, but text", Data: []byte("see the web site")},
	},
}

const appHostHead = `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <system.applicationHost>
        <sites>
            <site name="Default Web Site" id="1">
                <application path="/" applicationPool="DefaultAppPool">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\inetpub\wwwroot" />
                </application>
                <application path="/owa" applicationPool="MSExchangeOWAAppPool">
                    <virtualDirectory path="/" physicalPath="C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa" />
                </application>
`

const appHostTail = `            </site>
        </sites>
    </system.applicationHost>
</configuration>
`

var rogueVirtualDirectory = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-07",
		Title:       "IIS virtual directory served from ProgramData or a device-name folder (ProxyShell persistence)",
		Description: "applicationHost.config maps a virtual directory into ProgramData (or Users\\All Users) or through a folder named like a device (COM1, LPT1, AUX, CON, NUL): ProxyShell actors hid web roots there, beyond the reach of a web-root scan.",
		Severity:    finding.High,
		Stage:       finding.StageWrite,
		Campaign:    "ProxyShell",
		Techniques:  []string{"T1505.003", "T1564.001"},
		References:  []string{refProxyShell, "https://github.com/Neo23x0/signature-base/blob/master/yara/expl_proxyshell.yar"},
	},
	Places: []string{placeIISConfig},
	Match: func(t *files.Target) (files.Hit, bool) {
		data := t.Head
		if t.Size > int64(len(t.Head)) && t.At != nil && t.Size <= evidence.MaxAppHostSize {
			data = make([]byte, t.Size)
			if n, _ := t.At.ReadAt(data, 0); int64(n) != t.Size {
				data = t.Head
			}
		}
		vds, _ := readAppHostVDirs(data)
		var bad []string
		var first vdir
		var why string
		for _, v := range vds {
			if w, ok := suspiciousPhysical(v.Physical); ok {
				if len(bad) == 0 {
					first, why = v, w
				}
				bad = append(bad, v.Site+v.App+v.Path)
			}
		}
		if len(bad) == 0 {
			return files.Hit{}, false
		}
		off := bytes.Index(t.Head, []byte(first.Physical))
		if off >= 0 {
			off = max(0, bytes.LastIndexByte(t.Head[:off], '<'))
		}
		return files.Hit{Offset: off, Fields: fields("site", first.Site, "application", first.App, "physical_path", first.Physical,
			"why", why, "rogue_vdirs", fmt.Sprint(len(bad)))}, true
	},
	Samples: []files.Sample{
		{Path: "C/Windows/System32/inetsrv/config/applicationHost.config", Place: placeIISConfig, Match: true, Note: "vdir into ProgramData\\COM1",
			Data: []byte(appHostHead + `                <application path="/ews/x" applicationPool="MSExchangeServicesAppPool">
                    <virtualDirectory path="/" physicalPath="C:\ProgramData\COM1\ews" />
                </application>
` + appHostTail)},
		{Path: "C/Windows/System32/inetsrv/config/applicationHost.config", Place: placeIISConfig, Match: true, Note: "vdir under Users\\All Users",
			Data: []byte(appHostHead + `                <application path="/rpc2"><virtualDirectory path="/" physicalPath="C:\Users\All Users\ZING" /></application>
` + appHostTail)},
		{Path: "C/Windows/System32/inetsrv/config/applicationHost.config", Place: placeIISConfig, Match: false, Note: "Exchange's own virtual directories",
			Data: []byte(appHostHead + appHostTail)},
		{Path: "C/Windows/System32/inetsrv/config/applicationHost.config", Place: placeIISConfig, Match: false, Note: "a site on another drive",
			Data: []byte(appHostHead + `                <application path="/intranet"><virtualDirectory path="/" physicalPath="D:\Sites\intranet\common" /></application>
` + appHostTail)},
	},
}

var workerCrashReport = &files.Detector{
	Advisory: finding.Advisory{
		ID:          "EXH-FILE-08",
		Title:       "Windows Error Report of an Exchange web worker crash (ProxyLogon context)",
		Description: "A crash report of UMWorkerProcess (CVE-2021-26857, Unified Messaging deserialization) or of an Exchange IIS worker (w3wp, MSExchangeECPAppPool: exploitation of CVE-2021-26858/27065 that failed, often after patching). Context, not proof: low, medium for the UM worker.",
		Severity:    finding.Low,
		Stage:       finding.StageAttempt,
		Campaign:    "ProxyLogon",
		CVEs:        []string{"CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"},
		Techniques:  []string{"T1190"},
		References:  []string{refHafnium, "https://github.com/Neo23x0/signature-base/blob/master/yara/apt_hafnium.yar"},
	},
	Match: func(t *files.Target) (files.Hit, bool) {
		if !strings.EqualFold(t.Name, "Report.wer") && !bytes.HasPrefix(t.Head, []byte("\xff\xfeV\x00e\x00r\x00s\x00i\x00o\x00n\x00=\x00")) {
			return files.Hit{}, false
		}
		r, ok := readWER(t.Head)
		if !ok {
			return files.Hit{}, false
		}
		app := strings.ToLower(r["AppPath"] + " " + r["AppName"] + " " + r["NsAppName"] + " " + strings.Join(r.values(".Value"), " "))
		pool := ""
		for _, v := range r.values(".Value") {
			if i := strings.Index(strings.ToLower(v), "w3wp#"); i >= 0 {
				pool = v[i+len("w3wp#"):]
			}
		}
		h := files.Hit{Offset: -1, Time: r.eventTime(), Fields: fields("event_type", r["EventType"], "app", firstNonEmpty(r["AppPath"], r["AppName"], r["NsAppName"]), "app_pool", pool)}
		switch {
		case strings.Contains(app, "umworkerprocess"):
			h.Severity = finding.Medium
			h.Fields["context"] = "CVE-2021-26857 (Unified Messaging deserialization)"
		case strings.Contains(app, "w3wp") && (pool == "" || strings.HasPrefix(strings.ToLower(pool), "msexchange")):
			h.Fields["context"] = "Exchange IIS worker crash (CVE-2021-26858 / CVE-2021-27065 attempts)"
		default:
			return files.Hit{}, false
		}
		h.Excerpt = fmt.Sprintf("%s crash of %s", r["EventType"], h.Fields["app"])
		if pool != "" {
			h.Excerpt += " (" + pool + ")"
		}
		return h, true
	},
	Samples: []files.Sample{
		{Path: "ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_UMWorkerProcess_1/Report.wer", Place: "wer", Match: true, Note: "UM worker crash",
			Data: filegen.WER("Version", "1", "EventType", "APPCRASH", "EventTime", "132590405951234567", "AppName", "UMWorkerProcess.exe",
				"AppPath", `D:\Exchange Server\V15\Bin\UMWorkerProcess.exe`, "Sig[0].Name", "Application Name", "Sig[0].Value", "UMWorkerProcess.exe")},
		{Path: "ProgramData/Microsoft/Windows/WER/ReportArchive/Critical_w3wp.exe_1/Report.wer", Place: "wer", Match: true, Note: "ECP app pool crash",
			Data: filegen.WER("Version", "1", "EventType", "CLR20r3", "EventTime", "132590405951234567", "AppName", "IIS Worker Process",
				"AppPath", `c:\windows\system32\inetsrv\w3wp.exe`, "Sig[0].Name", "Problem Signature 01", "Sig[0].Value", "w3wp#MSExchangeECPAppPool")},
		{Path: "ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_msiexec_1/Report.wer", Place: "wer", Match: false, Note: "an installer crash",
			Data: filegen.WER("Version", "1", "EventType", "APPCRASH", "AppName", "Windows installer", "AppPath", `C:\Windows\System32\msiexec.exe`)},
		{Path: "ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_2/Report.wer", Place: "wer", Match: false, Note: "another site's worker",
			Data: filegen.WER("Version", "1", "EventType", "CLR20r3", "AppPath", `c:\windows\system32\inetsrv\w3wp.exe`, "Sig[0].Value", "w3wp#IntranetAppPool")},
	},
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
