package sigma

import (
	"fmt"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// Logsource is a rule's logsource section, lower-cased.
type Logsource struct {
	Product    string
	Category   string
	Service    string
	Definition string
}

func (l Logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"product", l.Product}, {"category", l.Category}, {"service", l.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " ")
}

// Meta is our own top-level rule attribute `exhunt:`, used by the embedded
// pack to give a rule an exhunt advisory ID and to set what Sigma tags
// cannot say. Every field is optional and overrides what the Sigma
// attributes imply.
type Meta struct {
	ID         string        // EXH-EV-01
	Stage      finding.Stage // finding stage name
	Severity   *finding.Severity
	Campaign   string
	CVEs       []string
	Techniques []string
}

// Rule is one compiled Sigma detection rule.
type Rule struct {
	ID             string
	Name           string // optional `name:`, referenced by correlations and filters
	Title          string
	Status         string
	Level          string // lower-cased; "" when absent
	Description    string
	Author         string
	Date           string
	Modified       string
	Tags           []string
	References     []string
	FalsePositives []string
	Fields         []string // the Sigma `fields:` attribute
	Logsource      Logsource
	Path           string // file the rule came from
	Doc            int    // 1-based YAML document index within the file
	Exhunt         *Meta  // the `exhunt:` attribute, nil when absent

	det      *detection
	routes   []route
	noRoute  string // why the rule reaches no evidence we read ("" when routed)
	advisory finding.Advisory
}

// Routed reports whether the rule reads any evidence exhunt parses.
func (r *Rule) Routed() bool { return len(r.routes) > 0 }

// Routes describes where the rule is evaluated, one line per route, e.g.
// "windows Channel=Microsoft-Windows-Sysmon/Operational EventID=1 (sysmon)".
func (r *Rule) Routes() []string {
	out := make([]string, 0, len(r.routes))
	for _, rt := range r.routes {
		out = append(out, rt.String())
	}
	return out
}

// NoEvidence says why the rule is routed nowhere ("" when it is routed).
func (r *Rule) NoEvidence() string { return r.noRoute }

func (r *Rule) String() string {
	if r.Doc > 0 {
		return fmt.Sprintf("%s#%d (%s)", r.Path, r.Doc, r.ID)
	}
	return fmt.Sprintf("%s (%s)", r.Path, r.ID)
}

// Advisory is the finding advisory for every hit of the rule.
func (r *Rule) Advisory() finding.Advisory {
	a := r.advisory
	a.CVEs = append([]string(nil), a.CVEs...)
	a.Techniques = append([]string(nil), a.Techniques...)
	a.References = append([]string(nil), a.References...)
	return a
}

// RuleError is one rule (or rule file) that was not loaded.
type RuleError struct {
	Path   string // rule file
	Doc    int    // 1-based YAML document index; 0 when the file holds one document
	ID     string // rule id, when it could be read
	Title  string
	Field  string // attribute path, e.g. "detection.selection.Image|foo"; "" for the whole document
	Reason string
}

func (e RuleError) Error() string {
	loc := e.Path
	if e.Doc > 0 {
		loc = fmt.Sprintf("%s#%d", e.Path, e.Doc)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, e.Reason)
}

// LoadReport is the outcome of loading rule files: every document is
// either loaded (as a rule, a correlation or a filter), unsupported (valid
// Sigma this engine cannot evaluate, with the reason) or invalid.
type LoadReport struct {
	Loaded       []*Rule
	Correlations []*Correlation
	Filters      []*Filter
	Unsupported  []RuleError
	Invalid      []RuleError
}

// Routed counts the loaded rules that read evidence exhunt parses; the
// others are loaded but have no evidence source (linux, proxy, ETW-only
// categories, unknown services).
func (lr *LoadReport) Routed() (routed, noEvidence int) {
	for _, r := range lr.Loaded {
		if r.Routed() {
			routed++
		} else {
			noEvidence++
		}
	}
	return routed, noEvidence
}

// merge appends o to lr.
func (lr *LoadReport) merge(o LoadReport) {
	lr.Loaded = append(lr.Loaded, o.Loaded...)
	lr.Correlations = append(lr.Correlations, o.Correlations...)
	lr.Filters = append(lr.Filters, o.Filters...)
	lr.Unsupported = append(lr.Unsupported, o.Unsupported...)
	lr.Invalid = append(lr.Invalid, o.Invalid...)
}

// severityOf maps a Sigma level to a finding severity.
func severityOf(level string) (finding.Severity, bool) {
	switch level {
	case "informational":
		return finding.Info, true
	case "low":
		return finding.Low, true
	case "medium", "":
		return finding.Medium, true
	case "high":
		return finding.High, true
	case "critical":
		return finding.Critical, true
	}
	return finding.Info, false
}

