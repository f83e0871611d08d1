package sigma

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse/exlog"
	"github.com/exhunt/exhunt/parse/w3c"
)

// Sample is one test case of a rule: an event (or, for correlations, a
// sequence of events) and whether the rule must fire. Sample files are a
// YAML list, one file per rule:
//
//   - match: true
//     note: w3wp spawning cmd (Sysmon 1)
//     source: evtx           # evtx (default) | eventlog-json | iis | httpproxy
//     event: {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1, Image: 'C:\Windows\System32\cmd.exe'}
//
// For Windows sources the keys Channel, Provider_Name (or Provider),
// Computer, EventID, Level, EventRecordID and TimeCreated (RFC 3339) fill
// the System fields and every other key is an EventData value. For iis
// and httpproxy the keys are the log's column names, in order, and the
// event is a real log line (W3C or CSV) under that #Fields layout, so the
// keyword prefilter sees what it sees in a log.
type Sample struct {
	Match  bool
	Note   string
	Source event.Source
	Event  []event.KV   // one event
	Events [][]event.KV // or a sequence (correlations)
}

func (s Sample) label(i int) string {
	if s.Note != "" {
		return fmt.Sprintf("sample %d (%s)", i+1, s.Note)
	}
	return fmt.Sprintf("sample %d", i+1)
}

// ParseSamples reads a sample file.
func ParseSamples(data []byte) ([]Sample, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("sample file is over the %d-byte limit", MaxFileSize)
	}
	docs, err := decodeDocs(data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 || docs[0] == nil {
		return nil, fmt.Errorf("want one YAML document holding a list of samples")
	}
	c := &docCtx{path: "samples"}
	root, err := c.deref(docs[0])
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("want a list of samples, got a %s", kindName(root))
	}
	var out []Sample
	for i, it := range root.Content {
		s, err := parseSample(c, it)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(c *docCtx, n *yaml.Node) (Sample, error) {
	s := Sample{Source: event.EVTX}
	n, err := c.deref(n)
	if err != nil {
		return s, err
	}
	if n.Kind != yaml.MappingNode {
		return s, fmt.Errorf("want a mapping, got a %s", kindName(n))
	}
	var haveMatch bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		v, err := c.deref(n.Content[i+1])
		if err != nil {
			return s, err
		}
		switch k {
		case "match":
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				return s, fmt.Errorf("match: want true or false")
			}
			s.Match, haveMatch = b, true
		case "note":
			s.Note = v.Value
		case "source":
			src, ok := event.ParseSource(v.Value)
			switch {
			case !ok:
				return s, fmt.Errorf("source: unknown source %q", v.Value)
			case src != event.EVTX && src != event.WinJSON && src != event.IIS && src != event.HTTPProxy:
				return s, fmt.Errorf("source: samples of %s are not supported (want evtx, eventlog-json, iis or httpproxy)", src)
			}
			s.Source = src
		case "event":
			kvs, err := sampleKVs(c, v)
			if err != nil {
				return s, fmt.Errorf("event: %w", err)
			}
			s.Event = kvs
		case "events":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				return s, fmt.Errorf("events: want a non-empty list of events")
			}
			for j, it := range v.Content {
				it, err := c.deref(it)
				if err != nil {
					return s, err
				}
				kvs, err := sampleKVs(c, it)
				if err != nil {
					return s, fmt.Errorf("events[%d]: %w", j, err)
				}
				s.Events = append(s.Events, kvs)
			}
		default:
			return s, fmt.Errorf("unknown key %q (want match, note, source, event or events)", k)
		}
	}
	switch {
	case !haveMatch:
		return s, fmt.Errorf("match: missing")
	case s.Event == nil && s.Events == nil:
		return s, fmt.Errorf("want event or events")
	case s.Event != nil && s.Events != nil:
		return s, fmt.Errorf("give event or events, not both")
	}
	return s, nil
}

func sampleKVs(c *docCtx, n *yaml.Node) ([]event.KV, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, fmt.Errorf("want a non-empty mapping of field to value")
	}
	var out []event.KV
	for i := 0; i+1 < len(n.Content); i += 2 {
		v, err := c.deref(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		key := n.Content[i].Value
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			// A list is a repeated field: unnamed EventData <Data> values.
			items = v.Content
			if len(items) == 0 {
				return nil, fmt.Errorf("%s: empty list", key)
			}
		}
		for _, it := range items {
			it, err := c.deref(it)
			if err != nil {
				return nil, err
			}
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: want a value or a list of values, got a %s", key, kindName(it))
			}
			val := it.Value
			if it.Tag == "!!null" {
				val = ""
			}
			out = append(out, event.KV{Key: key, Value: val})
		}
	}
	return out, nil
}

// SampleEvent builds the event of a one-event sample.
func SampleEvent(s Sample) (*event.Event, error) {
	if s.Event == nil {
		return nil, fmt.Errorf("sample has a sequence of events, not one")
	}
	return buildEvent(s.Source, s.Event, 1)
}

