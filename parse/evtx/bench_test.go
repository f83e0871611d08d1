package evtx_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/internal/evtxgen"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
)

// benchRecords makes n realistic Security and Sysmon records.
func benchRecords(n int) []event.WinEvent {
	t0 := time.Date(2021, 3, 2, 7, 0, 0, 0, time.UTC)
	recs := make([]event.WinEvent, n)
	for i := range recs {
		r := &recs[i]
		r.Computer, r.RecordID, r.Time = "EX01.corp.example", uint64(i+1), t0.Add(time.Duration(i)*time.Second)
		switch i % 3 {
		case 0:
			r.Channel, r.Provider, r.EventID = "Security", "Microsoft-Windows-Security-Auditing", 4624
			r.Data = []event.KV{{Key: "SubjectUserSid", Value: "S-1-5-18"}, {Key: "SubjectUserName", Value: "EX01$"}, {Key: "SubjectDomainName", Value: "CORP"}, {Key: "SubjectLogonId", Value: "0x3e7"},
				{Key: "TargetUserSid", Value: "S-1-5-21-1004336348-1177238915-682003330-1104"}, {Key: "TargetUserName", Value: fmt.Sprintf("user%d", i%50)}, {Key: "TargetDomainName", Value: "CORP"},
				{Key: "TargetLogonId", Value: fmt.Sprintf("0x%x", 0x5c6c0d+i)}, {Key: "LogonType", Value: "3"}, {Key: "LogonProcessName", Value: "Kerberos"}, {Key: "AuthenticationPackageName", Value: "Kerberos"},
				{Key: "WorkstationName", Value: "-"}, {Key: "LogonGuid", Value: "{6A1F4C6B-0A2E-7E3F-9C1D-2B3A4C5D6E7F}"}, {Key: "TransmittedServices", Value: "-"}, {Key: "LmPackageName", Value: "-"},
				{Key: "KeyLength", Value: "0"}, {Key: "ProcessId", Value: "0x0"}, {Key: "ProcessName", Value: "-"}, {Key: "IpAddress", Value: fmt.Sprintf("10.0.%d.%d", i%200, i%250)}, {Key: "IpPort", Value: "49733"}}
		case 1:
			r.Channel, r.Provider, r.EventID, r.Level = "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", 1, 4
			r.Data = []event.KV{{Key: "RuleName", Value: "-"}, {Key: "UtcTime", Value: r.Time.Format("2006-01-02 15:04:05.000")}, {Key: "ProcessGuid", Value: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"},
				{Key: "ProcessId", Value: fmt.Sprint(1000 + i%5000)}, {Key: "Image", Value: `C:\Windows\System32\cmd.exe`}, {Key: "CommandLine", Value: fmt.Sprintf(`cmd.exe /c whoami /all > C:\inetpub\wwwroot\aspnet_client\%d.txt`, i)},
				{Key: "CurrentDirectory", Value: `c:\windows\system32\inetsrv\`}, {Key: "User", Value: `NT AUTHORITY\SYSTEM`}, {Key: "IntegrityLevel", Value: "System"},
				{Key: "Hashes", Value: "SHA256=4D89FC34D5F0F9BABD022271C585A9477BF41E834E46B991DEAA0530FDB25E22"}, {Key: "ParentImage", Value: `c:\windows\system32\inetsrv\w3wp.exe`},
				{Key: "ParentCommandLine", Value: `c:\windows\system32\inetsrv\w3wp.exe -ap "MSExchangeOWAAppPool" -v "v4.0"`}}
		case 2:
			r.Channel, r.Provider, r.EventID, r.Level = "MSExchange Management", "MSExchange CmdletLogs", 1, 4
			r.Data = []event.KV{{Key: "Data", Value: "Set-OabVirtualDirectory"}, {Key: "Data", Value: `-ExternalUrl "http://x/#<script language="JScript" runat="server">function Page_Load(){eval(Request["a"])}</script>" -Identity "OAB (Default Web Site)"`},
				{Key: "Data", Value: "corp.example/Users/Administrator"}, {Key: "Data", Value: "S-1-5-21-1004336348-1177238915-682003330-500"}, {Key: "Data", Value: "w3wp#MSExchangeECPAppPool"}}
		}
	}
	return recs
}

func BenchmarkEVTX(b *testing.B) {
	data, err := evtxgen.Bytes(benchRecords(20000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	start := time.Now()
	for b.Loop() {
		st, err := evtx.Parse(context.Background(), bytes.NewReader(data), parse.Meta{Path: "Security.evtx", Source: event.EVTX}, func(*event.Event) error { return nil })
		if err != nil || st.Malformed != 0 {
			b.Fatal(err, st)
		}
		n += st.Records
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
