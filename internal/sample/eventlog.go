package sample

import (
	"fmt"
	"slices"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
)

// Event log story. The compromised server EX01 runs Sysmon; its event logs
// tell what the web logs cannot: the UM worker crash of CVE-2021-26857,
// commands run through the China Chopper shell, the LSASS dump, the OAB
// ExternalUrl set in the cmdlet log, an administrator added and the
// Security log cleared. Both servers also log the Exchange look-alikes that
// must stay silent: w3wp compiling with csc.exe, an admin setting a plain
// OAB URL, a mailbox export to a file share, healthy UM events.

const winevtDir = "C/Windows/System32/winevt/Logs/"

// Channel files, as Windows names them (a "/" in a channel becomes "%4").
var channelFile = map[string]string{
	"Application":                          "Application.evtx",
	"Security":                             "Security.evtx",
	"System":                               "System.evtx",
	"MSExchange Management":                "MSExchange Management.evtx",
	"Microsoft-Windows-Sysmon/Operational": "Microsoft-Windows-Sysmon%4Operational.evtx",
}

const (
	w3wpImage = `c:\windows\system32\inetsrv\w3wp.exe`
	cmdImage  = `C:\Windows\System32\cmd.exe`
	sysmonCh  = "Microsoft-Windows-Sysmon/Operational"
	mgmtCh    = "MSExchange Management"
)

type winRec struct {
	ev   event.WinEvent
	mark *Mark
}

// eventLog collects one server's Windows events per channel.
type eventLog struct {
	s    *server
	recs map[string][]winRec
}

func newEventLog(s *server) *eventLog { return &eventLog{s: s, recs: map[string][]winRec{}} }

func (l *eventLog) add(channel, provider string, id uint32, level uint8, t time.Time, m *Mark, kv ...string) {
	ev := event.WinEvent{Channel: channel, Provider: provider, Computer: l.s.fqdn, EventID: id, Level: level, Time: t}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Add(kv[i], kv[i+1])
	}
	l.recs[channel] = append(l.recs[channel], winRec{ev: ev, mark: m})
}

// files renders one .evtx per channel, records in time order with record
// ids from 1, and the marks pointing at their record ids.
func (l *eventLog) files() ([]File, []Mark) {
	var files []File
	var marks []Mark
	chans := make([]string, 0, len(l.recs))
	for c := range l.recs {
		chans = append(chans, c)
	}
	slices.Sort(chans)
	for _, c := range chans {
		rs := l.recs[c]
		slices.SortStableFunc(rs, func(a, b winRec) int { return a.ev.Time.Compare(b.ev.Time) })
		path := winevtDir + channelFile[c]
		evs := make([]event.WinEvent, len(rs))
		for i := range rs {
			rs[i].ev.RecordID = uint64(i + 1)
			evs[i] = rs[i].ev
			if rs[i].mark != nil {
				m := *rs[i].mark
				m.Path, m.Source, m.Line = path, "evtx", i+1
				marks = append(marks, m)
			}
		}
		data, err := evtxgen.Bytes(evs)
		if err != nil {
			panic(fmt.Sprintf("sample: %s: %v", path, err)) // generator bug: fixed inputs
		}
		files = append(files, File{Path: path, Data: data})
	}
	return files, marks
}

