package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// The page is one file that an incident responder hands on (board,
// regulator, national CERT): every asset is inline, nothing is fetched, and
// a Content-Security-Policy forbids fetching so that a slip cannot leak the
// report's existence. All evidence is hostile; html/template escapes it by
// context, and the findings travel as one JSON data island that only
// page.js reads (through textContent, never innerHTML).

var (
	//go:embed html/page.html
	htmlPageText string
	//go:embed html/page.css
	htmlCSS string
	//go:embed html/page.js
	htmlJS string
)

var htmlTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	// SVG geometry in the template: a - b - c, a + b, and float a - b.
	"sub":  func(a, b, c int) int { return a - b - c },
	"add":  func(a, b int) int { return a + b },
	"sub2": func(a, b float64) float64 { return round1(a - b) },
}).Parse(htmlPageText))

// htmlScriptHash is the CSP hash of page.js: the only script allowed to
// run, so that markup smuggled past the escaping still cannot execute.
// The script goes into the page verbatim (as template.JS: it is our own
// embedded file) because html/template would strip its comments and so
// change the hash.
var htmlScriptHash = func() string {
	sum := sha256.Sum256([]byte(htmlJS))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

// Bounds that keep the page readable and its size in check; the JSON
// report always has everything.
const (
	htmlExcerpt     = 4000 // runes of an excerpt
	htmlText        = 600  // runes of a path, field or message
	htmlTimelineMax = 200  // timeline rows drawn
	htmlRelatedMax  = 20   // related rows listed per finding
)

// HTML writes one self-contained HTML page: per host the verdict, reasons,
// warnings, exposure, coverage against the campaign windows, an SVG
// timeline and the tradecraft overlap; then a sortable, filterable table
// of every finding with its excerpt, the inventory and the file errors.
// The output depends on doc and opt only, so it can be compared with a
// golden file.
func HTML(w io.Writer, doc *finding.Document, opt Options) error {
	page := buildPage(doc, opt)
	bw := bufio.NewWriter(w)
	if err := htmlTmpl.Execute(bw, page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return bw.Flush()
}

type htmlPage struct {
	Title      string
	TLP        *tlpView
	Tool       string
	Started    string
	Finished   string
	Elapsed    string
	Roots      []string
	Files      int
	Bytes      string
	Hosts      []hostView
	NFindings  int
	Errors     []finding.FileError
	Suppressed []suppressedRow
	CSP        string
	CSS        template.CSS
	JS         template.JS
	Data       pageData
	Stages     []stageOpt
}

type tlpView struct {
	Label   string // "TLP:AMBER+STRICT"
	Class   string // CSS class
	Sharing string // what recipients may do with it
}

type suppressedRow struct {
	ID    string
	Count int
}

type stageOpt struct {
	Value int
	Title string
	Class string
}

type hostView struct {
	Anchor     string
	Name       string
	Assessed   bool
	StateClass string
	State      string
	Likelihood string
	Score      int
	Summary    string
	Reasons    []reasonView
	Warnings   []string
	Exposure   *exposureView
	Coverage   *coverageView
	Timeline   *timelineView
	Tradecraft *tradecraftView
	Stages     []stageRow
	Builds     []buildRow
	Inventory  []invRow
	Findings   int
}

type reasonView struct {
	Rule     string
	Text     string
	Weight   string
	Bound    string
	Evidence []evidenceView
	Findings []string
}

type evidenceView struct {
	Loc    string
	SHA256 string
	Size   int64
	Extra  string
}

type exposureView struct {
	Build, Precision, Product, CU, Release, Conflict string
	EOL                                              bool
	Families                                         []familyRow
	Sources                                          []buildRow
}

type familyRow struct {
	Family, Status, Class, Detail string
}

type buildRow struct {
	Build, Source, Span, Loc string
	Count                    int
}

type stageRow struct {
	Title, Class, Worst, WorstClass string
	Count                           int
}

type invRow struct {
	Title, Family, Bytes, First, Last string
	Files                             int
	Records, Malformed                int64
}

type tradecraftView struct {
	Actor, Likelihood, Caveat string
	Score                     int
	Matches                   []finding.TradecraftMatch
}

// stateClass maps a verdict state to its colour.
func stateClass(s finding.State) string {
	switch s {
	case finding.StateCompromised:
		return "state-compromised"
	case finding.StateAttempted:
		return "state-attempted"
	case finding.StateScanned:
		return "state-scanned"
	case finding.StateNoEvidence:
		return "state-clean"
	}
	return "state-unknown"
}

func sevClass(s finding.Severity) string { return "sev-" + s.String() }

func stageClass(s finding.Stage) string { return "stage-" + s.String() }

var tlpSharing = map[string]string{
	"clear":        "Disclosure is not limited: recipients may share it freely, subject to copyright.",
	"green":        "Limited disclosure: recipients may share it within their community, but not publicly.",
	"amber":        "Limited disclosure: recipients may share it only within their organisation and with its clients on a need-to-know basis.",
	"amber+strict": "Limited disclosure: recipients may share it only within their own organisation, on a need-to-know basis.",
	"red":          "For the eyes and ears of individual recipients only: no further disclosure.",
}

func buildTLP(s string) *tlpView {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	t, err := finding.ParseTLP(s)
	if err != nil {
		// A library caller set something we do not know: still mark the
		// page, in the strictest colour, rather than drop the marking.
		return &tlpView{Label: "TLP:" + strings.ToUpper(clip(s, 40)), Class: "tlp-red", Sharing: "Unknown marking: treat as TLP:RED until the sender confirms."}
	}
	return &tlpView{Label: "TLP:" + strings.ToUpper(t), Class: "tlp-" + strings.ReplaceAll(t, "+", "-"), Sharing: tlpSharing[t]}
}

func buildPage(doc *finding.Document, opt Options) htmlPage {
	p := htmlPage{
		Tool:      vis(doc.Tool.Name + " " + doc.Tool.Version),
		Started:   stamp(doc.Started),
		Finished:  stamp(doc.Finished),
		Elapsed:   opt.Elapsed,
		TLP:       buildTLP(doc.TLP),
		NFindings: len(doc.Findings),
		CSS:       template.CSS(htmlCSS),
		JS:        template.JS(htmlJS),
		CSP:       "default-src 'none'; script-src '" + htmlScriptHash + "'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
	}
	for _, r := range doc.Roots {
		p.Roots = append(p.Roots, vis(r))
	}
	var names []string
	for _, h := range doc.Hosts {
		names = append(names, vis(h.Host))
	}
	p.Title = "exhunt report"
	if len(names) > 0 {
		p.Title += ": " + clip(strings.Join(names, ", "), 120)
	}
	var bytes int64
	for _, inv := range doc.Inventory {
		p.Files += inv.Files
		bytes += inv.Bytes
	}
	p.Bytes = humanBytes(bytes)
	for i, h := range doc.Hosts {
		p.Hosts = append(p.Hosts, buildHost(doc, i, h))
	}
	for _, e := range doc.Errors {
		p.Errors = append(p.Errors, finding.FileError{Path: vis(e.Path), Message: vis(firstLine(e.Message))})
	}
	for _, id := range sortedKeys(doc.Suppressed) {
		p.Suppressed = append(p.Suppressed, suppressedRow{vis(id), doc.Suppressed[id]})
	}
	for _, s := range finding.Stages() {
		p.Stages = append(p.Stages, stageOpt{int(s), s.Title(), stageClass(s)})
	}
	p.Data = buildData(doc)
	return p
}

func buildHost(doc *finding.Document, i int, h finding.HostSummary) hostView {
	hv := hostView{Anchor: fmt.Sprintf("host-%d", i+1), Name: vis(h.Host), Findings: h.Findings}
	if v := h.Verdict; v != nil {
		hv.Assessed = true
		hv.State = string(v.State)
		hv.StateClass = stateClass(v.State)
		hv.Likelihood = string(v.Likelihood)
		hv.Score = v.Score
		hv.Summary = vis(v.Summary)
		for _, r := range v.Reasons {
			rv := reasonView{Rule: vis(r.Rule), Text: vis(r.Text), Weight: fmt.Sprintf("%+d", r.Weight)}
			var b []string
			if r.Floor > 0 {
				b = append(b, fmt.Sprintf("at least %d%%", r.Floor))
			}
			if r.Cap > 0 {
				b = append(b, fmt.Sprintf("at most %d%%", r.Cap))
			}
			rv.Bound = strings.Join(b, ", ")
			for _, e := range r.Evidence {
				rv.Evidence = append(rv.Evidence, evidenceOf(e))
			}
			for _, f := range r.Findings {
				rv.Findings = append(rv.Findings, vis(f))
			}
			hv.Reasons = append(hv.Reasons, rv)
		}
		for _, w := range v.Warnings {
			hv.Warnings = append(hv.Warnings, vis(w))
		}
		hv.Exposure = buildExposure(v.Exposure)
		hv.Coverage = buildCoverage(v.Coverage)
		hv.Timeline = buildTimeline(v.Timeline)
		if tc := v.Tradecraft; tc != nil {
			tv := &tradecraftView{Actor: vis(tc.Actor), Likelihood: string(tc.Likelihood), Score: tc.Score, Caveat: vis(tc.Caveat)}
			if strings.TrimSpace(tv.Caveat) == "" {
				tv.Caveat = "Technical overlap is not attribution: many groups used the same public exploits."
			}
			for _, m := range tc.Matches {
				tv.Matches = append(tv.Matches, finding.TradecraftMatch{Kind: vis(m.Kind), Item: vis(m.Item), Source: vis(m.Source)})
			}
			hv.Tradecraft = tv
		}
	} else {
		// Not assessed: the headline is the worst stage, in the text
		// report's words; its head becomes the banner's state.
		line := Verdict(h)
		hv.State, hv.Summary = "nothing found", line
		if head, rest, ok := strings.Cut(line, ": "); ok && head == strings.ToUpper(head) {
			hv.State, hv.Summary = strings.ToLower(head), strings.ToUpper(rest[:1])+rest[1:]
		}
		switch {
		case strings.HasPrefix(line, "COMPROMISE"):
			hv.StateClass = "state-compromised"
		case strings.HasPrefix(line, "EXPLOITATION"):
			hv.StateClass = "state-attempted"
		case strings.HasPrefix(line, "SCANNED"):
			hv.StateClass = "state-scanned"
		default:
			hv.StateClass = "state-clean"
		}
	}
	for _, s := range finding.Stages() {
		if n := h.Stages[s]; n > 0 {
			w := worstIn(doc.Findings, h.Host, s)
			hv.Stages = append(hv.Stages, stageRow{Title: s.Title(), Class: stageClass(s), Count: n, Worst: w.String(), WorstClass: sevClass(w)})
		}
	}
	for _, b := range h.Builds {
		hv.Builds = append(hv.Builds, buildRowOf(b))
	}
	for _, inv := range doc.Inventory {
		if inv.Host != h.Host {
			continue
		}
		hv.Inventory = append(hv.Inventory, invRow{Title: vis(inv.Title), Family: vis(inv.Family), Files: inv.Files, Bytes: humanBytes(inv.Bytes),
			Records: inv.Records, Malformed: inv.Malformed, First: stamp(inv.First), Last: stamp(inv.Last)})
	}
	return hv
}

func buildExposure(e *finding.Exposure) *exposureView {
	if e == nil {
		return nil
	}
	precision := "exact build"
	if e.Precision == "cu" {
		precision = "cumulative update only: the security update is not known"
	}
	ev := &exposureView{Build: vis(e.Build), Precision: precision, Product: vis(e.Product), CU: vis(e.CU), Release: vis(e.Release), EOL: e.EOL, Conflict: vis(e.Conflict)}
	for _, f := range e.Families {
		cls := "exp-unknown"
		switch f.Status {
		case "vulnerable":
			cls = "exp-vulnerable"
		case "potentially vulnerable":
			cls = "exp-potential"
		case "not vulnerable":
			cls = "exp-fixed"
		}
		ev.Families = append(ev.Families, familyRow{Family: vis(f.Family), Status: vis(f.Status), Class: cls, Detail: vis(f.Detail)})
	}
	for _, s := range e.Sources {
		ev.Sources = append(ev.Sources, buildRowOf(s))
	}
	return ev
}

func buildRowOf(b finding.BuildSighting) buildRow {
	r := buildRow{Build: vis(b.Build), Source: vis(b.Source), Count: b.Count, Loc: vis(evidenceLoc(b.Evidence))}
	if !b.First.IsZero() {
		r.Span = stamp(b.First) + " to " + stamp(b.Last)
	}
	return r
}

func evidenceOf(e finding.Evidence) evidenceView {
	v := evidenceView{Loc: vis(evidenceLoc(e)), SHA256: vis(e.SHA256), Size: e.Size}
	if e.Excerpt != "" {
		v.Extra = clip(e.Excerpt, 300)
	}
	return v
}

// vis makes a hostile string displayable: bounded, and control characters
// (terminal escapes, NUL) made visible instead of passed on.
func vis(s string) string { return clip(s, htmlText) }

// stamp is the page's one time format: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ---- coverage chart ----

type coverageView struct {
	Width, Height int
	LabelX        int // where the bars start
	Bands         []covBand
	Rows          []covRow
	Ticks         []svgTick
	AxisY         int
	Campaigns     []string // column heads of the status table
}

type covBand struct {
	Name           string
	Class          string
	X, W           float64
	LabelY         int
	Title          string
	LabelX         float64
	LabelAnchorEnd bool
}

type covRow struct {
	Title, Family string
	Short         string // the title as it fits the chart's label column
	Files         int
	Span          string
	Y             int
	TextY         int
	HasSpan       bool
	X, W          float64
	Status        []covStatus
	Tip           string
}

type covStatus struct{ Status, Class string }

type svgTick struct {
	X     float64
	Label string
}

// buildCoverage lays out one bar per evidence family on a linear time axis
// that spans the campaign windows and the evidence, whole years, so that a
// gap in the logs is as long on the page as it was in time.
func buildCoverage(cov []finding.Coverage) *coverageView {
	if len(cov) == 0 {
		return nil
	}
	var windows []finding.CampaignWindow
	seen := map[string]bool{}
	for _, c := range cov {
		for _, w := range c.Campaigns {
			if !seen[w.Campaign] {
				seen[w.Campaign] = true
				windows = append(windows, w)
			}
		}
	}
	var lo, hi time.Time
	grow := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	for _, w := range windows {
		grow(w.Start)
		grow(w.End)
	}
	for _, c := range cov {
		grow(c.First)
		grow(c.Last)
	}
	cv := &coverageView{Width: 1000, LabelX: 230}
	const right = 985
	top := 14 * len(windows)
	if top == 0 {
		top = 6
	}
	top += 6
	rowH := 26
	cv.Height = top + rowH*len(cov) + 26
	cv.AxisY = top + rowH*len(cov) + 4
	for _, w := range windows {
		cv.Campaigns = append(cv.Campaigns, vis(w.Campaign))
	}
	var x func(time.Time) float64
	if !lo.IsZero() {
		lo = time.Date(lo.UTC().Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		hi = time.Date(hi.UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
		span := hi.Sub(lo).Seconds()
		x = func(t time.Time) float64 {
			return round1(float64(cv.LabelX) + t.Sub(lo).Seconds()/span*float64(right-cv.LabelX))
		}
		for y := lo.Year(); y <= hi.Year(); y++ {
			cv.Ticks = append(cv.Ticks, svgTick{X: x(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)), Label: fmt.Sprint(y)})
		}
	}
	for i, w := range windows {
		b := covBand{Name: vis(w.Campaign), Class: fmt.Sprintf("band band-%d", i%4), LabelY: 11 + 14*i,
			Title: fmt.Sprintf("%s window: %s to %s", vis(w.Campaign), w.Start.UTC().Format("2006-01-02"), w.End.UTC().Format("2006-01-02"))}
		if x != nil {
			b.X = x(w.Start)
			b.W = round1(math.Max(2, x(w.End)-b.X))
			b.LabelX = b.X
			// Late windows label leftwards so the text stays on the chart.
			if b.X > right-120 {
				b.LabelX = b.X + b.W
				b.LabelAnchorEnd = true
			}
		}
		cv.Bands = append(cv.Bands, b)
	}
	for i, c := range cov {
		r := covRow{Title: vis(c.Title), Family: vis(c.Family), Files: c.Files, Y: top + rowH*i + 5, TextY: top + rowH*i + 17}
		if r.Title == "" {
			r.Title = r.Family
		}
		r.Short = clip(r.Title, 32)
		if !c.First.IsZero() && x != nil {
			r.HasSpan = true
			r.X = x(c.First)
			r.W = round1(math.Max(3, x(c.Last)-r.X))
			r.Span = stamp(c.First) + " to " + stamp(c.Last)
		} else {
			r.Span = "no timestamps"
		}
		r.Tip = fmt.Sprintf("%s: %d file(s), %s", r.Title, c.Files, r.Span)
		byName := map[string]string{}
		for _, w := range c.Campaigns {
			byName[w.Campaign] = w.Status
		}
		for _, w := range windows {
			st := byName[w.Campaign]
			if st == "" {
				st = "none"
			}
			cls := "cov-none"
			switch st {
			case "covered":
				cls = "cov-covered"
			case "partial":
				cls = "cov-partial"
			}
			r.Status = append(r.Status, covStatus{vis(st), cls})
		}
		cv.Rows = append(cv.Rows, r)
	}
	return cv
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// ---- timeline ----

type timelineView struct {
	Width, Height int
	AxisX0        int
	Segments      []tlSegment
	Breaks        []tlBreak
	Unknown       *tlZone
	Rows          []tlRow
	More          int
	Table         []tlTableRow
	Legend        []stageOpt // the stages drawn, in chain order
}

type tlSegment struct {
	X0, X1   float64
	From, To string // tick labels
	FromSub  string
	ToSub    string
	Single   bool
	Mid      float64
}

type tlBreak struct {
	X     float64
	Label string
}

type tlZone struct{ X0, X1, Mid float64 }

type tlRow struct {
	Y, TextY   int
	CY         int
	Label      string
	When       string
	StageClass string
	X          float64
	BarW       float64
	CountX     float64
	Count      int
	Tip        string
}

type tlTableRow struct {
	When, Step, Title, Stage, StageClass, Severity, SevClass, IPs, Agents, Loc, Techniques string
	Count                                                                                  int
	Commands                                                                               []string
}

// buildTimeline draws one row per step on a shared time axis. Attacks
// mix seconds (the SSRF chain) with months or years (a shell used much
// later, logs from today), so the axis breaks at long gaps: each piece is
// linear within itself, and the break says how much time it skips.
func buildTimeline(entries []finding.TimelineEntry) *timelineView {
	if len(entries) == 0 {
		return nil
	}
	tv := &timelineView{Width: 1000, AxisX0: 520}
	const right = 985
	var times []time.Time
	hasUnknown := false
	for _, e := range entries {
		if e.Time.IsZero() {
			hasUnknown = true
			continue
		}
		times = append(times, e.Time.UTC())
		if !e.End.IsZero() {
			times = append(times, e.End.UTC())
		}
	}
	axisEnd := float64(right)
	if hasUnknown {
		axisEnd = right - 80
		if len(times) == 0 {
			axisEnd = float64(tv.AxisX0)
		}
		tv.Unknown = &tlZone{X0: axisEnd + 10, X1: right, Mid: round1((axisEnd + 10 + right) / 2)}
	}
	pieces := splitAxis(times)
	const gapW = 26.0
	var segs []axisPiece
	if len(pieces) > 0 {
		avail := axisEnd - float64(tv.AxisX0) - gapW*float64(len(pieces)-1)
		w := avail / float64(len(pieces))
		for i, pc := range pieces {
			pc.x0 = float64(tv.AxisX0) + float64(i)*(w+gapW)
			pc.x1 = pc.x0 + w
			segs = append(segs, pc)
			s := tlSegment{X0: round1(pc.x0), X1: round1(pc.x1), Mid: round1((pc.x0 + pc.x1) / 2)}
			switch sameDay := pc.from.Format("2006-01-02") == pc.to.Format("2006-01-02"); {
			case pc.from.Equal(pc.to):
				s.Single = true
				s.From, s.FromSub = pc.from.Format("2006-01-02"), pc.from.Format("15:04:05")
			case pc.x1-pc.x0 < 190:
				// Too narrow for labels at both ends: one label, centred.
				s.Single = true
				if sameDay {
					s.From, s.FromSub = pc.from.Format("2006-01-02"), pc.from.Format("15:04:05")+"–"+pc.to.Format("15:04:05")
				} else {
					s.From, s.FromSub = pc.from.Format("2006-01-02")+" to", pc.to.Format("2006-01-02")
				}
			default:
				s.From, s.FromSub = pc.from.Format("2006-01-02"), pc.from.Format("15:04:05")
				s.To, s.ToSub = pc.to.Format("2006-01-02"), pc.to.Format("15:04:05")
			}
			tv.Segments = append(tv.Segments, s)
			if i > 0 {
				tv.Breaks = append(tv.Breaks, tlBreak{X: round1(pc.x0 - gapW/2), Label: "+" + humanGap(pc.from.Sub(segs[i-1].to))})
			}
		}
	}
	xOf := func(t time.Time) float64 {
		t = t.UTC()
		for _, s := range segs {
			if t.Before(s.from) || t.After(s.to) {
				continue
			}
			pad := 8.0
			if s.from.Equal(s.to) {
				return round1((s.x0 + s.x1) / 2)
			}
			return round1(s.x0 + pad + t.Sub(s.from).Seconds()/s.to.Sub(s.from).Seconds()*(s.x1-s.x0-2*pad))
		}
		return float64(tv.AxisX0)
	}
	const top, rowH = 40, 24
	shown := entries
	if len(shown) > htmlTimelineMax {
		tv.More = len(shown) - htmlTimelineMax
		shown = shown[:htmlTimelineMax]
	}
	for i, e := range shown {
		r := tlRow{Y: top + i*rowH, TextY: top + i*rowH + 16, CY: top + i*rowH + 12, StageClass: stageClass(e.Stage), Count: e.Count}
		title := vis(e.Title)
		if title == "" {
			title = vis(e.Step)
		}
		r.Label = clip(title, 50)
		if e.Time.IsZero() {
			r.When = "time unknown"
			if tv.Unknown != nil {
				r.X = tv.Unknown.Mid
			}
		} else {
			r.When = e.Time.UTC().Format("2006-01-02 15:04:05")
			r.X = xOf(e.Time)
			if !e.End.IsZero() && e.End.After(e.Time) {
				if x1 := xOf(e.End); x1 > r.X {
					r.BarW = round1(x1 - r.X)
				}
			}
		}
		r.CountX = round1(r.X + r.BarW + 10)
		r.Tip = timelineTip(e)
		tv.Rows = append(tv.Rows, r)
		tr := tlTableRow{When: stamp(e.Time), Step: vis(e.Step), Title: title, Stage: e.Stage.Title(), StageClass: stageClass(e.Stage),
			Severity: e.Severity.String(), SevClass: sevClass(e.Severity), Count: e.Count, Loc: vis(evidenceLoc(e.Evidence)),
			IPs: vis(strings.Join(e.SourceIPs, ", ")), Agents: vis(strings.Join(e.UserAgents, ", ")), Techniques: vis(strings.Join(e.Techniques, ", "))}
		for _, c := range e.Commands {
			tr.Commands = append(tr.Commands, vis(c))
		}
		if tr.When == "" {
			tr.When = "time unknown"
		} else if !e.End.IsZero() && e.End.After(e.Time) {
			tr.When += " to " + stamp(e.End)
		}
		tv.Table = append(tv.Table, tr)
	}
	tv.Height = top + len(shown)*rowH + 8
	drawn := map[finding.Stage]bool{}
	for _, e := range shown {
		drawn[e.Stage] = true
	}
	for s := finding.StageNone; s <= finding.StageCleanup; s++ {
		if drawn[s] {
			tv.Legend = append(tv.Legend, stageOpt{int(s), s.Title(), stageClass(s)})
		}
	}
	return tv
}

func timelineTip(e finding.TimelineEntry) string {
	var b strings.Builder
	if e.Time.IsZero() {
		b.WriteString("time unknown")
	} else {
		b.WriteString(stamp(e.Time))
		if !e.End.IsZero() && e.End.After(e.Time) {
			b.WriteString(" to " + stamp(e.End))
		}
	}
	fmt.Fprintf(&b, "\n%s (%s)\nstage: %s, severity %s", e.Title, e.Step, e.Stage.Title(), e.Severity)
	if len(e.SourceIPs) > 0 {
		b.WriteString("\nfrom " + strings.Join(e.SourceIPs, ", "))
	}
	if len(e.UserAgents) > 0 {
		b.WriteString("\nuser agent " + strings.Join(e.UserAgents, ", "))
	}
	for _, c := range e.Commands {
		b.WriteString("\n$ " + clip(c, 120))
	}
	if len(e.Techniques) > 0 {
		b.WriteString("\nATT&CK " + strings.Join(e.Techniques, ", "))
	}
	fmt.Fprintf(&b, "\n%d finding(s), first at %s", e.Count, evidenceLoc(e.Evidence))
	// Keep the line breaks of the tooltip, make everything else visible.
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = vis(lines[i])
	}
	return strings.Join(lines, "\n")
}

type axisPiece struct {
	from, to time.Time
	x0, x1   float64
}

// splitAxis cuts sorted times into at most four pieces. A piece is cut
// at its widest gap when that gap is over an hour and over half of the
// piece's span, then each side is looked at again: a minute-long chain and
// a shell used two years later both stay readable, while evenly spread
// scanning stays on one linear axis.
func splitAxis(times []time.Time) []axisPiece {
	if len(times) == 0 {
		return nil
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	type piece struct{ lo, hi int } // indexes into times, inclusive
	pieces := []piece{{0, len(times) - 1}}
	for len(pieces) < 4 {
		cut := false
		for k, p := range pieces {
			at, widest := -1, time.Duration(0)
			for i := p.lo + 1; i <= p.hi; i++ {
				if d := times[i].Sub(times[i-1]); d > widest {
					at, widest = i, d
				}
			}
			if at < 0 || widest <= time.Hour || widest*2 <= times[p.hi].Sub(times[p.lo]) {
				continue
			}
			pieces = append(pieces[:k], append([]piece{{p.lo, at - 1}, {at, p.hi}}, pieces[k+1:]...)...)
			cut = true
			break
		}
		if !cut {
			break
		}
	}
	out := make([]axisPiece, 0, len(pieces))
	for _, p := range pieces {
		out = append(out, axisPiece{from: times[p.lo], to: times[p.hi]})
	}
	return out
}

func humanGap(d time.Duration) string {
	switch day := 24 * time.Hour; {
	case d >= 548*day:
		return fmt.Sprintf("%.0f y", d.Hours()/24/365)
	case d >= 60*day:
		return fmt.Sprintf("%.0f mo", d.Hours()/24/30.44)
	case d >= day:
		return fmt.Sprintf("%.0f d", d.Hours()/24)
	}
	return fmt.Sprintf("%.0f h", d.Hours())
}

// ---- findings data island ----

type pageData struct {
	Severities []string  `json:"severities"`
	Stages     []string  `json:"stages"`
	Findings   []htmlRow `json:"findings"`
}

// htmlRow is one finding as page.js needs it; short keys keep thousands of
// rows small.
type htmlRow struct {
	Time       string      `json:"t"`
	Host       string      `json:"h"`
	Severity   int         `json:"s"`
	Stage      int         `json:"g"`
	ID         string      `json:"id"`
	Title      string      `json:"ti"`
	Loc        string      `json:"l"`
	IP         string      `json:"ip"`
	Excerpt    string      `json:"x,omitempty"`
	Fields     [][2]string `json:"f,omitempty"`
	SHA256     string      `json:"sha,omitempty"`
	Size       int64       `json:"sz,omitempty"`
	ModTime    string      `json:"mt,omitempty"`
	Related    []string    `json:"rel,omitempty"`
	MoreRel    int         `json:"relmore,omitempty"`
	CVEs       []string    `json:"cve,omitempty"`
	Techniques []string    `json:"att,omitempty"`
	Campaign   string      `json:"c,omitempty"`
	Rule       string      `json:"r,omitempty"`
	Print      string      `json:"fp"`
}

func buildData(doc *finding.Document) pageData {
	d := pageData{Findings: make([]htmlRow, 0, len(doc.Findings))}
	for s := finding.Info; s <= finding.Critical; s++ {
		d.Severities = append(d.Severities, s.String())
	}
	d.Stages = append(d.Stages, finding.StageNone.Title())
	for _, s := range finding.Stages() {
		d.Stages = append(d.Stages, s.Title())
	}
	for _, f := range doc.Findings {
		r := htmlRow{Host: vis(f.Host), Severity: int(f.Severity), Stage: int(f.Stage), ID: vis(f.ID), Title: vis(f.Title),
			Loc: vis(evidenceLoc(f.Evidence)), Excerpt: clip(f.Evidence.Excerpt, htmlExcerpt), SHA256: vis(f.Evidence.SHA256),
			Size: f.Evidence.Size, Campaign: vis(f.Campaign), Print: f.Fingerprint()}
		if !f.Time.IsZero() {
			r.Time = f.Time.UTC().Format("2006-01-02 15:04:05")
		}
		if !f.Evidence.ModTime.IsZero() {
			r.ModTime = stamp(f.Evidence.ModTime)
		}
		r.IP = f.Evidence.Fields["client_ip"]
		if r.IP == "" {
			r.IP = f.Evidence.Fields["IpAddress"]
		}
		r.IP = vis(r.IP)
		for _, k := range sortedKeys(f.Evidence.Fields) {
			if k == "chain_key" {
				continue
			}
			r.Fields = append(r.Fields, [2]string{vis(k), vis(f.Evidence.Fields[k])})
		}
		for i, rel := range f.Related {
			if i == htmlRelatedMax {
				r.MoreRel = len(f.Related) - i
				break
			}
			r.Related = append(r.Related, vis(evidenceLoc(rel)))
		}
		for _, c := range f.CVEs {
			r.CVEs = append(r.CVEs, vis(c))
		}
		for _, t := range f.Techniques {
			r.Techniques = append(r.Techniques, vis(t))
		}
		if f.Rule != "" {
			r.Rule = vis(f.Rule)
			if f.RuleFile != "" {
				r.Rule += " (" + vis(f.RuleFile) + ")"
			}
		}
		d.Findings = append(d.Findings, r)
	}
	return d
}
