package sigma

import (
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// FuzzParseRule loads arbitrary rule files and runs what loads over a few
// events: loading must never panic (ParseFile turns a panic into an
// "internal error" that fails here) and neither must evaluation.
//
//	go test -run '^$' -fuzz FuzzParseRule -fuzztime 30s ./detect/sigma
//
// The committed corpus is in testdata/fuzz/FuzzParseRule.
func FuzzParseRule(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	evs := []*event.Event{
		sysmon1(f, "Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c whoami -enc SQBFAFgA", "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`, "User", "NT AUTHORITY\\SYSTEM"),
		winEvent(f, "Channel", "Security", "EventID", "4625", "TargetUserName", "bob", "IpAddress", "203.0.113.7"),
		lineEvent(f, event.IIS, "cs-method", "POST", "cs-uri-stem", "/owa/auth/x.aspx", "cs-uri-query", "a=b", "cs(User-Agent)", "python-requests/2.25.1", "sc-status", "200"),
		lineEvent(f, event.HTTPProxy, "Method", "POST", "UrlStem", "/ecp/DDI/DDIService.svc/SetObject", "UrlQuery", "?schema=ResetOABVirtualDirectory", "UserAgent", "x, \"y\""),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := ParseFile("fuzz.yml", data)
		for _, e := range append(lr.Invalid, lr.Unsupported...) {
			if strings.Contains(e.Reason, "internal error") {
				t.Fatalf("loader panicked: %v", e)
			}
			if e.Path != "fuzz.yml" || e.Reason == "" {
				t.Fatalf("error without file or reason: %+v", e)
			}
		}
		e, err := NewEngine(lr.Loaded, lr.Filters, lr.Correlations)
		if err != nil {
			return
		}
		sc := e.NewScanner()
		sc.OnError = func(err error) { t.Fatalf("evaluation: %v", err) }
		k := NewCorrelator(e.Correlations(), 16)
		for _, ev := range evs {
			tm, _ := ev.Time()
			sc.Scan(ev, func(r *Rule, m Match) {
				_ = r.Advisory()
				k.Observe(r, tm, m.Fields, func(CorrelationMatch) {})
			})
		}
		k.Flush(func(CorrelationMatch) {})
	})
}

var fuzzSeeds = []string{
	ruleYAML("    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains|all: [' /c ', 'whoami']\n    filter:\n        User: null\n    condition: sel and not filter\n"),
	ruleYAML("    sel:\n        CommandLine|windash|contains: ' -enc '\n        CommandLine|wide|base64offset|contains: 'IEX'\n    condition: 1 of sel*\n"),
	ruleYAML("    a:\n        CommandLine|re|i: '^cmd.+(whoami|ipconfig)$'\n    b:\n        DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']\n    c:\n        Count|gte: 3\n    condition: a or (b and not c) or 2 of them\n"),
	ruleYAML("    keywords:\n        '|all': ['whoami', 'cmd']\n    k2:\n        - 'evil*tool?'\n    condition: keywords or k2\n"),
	ruleYAML("    s:\n        User|fieldref: ParentUser\n        ParentUser|exists: true\n        Attr|contains|expand: '%known_cdcs%'\n    condition: s\n"),
	"title: web\nid: 1\nlogsource: {category: webserver}\ndetection:\n    s:\n        cs-method: POST\n        cs-uri-query|contains: '/owa/auth/'\n        c-useragent|startswith: 'python'\n    condition: s\n",
	failedLogon + "---\ntitle: c\nid: c1\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_logon, good_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n",
	"action: global\ntitle: g\nid: g1\nlogsource: {product: windows, service: security}\n---\ndetection: {s: {EventID: 4625}, condition: s}\n---\naction: repeat\ndetection: {s: {EventID: 4624}, condition: s}\n",
	"title: f\nid: f1\nlogsource: {product: windows}\nfilter:\n    rules: any\n    s: {User|startswith: adm_}\n    condition: not s\n",
	"a: &a [x, *a]\n",
	"title: [",
}
