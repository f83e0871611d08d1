package winjson

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// Bounds of one record's data.
const (
	maxFields = 4096
	maxNest   = 32
)

// shape names the export layouts read.
type shape uint8

const (
	none       shape = iota
	beat             // Winlogbeat / Elastic: {"@timestamp", "winlog": {...}}
	xmlish           // evtx_dump, Hayabusa, Velociraptor: {"Event": {"System", "EventData"}} or {"System", ...}
	flat             // NXLog, OTRF/Mordor: {"Channel", "EventID", "Hostname", ..., data keys}
	powershell       // Get-WinEvent | ConvertTo-Json: {"Id", "LogName", "Properties": [...]}
)

// filler turns one parsed object into a WinEvent.
type filler struct {
	t *tree
	w *event.WinEvent
}

// fill reads the record in f.t into f.w; false when the object is not a
// Windows event in a shape we know.
func (f *filler) fill() bool {
	t, w := f.t, f.w
	w.Reset()
	root := int32(0)
	if len(t.nodes) == 0 || t.nodes[0].kind != kObject {
		return false
	}
	switch {
	case t.get(root, "winlog") >= 0 && t.nodes[t.get(root, "winlog")].kind == kObject:
		f.beat(root)
	case t.path(root, "Event", "System") >= 0:
		f.xml(t.get(root, "Event"))
	case t.get(root, "System") >= 0 && t.nodes[t.get(root, "System")].kind == kObject:
		f.xml(root)
	case t.get(root, "EventID") >= 0 || t.get(root, "EventId") >= 0:
		f.flat(root)
	case t.get(root, "LogName") >= 0 && t.get(root, "Id") >= 0:
		f.powershell(root)
	default:
		return false
	}
	return true
}

// beat reads Winlogbeat / Elastic Agent documents.
func (f *filler) beat(root int32) {
	t, w := f.t, f.w
	wl := t.get(root, "winlog")
	w.Channel = f.str(t.get(wl, "channel"))
	w.Provider = f.str(t.get(wl, "provider_name"))
	w.Computer = f.str(t.get(wl, "computer_name"))
	if w.Computer == "" {
		w.Computer = f.str(t.path(root, "host", "name"))
	}
	id := t.get(wl, "event_id")
	if id < 0 {
		id = t.path(root, "event", "code")
	}
	w.EventID = uint32(f.uint(id, math.MaxUint32))
	w.RecordID = f.uint(t.get(wl, "record_id"), math.MaxUint64)
	lv := t.get(wl, "level")
	if lv < 0 {
		lv = t.path(root, "log", "level")
	}
	w.Level = f.level(lv)
	w.Time = f.time(t.get(root, "@timestamp"))
	if w.Time.IsZero() {
		w.Time = f.time(t.get(wl, "time_created"))
	}
	if ed := t.get(wl, "event_data"); ed >= 0 {
		f.members(ed, 1)
	}
	if ud := t.get(wl, "user_data"); ud >= 0 {
		f.members(ud, 1)
	}
}

// xml reads the shapes converted from event XML: System with
// "#attributes" (evtx_dump), plain attributes (Velociraptor), and flattened
// names (Provider_Name, TimeCreated_SystemTime).
func (f *filler) xml(ev int32) {
	t, w := f.t, f.w
	sys := t.get(ev, "System")
	w.Channel = f.str(t.get(sys, "Channel"))
	w.Computer = f.str(t.get(sys, "Computer"))
	if p := t.get(sys, "Provider"); p >= 0 {
		if t.nodes[p].kind == kObject {
			w.Provider = f.str(f.attr(p, "Name"))
			if w.Provider == "" {
				w.Provider = f.str(f.attr(p, "EventSourceName"))
			}
		} else {
			w.Provider = f.str(p)
		}
	}
	if w.Provider == "" {
		w.Provider = f.str(t.get(sys, "Provider_Name"))
	}
	w.EventID = uint32(f.uint(f.text(t.get(sys, "EventID")), math.MaxUint32))
	w.RecordID = f.uint(f.text(t.get(sys, "EventRecordID")), math.MaxUint64)
	w.Level = f.level(f.text(t.get(sys, "Level")))
	tc := t.get(sys, "TimeCreated")
	if tc >= 0 && t.nodes[tc].kind == kObject {
		tc = f.attr(tc, "SystemTime")
	}
	if tc < 0 {
		tc = t.get(sys, "TimeCreated_SystemTime")
	}
	w.Time = f.time(tc)
	for c := t.nodes[ev].first; c >= 0; c = t.nodes[c].next {
		switch k := t.nodes[c].key; k {
		case "System", "RenderingInfo", "Message", "#attributes":
		case "EventData":
			f.eventData(c)
		default:
			f.leaf(k, c, 1)
		}
	}
}

// attr reads an attribute: {"#attributes": {"Name": x}} or {"Name": x}.
func (f *filler) attr(o int32, name string) int32 {
	if a := f.t.path(o, "#attributes", name); a >= 0 {
		return a
	}
	return f.t.get(o, name)
}

