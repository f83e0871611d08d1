package assess

import (
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// Timeline steps, in the order of the attack.
const (
	StepScan         = "scan"
	StepSSRF         = "ssrf"
	StepAuthBypass   = "auth-bypass"
	StepShellWritten = "shell-written"
	StepShellUsed    = "shell-used"
	StepCredential   = "credential"
	StepStaging      = "staging"
	StepExfiltration = "exfiltration"
	StepCleanup      = "cleanup"
	StepOther        = "other"
)

// maxTimeline bounds the entries per host. Consecutive hits of one step
// and detector are folded first; past the bound, neighbouring entries of
// one step are folded whatever their detector, and their counts add up,
// so nothing is dropped.
const maxTimeline = 200

// idsExfil are collection findings that move data out rather than stage it.
var idsExfil = set("EXH-EV-14", "EXH-EV-16")

// stepOf puts a finding on the attack's steps.
func stepOf(f *finding.Finding) string {
	switch f.Stage {
	case finding.StageRecon:
		return StepScan
	case finding.StageAttempt:
		if f.Evidence.Source == "file" || strings.HasPrefix(f.ID, "EXH-EV-") {
			return StepOther
		}
		return StepSSRF
	case finding.StageExploit:
		if idsBypass[f.ID] {
			return StepAuthBypass
		}
		return StepSSRF
	case finding.StageWrite:
		if idsChain[f.ID] {
			return StepSSRF
		}
		return StepShellWritten
	case finding.StageExecution:
		return StepShellUsed
	case finding.StageCredential:
		return StepCredential
	case finding.StageCollection:
		if idsExfil[f.ID] {
			return StepExfiltration
		}
		return StepStaging
	case finding.StageCleanup:
		return StepCleanup
	}
	return StepOther
}

// timeline builds the host's attack timeline from every finding above
// info (context findings add their addresses to the entries they share a
// client with, not entries of their own).
func timeline(h *host) []finding.TimelineEntry {
	var fs []*finding.Finding
	for i := range h.findings {
		if h.findings[i].Severity > finding.Info {
			fs = append(fs, &h.findings[i])
		}
	}
	// File findings carry no event time (their mtime belongs to the copy
	// as much as to the attack): they come last, in path order.
	sort.SliceStable(fs, func(i, j int) bool { return earlier(fs[i], fs[j]) })
	var out []finding.TimelineEntry
	// The mass-scanning background (low-severity hits of idsBackground)
	// arrives all day from hundreds of addresses and would bury the attack
	// between its entries: it gets one entry per step and UTC day, kept
	// apart from the attack's own entries.
	// A background detector's hit from an address that also did worse is
	// part of the attack, not noise; so is a back-end line whose client is
	// the server itself (the front end proxying someone's request).
	attackers := map[string]bool{}
	for _, f := range fs {
		if ip := clientIP(f); ip != "" && (f.Severity > finding.Low || !idsBackground[f.ID]) {
			attackers[ip] = true
		}
	}
	noise := map[string]int{}
	for _, f := range fs {
		step := stepOf(f)
		if f.Severity <= finding.Low && idsBackground[f.ID] && !f.Time.IsZero() && clientIP(f) != "" && !attackers[clientIP(f)] {
			key := step + "\x00" + f.Time.UTC().Format("2006-01-02")
			if i, ok := noise[key]; ok {
				addTo(&out[i], h, f)
				continue
			}
			noise[key] = len(out)
			e := finding.TimelineEntry{Time: f.Time, Step: step, Title: backgroundTitle(step), Stage: f.Stage, Severity: f.Severity, Evidence: pointer(f.Evidence), Background: true}
			addTo(&e, h, f)
			e.Title = backgroundTitle(step)
			out = append(out, e)
			continue
		}
		if n := lastAttack(out); n >= 0 && foldable(&out[n], f, step) {
			addTo(&out[n], h, f)
			continue
		}
		e := finding.TimelineEntry{Time: f.Time, Step: step, Title: f.Title, Stage: f.Stage, Severity: f.Severity, Evidence: pointer(f.Evidence)}
		addTo(&e, h, f)
		out = append(out, e)
	}
	for len(out) > maxTimeline {
		out = fold(out)
	}
	if out == nil {
		out = []finding.TimelineEntry{}
	}
	return out
}

// clientIP is the finding's client address, unless it is the server's own
// (a back-end IIS line of a proxied request: the front end called itself).
func clientIP(f *finding.Finding) string {
	ip := f.Evidence.Fields["client_ip"]
	if ip != "" && ip == f.Evidence.Fields["server_ip"] {
		return ""
	}
	return ip
}

// backgroundTitle names a day of background noise by its step.
func backgroundTitle(step string) string {
	if step == StepScan {
		return "Internet background: vulnerability scans"
	}
	return "Internet background: exploitation probes that got nowhere"
}

// lastAttack is the index of the last entry that is not background, or -1.
func lastAttack(out []finding.TimelineEntry) int {
	for i := len(out) - 1; i >= 0; i-- {
		if !out[i].Background {
			return i
		}
	}
	return -1
}

// foldGap is how far apart two hits of one step may be and still be one
// entry: the requests of one exploit run come seconds apart, and several
// detectors fire on each of them.
const foldGap = 15 * time.Minute

// foldable reports whether f continues the entry e: same step, and both
// untimed or less than foldGap after the entry's last hit.
func foldable(e *finding.TimelineEntry, f *finding.Finding, step string) bool {
	if e.Step != step || e.Time.IsZero() != f.Time.IsZero() {
		return false
	}
	if f.Time.IsZero() {
		return true
	}
	last := e.End
	if last.IsZero() {
		last = e.Time
	}
	return f.Time.Sub(last) <= foldGap
}

// addTo folds one finding into an entry; the entry keeps the title of its
// most severe finding.
func addTo(e *finding.TimelineEntry, h *host, f *finding.Finding) {
	e.Count++
	if len(e.Findings) < maxPrints {
		e.Findings = append(e.Findings, h.prints[f])
	}
	if f.Time.After(e.Time) && f.Time.After(e.End) {
		e.End = f.Time
	}
	if f.Severity > e.Severity || e.Count == 1 {
		if e.Count > 1 {
			e.Title, e.Evidence = f.Title, pointer(f.Evidence)
		}
		e.Severity = f.Severity
	}
	if f.Stage > e.Stage {
		e.Stage = f.Stage
	}
	e.Techniques = addUnique(e.Techniques, f.Techniques...)
	if ip := clientIP(f); ip != "" {
		e.SourceIPs = addUnique(e.SourceIPs, clip(ip, 64))
	}
	if ua := f.Evidence.Fields["user_agent"]; ua != "" {
		e.UserAgents = addUnique(e.UserAgents, clip(ua, 200))
	}
	for _, k := range commandFields {
		if c := strings.TrimSpace(f.Evidence.Fields[k]); c != "" {
			e.Commands = addUnique(e.Commands, clip(c, 300))
		}
	}
	if e.Techniques == nil {
		e.Techniques = []string{}
	}
}

// commandFields are the evidence fields that hold what an attacker ran:
// Sysmon/4688 and PowerShell fields of the Sigma findings, the CMD of ECP
// log rows and Rps_Http cmdlets of the built-in ones.
var commandFields = []string{"CommandLine", "ScriptBlockText", "Payload", "cmd", "command", "cmdlet"}

// maxListed bounds the addresses, user agents and commands of one entry.
const maxListed = 10

func addUnique(list []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range list {
			if x == v {
				found = true
				break
			}
		}
		if !found && len(list) < maxListed {
			list = append(list, v)
		}
	}
	return list
}

