// Package event holds the one normalised record that every parser emits and
// every detector reads. It imports nothing of ours.
//
// An Event is built for every physical log line, so it is cheap by design:
// the parser hands over the raw line and a Schema; fields are split only when
// a detector asks for them (most lines never survive the keyword prefilter).
package event

import (
	"strings"
	"time"
)

// Source is a log family. The zero value is Unknown.
type Source uint8

const (
	Unknown     Source = iota
	IIS                // IIS W3C access log
	HTTPProxy          // Exchange front-end HttpProxy CSV log (every protocol folder)
	ECPServer          // Exchange ECP Server log
	ECPActivity        // Exchange ECP Activity log
	OABGen             // Exchange OAB generator log
	RpsHTTP            // Exchange CmdletInfra PowerShell-Proxy (Rps_Http) log
	EVTX               // Windows event log file (.evtx)
	WinJSON            // Windows events exported as JSON lines (WEF, Winlogbeat, datasets)
	numSources
)

var sourceNames = [numSources]string{
	Unknown:     "unknown",
	IIS:         "iis",
	HTTPProxy:   "httpproxy",
	ECPServer:   "ecp-server",
	ECPActivity: "ecp-activity",
	OABGen:      "oabgen",
	RpsHTTP:     "rps-http",
	EVTX:        "evtx",
	WinJSON:     "eventlog-json",
}

var sourceTitles = [numSources]string{
	Unknown:     "Unknown",
	IIS:         "IIS W3C access logs",
	HTTPProxy:   "Exchange HttpProxy logs",
	ECPServer:   "Exchange ECP Server logs",
	ECPActivity: "Exchange ECP Activity logs",
	OABGen:      "Exchange OAB generator logs",
	RpsHTTP:     "Exchange PowerShell-Proxy (Rps_Http) logs",
	EVTX:        "Windows event logs (EVTX)",
	WinJSON:     "Windows event logs exported as JSON",
}

// String returns the stable machine name used in JSON and CSV output.
func (s Source) String() string {
	if s >= numSources {
		return "unknown"
	}
	return sourceNames[s]
}

// Title is the human name used in the terminal report.
func (s Source) Title() string {
	if s >= numSources {
		return "Unknown"
	}
	return sourceTitles[s]
}

// Sources lists every known family except Unknown, in display order.
func Sources() []Source {
	out := make([]Source, 0, numSources-1)
	for s := Source(1); s < numSources; s++ {
		out = append(out, s)
	}
	return out
}

// ParseSource maps a machine name back to its Source.
func ParseSource(name string) (Source, bool) {
	for i, n := range sourceNames {
		if strings.EqualFold(n, name) {
			return Source(i), true
		}
	}
	return Unknown, false
}

// Location points back to the evidence: a path relative to the hunted root
// (forward slashes) and the 1-based physical line, header lines counted.
// Windows events also carry their EventRecordID (Line is 0 for .evtx).
type Location struct {
	Path   string
	Line   int64
	Record uint64
}

// Field names a concept that several log families record under different
// column names, so that one detector can read IIS and HttpProxy rows alike.
type Field uint8

const (
	FNone       Field = iota
	FMethod           // HTTP method
	FStem             // URL path
	FQuery            // URL query string
	FStatus           // HTTP status
	FClientIP         // client address (first hop)
	FUserAgent        // user agent
	FUser             // authenticated user name
	FServerPort       // server port (IIS only)
	numFields
)

// Schema maps one file's column names to positions. A parser builds one per
// "#Fields:" line; events share it.
type Schema struct {
	Names []string       // as written in the header
	index map[string]int // lower-cased name -> position
	canon [numFields]int // canonical field -> position, -1 when absent
}

// NewSchema builds a schema. aliases maps a canonical Field to the column
// names (any case) that carry it in this log family, first match wins.
func NewSchema(names []string, aliases map[Field][]string) *Schema {
	s := &Schema{Names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		if _, dup := s.index[k]; !dup {
			s.index[k] = i
		}
	}
	for f := range s.canon {
		s.canon[f] = -1
	}
	for f, names := range aliases {
		for _, n := range names {
			if i, ok := s.index[strings.ToLower(n)]; ok {
				s.canon[f] = i
				break
			}
		}
	}
	return s
}

// Index returns the position of a column by name, ignoring case.
func (s *Schema) Index(name string) (int, bool) {
	if s == nil {
		return 0, false
	}
	i, ok := s.index[strings.ToLower(name)]
	return i, ok
}

// Splitter turns a raw data line into field values. It may reuse dst.
// It must never panic on hostile input.
type Splitter func(raw []byte, dst []string) []string

// TimeFunc reads the record time from the split values; ok=false when the
// line carries no usable time.
type TimeFunc func(s *Schema, vals []string) (time.Time, bool)

