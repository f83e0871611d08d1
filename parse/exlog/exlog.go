// Package exlog parses the CSV logs that Exchange writes under
// <install>\Logging: HttpProxy (every protocol folder), ECP Server and ECP
// Activity, the OAB generator, and CmdletInfra PowerShell-Proxy (Rps_Http).
//
// They share one format: "#Software", "#Version", "#Log-type", "#Date" and
// "#Fields:" directives, then comma-separated rows with double-quote
// quoting. Columns are mapped by the latest "#Fields:" line, ignoring case,
// because builds differ (BackEndStatus vs BackendStatus, old builds without
// UrlHost or RoutingType). encoding/csv is not used: one physical line must
// stay one record, so that findings point at the right line even when a
// quoted field is broken, and a stray quote must not swallow the rest of
// the file.
package exlog

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// HTTPProxyFields is the HttpProxy column set of Exchange 2016 CU22
// (15.01.2375), used for rows that come without a header (excerpts pasted
// from a server, truncated files).
var HTTPProxyFields = strings.Split("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus", ",")

// RpsHTTPFields is the CmdletInfra PowerShell-Proxy column set.
var RpsHTTPFields = strings.Split("DateTime,StartTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,UrlHost,UrlStem,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,ManagedOrganization,ClientIpAddress,ServerHostName,FrontEndServer,HttpStatus,SubStatus,ErrorCode,Action,CommandId,CommandName,SessionId,ShellId,FailFast,ContributeToFailFast,RequestBytes,ClientInfo,CPU,Memory,ActivityContextLifeTime,TotalTime,UrlQuery,GenericLatency,GenericInfo,GenericErrors", ",")

// ECPFields is the ECP Server / Activity column set.
var ECPFields = []string{"TimeStamp", "ServerName", "EventId", "EventData"}

var aliases = map[event.Field][]string{
	event.FMethod:    {"Method"},
	event.FStem:      {"UrlStem"},
	event.FQuery:     {"UrlQuery"},
	event.FStatus:    {"HttpStatus"},
	event.FClientIP:  {"ClientIpAddress"},
	event.FUserAgent: {"UserAgent", "ClientInfo"},
	event.FUser:      {"AuthenticatedUser"},
}

// NewSchema builds the schema for a "#Fields:" list.
func NewSchema(names []string) *event.Schema { return event.NewSchema(names, aliases) }

// Split splits one CSV row. Quoted fields may hold commas and doubled
// quotes; an unterminated quote runs to the end of the line.
func Split(raw []byte, dst []string) []string {
	for {
		if len(raw) > 0 && raw[0] == '"' {
			var b strings.Builder
			i := 1
			for i < len(raw) {
				c := raw[i]
				if c == '"' {
					if i+1 < len(raw) && raw[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			// Skip anything between the closing quote and the comma.
			j := bytes.IndexByte(raw[i:], ',')
			dst = append(dst, b.String())
			if j < 0 {
				return dst
			}
			raw = raw[i+j+1:]
			continue
		}
		j := bytes.IndexByte(raw, ',')
		if j < 0 {
			return append(dst, string(raw))
		}
		dst = append(dst, string(raw[:j]))
		raw = raw[j+1:]
	}
}

var timeColumns = []string{"DateTime", "TimeStamp", "date-time", "Timestamp"}

// Time reads the row time: the DateTime/TimeStamp column, else the first.
func Time(s *event.Schema, vals []string) (time.Time, bool) {
	i := 0
	for _, c := range timeColumns {
		if j, ok := s.Index(c); ok {
			i = j
			break
		}
	}
	if i >= len(vals) {
		return time.Time{}, false
	}
	return parseTime(vals[i])
}

func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s) // no zone: Exchange writes UTC
		if err != nil {
			return time.Time{}, false
		}
	}
	return t.UTC(), true
}

// sourceFromLogType maps the "#Log-type:" directive to a family.
func sourceFromLogType(v string) event.Source {
	v = strings.ToLower(v)
	switch {
	case strings.Contains(v, "httpproxy"):
		return event.HTTPProxy
	case strings.Contains(v, "ecp server"):
		return event.ECPServer
	case strings.Contains(v, "ecp activity"):
		return event.ECPActivity
	case strings.Contains(v, "oab"):
		return event.OABGen
	case strings.Contains(v, "rps") || strings.Contains(v, "powershell"):
		return event.RpsHTTP
	}
	return event.Unknown
}

