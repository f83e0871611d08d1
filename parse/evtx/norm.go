package evtx

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/Velocidex/ordereddict"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
)

// Bounds of one record's normalisation. Expanded records may share
// sub-dictionaries (a hostile template can reference its own expansion),
// so the walk counts what it visits instead of trusting the shape.
const (
	maxFields = 4096
	maxVisits = 1 << 16
	maxNest   = 32
)

// norm turns the library's expanded record into a WinEvent, once, without
// a JSON round trip.
type norm struct {
	w      *event.WinEvent
	specs  []spec // types of the record's values that render specially
	num    []byte // the record's non-string values, rendered
	fix    []fix  // Data entries whose value lives in num
	visits int
}

type fix struct{ i, a, b int }

// event fills w from the library's record; ft is the record header's
// written time. It returns false when the record has no System part.
func (n *norm) event(w *event.WinEvent, v any, ft uint64, specs []spec) bool {
	w.Reset()
	n.w, n.specs = w, specs
	n.num, n.fix, n.visits = n.num[:0], n.fix[:0], 0
	root, ok := v.(*ordereddict.Dict)
	if !ok {
		return false
	}
	ev, _ := root.Get("Event")
	e, ok := ev.(*ordereddict.Dict)
	if !ok {
		return false
	}
	sys := false
	for _, it := range e.Items() {
		switch it.Key {
		case "System":
			if d, ok := it.Value.(*ordereddict.Dict); ok {
				n.system(d, ft)
				sys = true
			}
		case "EventData":
			n.eventData(it.Value)
		case "RenderingInfo":
			// Forwarded events carry the rendered message: not event data.
		default:
			// UserData, and the rare ProcessingErrorData or DebugData.
			n.leaf(it.Key, it.Value, 1)
		}
	}
	if !sys {
		return false
	}
	if w.Time.IsZero() {
		w.Time = fromFILETIME(ft)
	}
	if len(n.fix) > 0 {
		s := string(n.num)
		for _, f := range n.fix {
			w.Data[f.i].Value = s[f.a:f.b]
		}
	}
	return true
}

func (n *norm) system(d *ordereddict.Dict, ft uint64) {
	w := n.w
	for _, it := range d.Items() {
		v := it.Value
		switch it.Key {
		case "Provider":
			if pd, ok := v.(*ordereddict.Dict); ok {
				if s, ok := pd.GetString("Name"); ok && s != "" {
					w.Provider = s
				} else if s, ok := pd.GetString("EventSourceName"); ok {
					w.Provider = s
				}
			} else if s, ok := v.(string); ok {
				w.Provider = s
			}
		case "EventID":
			if ed, ok := v.(*ordereddict.Dict); ok {
				v, _ = ed.Get("Value")
			}
			if u, ok := toUint(v); ok && u <= math.MaxUint32 {
				w.EventID = uint32(u)
			}
		case "Level":
			if u, ok := toUint(v); ok && u <= math.MaxUint8 {
				w.Level = uint8(u)
			}
		case "TimeCreated":
			if td, ok := v.(*ordereddict.Dict); ok {
				v, _ = td.Get("SystemTime")
			}
			w.Time = timeOf(v, ft)
		case "EventRecordID":
			if u, ok := toUint(v); ok {
				w.RecordID = u
			}
		case "Channel":
			w.Channel, _ = v.(string)
		case "Computer":
			w.Computer, _ = v.(string)
		}
	}
}

// eventData reads <EventData>: named <Data Name="..."> values (which the
// library has already turned into keys when every one is named), unnamed
// <Data> values as "Data", and anything else (Binary) by element name.
func (n *norm) eventData(v any) {
	d, ok := v.(*ordereddict.Dict)
	if !ok {
		if v != nil {
			n.leaf("Data", v, 1)
		}
		return
	}
	for _, it := range d.Items() {
		if it.Key == "Data" {
			if a, ok := it.Value.([]any); ok {
				for _, e := range a {
					n.dataItem(e, 2)
				}
			} else {
				n.dataItem(it.Value, 1)
			}
			continue
		}
		n.leaf(it.Key, it.Value, 1)
	}
}