// Event is one record. Raw is only valid during the detector call: anything
// kept must be copied (Excerpt does).
type Event struct {
	Source Source
	Loc    Location
	Host   string
	Raw    []byte

	Schema *Schema
	split  Splitter
	timeFn TimeFunc

	// Win is set for Windows events (EVTX, exported JSON); Schema is nil then.
	Win *WinEvent

	vals    []string
	splitOK bool
	t       time.Time
	tDone   bool
	tOK     bool
	extra   map[string]string
	memo    [MemoSlots]string
	memoOK  [MemoSlots]bool
}

// MemoSlots is how many strings derived from a line (a lower-cased,
// decoded URL, say) an event keeps for the detectors that share them.
const MemoSlots = 2

// Memo returns f(e), computed once per line for slot: several detectors of
// one family often need the same derived text of the same line.
func (e *Event) Memo(slot int, f func(*Event) string) string {
	if !e.memoOK[slot] {
		e.memo[slot], e.memoOK[slot] = f(e), true
	}
	return e.memo[slot]
}

// Reset prepares e for a new line without allocating.
func (e *Event) Reset(src Source, loc Location, host string, raw []byte, schema *Schema, split Splitter, tf TimeFunc) {
	e.Source, e.Loc, e.Host, e.Raw = src, loc, host, raw
	e.Schema, e.split, e.timeFn = schema, split, tf
	e.Win = nil
	e.vals = e.vals[:0]
	e.splitOK, e.tDone, e.tOK = false, false, false
	e.t = time.Time{}
	e.memoOK = [MemoSlots]bool{}
	for k := range e.extra {
		delete(e.extra, k)
	}
}

// Values returns the split field values (split on first use).
func (e *Event) Values() []string {
	if !e.splitOK {
		e.splitOK = true
		if e.split != nil {
			e.vals = e.split(e.Raw, e.vals[:0])
		}
	}
	return e.vals
}

// Get returns the value of a column by header name, ignoring case; "" when
// the column is absent or the row is short. Parsers may also add derived
// fields (SetExtra), which Get finds when no column has the name.
func (e *Event) Get(name string) string {
	if e.Win != nil {
		v, _ := e.Win.Get(name)
		return v
	}
	if i, ok := e.Schema.Index(name); ok {
		v := e.Values()
		if i < len(v) {
			return v[i]
		}
		return ""
	}
	if e.extra != nil {
		return e.extra[strings.ToLower(name)]
	}
	return ""
}

// Has reports whether the schema has the column or a derived field exists.
func (e *Event) Has(name string) bool {
	if e.Win != nil {
		_, ok := e.Win.Get(name)
		return ok
	}
	if _, ok := e.Schema.Index(name); ok {
		return true
	}
	_, ok := e.extra[strings.ToLower(name)]
	return ok
}

// F returns a canonical field ("" when this family does not record it).
func (e *Event) F(f Field) string {
	if e.Schema == nil || f >= numFields {
		return ""
	}
	i := e.Schema.canon[f]
	if i < 0 {
		return ""
	}
	v := e.Values()
	if i < len(v) {
		return v[i]
	}
	return ""
}

// SetExtra records a derived field (for example an ECP EventData key).
func (e *Event) SetExtra(name, value string) {
	if e.extra == nil {
		e.extra = make(map[string]string, 8)
	}
	e.extra[strings.ToLower(name)] = value
}

// Time returns the record time in UTC, parsed on first use.
func (e *Event) Time() (time.Time, bool) {
	if e.Win != nil {
		return e.Win.Time, !e.Win.Time.IsZero()
	}
	if !e.tDone {
		e.tDone = true
		if e.timeFn != nil {
			e.t, e.tOK = e.timeFn(e.Schema, e.Values())
			e.t = e.t.UTC()
		}
	}
	return e.t, e.tOK
}

// MaxExcerpt bounds the excerpt copied into a finding.
const MaxExcerpt = 2048

// Excerpt copies the raw line for a finding, bounded and with invalid UTF-8
// replaced, so that a 10 MB line or binary garbage never bloats the output.
func (e *Event) Excerpt() string {
	raw := e.Raw
	if e.Win != nil {
		raw = e.Win.AppendText(nil)
	}
	cut := false
	if len(raw) > MaxExcerpt {
		raw, cut = raw[:MaxExcerpt], true
	}
	s := strings.ToValidUTF8(strings.TrimRight(string(raw), "\r\n"), "\uFFFD")
	if cut {
		s += "…"
	}
	return s
}

// SourceFromLogType maps an Exchange "#Log-type:" directive ("HttpProxy
// Logs", "ECP Server Log", ...) to a family; Unknown when it is not one we
// read. Evidence discovery and the Exchange log parser share it.
func SourceFromLogType(v string) Source {
	lt := strings.ToLower(strings.ReplaceAll(v, " ", ""))
	switch {
	case lt == "":
		return Unknown
	case strings.Contains(lt, "httpproxy"):
		return HTTPProxy
	case strings.Contains(lt, "ecp") && strings.Contains(lt, "activity"):
		return ECPActivity
	case strings.Contains(lt, "ecp"):
		return ECPServer
	case strings.Contains(lt, "oab"):
		return OABGen
	case strings.Contains(lt, "rps") || strings.Contains(lt, "powershell"):
		return RpsHTTP
	}
	return Unknown
}