// text unwraps {"#text": v} and {"Value": v} (an element with attributes).
func (f *filler) text(n int32) int32 {
	if n >= 0 && f.t.nodes[n].kind == kObject {
		if v := f.t.get(n, "#text"); v >= 0 {
			return v
		}
		return f.t.get(n, "Value")
	}
	return n
}

// eventData reads <EventData>: named values as members, unnamed <Data>
// values as "Data", in every converter's spelling.
func (f *filler) eventData(ed int32) {
	t := f.t
	switch t.nodes[ed].kind {
	case kObject:
	case kNull:
		return
	default:
		f.leaf("Data", ed, 1)
		return
	}
	for c := t.nodes[ed].first; c >= 0; c = t.nodes[c].next {
		switch k := t.nodes[c].key; k {
		case "#attributes":
		case "Data":
			if t.nodes[c].kind == kArray {
				for e := t.nodes[c].first; e >= 0; e = t.nodes[e].next {
					f.dataItem(e)
				}
			} else {
				f.dataItem(c)
			}
		default:
			f.leaf(k, c, 1)
		}
	}
}

// dataItem reads one <Data>: {"#attributes": {"Name"}, "#text"},
// {"Name", "#text"|"Value"|"text"}, {"#text": [...]}, or a bare value.
func (f *filler) dataItem(d int32) {
	t := f.t
	if t.nodes[d].kind != kObject {
		f.leaf("Data", d, 2)
		return
	}
	name := f.str(f.attr(d, "Name"))
	v := t.get(d, "#text")
	for _, k := range []string{"Value", "text", "value"} {
		if v < 0 {
			v = t.get(d, k)
		}
	}
	switch {
	case name != "" && v >= 0:
		f.leaf(name, v, 2)
	case name != "":
		f.put(name, "")
	case v >= 0:
		f.leaf("Data", v, 2)
	default:
		f.leaf("Data", d, 2)
	}
}

// flatSystem are the flat-shape keys that are not event data: the System
// fields, and what NXLog and Logstash add about the collection.
var flatSystem = map[string]bool{
	"Channel": true, "EventID": true, "EventId": true, "Hostname": true, "Computer": true,
	"SourceName": true, "ProviderName": true, "Provider_Name": true, "EventTime": true,
	"TimeCreated": true, "@timestamp": true, "EventRecordID": true, "RecordNumber": true,
	"Level": true, "@version": true, "EventReceivedTime": true, "SourceModuleName": true,
	"SourceModuleType": true, "host": true, "port": true, "tags": true, "Message": true,
}

// flat reads one-level exports (NXLog, OTRF/Mordor datasets): known keys are
// the System fields, every other key is a data field.
func (f *filler) flat(root int32) {
	t, w := f.t, f.w
	w.Channel = f.str(t.get(root, "Channel"))
	w.Computer = f.first(root, "Hostname", "Computer")
	w.Provider = f.first(root, "SourceName", "ProviderName", "Provider_Name")
	id := t.get(root, "EventID")
	if id < 0 {
		id = t.get(root, "EventId")
	}
	w.EventID = uint32(f.uint(id, math.MaxUint32))
	rid := t.get(root, "EventRecordID")
	if rid < 0 {
		rid = t.get(root, "RecordNumber")
	}
	w.RecordID = f.uint(rid, math.MaxUint64)
	w.Level = f.level(t.get(root, "Level"))
	w.Time = f.bestTime(t.get(root, "TimeCreated"), t.get(root, "EventTime"), t.get(root, "@timestamp"))
	for c := t.nodes[root].first; c >= 0; c = t.nodes[c].next {
		k := t.nodes[c].key
		switch {
		case flatSystem[k]:
		case k == "EventData":
			f.eventData(c)
		default:
			f.leaf(k, c, 1)
		}
	}
}

// powershell reads Get-WinEvent | ConvertTo-Json -Depth 3: unnamed
// Properties values become "Data".
func (f *filler) powershell(root int32) {
	t, w := f.t, f.w
	w.Channel = f.str(t.get(root, "LogName"))
	w.Provider = f.str(t.get(root, "ProviderName"))
	w.Computer = f.str(t.get(root, "MachineName"))
	w.EventID = uint32(f.uint(t.get(root, "Id"), math.MaxUint32))
	w.RecordID = f.uint(t.get(root, "RecordId"), math.MaxUint64)
	w.Level = f.level(t.get(root, "Level"))
	w.Time = f.time(t.get(root, "TimeCreated"))
	if p := t.get(root, "Properties"); p >= 0 && t.nodes[p].kind == kArray {
		for e := t.nodes[p].first; e >= 0; e = t.nodes[e].next {
			if v := t.get(e, "Value"); v >= 0 {
				f.leaf("Data", v, 2)
			} else {
				f.leaf("Data", e, 2)
			}
		}
	}
}

