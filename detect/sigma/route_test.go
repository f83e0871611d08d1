package sigma

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

func TestRoutingTable(t *testing.T) {
	cases := []struct {
		ls   Logsource
		want []string // route descriptions; nil: routed nowhere
	}{
		{Logsource{Product: "windows", Category: "process_creation"}, []string{
			"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=1 (fields: sysmon)",
			"windows Channel=Security EventID=4688 (fields: security-4688)"}},
		{Logsource{Product: "windows", Category: "process_access"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=10 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "file_event"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=11 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "image_load"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=7 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "network_connection"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=3 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "registry_event"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=12,13,14 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "registry_set"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=13 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "pipe_created"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=17,18 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "dns_query"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=22 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "driver_load"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=6 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "create_remote_thread"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=8 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "wmi_event"}, []string{"windows Channel=Microsoft-Windows-Sysmon/Operational EventID=19,20,21 (fields: sysmon)"}},
		{Logsource{Product: "windows", Category: "ps_script"}, []string{
			"windows Channel=Microsoft-Windows-PowerShell/Operational EventID=4104 (fields: windows)",
			"windows Channel=PowerShellCore/Operational EventID=4104 (fields: windows)"}},
		{Logsource{Product: "windows", Category: "ps_module"}, []string{
			"windows Channel=Microsoft-Windows-PowerShell/Operational EventID=4103 (fields: windows)",
			"windows Channel=PowerShellCore/Operational EventID=4103 (fields: windows)"}},
		{Logsource{Product: "windows", Service: "security"}, []string{"windows Channel=Security (fields: windows)"}},
		{Logsource{Product: "windows", Service: "system"}, []string{"windows Channel=System (fields: windows)"}},
		{Logsource{Product: "windows", Service: "msexchange-management"}, []string{"windows Channel=MSExchange Management (fields: windows)"}},
		{Logsource{Product: "windows", Service: "powershell-classic"}, []string{"windows Channel=Windows PowerShell (fields: windows)"}},
		{Logsource{Product: "windows", Service: "windefend"}, []string{"windows Channel=Microsoft-Windows-Windows Defender/Operational (fields: windows)"}},
		{Logsource{Product: "windows", Service: "taskscheduler"}, []string{"windows Channel=Microsoft-Windows-TaskScheduler/Operational (fields: windows)"}},
		{Logsource{Product: "windows", Service: "Microsoft-Windows-Foo/Operational"}, []string{"windows Channel=Microsoft-Windows-Foo/Operational (fields: windows)"}},
		{Logsource{Product: "windows"}, []string{"windows (fields: windows)"}},
		{Logsource{Category: "webserver"}, []string{"iis (fields: iis)", "httpproxy (fields: httpproxy)"}},
		{Logsource{Product: "windows", Service: "no-such-service"}, nil},
		{Logsource{Product: "windows", Category: "file_access"}, nil},
		{Logsource{Product: "linux", Category: "process_creation"}, nil},
		{Logsource{Category: "proxy"}, nil},
		{Logsource{Category: "webserver", Service: "apache"}, nil},
	}
	for _, tc := range cases {
		routes, why := routesFor(tc.ls)
		var got []string
		for _, r := range routes {
			got = append(got, r.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: routes %q, want %q", tc.ls, got, tc.want)
		}
		if (len(routes) == 0) != (why != "") {
			t.Errorf("%s: routes %d but reason %q", tc.ls, len(routes), why)
		}
	}
}

// TestRoutingAppliesChannelAndEventID: a Sysmon process_creation rule
// fires on Sysmon 1 only; the same rule reads 4688 through the mapping.
func TestRoutingAppliesChannelAndEventID(t *testing.T) {
	r := mustRule(t, ruleYAML("    sel:\n        Image|endswith: '\\cmd.exe'\n        ParentImage|endswith: '\\w3wp.exe'\n        User|contains: 'SYSTEM'\n    condition: sel\n"))
	fields := []string{"Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`, "User", `NT AUTHORITY\SYSTEM`}
	if !fires(t, r, sysmon1(t, fields...)) {
		t.Error("Sysmon 1 missed")
	}
	if fires(t, r, winEvent(t, append([]string{"Channel", chSysmon, "EventID", "11"}, fields...)...)) {
		t.Error("Sysmon 11 matched a process_creation rule")
	}
	if fires(t, r, winEvent(t, append([]string{"Channel", "Application", "EventID", "1"}, fields...)...)) {
		t.Error("Application 1 matched a process_creation rule")
	}
	sec := winEvent(t, "Channel", "security", "EventID", "4688", "SubjectUserName", "SYSTEM", "SubjectDomainName", "NT AUTHORITY",
		"NewProcessName", `C:\Windows\System32\cmd.exe`, "ParentProcessName", `c:\windows\system32\inetsrv\w3wp.exe`)
	if !fires(t, r, sec) {
		t.Error("Security 4688 (channel in lower case) missed through the field mapping")
	}
	for _, src := range []event.Source{event.EVTX, event.WinJSON} {
		ev := sysmon1(t, fields...)
		ev.Source = src
		if !fires(t, r, ev) {
			t.Errorf("%s event missed", src)
		}
	}
}

// TestWebserverMapping: Sigma webserver fields read IIS and HttpProxy
// columns; IIS '+' in user agents is decoded and the prefilter admits the
// line; cs-uri-query also sees the path.
func TestWebserverMapping(t *testing.T) {
	web := func(det string) *Rule {
		return mustRule(t, "title: w\nid: 99999999-2222-3333-4444-555555555555\nlogsource: {category: webserver}\ndetection:\n"+det)
	}
	iis := func(kv ...string) *event.Event {
		base := map[string]string{"date": "2021-03-02", "time": "21:04:11", "cs-method": "GET", "cs-uri-stem": "/owa/", "cs-uri-query": "", "cs-username": "", "c-ip": "203.0.113.7", "cs(User-Agent)": "Mozilla/5.0", "sc-status": "200"}
		for i := 0; i+1 < len(kv); i += 2 {
			base[kv[i]] = kv[i+1]
		}
		var out []string
		for _, c := range []string{"date", "time", "cs-method", "cs-uri-stem", "cs-uri-query", "cs-username", "c-ip", "cs(User-Agent)", "sc-status"} {
			out = append(out, c, base[c])
		}
		return lineEvent(t, event.IIS, out...)
	}
	hp := func(kv ...string) *event.Event {
		base := map[string]string{"DateTime": "2021-03-02T21:04:11.512Z", "Method": "GET", "UrlStem": "/owa/", "UrlQuery": "", "AuthenticatedUser": "", "ClientIpAddress": "203.0.113.7", "UserAgent": "Mozilla/5.0", "HttpStatus": "200"}
		for i := 0; i+1 < len(kv); i += 2 {
			base[kv[i]] = kv[i+1]
		}
		var out []string
		for _, c := range []string{"DateTime", "Method", "UrlStem", "UrlQuery", "AuthenticatedUser", "ClientIpAddress", "UserAgent", "HttpStatus"} {
			out = append(out, c, base[c])
		}
		return lineEvent(t, event.HTTPProxy, out...)
	}
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.5195.54 Safari/537.36"
	r := web("    sel:\n        cs-method: POST\n        cs-user-agent: '" + ua + "'\n        sc-status: 200\n    condition: sel\n")
	if ev := iis("cs-method", "POST", "cs(User-Agent)", ua); !strings.Contains(string(ev.Raw), "Mozilla/5.0+(Windows+NT") || !fires(t, r, ev) {
		t.Errorf("IIS '+' user agent missed (raw %q)", ev.Raw)
	}
	if !fires(t, r, hp("Method", "POST", "UserAgent", ua)) {
		t.Error("HttpProxy user agent missed")
	}
	if fires(t, r, iis("cs-method", "GET", "cs(User-Agent)", ua)) {
		t.Error("GET matched a POST rule")
	}
	r = web("    sel:\n        c-useragent|contains: 'Chrome/105.0.5195.54 Safari'\n    condition: sel\n")
	if !fires(t, r, iis("cs(User-Agent)", ua)) || !fires(t, r, hp("UserAgent", ua)) {
		t.Error("c-useragent alias missed")
	}
	// cs-uri-query: path, query and path?query.
	r = web("    sel:\n        cs-uri-query|contains: '/autodiscover.json?@'\n    condition: sel\n")
	if !fires(t, r, iis("cs-uri-stem", "/autodiscover/autodiscover.json", "cs-uri-query", "@foo.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@foo.com")) {
		t.Error("IIS stem?query join missed")
	}
	if !fires(t, r, hp("UrlStem", "/autodiscover/autodiscover.json", "UrlQuery", "?@foo.com/mapi/nspi")) {
		t.Error("HttpProxy stem+query join missed")
	}
	r = web("    sel:\n        cs-uri-query: '/ecp/DDI/DDIService.svc/SetObject'\n    condition: sel\n")
	if !fires(t, r, iis("cs-uri-stem", "/ecp/DDI/DDIService.svc/SetObject", "cs-uri-query", "schema=ResetOABVirtualDirectory")) {
		t.Error("cs-uri-query exact path missed")
	}
	r = web("    sel:\n        cs-uri-query|startswith: 'cmd='\n    condition: sel\n")
	if !fires(t, r, iis("cs-uri-stem", "/shell.aspx", "cs-uri-query", "cmd=whoami")) || fires(t, r, iis("cs-uri-stem", "/shell.aspx", "cs-uri-query", "x=1&cmd=whoami")) {
		t.Error("cs-uri-query startswith on the query")
	}
	r = web("    sel:\n        cs-uri-stem|endswith: '.aspx'\n        cs-uri-query: null\n    condition: sel\n")
	if !fires(t, r, iis("cs-uri-stem", "/x.aspx")) || fires(t, r, iis("cs-uri-stem", "/x.aspx", "cs-uri-query", "a=b")) {
		t.Error("null query (IIS '-')")
	}
	if !fires(t, r, hp("UrlStem", "/x.aspx")) {
		t.Error("null query (HttpProxy empty)")
	}
	r = web("    sel:\n        cs-username|endswith: '$'\n        c-ip|cidr: 203.0.113.0/24\n    condition: sel\n")
	if !fires(t, r, iis("cs-username", "CONTOSO\\EX01$")) || !fires(t, r, hp("AuthenticatedUser", "CONTOSO\\EX01$")) {
		t.Error("cs-username / c-ip")
	}
	r = web("    keywords:\n        - 'WindowsPowerShell/5.1'\n    condition: keywords\n")
	if !fires(t, r, iis("cs(User-Agent)", "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.1852")) {
		t.Error("keyword in IIS user agent")
	}
	r = web("    keywords:\n        - 'Windows NT; Windows'\n    condition: keywords\n")
	if !fires(t, r, iis("cs(User-Agent)", "Mozilla/5.0 (Windows NT; Windows NT 10.0)")) {
		t.Error("keyword with spaces in IIS user agent ('+' in raw)")
	}
	r = web("    sel:\n        cs-user-agent|contains: 'a\"b'\n    condition: sel\n")
	if ev := hp("UserAgent", "x a\"b, y"); !strings.Contains(string(ev.Raw), `"x a""b, y"`) || !fires(t, r, ev) {
		t.Errorf("CSV-quoted value missed (raw %q)", ev.Raw)
	}
}

// TestDocsCoverRouting keeps docs/sigma.md in step with the tables.
func TestDocsCoverRouting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "sigma.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	low := strings.ToLower(doc)
	for svc, chs := range serviceChannels {
		if !strings.Contains(doc, "`"+svc+"`") {
			t.Errorf("docs/sigma.md does not list service %s", svc)
		}
		for _, ch := range chs {
			if !strings.Contains(doc, ch) {
				t.Errorf("docs/sigma.md does not name channel %s", ch)
			}
		}
	}
	for cat := range categoryRoutes {
		if !strings.Contains(doc, "`"+cat+"`") {
			t.Errorf("docs/sigma.md does not list category %s", cat)
		}
	}
	for ctx, rows := range mappingTable() {
		for _, row := range rows {
			if !strings.Contains(low, "`"+row[0]+"`") {
				t.Errorf("docs/sigma.md does not list %s field %s", ctx, row[0])
			}
		}
	}
}