// logClearing lists the ATT&CK techniques that mean covering tracks: log
// and indicator removal (T1070 and its log sub-techniques, and T1685's
// log-tampering sub-techniques in ATT&CK v18+).
var logClearing = map[string]bool{
	"T1070": true, "T1070.001": true, "T1070.002": true, "T1070.003": true,
	"T1685.001": true, "T1685.002": true, "T1685.004": true, "T1685.005": true, "T1685.006": true,
}

// stageOf picks the worst attack stage the rule's ATT&CK tags imply.
func stageOf(tags []string, techniques []string) finding.Stage {
	hasTech := map[string]bool{}
	for _, t := range techniques {
		hasTech[t] = true
	}
	clearing := false
	for t := range hasTech {
		if logClearing[t] {
			clearing = true
		}
	}
	stage := finding.StageNone
	bump := func(s finding.Stage) {
		if s > stage {
			stage = s
		}
	}
	for _, tag := range tags {
		t := strings.ReplaceAll(strings.ToLower(tag), "-", "_")
		if !strings.HasPrefix(t, "attack.") {
			continue
		}
		switch strings.TrimPrefix(t, "attack.") {
		case "reconnaissance":
			bump(finding.StageRecon)
		case "initial_access":
			bump(finding.StageExploit)
		case "persistence":
			if hasTech["T1505.003"] {
				bump(finding.StageWrite)
			} else {
				bump(finding.StageExecution)
			}
		case "credential_access":
			bump(finding.StageCredential)
		case "collection", "exfiltration":
			bump(finding.StageCollection)
		case "defense_evasion", "defense_impairment", "stealth":
			if clearing {
				bump(finding.StageCleanup)
			} else {
				bump(finding.StageExecution)
			}
		case "execution", "privilege_escalation", "discovery", "lateral_movement",
			"command_and_control", "impact", "resource_development":
			bump(finding.StageExecution)
		}
	}
	if stage == finding.StageNone {
		stage = finding.StageExecution
	}
	return stage
}

// tagTechniques reads attack.tNNNN[.NNN] tags, upper-cased.
func tagTechniques(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, tag := range tags {
		t := strings.ToLower(tag)
		if !strings.HasPrefix(t, "attack.t") || len(t) < len("attack.t1") {
			continue
		}
		id := strings.ToUpper(strings.TrimPrefix(t, "attack."))
		if !isTechnique(id) || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

func isTechnique(id string) bool {
	// T + 4 digits, optionally . + 3 digits
	if len(id) != 5 && len(id) != 9 {
		return false
	}
	for i, c := range id {
		switch {
		case i == 0:
			if c != 'T' {
				return false
			}
		case i == 5:
			if c != '.' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// tagCVEs reads cve.YYYY-NNNN tags as CVE-YYYY-NNNN.
func tagCVEs(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, tag := range tags {
		t := strings.ToLower(tag)
		if !strings.HasPrefix(t, "cve.") {
			continue
		}
		id := "CVE-" + strings.ToUpper(strings.TrimPrefix(t, "cve."))
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// advisoryID is "SIGMA-" + the first 8 hex digits of the rule id.
func advisoryID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id) && b.Len() < 8; i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			b.WriteByte(c)
		case c >= 'A' && c <= 'F':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	if b.Len() == 0 {
		return "SIGMA-" + id
	}
	return "SIGMA-" + b.String()
}

// buildAdvisory fills the advisory from the rule attributes and Meta.
func buildAdvisory(id, title, description, level, path string, tags, refs []string, m *Meta) finding.Advisory {
	sev, _ := severityOf(level)
	techs := tagTechniques(tags)
	a := finding.Advisory{
		ID:          advisoryID(id),
		Title:       title,
		Description: strings.TrimSpace(description),
		Severity:    sev,
		Stage:       stageOf(tags, techs),
		CVEs:        tagCVEs(tags),
		Techniques:  techs,
		References:  append([]string(nil), refs...),
		Rule:        id,
		RuleFile:    path,
	}
	if m != nil {
		if m.ID != "" {
			a.ID = m.ID
		}
		if m.Stage != finding.StageNone {
			a.Stage = m.Stage
		}
		if m.Severity != nil {
			a.Severity = *m.Severity
		}
		if m.Campaign != "" {
			a.Campaign = m.Campaign
		}
		if len(m.CVEs) > 0 {
			a.CVEs = append([]string(nil), m.CVEs...)
		}
		if len(m.Techniques) > 0 {
			a.Techniques = append([]string(nil), m.Techniques...)
		}
	}
	return a
}