func (f *filler) put(k, v string) {
	if len(f.w.Data) < maxFields {
		f.w.Add(k, v)
	}
}

// leaf flattens node n under key: objects to their leaf names ("#text"
// and "Value" keep the parent's name, namespace attributes are dropped),
// arrays to repeated keys, null to "".
func (f *filler) leaf(key string, n int32, depth int) {
	t := f.t
	if depth > maxNest || len(f.w.Data) >= maxFields {
		return
	}
	switch t.nodes[n].kind {
	case kObject:
		for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
			k := t.nodes[c].key
			switch {
			case k == "#text" || k == "Value":
				k = key
			case k == "#attributes":
				f.leaf(key, c, depth+1)
				continue
			case strings.HasPrefix(k, "xmlns") || k == "xml_name":
				continue
			}
			f.leaf(k, c, depth+1)
		}
	case kArray:
		for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
			f.leaf(key, c, depth+1)
		}
	case kNull:
		f.put(key, "")
	default:
		v, _ := t.scalar(n)
		f.put(key, v)
	}
}

// members flattens the members of an object under their own names.
func (f *filler) members(o int32, depth int) {
	t := f.t
	if t.nodes[o].kind != kObject {
		f.leaf("Data", o, depth)
		return
	}
	for c := t.nodes[o].first; c >= 0; c = t.nodes[c].next {
		if k := t.nodes[c].key; k != "xml_name" {
			f.leaf(k, c, depth)
		}
	}
}

func (f *filler) str(n int32) string {
	v, _ := f.t.scalar(n)
	return v
}

// first returns the first non-empty scalar among keys.
func (f *filler) first(o int32, keys ...string) string {
	for _, k := range keys {
		if v := f.str(f.t.get(o, k)); v != "" {
			return v
		}
	}
	return ""
}

// uint reads a number or a numeric string (decimal or 0x hex) up to max.
func (f *filler) uint(n int32, max uint64) uint64 {
	s, ok := f.t.scalar(n)
	if !ok {
		return 0
	}
	s = strings.TrimSpace(s)
	var u uint64
	var err error
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		u, err = strconv.ParseUint(s[2:], 16, 64)
	} else {
		u, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil || u > max {
		return 0
	}
	return u
}

var levelNames = map[string]uint8{
	"critical": 1, "error": 2, "warning": 3, "information": 4, "informational": 4, "info": 4, "verbose": 5,
}

// level reads a Windows level number, or its name (Winlogbeat's
// log.level).
func (f *filler) level(n int32) uint8 {
	s, ok := f.t.scalar(n)
	if !ok {
		return 0
	}
	if l, ok := levelNames[strings.ToLower(s)]; ok {
		return l
	}
	return uint8(f.uint(n, math.MaxUint8))
}

// time reads an ISO-8601 string (a missing zone means UTC), a .NET
// "/Date(ms)/" string, or a number of seconds (milliseconds when large)
// since 1970.
func (f *filler) time(n int32) time.Time {
	s, ok := f.t.scalar(n)
	if !ok {
		return time.Time{}
	}
	if f.t.nodes[n].kind == kNumber {
		return unixTime(s)
	}
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		ms := s[6 : len(s)-2]
		if i := strings.IndexAny(ms[1:], "+-"); i >= 0 {
			ms = ms[:i+1] // "/Date(1617234705018+0200)/": the number is UTC
		}
		if v, err := strconv.ParseInt(ms, 10, 64); err == nil && v > 0 {
			return time.UnixMilli(v).UTC()
		}
		return time.Time{}
	}
	if t, ok := parse.ISOTime(strings.TrimSpace(s)); ok {
		return t
	}
	return time.Time{}
}

func unixTime(s string) time.Time {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return time.Time{}
	}
	if v > 1e11 {
		v /= 1000 // milliseconds
	}
	if v > 7.3e9 {
		return time.Time{}
	}
	sec := math.Floor(v)
	return time.Unix(int64(sec), int64(math.Round((v-sec)*1e6))*1000).UTC()
}

// bestTime prefers the first candidate that states its zone, else the
// first that parses: NXLog's EventTime is the collector's local time
// without a zone, Logstash's @timestamp is UTC.
func (f *filler) bestTime(cands ...int32) time.Time {
	var fallback time.Time
	for _, n := range cands {
		t := f.time(n)
		if t.IsZero() {
			continue
		}
		if s, _ := f.t.scalar(n); f.t.nodes[n].kind == kNumber || zoned(s) {
			return t
		}
		if fallback.IsZero() {
			fallback = t
		}
	}
	return fallback
}

// zoned reports whether an ISO time ends with Z or a ±hh:mm offset.
func zoned(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") || strings.HasPrefix(s, "/Date(") {
		return true
	}
	if len(s) > 19 {
		tail := s[19:]
		return strings.ContainsAny(tail, "+-")
	}
	return false
}