func (l *eventLog) sysmon1(t time.Time, image, cmdline, parent, parentCmd, user string, m *Mark) {
	l.add(sysmonCh, "Microsoft-Windows-Sysmon", 1, 4, t, m,
		"RuleName", "-", "UtcTime", t.Format("2006-01-02 15:04:05.000"),
		"ProcessGuid", "{"+guid(l.s.r)+"}", "ProcessId", itoa(1000+l.s.r.IntN(9000)),
		"Image", image, "CommandLine", cmdline, "CurrentDirectory", `C:\Windows\system32\`,
		"User", user, "IntegrityLevel", "System",
		"ParentImage", parent, "ParentCommandLine", parentCmd)
}

func (l *eventLog) cmdlet(t time.Time, cmdlet, params, user, sid, origin string, m *Mark) {
	l.add(mgmtCh, "MSExchange CmdletLogs", 1, 4, t, m,
		"Data", cmdlet, "Data", params, "Data", user, "Data", sid, "Data", sid, "Data", origin, "Data", itoa(4000+l.s.r.IntN(4000))+" w3wp#MSExchangeECPAppPool")
}

func w3wpCmd(pool string) string {
	return w3wpImage + ` -ap "` + pool + `" -v "v4.0" -c "` + InstallPath + `bin\GenericAppPoolConfigWithGCServerEnabledFalse.config" -a \\.\pipe\iisipm` + " -h \"C:\\inetpub\\temp\\apppools\\" + pool + `\` + pool + `.config" -w "" -m 0`
}

// background writes a day of ordinary events on any server.
func (l *eventLog) background(d time.Time) {
	s := l.s
	admin := s.domain + `\exadmin`
	for h := 0; h < 24; h += 3 {
		t := d.Add(time.Duration(h)*time.Hour + time.Duration(s.r.IntN(3000))*time.Second)
		l.add("System", "Service Control Manager", 7036, 4, t, nil, "param1", "Microsoft Exchange Health Manager", "param2", "running")
		l.add("Security", "Microsoft-Windows-Security-Auditing", 4624, 0, t.Add(11*time.Second), nil,
			"SubjectUserSid", "S-1-5-18", "SubjectUserName", s.name+"$", "TargetUserName", "HealthMailbox"+itoa(100+h), "TargetDomainName", s.domain,
			"LogonType", "3", "LogonProcessName", "Kerberos", "IpAddress", "127.0.0.1")
		l.add("Application", "MSExchange ADAccess", 2080, 4, t.Add(17*time.Second), nil,
			"Data", "w3wp.exe", "Data", itoa(2000+h), "Data", "Process w3wp.exe () (PID="+itoa(2000+h)+"). Exchange Active Directory Provider has discovered the following servers")
		l.add("Application", "MSExchange Unified Messaging", 1012, 4, t.Add(29*time.Second), nil,
			"Data", "UMWorkerProcess.exe", "Data", "The Unified Messaging worker process started and is ready to accept calls.")
	}
	// Exchange compiles pages on demand: w3wp starts csc.exe and cvtres.exe.
	t := d.Add(9*time.Hour + 12*time.Minute)
	tmp := `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files\owa\` + itoa(s.r.IntN(99999999))
	l.sysmon1(t, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe`, `"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe" /noconfig /fullpaths @"`+tmp+`\x.cmdline"`,
		w3wpImage, w3wpCmd("MSExchangeOWAAppPool"), `NT AUTHORITY\SYSTEM`, mark("benign.w3wp-csc", "w3wp compiles with csc.exe"))
	l.sysmon1(t.Add(400*time.Millisecond), `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\cvtres.exe`, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\cvtres.exe /NOLOGO /READONLY /MACHINE:IX86 "/OUT:`+tmp+`\RES.tmp"`,
		`C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe`, "csc.exe", `NT AUTHORITY\SYSTEM`, nil)
	// An administrator at work in the Exchange Management Shell.
	t = d.Add(10*time.Hour + 41*time.Minute)
	adminSid := s.sidBase + "-500"
	l.cmdlet(t, "Get-Mailbox", `-ResultSize "Unlimited"`, admin, adminSid, "Remote-ManagementShell-Unknown", nil)
	l.cmdlet(t.Add(2*time.Minute), "Set-OabVirtualDirectory", `-ExternalUrl "https://`+s.ext+`/OAB" -Identity "`+s.name+`\OAB (Default Web Site)"`, admin, adminSid, "ECP",
		mark("benign.set-oab-plain-url", "admin sets the OAB ExternalUrl to a plain URL"))
	l.cmdlet(t.Add(5*time.Minute), "New-MailboxExportRequest", `-Mailbox "leaver@contoso.com" -FilePath "\\fs01\pst$\leaver.pst"`, admin, adminSid, "Remote-ManagementShell-Unknown",
		mark("benign.export-to-share", "admin exports a leaver's mailbox to a file share"))
}

// compromisedEvents is EX01's event log for the attack of 27 Feb to 1 Mar 2021.
func (s *server) compromisedEvents() ([]File, []Mark) {
	l := newEventLog(s)
	for _, d := range []time.Time{day(2021, 2, 26), day(2021, 2, 27), day(2021, 2, 28), day(2021, 3, 1)} {
		l.background(d)
	}
	d := day(2021, 2, 27)
	l.add("Application", "MSExchange Unified Messaging", 1010, 2, ms(d, 19, 46, 3, 0),
		mark("cve-2021-26857.um-invalid-cast", "UM worker error: InvalidCastException after deserialization"),
		"Data", "UMWorkerProcess.exe",
		"Data", "System.InvalidCastException: Unable to cast object of type 'System.Collections.Generic.SortedSet`1[System.String]' to type 'Microsoft.Exchange.UM.UMCore.PipelineContext'.\r\n   at Microsoft.Exchange.UM.UMCore.UMWorkerProcess.ProcessMessage(Object state)")
	l.cmdlet(ms(d, 19, 53, 48, 772), "Set-OabVirtualDirectory", `-ExternalUrl "`+ChopperURL+`" -Identity "`+s.name+`\OAB (Default Web Site)"`,
		s.domain+`/Users/Administrator`, s.sidBase+"-500", "ECP", mark("proxylogon.mgmt.set-oab-script", "cmdlet log: OAB ExternalUrl set to the China Chopper script"))
	chop := func(t time.Time, cmd, note string) {
		line := `cmd /c cd /d "C:\inetpub\wwwroot\aspnet_client\system_web\"&` + cmd + `&echo [S]&cd&echo [E]`
		l.sysmon1(t, cmdImage, line, w3wpImage, w3wpCmd("MSExchangeOWAAppPool"), `NT AUTHORITY\SYSTEM`, mark("webshell.command", note))
	}
	chop(ms(d, 20, 2, 41, 300), "whoami", "China Chopper runs whoami")
	chop(ms(d, 20, 2, 58, 300), "ipconfig /all", "China Chopper runs ipconfig")
	d = day(2021, 2, 28)
	dump := `C:\windows\system32\rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump 744 C:\ProgramData\lsass.dmp full`
	chop(ms(d, 2, 14, 5, 200), dump, "China Chopper starts the LSASS dump")
	l.sysmon1(ms(d, 2, 14, 5, 400), `C:\Windows\System32\rundll32.exe`, dump, cmdImage, `cmd /c cd /d "C:\inetpub\wwwroot\aspnet_client\system_web\"&`+dump, `NT AUTHORITY\SYSTEM`,
		mark("credential.comsvcs-minidump", "rundll32 comsvcs.dll MiniDump of LSASS"))
	l.add(sysmonCh, "Microsoft-Windows-Sysmon", 11, 4, ms(d, 2, 14, 6, 0), mark("credential.lsass-dump-file", "lsass.dmp written to ProgramData"),
		"RuleName", "-", "UtcTime", ms(d, 2, 14, 6, 0).Format("2006-01-02 15:04:05.000"), "ProcessGuid", "{"+guid(s.r)+"}", "ProcessId", "6120",
		"Image", `C:\Windows\System32\rundll32.exe`, "TargetFilename", `C:\ProgramData\lsass.dmp`, "CreationUtcTime", ms(d, 2, 14, 6, 0).Format("2006-01-02 15:04:05.000"))
	chop(ms(d, 2, 15, 2, 500), `C:\ProgramData\7z.exe a -pTr0ub4dor C:\ProgramData\lsass.7z C:\ProgramData\lsass.dmp`, "China Chopper packs the dump with 7-Zip")

	d = day(2021, 3, 1)
	clear := ms(d, 16, 6, 12, 0)
	l.add("Security", "Microsoft-Windows-Eventlog", 1102, 4, clear, mark("cleanup.security-log-cleared", "the Security log is cleared"),
		"SubjectUserSid", "S-1-5-18", "SubjectUserName", s.name+"$", "SubjectDomainName", s.domain, "SubjectLogonId", "0x3e7")
	l.add("Security", "Microsoft-Windows-Security-Auditing", 4732, 0, clear.Add(41*time.Second), mark("persistence.local-admin-added", "a backdoor account joins the local Administrators"),
		"MemberName", "-", "MemberSid", s.sidBase+"-1337", "TargetUserName", "Administrators", "TargetDomainName", "Builtin", "TargetSid", "S-1-5-32-544",
		"SubjectUserSid", "S-1-5-18", "SubjectUserName", s.name+"$", "SubjectDomainName", s.domain, "SubjectLogonId", "0x3e7")
	// Security events from before the clear are gone.
	var kept []winRec
	for _, r := range l.recs["Security"] {
		if !r.ev.Time.Before(clear) {
			kept = append(kept, r)
		}
	}
	l.recs["Security"] = kept
	return l.files()
}

// cleanEvents is EX02's event log: a busy day and nothing else.
func (s *server) cleanEvents() ([]File, []Mark) {
	l := newEventLog(s)
	l.background(day(2021, 3, 9))
	return l.files()
}