// fold merges neighbouring entries of one step (whatever the detector);
// when no two neighbours share a step it merges the first pair of
// same-step entries it finds, so the list always shrinks.
func fold(in []finding.TimelineEntry) []finding.TimelineEntry {
	var out []finding.TimelineEntry
	merged := false
	for _, e := range in {
		if n := len(out); n > 0 && out[n-1].Step == e.Step {
			merge2(&out[n-1], e)
			merged = true
			continue
		}
		out = append(out, e)
	}
	if merged {
		return out
	}
	// Alternating steps: fold the two earliest entries together.
	m := out[0]
	merge2(&m, out[1])
	m.Step = out[0].Step
	return append([]finding.TimelineEntry{m}, out[2:]...)
}

func merge2(a *finding.TimelineEntry, b finding.TimelineEntry) {
	a.Count += b.Count
	for _, fp := range b.Findings {
		if len(a.Findings) < maxPrints {
			a.Findings = append(a.Findings, fp)
		}
	}
	end := b.End
	if end.IsZero() {
		end = b.Time
	}
	if end.After(a.End) && end.After(a.Time) {
		a.End = end
	}
	if b.Severity > a.Severity {
		a.Severity = b.Severity
	}
	if b.Stage > a.Stage {
		a.Stage = b.Stage
	}
	if a.Title != b.Title && !strings.HasSuffix(a.Title, "(and more)") {
		a.Title += " (and more)"
	}
	a.Techniques = addUnique(a.Techniques, b.Techniques...)
	a.SourceIPs = addUnique(a.SourceIPs, b.SourceIPs...)
	a.UserAgents = addUnique(a.UserAgents, b.UserAgents...)
	a.Commands = addUnique(a.Commands, b.Commands...)
}
