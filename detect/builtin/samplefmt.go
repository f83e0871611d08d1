package builtin

import (
	"strings"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse/exlog"
)

// Sample builders: every sample is written in the native format of its log
// family, headers included, so that `exhunt rules test` runs it through
// the real parser. The rows are synthetic (documentation addresses
// 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24, contoso names).

const iisHeader = "#Software: Microsoft Internet Information Services 10.0\n" +
	"#Version: 1.0\n" +
	"#Date: 2021-03-02 00:00:00\n" +
	"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"

// req is one web request for a sample row.
type req struct {
	Method, Stem, Query, User, IP, UA, Status, Port string
}

func (r req) or() req {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&r.Method, "GET")
	def(&r.Query, "-")
	def(&r.User, "-")
	def(&r.IP, "203.0.113.7")
	def(&r.UA, "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)")
	def(&r.Status, "200")
	def(&r.Port, "443")
	return r
}

// iisLine writes r in the default IIS field order.
func iisLine(r req) string {
	r = r.or()
	return strings.Join([]string{"2021-03-02", "21:04:11", "192.0.2.10", r.Method, r.Stem, r.Query, r.Port, r.User, r.IP, r.UA, "-", r.Status, "0", "0", "187"}, " ")
}

// iis is an IIS sample whose last line is r.
func iis(match bool, note string, r req) detect.Sample {
	return detect.Sample{Source: event.IIS, Match: match, Note: note, Text: iisHeader + iisLine(r) + "\n"}
}

// iisCustom writes r under a non-default #Fields layout (site name first,
// no referer, status before the user agent) to prove the rule reads
// columns by name.
func iisCustom(match bool, note string, r req) detect.Sample {
	r = r.or()
	text := "#Software: Microsoft Internet Information Services 10.0\n" +
		"#Fields: date time s-sitename s-ip sc-status cs-method cs-uri-stem cs-uri-query s-port c-ip cs-username cs(User-Agent) time-taken\n" +
		strings.Join([]string{"2021-03-02", "21:04:11", "W3SVC1", "192.0.2.10", r.Status, r.Method, r.Stem, r.Query, r.Port, r.IP, r.User, r.UA, "31"}, " ") + "\n"
	return detect.Sample{Source: event.IIS, Match: match, Note: note, Text: text}
}

const proxyHeader = "#Software: Microsoft Exchange Server\n" +
	"#Version: 15.01.2176.002\n" +
	"#Log-type: HttpProxy Logs\n" +
	"#Date: 2021-03-02T21:00:00.000Z\n"