// dataItem reads one <Data> element: {Name, Value} when named, else its
// value as "Data".
func (n *norm) dataItem(v any, depth int) {
	if d, ok := v.(*ordereddict.Dict); ok {
		if name, ok := d.GetString("Name"); ok {
			val, _ := d.Get("Value")
			n.leaf(name, val, depth+1)
			return
		}
	}
	n.leaf("Data", v, depth)
}

// leaf flattens v under key: dictionaries to their leaf names (an
// element's text next to its attributes, "Value", keeps the element's
// name), lists to repeated keys.
func (n *norm) leaf(key string, v any, depth int) {
	n.visits++
	if n.visits > maxVisits || depth > maxNest || len(n.w.Data) >= maxFields {
		return
	}
	switch x := v.(type) {
	case *ordereddict.Dict:
		for _, it := range x.Items() {
			k := it.Key
			switch {
			case k == "Value":
				k = key
			case strings.HasPrefix(k, "xmlns"):
				continue // namespace declarations (xmlns:auto-ns3="...")
			}
			n.leaf(k, it.Value, depth+1)
		}
	case []any:
		for _, e := range x {
			n.leaf(key, e, depth+1)
		}
	default:
		n.scalar(key, v)
	}
}

// typeOf returns the value type of the value named key when it renders
// specially, else 0.
func (n *norm) typeOf(key string) uint8 {
	for i := range n.specs {
		if n.specs[i].key == key {
			return n.specs[i].typ
		}
	}
	return 0
}

func (n *norm) put(key, val string) {
	if len(n.w.Data) < maxFields {
		n.w.Add(key, val)
	}
}

// rendered adds a value rendered into num from offset a.
func (n *norm) rendered(key string, a int) {
	if len(n.w.Data) >= maxFields {
		n.num = n.num[:a]
		return
	}
	n.fix = append(n.fix, fix{len(n.w.Data), a, len(n.num)})
	n.w.Add(key, "")
}

func (n *norm) uint(key string, v uint64) {
	a := len(n.num)
	switch n.typeOf(key) {
	case tHex32, tHex64:
		n.num = append(n.num, "0x"...)
		n.num = strconv.AppendUint(n.num, v, 16)
	default:
		n.num = strconv.AppendUint(n.num, v, 10)
	}
	n.rendered(key, a)
}

// scalar renders one value the way Windows writes it in event XML.
func (n *norm) scalar(key string, v any) {
	switch x := v.(type) {
	case string:
		if len(x) == 36 && n.typeOf(key) == tGUID {
			a := len(n.num)
			n.num = append(append(append(n.num, '{'), x...), '}')
			n.rendered(key, a)
			return
		}
		n.put(key, x)
	case nil:
		n.put(key, "")
	case bool:
		n.put(key, strconv.FormatBool(x))
	case uint8:
		n.uint(key, uint64(x))
	case uint16:
		n.uint(key, uint64(x))
	case uint32:
		n.uint(key, uint64(x))
	case uint64:
		n.uint(key, x)
	case int32:
		a := len(n.num)
		n.num = strconv.AppendInt(n.num, int64(x), 10)
		n.rendered(key, a)
	case int64:
		a := len(n.num)
		n.num = strconv.AppendInt(n.num, x, 10)
		n.rendered(key, a)
	case float32:
		a := len(n.num)
		n.num = strconv.AppendFloat(n.num, float64(x), 'g', -1, 32)
		n.rendered(key, a)
	case float64:
		a := len(n.num)
		if n.typeOf(key) == tFileTime {
			if t := fromUnixFloat(x); !t.IsZero() {
				n.num = t.AppendFormat(n.num, "2006-01-02T15:04:05.0000000Z")
				n.rendered(key, a)
				return
			}
		}
		n.num = strconv.AppendFloat(n.num, x, 'g', -1, 64)
		n.rendered(key, a)
	case []byte:
		n.binary(key, x)
	case []string:
		for _, s := range x {
			n.put(key, s)
		}
	case []uint16:
		for _, u := range x {
			n.uint(key, uint64(u))
		}
	case []uint64:
		for _, u := range x {
			n.uint(key, u)
		}
	}
}

