package probe

import (
	"time"

	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/finding"
)

// Host statuses: what became of the host as a whole.
const (
	StatusOK          = "ok"          // at least one HTTP answer
	StatusRefused     = "refused"     // the port refused the connection
	StatusTimeout     = "timeout"     // nothing answered in time (tarpits end here)
	StatusReset       = "reset"       // connections dropped before any answer
	StatusTLSError    = "tls-error"   // the TLS handshake failed
	StatusHTTPError   = "http-error"  // something answered, but not HTTP
	StatusSkipped     = "skipped"     // on the deny list, or unresolvable
	StatusNotAllowed  = "not-allowed" // outside the allow list: never contacted
	StatusInterrupted = "interrupted" // the run was stopped while this host was probed
)

// Exchange detection.
const (
	ExchangeYes     = "yes"     // a build or OWA's own markers were read
	ExchangeLikely  = "likely"  // version hidden, Exchange-only headers or paths show
	ExchangeNo      = "no"      // answered, and nothing of Exchange
	ExchangeUnknown = "unknown" // did not answer
)

// Build precision.
const (
	PrecisionBuild = "build" // four parts: the security update is known
	PrecisionCU    = "cu"    // three parts: the cumulative update only
	PrecisionNone  = "none"
)

// Build sources, best first (exposure.md §1.2).
const (
	SourceOWAHeader = "x-owa-version"
	SourceExport    = "exporttool"
	SourceServerApp = "x-serverapplication"
	SourceOWAPath   = "owa-path"
)

// Confidence of a family verdict.
const (
	ConfidenceConfirmed = "confirmed" // Microsoft's x.js check answered vulnerable
	ConfidenceVersion   = "version"   // a four-part build against the table
	ConfidenceCU        = "cu"        // a three-part build: the CU decides, or cannot
	ConfidenceNone      = "none"      // no build
)

// Result is one host's line of JSONL output (docs/probe.md documents every
// field).
type Result struct {
	Target     string    `json:"target"`
	Index      int64     `json:"index"`
	IP         string    `json:"ip,omitempty"`
	Port       int       `json:"port"`
	Scheme     string    `json:"scheme,omitempty"`
	Names      []string  `json:"names,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS int64     `json:"duration_ms"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Errors     []Error   `json:"errors,omitempty"`
	Requests   int       `json:"requests"`
	// GaveUp says why the plan stopped early: failures in a row or the host deadline.
	GaveUp string `json:"gave_up,omitempty"`

	Exchange        string    `json:"exchange"`
	Product         string    `json:"product,omitempty"`
	Build           string    `json:"build,omitempty"`
	BuildPrecision  string    `json:"build_precision"`
	BuildSource     string    `json:"build_source,omitempty"`
	Sources         []Reading `json:"sources,omitempty"`
	SourcesDisagree bool      `json:"sources_disagree,omitempty"`
	CU              string    `json:"cu,omitempty"`
	Release         string    `json:"release,omitempty"`
	EOL             bool      `json:"eol"`
	Online          bool      `json:"exchange_online,omitempty"`
	FEServer        []string  `json:"fe_server,omitempty"`
	FrontEndPool    bool      `json:"front_end_pool,omitempty"`
	Federated       bool      `json:"federated,omitempty"`
	FederatedTo     string    `json:"federated_to,omitempty"`
	Markers         []string  `json:"markers,omitempty"`

	Families    map[exchange.Family]FamilyResult `json:"families"`
	Mitigations Mitigations                      `json:"mitigations"`
	Active      *Active                          `json:"active,omitempty"`
	Findings    []finding.Finding                `json:"findings,omitempty"`

	done bool // every step that was due ran (not interrupted): the resume file may count it
}

// Error is one failed request.
type Error struct {
	Request string `json:"request"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Reading is one build seen, with where it was seen.
type Reading struct {
	Source  string `json:"source"`
	Build   string `json:"build"`
	URL     string `json:"url"`
	Excerpt string `json:"excerpt"`
}

// FamilyResult is the verdict for one bug family.
type FamilyResult struct {
	Status     exchange.Status `json:"status"`
	Confidence string          `json:"confidence"`
	Detail     string          `json:"detail"`
	Note       string          `json:"note,omitempty"`
}

// Mitigations are the interim mitigations seen. Values: present, absent,
// unknown (not checked, or the check could not tell).
type Mitigations struct {
	EOMT2021      string `json:"eomt_2021"`
	PNSMitigation string `json:"pns_mitigation"`
	EEMS          string `json:"eems"`
}

// Active is the evidence of Microsoft's CVE-2021-26855 check (--active).
type Active struct {
	Status              int    `json:"status,omitempty"`
	XCalculatedBETarget string `json:"x_calculated_betarget,omitempty"`
	Result              string `json:"result"` // vulnerable, not vulnerable, mitigated, unknown
	Control             int    `json:"control_status,omitempty"`
	Error               string `json:"error,omitempty"`
	PNSStatus           int    `json:"pns_status,omitempty"`
}

// Active results.
const (
	ActiveVulnerable    = "vulnerable"
	ActiveNotVulnerable = "not vulnerable"
	ActiveMitigated     = "mitigated"
	ActiveUnknown       = "unknown"
)

// Mitigation states.
const (
	MitPresent = "present"
	MitAbsent  = "absent"
	MitUnknown = "unknown"
)

// Worst is the most severe family verdict of the host.
func (r *Result) Worst() exchange.Status {
	worst := exchange.NotVulnerable
	rank := map[exchange.Status]int{exchange.NotVulnerable: 0, exchange.Unknown: 1, exchange.Potentially: 2, exchange.Vulnerable: 3}
	for _, f := range r.Families {
		if rank[f.Status] > rank[worst] {
			worst = f.Status
		}
	}
	return worst
}

func unknownFamilies(detail string) map[exchange.Family]FamilyResult {
	m := make(map[exchange.Family]FamilyResult, len(exchange.Families))
	for _, f := range exchange.Families {
		m[f] = FamilyResult{Status: exchange.Unknown, Confidence: ConfidenceNone, Detail: detail}
	}
	return m
}
