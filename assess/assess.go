// Package assess is the stage after the hunt: it reads a finding.Document
// (findings, inventory, build sightings) and gives every host a calibrated
// verdict: a state an administrator can act on, a likelihood of compromise
// in the words of the PHIA probability yardstick, the reasons behind it,
// how far the evidence reaches back against the campaign windows, what the
// build was exposed to, one attack timeline and the overlap with published
// HAFNIUM tradecraft.
//
//	assess.Assess(&res.Document, assess.Options{Now: time.Now()})
//
// The model is a table of rows (Rules, docs/assess.md): each row is a
// condition over the host's evidence, a weight, a floor, a cap and the
// state it implies. It is deterministic: the same document and Now give
// the same words. Assess never fails; a host with nothing read is "cannot
// assess".
package assess

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// Options tune an assessment.
type Options struct {
	// Now decides whether the build's product is out of support (Exposure
	// EOL). Tests fix it; the zero value means "do not judge support".
	Now time.Time
}

// Base scores, in percent.
const (
	baseRead    = 3  // evidence was read and nothing fired: remote chance
	baseCannot  = 50 // nothing was read: no judgement either way
	maxScore    = 99 // no evidence makes a compromise certain beyond doubt
	maxEvidence = 3  // evidence places listed per reason
	maxPrints   = 20 // fingerprints listed per reason
)

// Assess fills doc.Hosts[i].Verdict for every host.
func Assess(doc *finding.Document, opt Options) {
	if doc == nil {
		return
	}
	for i := range doc.Hosts {
		doc.Hosts[i].Verdict = AssessHost(doc, doc.Hosts[i].Host, opt)
	}
}

// host is what the model rows see of one host.
type host struct {
	name      string
	findings  []finding.Finding // in document order (sorted by the hunt)
	inventory []finding.Inventory
	builds    []finding.BuildSighting
	coverage  []finding.Coverage
	windows   []windowState // per campaign, in exchange.Campaigns order
	exposure  *finding.Exposure
	prints    map[*finding.Finding]string
	covered   map[*finding.Finding]bool // counted by a row that fired
}

// AssessHost assesses one host of the document.
func AssessHost(doc *finding.Document, name string, opt Options) *finding.Verdict {
	h := &host{name: name, prints: map[*finding.Finding]string{}, covered: map[*finding.Finding]bool{}}
	for i := range doc.Findings {
		if doc.Findings[i].Host == name {
			h.findings = append(h.findings, doc.Findings[i])
		}
	}
	for i := range h.findings {
		h.prints[&h.findings[i]] = h.findings[i].Fingerprint()
	}
	for _, inv := range doc.Inventory {
		if inv.Host == name {
			h.inventory = append(h.inventory, inv)
		}
	}
	for _, hs := range doc.Hosts {
		if hs.Host == name {
			h.builds = hs.Builds
		}
	}
	h.exposure = exposure(h.builds, opt.Now)
	h.coverage, h.windows = coverage(h.inventory, h.builds)
	fillFamilies(h.exposure, h.windows)

	v := &finding.Verdict{Coverage: h.coverage, Exposure: h.exposure}
	if v.Coverage == nil {
		v.Coverage = []finding.Coverage{}
	}
	var fired []fired
	for _, r := range Rules {
		if fs := r.match(h); fs != nil {
			fired = append(fired, newFired(r, h, fs))
			for _, f := range fs {
				h.covered[f] = true
			}
		}
	}
	v.Score, v.State = score(h, fired)
	v.Likelihood = Band(v.Score)
	// Strongest first: floors, then weights, then table order (stable).
	sort.SliceStable(fired, func(i, j int) bool {
		a, b := fired[i].reason, fired[j].reason
		if a.Floor != b.Floor {
			return a.Floor > b.Floor
		}
		return abs(a.Weight) > abs(b.Weight)
	})
	for _, f := range fired {
		v.Reasons = append(v.Reasons, f.reason)
	}
	if v.Reasons == nil {
		v.Reasons = []finding.Reason{}
	}
	v.Warnings = warnings(h)
	v.Timeline = timeline(h)
	v.Tradecraft = tradecraft(h)
	v.Summary = summary(h, v, fired)
	return v
}

// fired is a row that matched, with its reason.
type fired struct {
	rule   *Rule
	reason finding.Reason
}