func defaultFields(s event.Source) []string {
	switch s {
	case event.HTTPProxy:
		return HTTPProxyFields
	case event.RpsHTTP:
		return RpsHTTPFields
	case event.ECPServer, event.ECPActivity:
		return ECPFields
	}
	return nil
}

// Parse reads one Exchange CSV log.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	var st parse.Stats
	src := m.Source
	var schema *event.Schema
	if f := defaultFields(src); f != nil {
		schema = NewSchema(f)
	} else {
		schema = NewSchema(nil)
	}
	timeCol := 0
	setSchema := func(names []string) {
		schema = NewSchema(names)
		timeCol = 0
		for _, c := range timeColumns {
			if j, ok := schema.Index(c); ok {
				timeCol = j
				break
			}
		}
	}
	setSchema(schema.Names)
	var ev event.Event
	var vals []string
	var minT, maxT string
	isECP := src == event.ECPServer || src == event.ECPActivity
	lines, overlong, err := parse.Lines(ctx, r, func(n int64, line []byte) error {
		if len(line) == 0 {
			return nil
		}
		if line[0] == '#' {
			key, val, ok := directive(line)
			if !ok {
				return nil
			}
			switch key {
			case "fields":
				names := strings.Split(val, ",")
				for i := range names {
					names[i] = strings.TrimSpace(names[i])
				}
				setSchema(names)
			case "log-type":
				if s := sourceFromLogType(val); s != event.Unknown {
					src = s
					isECP = src == event.ECPServer || src == event.ECPActivity
				}
			}
			return nil
		}
		nf := bytes.Count(line, comma) + 1
		if nf < 2 || (len(schema.Names) > 4 && nf < len(schema.Names)/2) {
			st.Malformed++
			return nil
		}
		st.Records++
		if ts, ok := timeText(line, timeCol, &vals); ok {
			if minT == "" || ts < minT {
				minT = ts
			}
			if ts > maxT {
				maxT = ts
			}
		}
		ev.Reset(src, event.Location{Path: m.Path, Line: n}, m.Host, line, schema, Split, Time)
		if isECP {
			ecpExtras(&ev)
		}
		return emit(&ev)
	})
	for _, ts := range []string{minT, maxT} {
		if t, ok := parseTime(ts); ok {
			st.Seen(t)
		}
	}
	st.Lines = lines
	if overlong > 0 {
		st.Malformed += overlong
		st.Note(parse.OverlongNote(overlong))
	}
	if st.Malformed > overlong {
		st.Note("truncated or malformed rows skipped")
	}
	return st, err
}

var comma = []byte{','}

// timeText returns the text of the time column; ISO 8601 UTC text sorts
// in time order, so min/max need no parsing per row.
func timeText(line []byte, col int, scratch *[]string) (string, bool) {
	var v []byte
	if col == 0 {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			i = len(line)
		}
		v = line[:i]
	} else {
		vals := Split(line, (*scratch)[:0])
		*scratch = vals
		if col >= len(vals) {
			return "", false
		}
		v = []byte(vals[col])
	}
	if len(v) < 19 || v[4] != '-' || v[10] != 'T' {
		return "", false
	}
	return string(v), true
}

// directive splits "#Key: value".
func directive(line []byte) (key, val string, ok bool) {
	s := string(line[1:])
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(s[:i])), strings.TrimSpace(s[i+1:]), true
}

// ecpExtras exposes the EventData pairs ("S:CMD=...;S:URL=...") as derived
// fields named by key (CMD, URL, EX, ...). A ';' inside a value (script
// markup in a URL parameter) stays part of that value.
func ecpExtras(ev *event.Event) {
	data := ev.Get("EventData")
	if data == "" {
		return
	}
	var key string
	var val strings.Builder
	flush := func() {
		if key != "" {
			ev.SetExtra(key, val.String())
		}
		val.Reset()
	}
	for _, part := range strings.Split(data, ";") {
		if k, v, ok := pair(part); ok {
			flush()
			key = k
			val.WriteString(v)
			continue
		}
		if key != "" {
			val.WriteByte(';')
			val.WriteString(part)
		}
	}
	flush()
}

// pair reads "T:KEY=value" where T is a short type tag (S, I32, F, Dbl...).
func pair(s string) (key, val string, ok bool) {
	c := strings.IndexByte(s, ':')
	if c <= 0 || c > 4 {
		return "", "", false
	}
	e := strings.IndexByte(s[c+1:], '=')
	if e <= 0 {
		return "", "", false
	}
	k := s[c+1 : c+1+e]
	for _, r := range k {
		if !(r == '_' || r == '-' || r == '.' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	return k, s[c+2+e:], true
}
