package event

import (
	"strconv"
	"strings"
	"time"
)

// WinEvent is one Windows event record, normalised once by the EVTX and
// JSON-lines parsers: the System fields every rule routes on, then the
// EventData or UserData values by name in record order.
//
// Unnamed EventData values (classic Application-log events) are named
// "Data"; a name may repeat and All returns every value. Nested UserData
// elements are flattened to their leaf names.
type WinEvent struct {
	Channel  string
	Provider string
	Computer string
	EventID  uint32
	Level    uint8
	RecordID uint64
	Time     time.Time // TimeCreated, UTC
	Data     []KV
}

// KV is one named value.
type KV struct{ Key, Value string }

// Reset empties w for reuse, keeping the Data backing array.
func (w *WinEvent) Reset() {
	*w = WinEvent{Data: w.Data[:0]}
}

// Add appends a named value.
func (w *WinEvent) Add(key, value string) { w.Data = append(w.Data, KV{key, value}) }

// Get returns a field by name: the System names (Channel, Provider_Name
// or Provider, Computer, EventID, Level, EventRecordID) and then the first
// data value of that name, compared exactly first and then ignoring case.
func (w *WinEvent) Get(name string) (string, bool) {
	switch name {
	case "Channel":
		return w.Channel, true
	case "Provider_Name", "Provider":
		return w.Provider, true
	case "Computer":
		return w.Computer, true
	case "EventID":
		return strconv.FormatUint(uint64(w.EventID), 10), true
	case "Level":
		return strconv.FormatUint(uint64(w.Level), 10), true
	case "EventRecordID":
		return strconv.FormatUint(w.RecordID, 10), true
	}
	for i := range w.Data {
		if w.Data[i].Key == name {
			return w.Data[i].Value, true
		}
	}
	for i := range w.Data {
		if strings.EqualFold(w.Data[i].Key, name) {
			return w.Data[i].Value, true
		}
	}
	return "", false
}

// All appends to dst every data value named name (ignoring case) and, for
// System names, the one System value.
func (w *WinEvent) All(name string, dst []string) []string {
	switch name {
	case "Channel", "Provider_Name", "Provider", "Computer", "EventID", "Level", "EventRecordID":
		v, _ := w.Get(name)
		return append(dst, v)
	}
	for i := range w.Data {
		if strings.EqualFold(w.Data[i].Key, name) {
			dst = append(dst, w.Data[i].Value)
		}
	}
	return dst
}

// AppendText renders the record as one line for excerpts:
// "Channel=Security EventID=4688 Computer=EX01 Key=Value ...".
func (w *WinEvent) AppendText(b []byte) []byte {
	b = append(b, "Channel="...)
	b = append(b, w.Channel...)
	b = append(b, " Provider="...)
	b = append(b, w.Provider...)
	b = append(b, " EventID="...)
	b = strconv.AppendUint(b, uint64(w.EventID), 10)
	b = append(b, " Computer="...)
	b = append(b, w.Computer...)
	for _, kv := range w.Data {
		b = append(b, ' ')
		b = append(b, kv.Key...)
		b = append(b, '=')
		b = append(b, kv.Value...)
	}
	return b
}

// AppendValues writes every value (System strings and data) separated by
// newlines: the text the keyword prefilter scans for a Windows event.
func (w *WinEvent) AppendValues(b []byte) []byte {
	b = append(b, w.Channel...)
	b = append(b, '\n')
	b = append(b, w.Provider...)
	b = append(b, '\n')
	b = append(b, w.Computer...)
	for _, kv := range w.Data {
		b = append(b, '\n')
		b = append(b, kv.Value...)
	}
	return b
}

// ResetWin prepares e for a Windows event. raw is the text the keyword
// prefilter scans (see WinEvent.AppendValues); w is read until the emit
// callback returns.
func (e *Event) ResetWin(src Source, loc Location, host string, w *WinEvent, raw []byte) {
	e.Reset(src, loc, host, raw, nil, nil, nil)
	e.Win = w
}