// SampleEvents builds the events of a sample, in order.
func SampleEvents(s Sample) ([]*event.Event, error) {
	if s.Event != nil {
		ev, err := SampleEvent(s)
		if err != nil {
			return nil, err
		}
		return []*event.Event{ev}, nil
	}
	var out []*event.Event
	for i, kvs := range s.Events {
		ev, err := buildEvent(s.Source, kvs, i+1)
		if err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func buildEvent(src event.Source, kvs []event.KV, n int) (*event.Event, error) {
	ev := &event.Event{}
	loc := event.Location{Path: "sample", Line: int64(n)}
	switch src {
	case event.EVTX, event.WinJSON:
		w := &event.WinEvent{}
		for _, kv := range kvs {
			switch strings.ToLower(kv.Key) {
			case "channel":
				w.Channel = kv.Value
			case "provider_name", "provider":
				w.Provider = kv.Value
			case "computer":
				w.Computer = kv.Value
			case "eventid":
				id, err := strconv.ParseUint(kv.Value, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("EventID: %q is not a number", kv.Value)
				}
				w.EventID = uint32(id)
			case "level":
				l, err := strconv.ParseUint(kv.Value, 10, 8)
				if err != nil {
					return nil, fmt.Errorf("Level: %q is not a number", kv.Value)
				}
				w.Level = uint8(l)
			case "eventrecordid":
				id, err := strconv.ParseUint(kv.Value, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("EventRecordID: %q is not a number", kv.Value)
				}
				w.RecordID = id
			case "timecreated":
				t, err := time.Parse(time.RFC3339Nano, kv.Value)
				if err != nil {
					return nil, fmt.Errorf("TimeCreated: %v", err)
				}
				w.Time = t.UTC()
			default:
				w.Add(kv.Key, kv.Value)
			}
		}
		loc.Line, loc.Record = 0, w.RecordID
		ev.ResetWin(src, loc, "sample-host", w, w.AppendValues(nil))
	case event.IIS:
		names := make([]string, len(kvs))
		vals := make([]string, len(kvs))
		for i, kv := range kvs {
			names[i] = kv.Key
			v := strings.ReplaceAll(kv.Value, " ", "+")
			if v == "" {
				v = "-"
			}
			vals[i] = v
		}
		raw := []byte(strings.Join(vals, " "))
		ev.Reset(event.IIS, loc, "sample-host", raw, w3c.NewSchema(names), w3c.Split, w3c.Time)
	case event.HTTPProxy:
		names := make([]string, len(kvs))
		var raw bytes.Buffer
		for i, kv := range kvs {
			names[i] = kv.Key
			if i > 0 {
				raw.WriteByte(',')
			}
			v := kv.Value
			if strings.ContainsAny(v, ",\"") {
				v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
			}
			raw.WriteString(v)
		}
		ev.Reset(event.HTTPProxy, loc, "sample-host", raw.Bytes(), exlog.NewSchema(names), exlog.Split, exlog.Time)
	default:
		return nil, fmt.Errorf("samples of %s are not supported", src)
	}
	return ev, nil
}

// RunSamples runs a rule's samples through the engine (prefilter and
// index included) and returns one error per failing sample, naming the
// rule, the sample and what was expected.
func (e *Engine) RunSamples(r *Rule, ss []Sample) []error {
	var errs []error
	if !e.has(r) {
		return []error{fmt.Errorf("rule %s: not in the engine", r)}
	}
	sc := e.NewScanner()
	for i, smp := range ss {
		evs, err := SampleEvents(smp)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %s: %v", r, smp.label(i), err))
			continue
		}
		var fails []error
		sc.OnError = func(err error) { fails = append(fails, err) }
		fired := false
		var got Match
		routed := false
		for _, ev := range evs {
			if e.routes(r, ev) {
				routed = true
			}
			sc.Scan(ev, func(x *Rule, m Match) {
				if x == r && !fired {
					fired, got = true, m
				}
			})
		}
		for _, f := range fails {
			errs = append(errs, fmt.Errorf("rule %s: %s: %v", r, smp.label(i), f))
		}
		switch {
		case smp.Match && !fired && !routed:
			errs = append(errs, fmt.Errorf("rule %s: %s: expected a match, got none: the event does not reach the rule (logsource %s routes to %s)", r, smp.label(i), r.Logsource, strings.Join(r.Routes(), "; ")))
		case smp.Match && !fired:
			errs = append(errs, fmt.Errorf("rule %s: %s: expected a match, got none", r, smp.label(i)))
		case !smp.Match && fired:
			errs = append(errs, fmt.Errorf("rule %s: %s: expected no match, got one (fields %v)", r, smp.label(i), got.Fields))
		}
	}
	return errs
}

// RunCorrelationSamples runs a correlation's samples: each sample's events
// go through the engine in order, base-rule matches feed a Correlator, and
// the correlation must fire (or not) by the end of the sequence.
func (e *Engine) RunCorrelationSamples(c *Correlation, ss []Sample) []error {
	var errs []error
	for i, smp := range ss {
		evs, err := SampleEvents(smp)
		if err != nil {
			errs = append(errs, fmt.Errorf("correlation %s: %s: %v", c, smp.label(i), err))
			continue
		}
		k := NewCorrelator([]*Correlation{c}, 0)
		fired := false
		emit := func(m CorrelationMatch) {
			if m.Correlation == c {
				fired = true
			}
		}
		sc := e.NewScanner()
		sc.OnError = func(err error) { errs = append(errs, fmt.Errorf("correlation %s: %s: %v", c, smp.label(i), err)) }
		for _, ev := range evs {
			t, _ := ev.Time()
			sc.Scan(ev, func(r *Rule, m Match) { k.Observe(r, t, m.Fields, emit) })
		}
		k.Flush(emit)
		if fired != smp.Match {
			want, got := "a match", "none"
			if !smp.Match {
				want, got = "no match", "one"
			}
			errs = append(errs, fmt.Errorf("correlation %s: %s: expected %s, got %s", c, smp.label(i), want, got))
		}
	}
	return errs
}

func (e *Engine) has(r *Rule) bool {
	for _, x := range e.rules {
		if x == r {
			return true
		}
	}
	return false
}

// routes reports whether ev reaches r's bucket.
func (e *Engine) routes(r *Rule, ev *event.Event) bool {
	b, _ := e.lookup(ev, nil)
	if b == nil {
		return false
	}
	for _, ent := range b.entries {
		if ent.rule == r {
			return true
		}
	}
	return false
}
