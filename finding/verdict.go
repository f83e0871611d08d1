package finding

import "time"

// The verdict types are the output of the assess stage (package assess):
// a calibrated judgement per host, the reasons behind it, how far the
// evidence reaches back, what the server's build was exposed to, one
// attack timeline and the overlap with published HAFNIUM tradecraft. They
// live here, with the rest of the schema, so that every report format
// renders the same data (docs/schema.md, docs/assess.md).

// Likelihood is a term of the PHIA probability yardstick, the words the UK
// intelligence community uses for calibrated judgements.
type Likelihood string

const (
	RemoteChance         Likelihood = "remote chance"         // ≤ 5 %
	HighlyUnlikely       Likelihood = "highly unlikely"       // 10–20 %
	Unlikely             Likelihood = "unlikely"              // 25–35 %
	RealisticPossibility Likelihood = "realistic possibility" // 40–50 %
	Likely               Likelihood = "likely or probable"    // 55–75 %
	HighlyLikely         Likelihood = "highly likely"         // 80–90 %
	AlmostCertain        Likelihood = "almost certain"        // ≥ 95 %
)

// State is what the evidence shows happened to a host, in words an admin
// can act on.
type State string

const (
	StateCompromised State = "compromised"
	StateAttempted   State = "exploitation attempted"
	StateScanned     State = "scanned only"
	StateNoEvidence  State = "no evidence"
	StateCannot      State = "cannot assess"
)

// Verdict is the assessment of one host.
type Verdict struct {
	State      State      `json:"state"`
	Likelihood Likelihood `json:"likelihood"` // that the host was compromised
	// Score is the model's point estimate in percent (0–100); Likelihood is
	// the yardstick band it falls in. The same evidence always gives the
	// same score.
	Score   int    `json:"score"`
	Summary string `json:"summary"` // the verdict line, one sentence
	// Reasons raise or lower the judgement, strongest first.
	Reasons    []Reason        `json:"reasons"`
	Coverage   []Coverage      `json:"coverage"`
	Warnings   []string        `json:"warnings,omitempty"` // "cannot rule out …" and other limits, in words
	Exposure   *Exposure       `json:"exposure,omitempty"` // present when the build is known from evidence
	Timeline   []TimelineEntry `json:"timeline"`
	Tradecraft *Tradecraft     `json:"tradecraft,omitempty"`
}

// Reason is one row of the model (docs/assess.md) that fired for the host.
type Reason struct {
	Rule   string `json:"rule"`   // model row id, e.g. "A-SHELL-USED"
	Text   string `json:"text"`   // in plain words, naming the evidence
	Weight int    `json:"weight"` // percentage points added (negative lowers)
	// Floor and Cap bound the score once this reason holds (0 = none).
	Floor    int        `json:"floor,omitempty"`
	Cap      int        `json:"cap,omitempty"`
	Findings []string   `json:"findings,omitempty"` // fingerprints of the findings behind it
	Evidence []Evidence `json:"evidence,omitempty"` // the first few places to check
}

// Coverage is the time span one evidence family covers on a host, set
// against the campaign windows.
type Coverage struct {
	Family    string           `json:"family"` // inventory family
	Title     string           `json:"title"`
	Files     int              `json:"files"`
	First     time.Time        `json:"first,omitzero"`
	Last      time.Time        `json:"last,omitzero"`
	Campaigns []CampaignWindow `json:"campaigns"`
}

// CampaignWindow says how much of one campaign's window a family covers.
type CampaignWindow struct {
	Campaign string    `json:"campaign"` // ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Status   string    `json:"status"` // "covered", "partial", "none"
}

// Exposure is what the host's build was open to, when evidence shows the
// build.
type Exposure struct {
	Build     string           `json:"build"`             // as seen, e.g. 15.1.2106.2 or 15.1.2106
	Precision string           `json:"precision"`         // "build" (four parts) or "cu" (three parts)
	Product   string           `json:"product"`           // "Exchange 2016"
	CU        string           `json:"cu"`                // "CU18", or "unknown"
	Release   string           `json:"release,omitempty"` // the SU name when the four-part build is in the table
	EOL       bool             `json:"eol,omitempty"`
	Sources   []BuildSighting  `json:"sources"`
	Families  []FamilyExposure `json:"families"`
	Conflict  string           `json:"conflict,omitempty"` // sources that disagree, in words
}

// FamilyExposure is the verdict for one bug family at the host's build.
type FamilyExposure struct {
	Family string `json:"family"`           // ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF
	Status string `json:"status"`           // "vulnerable", "potentially vulnerable", "not vulnerable", "unknown"
	Detail string `json:"detail,omitempty"` // e.g. "fixed by Mar21SU 15.1.2106.13"
}

// BuildSighting is one place in the evidence that names the build: a
// HttpProxy row's version columns, an OWA resource path in an IIS log, the
// version resource of ExSetup.exe.
type BuildSighting struct {
	Build    string    `json:"build"`
	Source   string    `json:"source"` // "httpproxy", "iis-owa-path", "exsetup", "rps-http"
	Count    int       `json:"count"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	Evidence Evidence  `json:"evidence"` // the first place it was seen
}

// TimelineEntry is one step of the attack on a host. Entries are in time
// order; steps without a time (files with no usable timestamp) come last.
type TimelineEntry struct {
	Time       time.Time `json:"time,omitzero"`
	End        time.Time `json:"end,omitzero"` // last hit folded into this entry
	Step       string    `json:"step"`         // scan, ssrf, auth-bypass, shell-written, shell-used, credential, staging, exfiltration, cleanup, other
	Title      string    `json:"title"`
	Stage      Stage     `json:"stage"`
	Severity   Severity  `json:"severity"`
	Techniques []string  `json:"techniques"`
	SourceIPs  []string  `json:"source_ips,omitempty"`
	UserAgents []string  `json:"user_agents,omitempty"`
	// Commands are the command lines and scripts seen in this step (a web
	// shell's cmd.exe lines, a dump command), up to ten, clipped.
	Commands []string `json:"commands,omitempty"`
	Count    int      `json:"count"`    // findings folded into this entry
	Findings []string `json:"findings"` // their fingerprints
	Evidence Evidence `json:"evidence"` // the first of them
	// Background marks the mass-scanning noise every exposed server
	// received (folded per detector and day), as opposed to the attack.
	Background bool `json:"background,omitempty"`
}

// Tradecraft is the overlap of what was seen with published HAFNIUM
// tradecraft. It is never attribution: Caveat says so in every report.
type Tradecraft struct {
	Actor      string            `json:"actor"` // "HAFNIUM"
	Likelihood Likelihood        `json:"likelihood"`
	Score      int               `json:"score"`
	Matches    []TradecraftMatch `json:"matches"`
	Caveat     string            `json:"caveat"`
}

// TradecraftMatch is one observed item that matches published tradecraft.
type TradecraftMatch struct {
	Kind     string   `json:"kind"`   // ip, user-agent, webshell-family, tool, staging, post-exploitation
	Item     string   `json:"item"`   // the value seen
	Source   string   `json:"source"` // where the tradecraft was published
	Findings []string `json:"findings,omitempty"`
}
