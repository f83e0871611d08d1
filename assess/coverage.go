package assess

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/finding"
)

// filesFamily is the hunt's inventory family of scanned files (no times).
const filesFamily = "files"

// Window coverage statuses.
const (
	Covered = "covered"
	Partial = "partial"
	None    = "none"
)

// campaignFamilies says which log families count for a campaign window.
// IIS and HttpProxy see every request of every family's exploit, so they
// decide whether a window is covered; the others are listed with their
// span but cannot lift a "cannot rule out" on their own: ECP and OAB
// generator logs show only ProxyLogon's later steps, Rps_Http only the
// PowerShell end of ProxyNotShell and OWASSRF, and event logs show what
// happened after exploitation, not the exploit.
var campaignFamilies = map[exchange.Family][]string{
	exchange.ProxyLogon:    {"iis", "httpproxy", "ecp-server", "ecp-activity", "oabgen"},
	exchange.ProxyShell:    {"iis", "httpproxy"},
	exchange.ProxyNotShell: {"iis", "httpproxy", "rps-http"},
	exchange.OWASSRF:       {"iis", "httpproxy", "rps-http"},
}

// deciding are the families whose union decides a window's status.
var deciding = []string{"iis", "httpproxy"}

// windowState is one campaign window on one host.
type windowState struct {
	campaign exchange.Campaign
	status   string         // of the IIS and HttpProxy logs together
	spans    []finding.Span // what those logs cover inside the window
	build    string         // the build in force at the window (may be "")
	basis    string         // how the build was chosen, in words
	exposure exchange.Status
	detail   string
}

// coverage computes per family and campaign the share of the window the
// logs cover, and per campaign the state the model uses.
func coverage(inv []finding.Inventory, builds []finding.BuildSighting) ([]finding.Coverage, []windowState) {
	var out []finding.Coverage
	spans := map[string][]finding.Span{}
	for _, in := range inv {
		if in.Family == filesFamily {
			continue
		}
		sp := covered(in)
		spans[in.Family] = sp
		c := finding.Coverage{Family: in.Family, Title: in.Title, Files: in.Files, First: in.First, Last: in.Last}
		for _, cp := range exchange.Campaigns {
			st := status(sp, cp)
			if !relevant(cp.Family, in.Family) {
				// Shown, but says nothing about the exploit: event logs
				// cover post-exploitation of every campaign.
				if !strings.Contains(in.Family, "evtx") && !strings.Contains(in.Family, "eventlog") {
					continue
				}
			}
			c.Campaigns = append(c.Campaigns, finding.CampaignWindow{Campaign: cp.Name, Start: cp.Start, End: cp.End, Status: st})
		}
		if c.Campaigns == nil {
			c.Campaigns = []finding.CampaignWindow{}
		}
		out = append(out, c)
	}
	end := evidenceEnd(inv)
	var ws []windowState
	for _, cp := range exchange.Campaigns {
		var union []finding.Span
		for _, f := range deciding {
			union = append(union, spans[f]...)
		}
		union = merge(union)
		w := windowState{campaign: cp, status: status(union, cp), spans: clipSpans(union, cp)}
		w.build, w.basis, w.exposure, w.detail = windowExposure(builds, cp, end)
		ws = append(ws, w)
	}
	return out, ws
}

func relevant(f exchange.Family, family string) bool {
	for _, x := range campaignFamilies[f] {
		if x == family {
			return true
		}
	}
	return false
}

// covered is First–Last minus the gaps the hunt found.
func covered(in finding.Inventory) []finding.Span {
	if in.First.IsZero() || in.Records == 0 {
		return nil
	}
	var out []finding.Span
	start := in.First
	gaps := append([]finding.Span(nil), in.Gaps...)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].Start.Before(gaps[j].Start) })
	for _, g := range gaps {
		if g.Start.After(start) {
			out = append(out, finding.Span{Start: start, End: g.Start})
		}
		if g.End.After(start) {
			start = g.End
		}
	}
	if !in.Last.Before(start) {
		out = append(out, finding.Span{Start: start, End: in.Last})
	}
	return out
}

// slack is how close to a window's first and last day the logs must reach
// to cover it: daily IIS files start a minute after midnight.
const slack = time.Hour

