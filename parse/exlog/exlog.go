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
// quotes; an unterminated quote runs to the end of the line. The values
// share one copy of the row: one allocation per call, plus one per quoted
// field that holds a doubled quote.
func Split(raw []byte, dst []string) []string {
	s := string(raw)
	for {
		if len(s) > 0 && s[0] == '"' {
			var v string
			v, s = quoted(s)
			dst = append(dst, v)
			// Skip anything between the closing quote and the comma.
			j := strings.IndexByte(s, ',')
			if j < 0 {
				return dst
			}
			s = s[j+1:]
			continue
		}
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:j])
		s = s[j+1:]
	}
}

// quoted reads a quoted value at the start of s (s[0] == '"') and returns
// it unescaped with the rest of s after the closing quote.
func quoted(s string) (val, rest string) {
	var b []byte // only when a doubled quote needs unescaping
	i := 1
	for i < len(s) {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			break
		}
		j += i
		if j+1 < len(s) && s[j+1] == '"' {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(b, s[i:j+1]...)
			i = j + 2
			continue
		}
		if b == nil {
			return s[1:j], s[j+1:]
		}
		return string(append(b, s[i:j]...)), s[j+1:]
	}
	// Unterminated: the value runs to the end of the line.
	if b == nil {
		return s[1:], ""
	}
	return string(append(b, s[i:]...)), ""
}

var timeColumns = []string{"DateTime", "TimeStamp", "date-time", "Timestamp"}

func timeColumn(s *event.Schema) int {
	for _, c := range timeColumns {
		if j, ok := s.Index(c); ok {
			return j
		}
	}
	return 0
}

// Time reads the row time: the DateTime/TimeStamp column, else the first.
func Time(s *event.Schema, vals []string) (time.Time, bool) {
	i := timeColumn(s)
	if i >= len(vals) {
		return time.Time{}, false
	}
	return parseTime(vals[i])
}

func parseTime[T string | []byte](s T) (time.Time, bool) {
	// No zone means UTC: Exchange writes UTC.
	return parse.ISOTime(s)
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

// layout is a schema plus what the hot path needs from it, computed once
// per "#Fields:" directive instead of once per row.
type layout struct {
	schema  *event.Schema
	timeCol int
	dataCol int // EventData column, -1 when absent
}

func newLayout(names []string) *layout {
	l := &layout{schema: NewSchema(names), dataCol: -1}
	l.timeCol = timeColumn(l.schema)
	if i, ok := l.schema.Index("EventData"); ok {
		l.dataCol = i
	}
	return l
}

var defaultLayouts = map[event.Source]*layout{
	event.HTTPProxy:   newLayout(HTTPProxyFields),
	event.RpsHTTP:     newLayout(RpsHTTPFields),
	event.ECPServer:   newLayout(ECPFields),
	event.ECPActivity: newLayout(ECPFields),
}

var noFields = newLayout(nil)

func defaultLayout(s event.Source) *layout {
	if l, ok := defaultLayouts[s]; ok {
		return l
	}
	return noFields
}

// Parse reads one Exchange CSV log.
func Parse(ctx context.Context, r io.Reader, m parse.Meta, emit parse.Emit) (parse.Stats, error) {
	var st parse.Stats
	src := m.Source
	lay := defaultLayout(src)
	sawFields := false
	var lastFields []byte // raw text of the current "#Fields:" line
	var ev event.Event
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
				if sawFields && bytes.Equal(line, lastFields) {
					return nil // the same header again
				}
				names := strings.Split(val, ",")
				for i := range names {
					names[i] = strings.TrimSpace(names[i])
				}
				lay = newLayout(names)
				sawFields = true
				lastFields = append(lastFields[:0], line...)
			case "log-type":
				if s := event.SourceFromLogType(val); s != event.Unknown {
					src = s
					isECP = src == event.ECPServer || src == event.ECPActivity
					if !sawFields {
						lay = defaultLayout(src)
					}
				}
			}
			return nil
		}
		names := len(lay.schema.Names)
		if names > 0 {
			nf := bytes.Count(line, comma) + 1
			if nf < 2 || (names > 4 && nf < names/2) {
				st.Malformed++
				return nil
			}
		}
		// names == 0: a family without a known column set and no header
		// (OAB generator text): every line is a record, the detectors
		// read the raw text.
		st.Records++
		if t, ok := parseTime(unquote(fieldAt(line, lay.timeCol))); ok {
			st.Seen(t)
		}
		ev.Reset(src, event.Location{Path: m.Path, Line: n}, m.Host, line, lay.schema, Split, Time)
		if isECP && lay.dataCol >= 0 {
			ecpExtras(&ev, fieldAt(line, lay.dataCol))
		}
		return emit(&ev)
	})
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