func newFired(r *Rule, h *host, fs []*finding.Finding) fired {
	reason := finding.Reason{Rule: r.ID, Weight: r.Weight, Floor: r.Floor, Cap: r.Cap, Text: r.text(h, fs)}
	seen := map[string]bool{}
	// Several detectors often fire on one line: list each place once.
	places := map[string]bool{}
	for _, f := range fs {
		fp := h.prints[f]
		if fp == "" || seen[fp] {
			continue
		}
		seen[fp] = true
		if len(reason.Findings) < maxPrints {
			reason.Findings = append(reason.Findings, fp)
		}
		place := fmt.Sprintf("%s\x00%d\x00%d", f.Evidence.Path, f.Evidence.Line, f.Evidence.Record)
		if len(reason.Evidence) < maxEvidence && !places[place] {
			places[place] = true
			reason.Evidence = append(reason.Evidence, pointer(f.Evidence))
		}
	}
	if n := len(seen); n > maxPrints {
		reason.Text += fmt.Sprintf(" (%d findings; the first %d are listed)", n, maxPrints)
	}
	return fired{rule: r, reason: reason}
}

// pointer keeps what a person needs to find the evidence, not the whole
// excerpt map.
func pointer(e finding.Evidence) finding.Evidence {
	return finding.Evidence{Path: e.Path, Line: e.Line, Record: e.Record, SHA256: e.SHA256, Size: e.Size, ModTime: e.ModTime, Source: e.Source, Excerpt: clip(e.Excerpt, 300)}
}

// score combines the fired rows: the base plus the weights, raised to the
// highest floor, lowered to the lowest cap unless a floor is higher
// (decisive evidence beats a lowering reason), within 0..99. The state is
// the strongest state a fired row implies.
func score(h *host, fs []fired) (int, finding.State) {
	state := finding.StateNoEvidence
	rank := stateRank[state]
	for _, f := range fs {
		if s := f.rule.State; s != "" && stateRank[s] > rank {
			state, rank = s, stateRank[s]
		}
	}
	if state == finding.StateCannot {
		return baseCannot, state
	}
	s := baseRead
	floor, capv := 0, maxScore
	for _, f := range fs {
		s += f.rule.Weight
		if f.rule.Floor > floor {
			floor = f.rule.Floor
		}
		if f.rule.Cap > 0 && f.rule.Cap < capv {
			capv = f.rule.Cap
		}
	}
	if s > capv {
		s = capv
	}
	if s < floor {
		s = floor
	}
	return clamp(s, 0, maxScore), state
}

var stateRank = map[finding.State]int{
	finding.StateNoEvidence:  0,
	finding.StateScanned:     1,
	finding.StateAttempted:   2,
	finding.StateCannot:      3,
	finding.StateCompromised: 4,
}

// bands are the yardstick terms with their ranges in percent.
var bands = []struct {
	lo, hi int
	term   finding.Likelihood
}{
	{0, 5, finding.RemoteChance},
	{10, 20, finding.HighlyUnlikely},
	{25, 35, finding.Unlikely},
	{40, 50, finding.RealisticPossibility},
	{55, 75, finding.Likely},
	{80, 90, finding.HighlyLikely},
	{95, 100, finding.AlmostCertain},
}

// Band maps a score to its yardstick term. A score in a gap between two
// bands goes to the nearer band (the gaps are four points wide, so there
// is never a tie: 6–7 remote chance, 8–9 highly unlikely, 21–22 highly
// unlikely, 23–24 unlikely, and so on).
func Band(score int) finding.Likelihood {
	score = clamp(score, 0, 100)
	best, dist := bands[0].term, 1000
	for _, b := range bands {
		d := 0
		switch {
		case score < b.lo:
			d = b.lo - score
		case score > b.hi:
			d = score - b.hi
		}
		if d < dist {
			best, dist = b.term, d
		}
	}
	return best
}

func summary(h *host, v *finding.Verdict, fs []fired) string {
	state := string(v.State)
	state = strings.ToUpper(state[:1]) + state[1:]
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (%d %%) that %s was compromised", state, v.Likelihood, v.Score, h.name)
	// The two strongest reasons that raise the judgement, in short words.
	var shorts []string
	for _, f := range fs {
		if len(shorts) == 2 {
			break
		}
		if f.rule.Weight > 0 || f.rule.State == finding.StateCannot {
			shorts = append(shorts, f.rule.Short)
		}
	}
	switch {
	case len(shorts) > 0:
		b.WriteString(": " + strings.Join(shorts, "; ") + ".")
	case v.State == finding.StateNoEvidence && len(h.short()) > 0:
		b.WriteString(": nothing in the evidence read, but it does not cover every campaign window the build was open to.")
	case v.State == finding.StateNoEvidence:
		b.WriteString(": nothing in the evidence read, which covers every campaign window the build was open to.")
	default:
		b.WriteString(".")
	}
	return b.String()
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// clip bounds a text to n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// day formats a date for the reason and warning texts.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
