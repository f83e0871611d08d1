package hunt

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/detect/sigma"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

// hit is what the workers send the collector: a finding and, for Sigma
// rules, what correlations need.
type hit struct {
	f      finding.Finding
	rule   *sigma.Rule
	fields map[string]string
}

// newSigmaFinding turns a Sigma match into a finding. The evidence names the
// file and line (log lines) or EventRecordID (Windows events).
func newSigmaFinding(adv finding.Advisory, m sigma.Match, ev *event.Event) finding.Finding {
	fields := make(map[string]string, len(m.Fields)+4)
	for k, v := range m.Fields {
		fields[k] = v
	}
	if w := ev.Win; w != nil {
		fields["channel"] = w.Channel
		fields["event_id"] = fmt.Sprint(w.EventID)
		if w.Computer != "" {
			fields["computer"] = w.Computer
		}
	} else {
		if v := ev.F(event.FClientIP); v != "" && v != "-" {
			fields["client_ip"] = v
		}
		if v := ev.F(event.FUserAgent); v != "" && v != "-" {
			fields["user_agent"] = v
		}
	}
	t, _ := ev.Time()
	return finding.Finding{
		Advisory: adv,
		Time:     t,
		Host:     ev.Host,
		Evidence: finding.Evidence{
			Path:    ev.Loc.Path,
			Line:    ev.Loc.Line,
			Record:  ev.Loc.Record,
			Source:  ev.Source.String(),
			Excerpt: ev.Excerpt(),
			Fields:  fields,
		},
	}
}

// correlations runs the Sigma correlation rules in the collector, one
// correlator per host so that events of two servers never make one group.
type correlations struct {
	sig   *SigmaRules
	hosts map[string]*sigma.Correlator
	// last contributing evidence per host, for groups judged at Flush.
	last map[string]finding.Evidence
}

func newCorrelations(sig *SigmaRules) *correlations {
	c := &correlations{sig: sig, hosts: map[string]*sigma.Correlator{}, last: map[string]finding.Evidence{}}
	return c
}

func (c *correlations) active() bool {
	return c.sig != nil && len(c.sig.Engine.Correlations()) > 0
}

func (c *correlations) observe(h hit, add func(finding.Finding)) {
	if h.rule == nil || !c.active() {
		return
	}
	k := c.hosts[h.f.Host]
	if k == nil {
		k = sigma.NewCorrelator(c.sig.Engine.Correlations(), 0)
		c.hosts[h.f.Host] = k
	}
	if !k.Wants(h.rule) {
		return
	}
	c.last[h.f.Host] = h.f.Evidence
	k.Observe(h.rule, h.f.Time, h.fields, func(m sigma.CorrelationMatch) {
		add(c.finding(h.f.Host, m, h.f.Evidence))
	})
}

func (c *correlations) flush(add func(finding.Finding)) {
	hosts := make([]string, 0, len(c.hosts))
	for h := range c.hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		c.hosts[h].Flush(func(m sigma.CorrelationMatch) { add(c.finding(h, m, c.last[h])) })
	}
}

// finding builds a correlation finding; ev is the evidence of the event
// that completed the group (or, when the window closed at the end of the
// input, the host's last contributing event).
func (c *correlations) finding(host string, m sigma.CorrelationMatch, ev finding.Evidence) finding.Finding {
	adv := m.Correlation.Advisory()
	adv.RuleFile = m.Correlation.Path
	var group []string
	fields := map[string]string{"correlation": m.Correlation.Type, "count": fmt.Sprint(m.Count)}
	for k, v := range m.Group {
		group = append(group, k+"="+v)
		fields[k] = v
	}
	sort.Strings(group)
	ev.Fields = fields
	ev.Excerpt = fmt.Sprintf("%s: %d between %s and %s; group %s", m.Correlation.Type, m.Count, m.First.Format(time.RFC3339), m.Last.Format(time.RFC3339), strings.Join(group, " "))
	return finding.Finding{Advisory: adv, Time: m.Last, Host: host, Evidence: ev}
}
