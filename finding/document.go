package finding

import (
	"fmt"
	"strings"
	"time"
)

// SchemaVersion is bumped on any incompatible change of Document
// (docs/schema.md).
const SchemaVersion = 1

// Document is the whole result of a hunt as written by the JSON reporter;
// the other formats are views of it.
type Document struct {
	SchemaVersion int            `json:"schema_version"`
	Tool          Tool           `json:"tool"`
	Started       time.Time      `json:"started"`
	Finished      time.Time      `json:"finished"`
	Roots         []string       `json:"roots"`
	Hosts         []HostSummary  `json:"hosts"`
	Inventory     []Inventory    `json:"inventory"`
	Findings      []Finding      `json:"findings"`
	Suppressed    map[string]int `json:"suppressed,omitempty"`
	Errors        []FileError    `json:"errors"`
	// TLP is the Traffic Light Protocol marking the user set for sharing
	// (--tlp): clear, green, amber, amber+strict, red. Empty when unset.
	TLP string `json:"tlp,omitempty"`
}

// Tool names the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Inventory summarises one log family of one host: what evidence there was
// and the time span it covers.
type Inventory struct {
	Host      string    `json:"host"`
	Family    string    `json:"family"`
	Title     string    `json:"title"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Records   int64     `json:"records"`
	Malformed int64     `json:"malformed"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	// Gaps are the stretches of more than a day inside First–Last that no
	// file of the family covers (a collection that kept only some days).
	Gaps []Span `json:"gaps,omitempty"`
}

// Span is a stretch of time, both ends inclusive.
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// HostSummary is the per-host headline: the worst stage the evidence shows.
type HostSummary struct {
	Host          string           `json:"host"`
	WorstStage    Stage            `json:"worst_stage"`
	WorstSeverity Severity         `json:"worst_severity"`
	Findings      int              `json:"findings"`
	Stages        map[Stage]int    `json:"stages"`
	Severities    map[Severity]int `json:"severities"`
	// Builds lists where the evidence names the Exchange build (filled by
	// the hunt); Verdict is the assess stage's judgement (nil until assessed).
	Builds  []BuildSighting `json:"builds,omitempty"`
	Verdict *Verdict        `json:"verdict,omitempty"`
}

// TLPs are the Traffic Light Protocol 2.0 labels, in order of restriction.
var TLPs = []string{"clear", "green", "amber", "amber+strict", "red"}

// ParseTLP normalises a --tlp value ("TLP:AMBER", "amber", "white" → clear);
// the empty string means no marking.
func ParseTLP(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	if v == "" {
		return "", nil
	}
	if v == "white" { // TLP 1.0 name of clear
		v = "clear"
	}
	for _, t := range TLPs {
		if v == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown TLP %q (want one of %s)", s, strings.Join(TLPs, ", "))
}