// csvQuote quotes a CSV value when it needs it.
func csvQuote(v string) string {
	if strings.ContainsAny(v, ",\"") {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

// csvRow writes vals in the order of fields, "" for columns not given.
func csvRow(fields []string, vals map[string]string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = csvQuote(vals[f])
	}
	return strings.Join(out, ",")
}

// proxyRow fills the usual HttpProxy columns and applies overrides.
func proxyRow(over map[string]string) string {
	v := map[string]string{
		"DateTime": "2021-03-02T21:04:11.512Z", "RequestId": "5b1c2f0e-7d1a-4b7e-9c1e-2a5d6f7e8a90",
		"MajorVersion": "15", "MinorVersion": "1", "BuildVersion": "2176", "RevisionVersion": "2",
		"Protocol": "Ecp", "UrlHost": "mail.contoso.com", "UrlStem": "/ecp/y.js", "AuthenticationType": "",
		"IsAuthenticated": "false", "UserAgent": "python-requests/2.25.1", "ClientIpAddress": "203.0.113.7",
		"ServerHostName": "EX01", "HttpStatus": "200", "BackEndStatus": "200", "Method": "POST",
		"ProxyAction": "Proxy", "TargetServer": "EX01.contoso.com", "TargetServerVersion": "15.01.2176.002",
		"RoutingType": "ServerInfo", "RoutingHint": "X-BEResource-Cookie",
		"GenericInfo": "BeginRequest=2021-03-02T21:04:11.301Z;CorrelationID=<empty>;ProxyState-Run=None;",
	}
	for k, x := range over {
		v[k] = x
	}
	return csvRow(exlog.HTTPProxyFields, v)
}

// proxy is an HttpProxy sample (header + #Fields) whose last row is built
// from each override map in turn.
func proxy(match bool, note string, rows ...map[string]string) detect.Sample {
	var b strings.Builder
	b.WriteString(proxyHeader)
	b.WriteString("#Fields: " + strings.Join(exlog.HTTPProxyFields, ",") + "\n")
	for _, r := range rows {
		b.WriteString(proxyRow(r) + "\n")
	}
	return detect.Sample{Source: event.HTTPProxy, Match: match, Note: note, Text: b.String()}
}

// ssrfRow is an HttpProxy row whose AnchorMailbox is ServerInfo~<anchor>.
func ssrfRow(anchor string, over map[string]string) map[string]string {
	m := map[string]string{"AnchorMailbox": "ServerInfo~" + anchor}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// ecp is an ECP Server log sample whose last row carries eventData.
func ecp(match bool, note, eventData string) detect.Sample {
	text := "#Software: Microsoft Exchange Server\n#Version: 15.0.0.0\n#Log-type: ECP Server Log\n" +
		"#Date: 2021-03-02T21:00:00.000Z\n#Fields: TimeStamp,ServerName,EventId,EventData\n" +
		csvRow(exlog.ECPFields, map[string]string{"TimeStamp": "2021-03-02T21:05:02.117Z", "ServerName": "EX01", "EventId": "ECP.Request", "EventData": eventData}) + "\n"
	return detect.Sample{Source: event.ECPServer, Match: match, Note: note, Text: text}
}

// oab is an OAB generator log sample whose last row is message. The
// column layout of this log is not documented by the anchors, so the rule
// reads the raw line; the header here is a plausible one.
func oab(match bool, note, message string) detect.Sample {
	text := "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: OAB Generator Log\n" +
		"#Date: 2021-03-02T21:00:00.000Z\n#Fields: DateTime,ProcessId,ThreadId,Level,Message\n" +
		csvRow([]string{"DateTime", "ProcessId", "ThreadId", "Level", "Message"}, map[string]string{
			"DateTime": "2021-03-02T21:06:40.003Z", "ProcessId": "5120", "ThreadId": "42", "Level": "Warning", "Message": message}) + "\n"
	return detect.Sample{Source: event.OABGen, Match: match, Note: note, Text: text}
}

// rps is a CmdletInfra PowerShell-Proxy (Rps_Http) sample.
func rps(match bool, note string, over map[string]string) detect.Sample {
	v := map[string]string{
		"DateTime": "2022-12-20T10:11:12.000Z", "StartTime": "2022-12-20T10:11:11.800Z", "RequestId": "0d6a1e7c-1111-4222-8333-944455556666",
		"MajorVersion": "15", "MinorVersion": "2", "BuildVersion": "1118", "RevisionVersion": "7",
		"UrlHost": "ex01.contoso.com", "UrlStem": "/powershell", "AuthenticationType": "Kerberos", "IsAuthenticated": "true",
		"AuthenticatedUser": "CONTOSO\\jdoe", "ClientIpAddress": "203.0.113.7 192.0.2.10", "ServerHostName": "EX01",
		"FrontEndServer": "EX01", "HttpStatus": "200", "Action": "Receive", "ClientInfo": "",
	}
	for k, x := range over {
		v[k] = x
	}
	text := "#Software: Microsoft Exchange Server\n#Version: 15.02.1118.007\n#Log-type: Rps Http Logs\n" +
		"#Date: 2022-12-20T10:00:00.000Z\n#Fields: " + strings.Join(exlog.RpsHTTPFields, ",") + "\n" +
		csvRow(exlog.RpsHTTPFields, v) + "\n"
	return detect.Sample{Source: event.RpsHTTP, Match: match, Note: note, Text: text}
}