// binary renders a binary value as upper-case hex, or, when it is an
// integer array (the guard rewrote those as binary for the
// library), as its elements.
func (n *norm) binary(key string, b []byte) {
	switch n.typeOf(key) {
	case tU16Array:
		for ; len(b) >= 2; b = b[2:] {
			a := len(n.num)
			n.num = strconv.AppendUint(n.num, uint64(b[0])|uint64(b[1])<<8, 10)
			n.rendered(key, a)
		}
		return
	case tU64Array, tHex64Array:
		hex := n.typeOf(key) == tHex64Array
		for ; len(b) >= 8; b = b[8:] {
			a := len(n.num)
			u := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			if hex {
				n.num = strconv.AppendUint(append(n.num, "0x"...), u, 16)
			} else {
				n.num = strconv.AppendUint(n.num, u, 10)
			}
			n.rendered(key, a)
		}
		return
	}
	const digits = "0123456789ABCDEF"
	a := len(n.num)
	for _, c := range b {
		n.num = append(n.num, digits[c>>4], digits[c&15])
	}
	n.rendered(key, a)
}

// toUint reads an unsigned integer from a library value (numbers, or text
// in forwarded events).
func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	case float64:
		if x >= 0 && x <= math.MaxUint64 && x == math.Trunc(x) {
			return uint64(x), true
		}
	case string:
		s := strings.TrimSpace(x)
		if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
			u, err := strconv.ParseUint(s[2:], 16, 64)
			return u, err == nil
		}
		u, err := strconv.ParseUint(s, 10, 64)
		return u, err == nil
	}
	return 0, false
}

// Times outside [1970, 2200) are treated as unknown: a flipped bit must
// not become a file's first or last time.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

const filetimeEpoch = 116444736000000000 // 1970-01-01 in FILETIME ticks

// timeOf reads TimeCreated/@SystemTime. The library turns FILETIME into
// float seconds (which loses the last digit), so when the float is the
// record header's written time, that exact FILETIME is used.
func timeOf(v any, ft uint64) time.Time {
	switch x := v.(type) {
	case float64:
		if ft != 0 && (float64(ft)-float64(filetimeEpoch))/1e7 == x {
			return fromFILETIME(ft)
		}
		return fromUnixFloat(x)
	case string:
		// Forwarded events carry text; the library renders SYSTEMTIME
		// values as "2006-01-02 15:04:05.999999999 +0000 UTC".
		x = strings.TrimSuffix(x, " +0000 UTC")
		if t, ok := parse.ISOTime(x); ok && t.Before(maxTime) {
			return t
		}
	case uint64:
		return fromFILETIME(x)
	}
	return time.Time{}
}

func fromFILETIME(ft uint64) time.Time {
	if ft < filetimeEpoch {
		return time.Time{}
	}
	d := ft - filetimeEpoch
	t := time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
	if t.Before(maxTime) {
		return t
	}
	return time.Time{}
}

// fromUnixFloat converts float seconds, rounded to the microsecond (the
// precision a float64 keeps for today's dates).
func fromUnixFloat(x float64) time.Time {
	if math.IsNaN(x) || x < 0 || x >= float64(maxTime.Unix()) {
		return time.Time{}
	}
	sec := math.Floor(x)
	us := math.Round((x - sec) * 1e6)
	t := time.Unix(int64(sec), int64(us)*1000).UTC()
	if t.Before(minTime) {
		return time.Time{}
	}
	return t
}

// utf16String decodes UTF-16LE the way the library does (trailing NULs
// dropped).
func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}
