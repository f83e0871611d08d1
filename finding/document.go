package finding

import "time"

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
