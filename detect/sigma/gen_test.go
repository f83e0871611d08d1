package sigma

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// Synthetic events: a realistic mix for benchmarks, and a rule-aware
// fuzzer mix for the prefilter soundness property test.

// kv is a field of a template event.
type kv struct{ k, v string }

type evTemplate struct {
	channel string
	eid     uint32
	weight  int
	fields  func(r *rand.Rand) []kv
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

var (
	images = []string{
		`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\conhost.exe`, `C:\Windows\System32\cmd.exe`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Program Files\Google\Chrome\Application\chrome.exe`,
		`C:\Windows\System32\inetsrv\w3wp.exe`, `C:\Windows\System32\taskhostw.exe`, `C:\Windows\explorer.exe`,
		`C:\Program Files\Microsoft\Exchange Server\V15\Bin\MSExchangeHMWorker.exe`, `C:\Windows\System32\wbem\WmiPrvSE.exe`,
		`C:\Windows\System32\rundll32.exe`, `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`,
	}
	cmdlines = []string{
		`C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`,
		`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=1234,i,5678 --lang=en-US`,
		`powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Scripts\backup.ps1`, `cmd /c echo hello > C:\Temp\out.txt`,
		`c:\windows\system32\inetsrv\w3wp.exe -ap "MSExchangeOWAAppPool" -v "v4.0" -c "C:\Program Files\Microsoft\Exchange Server\V15\bin\GenericAppPoolConfigWithGCServerEnabledFalse.config" -a \\.\pipe\iisipm -h "C:\inetpub\temp\apppools\MSExchangeOWAAppPool\MSExchangeOWAAppPool.config" -w "" -m 0`,
		`taskhostw.exe NGCKeyPregen`, `C:\Windows\Explorer.EXE`, `rundll32.exe C:\Windows\System32\shell32.dll,SHCreateLocalServerRunDll {9aa46009-3ce0-458a-a354-715610a075e6} -Embedding`,
	}
	users     = []string{`NT AUTHORITY\SYSTEM`, `CONTOSO\alice`, `CONTOSO\svc_backup`, `NT AUTHORITY\NETWORK SERVICE`, `EX01\Administrator`}
	dlls      = []string{`C:\Windows\System32\ntdll.dll`, `C:\Windows\System32\kernel32.dll`, `C:\Windows\System32\KernelBase.dll`, `C:\Windows\System32\advapi32.dll`, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll`, `C:\Windows\System32\bcrypt.dll`}
	files     = []string{`C:\Users\alice\AppData\Local\Temp\tmp1234.tmp`, `C:\Windows\Prefetch\CMD.EXE-4A81B364.pf`, `C:\ProgramData\Microsoft\Windows\WER\Temp\x.xml`, `C:\inetpub\logs\LogFiles\W3SVC1\u_ex210302.log`, `C:\Users\alice\Documents\report.docx`}
	regkeys   = []string{`HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-21-1-2-3-1001\\Device\HarddiskVolume2\Windows\System32\cmd.exe`, `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\OneDrive`, `HKU\S-1-5-21-1-2-3-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx`}
	hosts     = []string{"www.microsoft.com", "login.microsoftonline.com", "outlook.office365.com", "ex01.contoso.local", "update.googleapis.com"}
	scripts   = []string{"Get-ChildItem -Path C:\\Logs -Recurse | Where-Object { $_.Length -gt 1MB } | Remove-Item", "Import-Module ActiveDirectory; Get-ADUser -Filter * -Properties LastLogonDate", "$ErrorActionPreference = 'Stop'\nparam([string]$Path)\nGet-Content $Path | ForEach-Object { Write-Output $_ }"}
	hashes    = "SHA1=3F4A9D6A5E1C2B7F8E9D0C1B2A3F4E5D6C7B8A9F,MD5=9B2F1A4C6D8E0F1A2B3C4D5E6F7A8B9C,SHA256=2D1F3A4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F,IMPHASH=1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D"
	templates []evTemplate
)

func init() {
	guid := func(r *rand.Rand) string {
		return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()&(1<<48-1))
	}
	templates = []evTemplate{
		{chSysmon, 1, 30, func(r *rand.Rand) []kv {
			img := pick(r, images)
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", fmt.Sprint(r.IntN(20000))},
				{"Image", img}, {"FileVersion", "10.0.17763.1 (WinBuild.160101.0800)"}, {"Description", "Windows Command Processor"}, {"Product", "Microsoft® Windows® Operating System"},
				{"Company", "Microsoft Corporation"}, {"OriginalFileName", img[strings.LastIndexByte(img, '\\')+1:]}, {"CommandLine", pick(r, cmdlines)},
				{"CurrentDirectory", `C:\Windows\system32\`}, {"User", pick(r, users)}, {"LogonGuid", guid(r)}, {"LogonId", "0x3e7"}, {"TerminalSessionId", "0"},
				{"IntegrityLevel", "System"}, {"Hashes", hashes}, {"ParentProcessGuid", guid(r)}, {"ParentProcessId", fmt.Sprint(r.IntN(20000))},
				{"ParentImage", pick(r, images)}, {"ParentCommandLine", pick(r, cmdlines)}, {"ParentUser", pick(r, users)}}
		}},
		{chSysmon, 3, 15, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", "4242"}, {"Image", pick(r, images)},
				{"User", pick(r, users)}, {"Protocol", "tcp"}, {"Initiated", "true"}, {"SourceIsIpv6", "false"}, {"SourceIp", "10.0.0.12"}, {"SourceHostname", "EX01.contoso.local"},
				{"SourcePort", fmt.Sprint(49152 + r.IntN(10000))}, {"SourcePortName", "-"}, {"DestinationIsIpv6", "false"}, {"DestinationIp", fmt.Sprintf("%d.%d.%d.%d", 13+r.IntN(200), r.IntN(256), r.IntN(256), r.IntN(256))},
				{"DestinationHostname", pick(r, hosts)}, {"DestinationPort", pick(r, []string{"443", "80", "135", "445", "389"})}, {"DestinationPortName", "https"}}
		}},
		{chSysmon, 7, 15, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", "4242"}, {"Image", pick(r, images)},
				{"ImageLoaded", pick(r, dlls)}, {"FileVersion", "10.0.17763.1"}, {"Description", "NT Layer DLL"}, {"Product", "Microsoft® Windows® Operating System"},
				{"Company", "Microsoft Corporation"}, {"OriginalFileName", "ntdll.dll"}, {"Hashes", hashes}, {"Signed", "true"}, {"Signature", "Microsoft Windows"}, {"SignatureStatus", "Valid"}, {"User", pick(r, users)}}
		}},
		{chSysmon, 10, 5, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"SourceProcessGUID", guid(r)}, {"SourceProcessId", "812"}, {"SourceThreadId", "900"},
				{"SourceImage", pick(r, images)}, {"TargetProcessGUID", guid(r)}, {"TargetProcessId", "640"}, {"TargetImage", `C:\Windows\system32\svchost.exe`},
				{"GrantedAccess", "0x1000"}, {"CallTrace", `C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\KERNELBASE.dll+2bcbe|UNKNOWN(00007FF6)`}, {"SourceUser", pick(r, users)}, {"TargetUser", pick(r, users)}}
		}},
		{chSysmon, 11, 10, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", "4242"}, {"Image", pick(r, images)},
				{"TargetFilename", pick(r, files)}, {"CreationUtcTime", "2021-03-02 21:04:11.512"}, {"User", pick(r, users)}}
		}},
		{chSysmon, 13, 10, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"EventType", "SetValue"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", "4242"},
				{"Image", pick(r, images)}, {"TargetObject", pick(r, regkeys)}, {"Details", pick(r, []string{"DWORD (0x00000001)", "Binary Data", `"C:\Program Files\x\x.exe" /background`})}, {"User", pick(r, users)}}
		}},
		{chSysmon, 22, 3, func(r *rand.Rand) []kv {
			return []kv{{"RuleName", "-"}, {"UtcTime", "2021-03-02 21:04:11.512"}, {"ProcessGuid", guid(r)}, {"ProcessId", "4242"}, {"QueryName", pick(r, hosts)},
				{"QueryStatus", "0"}, {"QueryResults", "type:  5 edge.microsoft.com;::ffff:13.107.4.50;"}, {"Image", pick(r, images)}, {"User", pick(r, users)}}
		}},
		{chSecurity, 4624, 5, func(r *rand.Rand) []kv {
			return []kv{{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "EX01$"}, {"SubjectDomainName", "CONTOSO"}, {"SubjectLogonId", "0x3e7"},
				{"TargetUserSid", "S-1-5-21-1-2-3-1104"}, {"TargetUserName", pick(r, []string{"alice", "HealthMailbox0f2b3c", "EX01$"})}, {"TargetDomainName", "CONTOSO"},
				{"TargetLogonId", "0x1a2b3c"}, {"LogonType", pick(r, []string{"3", "2", "10", "5"})}, {"LogonProcessName", "Kerberos"}, {"AuthenticationPackageName", "Kerberos"},
				{"WorkstationName", "-"}, {"LogonGuid", guid(r)}, {"TransmittedServices", "-"}, {"LmPackageName", "-"}, {"KeyLength", "0"}, {"ProcessId", "0x0"},
				{"ProcessName", "-"}, {"IpAddress", "10.0.0.21"}, {"IpPort", "51234"}, {"ImpersonationLevel", "%%1833"}}
		}},
		{chSecurity, 4688, 4, func(r *rand.Rand) []kv {
			return []kv{{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "EX01$"}, {"SubjectDomainName", "CONTOSO"}, {"SubjectLogonId", "0x3e7"},
				{"NewProcessId", "0x1a2c"}, {"NewProcessName", pick(r, images)}, {"TokenElevationType", "%%1936"}, {"ProcessId", "0x2b8"}, {"CommandLine", pick(r, cmdlines)},
				{"TargetUserSid", "S-1-0-0"}, {"TargetUserName", "-"}, {"TargetDomainName", "-"}, {"TargetLogonId", "0x0"}, {"ParentProcessName", pick(r, images)}, {"MandatoryLabel", "S-1-16-16384"}}
		}},
		{chPowerShell, 4104, 2, func(r *rand.Rand) []kv {
			return []kv{{"MessageNumber", "1"}, {"MessageTotal", "1"}, {"ScriptBlockText", pick(r, scripts)}, {"ScriptBlockId", guid(r)}, {"Path", `C:\Scripts\maintenance.ps1`}}
		}},
		{"System", 7036, 1, func(r *rand.Rand) []kv {
			return []kv{{"param1", "Windows Update"}, {"param2", "running"}, {"Binary", "770075006100750073007600630000"}}
		}},
	}
}

// realisticEvent draws one event of the benchmark mix.
func realisticEvent(r *rand.Rand) *event.Event {
	total := 0
	for _, t := range templates {
		total += t.weight
	}
	n := r.IntN(total)
	var tp evTemplate
	for _, t := range templates {
		if n < t.weight {
			tp = t
			break
		}
		n -= t.weight
	}
	w := &event.WinEvent{Channel: tp.channel, EventID: tp.eid, Provider: "Microsoft-Windows-Sysmon", Computer: "EX01.contoso.local", Level: 4, RecordID: r.Uint64() % 1e6}
	for _, x := range tp.fields(r) {
		w.Add(x.k, x.v)
	}
	ev := &event.Event{}
	ev.ResetWin(event.EVTX, event.Location{Path: "bench.evtx", Record: w.RecordID}, "EX01", w, w.AppendValues(nil))
	return ev
}

// vocab collects, per lower-cased field, literals the rules compare with.
type vocab struct {
	byField map[string][]string
	fields  []string
	all     []string
}

func ruleVocab(rules []*Rule) *vocab {
	v := &vocab{byField: map[string][]string{}}
	var walk func(n *cnode)
	walk = func(n *cnode) {
		if n.op == cSel {
			for _, alt := range n.sel.alts {
				for _, fc := range alt {
					for _, g := range fc.groups {
						for _, p := range g {
							lit := ""
							switch p.kind {
							case pExact, pPrefix, pSuffix, pContains:
								lit = p.src.plain()
							case pGlob:
								lit = p.src.plain()
							case pRegex:
								if ls, ok := regexNeedles(p.reSrc); ok && len(ls) > 0 {
									lit = ls[0]
								}
							case pCIDR:
								lit = p.cidr.Addr().String()
							}
							if lit == "" {
								continue
							}
							f := fc.field
							if f == "" {
								f = "Data"
							}
							if _, ok := v.byField[f]; !ok {
								v.fields = append(v.fields, f)
							}
							v.byField[f] = append(v.byField[f], lit)
							v.all = append(v.all, lit)
						}
					}
				}
			}
			return
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	for _, r := range rules {
		walk(r.det.root)
	}
	return v
}

// mutate changes case and splices separators so near-misses are common.
func mutate(r *rand.Rand, s string) string {
	b := []byte(s)
	for i := range b {
		if r.IntN(4) == 0 && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	switch r.IntN(8) {
	case 0:
		if len(b) > 1 {
			b = b[1:]
		}
	case 1:
		if len(b) > 1 {
			b = b[:len(b)-1]
		}
	case 2:
		b = append(b, ' ', 'x')
	case 3:
		return strings.ReplaceAll(string(b), " ", "+")
	}
	return string(b)
}

// fuzzValue builds a value from rule literals, noise and real values.
func (v *vocab) fuzzValue(r *rand.Rand, field string) string {
	var b strings.Builder
	n := 1 + r.IntN(3)
	for i := 0; i < n; i++ {
		switch r.IntN(6) {
		case 0, 1, 2:
			if lits := v.byField[field]; len(lits) > 0 {
				b.WriteString(mutate(r, pick(r, lits)))
				continue
			}
			fallthrough
		case 3:
			b.WriteString(mutate(r, pick(r, v.all)))
		case 4:
			b.WriteString(pick(r, []string{" ", "\\", "/", " -", " /", "\u2013", "É", "\u212a", "+", "?", "%", ".exe", "0x10", "10.1.2.3", ""}))
		default:
			b.WriteString(pick(r, cmdlines))
		}
	}
	return b.String()
}

var fuzzChannels = []struct {
	ch  string
	eid []uint32
}{
	{chSysmon, []uint32{1, 3, 7, 8, 10, 11, 12, 13, 15, 17, 22, 23, 25}},
	{chSecurity, []uint32{4624, 4625, 4688, 4663, 4656, 4698, 4720, 4732, 1102, 5145, 4769, 4104}},
	{"System", []uint32{7045, 7036, 104, 16}},
	{"Application", []uint32{1000, 1, 2}},
	{chPowerShell, []uint32{4103, 4104}},
	{chPSClassic, []uint32{400, 600, 800}},
	{"MSExchange Management", []uint32{1, 6, 8}},
	{"Microsoft-Windows-Windows Defender/Operational", []uint32{1116, 1117, 5001}},
	{"Some-Unknown/Operational", []uint32{1, 4688}},
}

// fuzzWinEvent draws a Windows event whose fields are named and valued
// after what the rules test.
func (v *vocab) fuzzWinEvent(r *rand.Rand) *event.Event {
	c := pick(r, fuzzChannels)
	w := &event.WinEvent{Channel: c.ch, EventID: pick(r, c.eid), Provider: "Microsoft-Windows-Test", Computer: "EX01", Level: uint8(r.IntN(5)), RecordID: uint64(r.IntN(1000))}
	if r.IntN(10) == 0 {
		w.Channel = strings.ToUpper(w.Channel)
	}
	n := 2 + r.IntN(10)
	for i := 0; i < n; i++ {
		f := pick(r, v.fields)
		if f == "EventID" || f == "Channel" {
			continue
		}
		if r.IntN(6) == 0 {
			f = pick(r, []string{"NewProcessName", "ParentProcessName", "SubjectUserName", "SubjectDomainName", "MandatoryLabel"})
		}
		w.Data = append(w.Data, event.KV{Key: f, Value: v.fuzzValue(r, f)})
	}
	ev := &event.Event{}
	ev.ResetWin(pick(r, []event.Source{event.EVTX, event.WinJSON}), event.Location{Path: "fuzz"}, "EX01", w, w.AppendValues(nil))
	return ev
}

// fuzzLineEvent draws an IIS or HttpProxy line.
func (v *vocab) fuzzLineEvent(t testing.TB, r *rand.Rand) *event.Event {
	iisCols := []string{"date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken", "cs-host"}
	hpCols := []string{"DateTime", "Protocol", "UrlHost", "UrlStem", "UrlQuery", "Method", "UserAgent", "ClientIpAddress", "AuthenticatedUser", "HttpStatus"}
	sigmaFor := map[string]string{"cs-uri-stem": "cs-uri-query", "cs-uri-query": "cs-uri-query", "UrlStem": "cs-uri-query", "UrlQuery": "cs-uri-query",
		"cs(User-Agent)": "cs-user-agent", "UserAgent": "cs-user-agent", "cs-method": "cs-method", "Method": "cs-method", "sc-status": "sc-status", "HttpStatus": "sc-status",
		"cs(Referer)": "cs-referer", "cs-username": "cs-username", "AuthenticatedUser": "cs-username", "cs-host": "cs-host", "UrlHost": "cs-host"}
	src, cols := event.IIS, iisCols
	if r.IntN(2) == 0 {
		src, cols = event.HTTPProxy, hpCols
	}
	var kv []string
	for _, c := range cols {
		val := "x"
		if f, ok := sigmaFor[c]; ok && r.IntN(3) > 0 {
			val = v.fuzzValue(r, f)
			if r.IntN(4) == 0 {
				val = v.fuzzValue(r, "Data")
			}
		} else if r.IntN(5) == 0 {
			val = ""
		}
		if src == event.IIS {
			val = strings.ReplaceAll(val, " ", "+")
		}
		kv = append(kv, c, val)
	}
	return lineEvent(t, src, kv...)
}
