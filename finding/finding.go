// Package finding is the output schema: what a detector found, where, and
// how bad it is. It is its own type, apart from detector internals, so that
// the JSON that SIEMs ingest stays stable (docs/schema.md).
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity orders findings. The zero value is Info.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "info"
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name (any case).
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames, ", "))
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Stage is the step of the attack chain a finding belongs to, in kill-chain
// order, so that "the worst stage reached" is a max.
type Stage int

const (
	StageNone       Stage = iota
	StageRecon            // scanning, probing, failed reconnaissance
	StageAttempt          // exploitation attempted, success not shown
	StageExploit          // exploitation succeeded (SSRF reached the back end, auth bypassed)
	StageWrite            // a file was written or a payload planted (OAB dump, mailbox export)
	StageExecution        // a web shell or remote PowerShell was used
	StageCredential       // credential access (LSASS)
	StageCollection       // staging and exfiltration
	StageCleanup          // covering tracks
	numStages
)

var stageNames = [numStages]string{"none", "recon", "attempt", "exploit", "write", "execution", "credential", "collection", "cleanup"}

var stageTitles = [numStages]string{
	"No stage",
	"Scanning and reconnaissance",
	"Exploitation attempted",
	"Exploitation succeeded",
	"Payload or web shell written",
	"Web shell or remote command used",
	"Credential access",
	"Collection and exfiltration",
	"Covering tracks",
}

func (s Stage) String() string {
	if s < 0 || s >= numStages {
		return "none"
	}
	return stageNames[s]
}

// Title is the plain-words name for the terminal report.
func (s Stage) Title() string {
	if s < 0 || s >= numStages {
		return stageTitles[0]
	}
	return stageTitles[s]
}

// Stages lists every stage after StageNone in chain order.
func Stages() []Stage {
	out := make([]Stage, 0, numStages-1)
	for s := StageRecon; s < numStages; s++ {
		out = append(out, s)
	}
	return out
}

func (s Stage) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Stage) UnmarshalText(b []byte) error {
	for i, n := range stageNames {
		if n == string(b) {
			*s = Stage(i)
			return nil
		}
	}
	return fmt.Errorf("unknown stage %q", b)
}

// Advisory is what a detector looks for; identical for every hit of one ID.
type Advisory struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    Severity `json:"severity"`
	Stage       Stage    `json:"stage"`
	Campaign    string   `json:"campaign,omitempty"` // ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF, ProxyToken, HAFNIUM
	CVEs        []string `json:"cves"`
	Techniques  []string `json:"techniques"`
	References  []string `json:"references,omitempty"`
	// Rule names the community rule behind the advisory (Sigma id and file,
	// YARA namespace:rule), empty for our hand-written detectors.
	Rule     string `json:"rule,omitempty"`
	RuleFile string `json:"rule_file,omitempty"`
}

// Problems lists what a hand-written detector's advisory lacks (every
// detector contract validates with it): an id, a title, a stage and at
// least one ATT&CK technique.
func (a Advisory) Problems() []string {
	var out []string
	if a.ID == "" {
		out = append(out, "empty id")
	}
	if a.Title == "" {
		out = append(out, "empty title")
	}
	if a.Stage == StageNone {
		out = append(out, "no stage")
	}
	if len(a.Techniques) == 0 {
		out = append(out, "no ATT&CK technique")
	}
	return out
}

// Evidence points a person at the line that caused the finding.
type Evidence struct {
	Path   string `json:"path"`             // relative to the hunted PATH, forward slashes
	Line   int64  `json:"line"`             // 1-based physical line, header lines counted; 0 for whole-file evidence and .evtx records
	Record uint64 `json:"record,omitempty"` // Windows EventRecordID
	// File evidence (web shells, dumps, dropped tools): the file's hash,
	// size and modification time, so that a finding can be checked against
	// the disk or an IOC feed.
	SHA256  string            `json:"sha256,omitempty"`
	Size    int64             `json:"size,omitempty"`
	ModTime time.Time         `json:"mtime,omitzero"`
	Source  string            `json:"source,omitempty"` // log family
	Excerpt string            `json:"excerpt"`
	Fields  map[string]string `json:"fields,omitempty"` // the fields that matched, and context (client_ip, user_agent…)
}

// Finding is an Advisory plus the target of this hit.
type Finding struct {
	Advisory
	Time     time.Time  `json:"time"`
	Host     string     `json:"host"`
	Evidence Evidence   `json:"evidence"`
	Related  []Evidence `json:"related,omitempty"` // for chain findings: the rows that make up the chain
}

// MarshalJSON writes the time in UTC RFC 3339 (no time: empty string would
// break consumers, so the zero time is written as null).
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	var t *string
	if !f.Time.IsZero() {
		s := f.Time.UTC().Format(time.RFC3339Nano)
		t = &s
	}
	cves, techs := f.CVEs, f.Techniques
	if cves == nil {
		cves = []string{}
	}
	if techs == nil {
		techs = []string{}
	}
	p := plain(f)
	p.CVEs, p.Techniques = cves, techs
	return json.Marshal(struct {
		plain
		Time        *string `json:"time"`
		Fingerprint string  `json:"fingerprint"`
	}{p, t, f.Fingerprint()})
}

// Fingerprint identifies a hit across runs: same detector, host, file and
// line give the same value, whatever the run.
func (f Finding) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s", f.ID, f.Host, f.Evidence.Path, f.Evidence.Line, f.Evidence.Fields["chain_key"])
	if f.Evidence.Record != 0 {
		// Windows events: .evtx records share line 0. Written only when set,
		// so that log-line fingerprints stay what they were.
		fmt.Fprintf(h, "\x00r%d", f.Evidence.Record)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FileError is a problem with one file: the run went on without it (or
// without part of it).
type FileError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}