// status compares covered spans with a campaign window (whole days, End
// inclusive).
func status(spans []finding.Span, cp exchange.Campaign) string {
	ws, we := cp.Start, cp.End.Add(24*time.Hour)
	in := clipSpans(spans, cp)
	if len(in) == 0 {
		return None
	}
	if len(in) == 1 && !in[0].Start.After(ws.Add(slack)) && !in[0].End.Before(we.Add(-slack)) {
		return Covered
	}
	return Partial
}

// clipSpans returns the parts of spans inside the window, merged.
func clipSpans(spans []finding.Span, cp exchange.Campaign) []finding.Span {
	ws, we := cp.Start, cp.End.Add(24*time.Hour)
	var out []finding.Span
	for _, s := range merge(spans) {
		if s.End.Before(ws) || !s.Start.Before(we) {
			continue
		}
		if s.Start.Before(ws) {
			s.Start = ws
		}
		if s.End.After(we) {
			s.End = we
		}
		out = append(out, s)
	}
	return out
}

// merge joins overlapping spans and spans less than a day apart (the
// quiet hours between hourly files).
func merge(spans []finding.Span) []finding.Span {
	s := append([]finding.Span(nil), spans...)
	sort.Slice(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	var out []finding.Span
	for _, x := range s {
		if n := len(out); n > 0 && x.Start.Sub(out[n-1].End) <= 24*time.Hour {
			if x.End.After(out[n-1].End) {
				out[n-1].End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// evidenceEnd is the last time any log of the host reaches: sightings
// from files on disk (no time of their own) describe the server as it was
// collected, after that.
func evidenceEnd(inv []finding.Inventory) time.Time {
	var t time.Time
	for _, in := range inv {
		if in.Last.After(t) {
			t = in.Last
		}
	}
	return t
}

// when is the time a sighting stands for: its first time, or the end of
// the evidence for disk sightings.
func when(s finding.BuildSighting, end time.Time) time.Time {
	if !s.First.IsZero() {
		return s.First
	}
	return end
}

// sighted is a build seen at a time, with how it was chosen.
type sighted struct {
	s     *finding.BuildSighting
	t     time.Time
	basis string
}

// buildAt finds the builds around a window: the one seen last at or
// before its start (by the sighting's last time; four parts beat three at
// the same time), the first seen inside it, and the first seen after it.
// Sightings from files on disk stand at the end of the evidence; an old
// CU's owa/auth folder, left behind by an upgrade, is not a sighting of
// the build in force.
func buildAt(ss []finding.BuildSighting, cp exchange.Campaign, end time.Time) (before, inside, after *sighted) {
	we := cp.End.Add(24 * time.Hour)
	better := func(cur *sighted, s *finding.BuildSighting, t time.Time, later bool) bool {
		if cur == nil {
			return true
		}
		if !t.Equal(cur.t) {
			return t.After(cur.t) == later
		}
		return parts(s) > parts(cur.s)
	}
	for i := range ss {
		s := &ss[i]
		if s.Source == "owa-folder" && !newestFolder(ss, s) {
			continue
		}
		first, last := s.First, s.Last
		if first.IsZero() {
			first, last = end, end
		}
		if first.IsZero() {
			continue
		}
		switch {
		case !first.After(cp.Start):
			t := last
			if t.After(cp.Start) {
				t = cp.Start // seen across the start: in force at it
			}
			if better(before, s, t, true) {
				before = &sighted{s, t, fmt.Sprintf("seen up to %s (%s)", day(last), s.Source)}
			}
		case first.Before(we):
			if better(inside, s, first, false) {
				inside = &sighted{s, first, fmt.Sprintf("first seen in the window on %s (%s)", day(first), s.Source)}
			}
		default:
			if better(after, s, first, false) {
				after = &sighted{s, first, fmt.Sprintf("first seen after the window, on %s (%s)", day(first), s.Source)}
			}
		}
	}
	return before, inside, after
}

// windowExposure judges a family at a window from the builds around it.
func windowExposure(ss []finding.BuildSighting, cp exchange.Campaign, end time.Time) (build, basis string, st exchange.Status, detail string) {
	before, inside, after := buildAt(ss, cp, end)
	classify := func(x *sighted) (exchange.Status, string) {
		b, err := exchange.ParseBuild(x.s.Build)
		if err != nil {
			return exchange.Unknown, "unreadable build " + x.s.Build
		}
		a := exchange.Classify(b)
		for _, fv := range a.Families {
			if fv.Family == cp.Family {
				return fv.Status, fv.Detail
			}
		}
		return exchange.Unknown, ""
	}
	switch {
	case before != nil && inside != nil && inside.s.Build != before.s.Build:
		sb, db := classify(before)
		si, _ := classify(inside)
		if sb == si {
			return before.s.Build, before.basis, sb, db
		}
		if sb == exchange.Vulnerable || sb == exchange.Potentially {
			return before.s.Build, before.basis, exchange.Potentially,
				fmt.Sprintf("%s (%s) was %s, %s (%s) was %s; the upgrade date is not in the evidence", before.s.Build, before.basis, sb, inside.s.Build, inside.basis, si)
		}
		return before.s.Build, before.basis, sb, db
	case before != nil:
		st, d := classify(before)
		return before.s.Build, before.basis, st, d
	case inside != nil:
		st, d := classify(inside)
		return inside.s.Build, inside.basis, st, d
	case after != nil:
		st, d := classify(after)
		if st == exchange.Vulnerable {
			// Fixes are cumulative: an older build was at least as open.
			return after.s.Build, after.basis, st, d + "; the build seen after the window was vulnerable, so the one before it was too"
		}
		return after.s.Build, after.basis, exchange.Unknown, "the first build seen (" + after.s.Build + ") dates from after the window; the build in force during it is unknown"
	}
	return "", "", exchange.Unknown, "the build is not known from the evidence"
}

func parts(s *finding.BuildSighting) int {
	b, err := exchange.ParseBuild(s.Build)
	if err != nil {
		return 0
	}
	return b.Parts
}

func newestFolder(ss []finding.BuildSighting, s *finding.BuildSighting) bool {
	for i := range ss {
		if ss[i].Source == "owa-folder" && buildCmp(ss[i].Build, s.Build) > 0 {
			return false
		}
	}
	return true
}

func buildCmp(a, b string) int {
	x, e1 := exchange.ParseBuild(a)
	y, e2 := exchange.ParseBuild(b)
	if e1 != nil || e2 != nil {
		return strings.Compare(a, b)
	}
	for _, p := range [][2]int{{x.Major, y.Major}, {x.Minor, y.Minor}, {x.Build, y.Build}, {x.Rev, y.Rev}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// exposure describes the newest build the evidence shows (four parts
// beat three), with the sources behind it and any disagreement. Families
// are filled from the windows (the build in force during each campaign)
// by fillFamilies.
func exposure(ss []finding.BuildSighting, now time.Time) *finding.Exposure {
	if len(ss) == 0 {
		return nil
	}
	var best *finding.BuildSighting
	var bestB exchange.Build
	for i := range ss {
		s := &ss[i]
		b, err := exchange.ParseBuild(s.Build)
		if err != nil {
			continue
		}
		if s.Source == "owa-folder" && !newestFolder(ss, s) {
			continue
		}
		if best == nil || b.Parts > bestB.Parts || b.Parts == bestB.Parts && buildCmp(s.Build, best.Build) > 0 {
			best, bestB = s, b
		}
	}
	if best == nil {
		return nil
	}
	a := exchange.Classify(bestB)
	e := &finding.Exposure{Build: best.Build, Precision: "build", Product: string(a.Product), CU: a.CU, Release: a.Release}
	if bestB.Parts == 3 {
		e.Precision = "cu"
	}
	if e.CU == "" {
		e.CU = "unknown"
	}
	if !now.IsZero() {
		e.EOL = a.EOLAt(now)
	}
	for _, s := range ss {
		if s.Source == "owa-folder" && !newestFolder(ss, &s) {
			continue
		}
		e.Sources = append(e.Sources, s)
	}
	// Disagreement: a current source (ExSetup, the newest folder) whose
	// CU differs from the newest build, or a second four-part build.
	var other []string
	for _, s := range e.Sources {
		b, err := exchange.ParseBuild(s.Build)
		if err != nil {
			continue
		}
		diff := b.Short() != bestB.Short() || b.Parts == 4 && bestB.Parts == 4 && b.Rev != bestB.Rev
		if diff && (s.First.IsZero() || s.Source == "exsetup") {
			other = append(other, fmt.Sprintf("%s shows %s", s.Source, s.Build))
		}
	}
	if len(other) > 0 {
		e.Conflict = fmt.Sprintf("sources disagree: the newest build seen is %s (%s) but %s; the newest four-part build is used, and each campaign is judged on the build seen at its window", best.Build, best.Source, joinAnd(other))
	}
	return e
}

// fillFamilies sets the per-family exposure from the windows: each family
// is judged on the build in force during its campaign.
func fillFamilies(e *finding.Exposure, ws []windowState) {
	if e == nil {
		return
	}
	for _, w := range ws {
		d := w.detail
		if w.build != "" {
			d = fmt.Sprintf("build %s, %s: %s", w.build, w.basis, w.detail)
			if strings.HasPrefix(w.detail, w.build) {
				d = w.detail
			}
		}
		e.Families = append(e.Families, finding.FamilyExposure{Family: string(w.campaign.Family), Status: string(w.exposure), Detail: d})
	}
}

// short lists the windows the model cannot rule out: not fully covered
// by the web logs, and a build that was (or may have been) vulnerable.
func (h *host) short() []windowState {
	var out []windowState
	for _, w := range h.windows {
		if w.status != Covered && w.exposure != exchange.NotVulnerable {
			out = append(out, w)
		}
	}
	return out
}

// patched lists windows whose build was not vulnerable.
func (h *host) patched() []windowState {
	var out []windowState
	for _, w := range h.windows {
		if w.exposure == exchange.NotVulnerable {
			out = append(out, w)
		}
	}
	return out
}

// webLogs reports whether IIS or HttpProxy logs were read.
func (h *host) webLogs() bool {
	for _, in := range h.inventory {
		for _, f := range deciding {
			if in.Family == f && in.Records > 0 {
				return true
			}
		}
	}
	return false
}

// warnings are the coverage limits in words, one per short window.
func warnings(h *host) []string {
	var out []string
	if !h.webLogs() {
		out = append(out, "no IIS or HttpProxy log was read: exploitation through the web front end cannot be ruled out for any campaign")
	}
	end := evidenceEnd(h.inventory)
	for _, w := range h.short() {
		cp := w.campaign
		win := fmt.Sprintf("the %s window (%s to %s; %s)", cp.Name, day(cp.Start), day(cp.End), cp.Note)
		exp := ""
		switch w.exposure {
		case exchange.Vulnerable:
			exp = fmt.Sprintf(" The build in force (%s) was vulnerable.", w.build)
		case exchange.Potentially:
			exp = fmt.Sprintf(" The build in force (%s) may have been vulnerable.", w.build)
		}
		if !h.webLogs() {
			continue
		}
		switch {
		case w.status == None && !end.IsZero() && end.Before(cp.Start):
			out = append(out, fmt.Sprintf("the web logs end %s, before %s: if the server kept running, %s exploitation cannot be ruled out.%s", day(end), win, cp.Name, exp))
		case w.status == None:
			out = append(out, fmt.Sprintf("no web log covers %s: %s exploitation cannot be ruled out.%s", win, cp.Name, exp))
		default:
			out = append(out, fmt.Sprintf("the web logs cover only %s of %s: %s exploitation outside those days cannot be ruled out.%s", spanList(w.spans), win, cp.Name, exp))
		}
	}
	if !h.logsRead() {
		out = append(out, "no log or event log was read for this host")
	}
	return out
}

func spanList(ss []finding.Span) string {
	var parts []string
	for i, s := range ss {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("%d more stretches", len(ss)-3))
			break
		}
		a, b := day(s.Start), day(s.End.Add(-time.Second))
		if a == b {
			parts = append(parts, a)
		} else {
			parts = append(parts, a+" to "+b)
		}
	}
	return joinAnd(parts)
}