// fieldAt returns the raw text of CSV field col (quotes and all), nil when
// the row is short. It does not allocate.
func fieldAt(line []byte, col int) []byte {
	for k := 0; ; k++ {
		end := 0
		if len(line) > 0 && line[0] == '"' {
			end = quotedEnd(line)
			if j := bytes.IndexByte(line[end:], ','); j >= 0 {
				end += j
			} else {
				end = len(line)
			}
		} else if j := bytes.IndexByte(line, ','); j >= 0 {
			end = j
		} else {
			end = len(line)
		}
		if k == col {
			return line[:end]
		}
		if end >= len(line) {
			return nil
		}
		line = line[end+1:]
	}
}

// quotedEnd returns the index after the closing quote of a quoted field at
// the start of b, or len(b) when unterminated.
func quotedEnd(b []byte) int {
	i := 1
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		if i+1 < len(b) && b[i+1] == '"' {
			i += 2
			continue
		}
		return i + 1
	}
	return len(b)
}

// unquote strips the quotes of a simple quoted field without allocating;
// a field with doubled quotes is returned as is (no time has quotes).
func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
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

// ecpKeys interns the lower-case names of the usual EventData keys, so
// that exposing them costs no allocation.
var ecpKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Split("TIME,SID,CMD,REQID,URL,REFERRER,EX,ACTID,RS,BLD,TNAME,TID,USID,EDOID,ACID,PARAM,CID,DNS,UA,IP", ",") {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// ecpExtras exposes the EventData pairs ("S:CMD=...;S:URL=...") as derived
// fields named by key (CMD, URL, EX, ...). A ';' inside a value (script
// markup in a URL parameter) stays part of that value: only a ';' followed
// by a "T:KEY=" pair starts a new one. field is the raw CSV field.
func ecpExtras(ev *event.Event, field []byte) {
	if len(field) == 0 {
		return
	}
	var data string
	if field[0] == '"' {
		data, _ = quoted(string(field))
	} else {
		data = string(field)
	}
	key, start, end := "", 0, 0
	flush := func() {
		if key != "" {
			ev.SetExtra(key, data[start:end])
		}
	}
	for pos := 0; pos < len(data); {
		stop := strings.IndexByte(data[pos:], ';')
		if stop < 0 {
			stop = len(data)
		} else {
			stop += pos
		}
		if k, v, ok := pair(data[pos:stop]); ok {
			flush()
			key = lowerKey(k)
			start, end = stop-len(v), stop
		} else if key != "" {
			end = stop // continuation of the current value
		}
		pos = stop + 1
	}
	flush()
}

func lowerKey(k string) string {
	if l, ok := ecpKeys[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// pair reads "T:KEY=value" where T is a short type tag (S, I32, F, Dbl...):
// an upper-case letter then up to three letters or digits.
func pair(s string) (key, val string, ok bool) {
	c := strings.IndexByte(s, ':')
	if c <= 0 || c > 4 || s[0] < 'A' || s[0] > 'Z' {
		return "", "", false
	}
	for i := 1; i < c; i++ {
		if !isKeyByte(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.' {
			return "", "", false
		}
	}
	e := strings.IndexByte(s[c+1:], '=')
	if e <= 0 {
		return "", "", false
	}
	k := s[c+1 : c+1+e]
	for i := 0; i < len(k); i++ {
		if !isKeyByte(k[i]) {
			return "", "", false
		}
	}
	return k, s[c+2+e:], true
}

func isKeyByte(r byte) bool {
	return r == '_' || r == '-' || r == '.' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
}
