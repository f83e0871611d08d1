// Package hunt is the library facade: it wires evidence discovery, the
// parsers, the detector runner and the finding collector into one run.
//
//	res, err := hunt.Run(ctx, hunt.Config{Roots: []string{"/mnt/ex01"}})
//
// Partial failure is data: a file that cannot be read or parsed becomes an
// entry in Result.Errors and the run goes on. Run returns an error only when
// the run cannot start (a missing root, a bad detector) or is cancelled.
package hunt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/detect/builtin"
	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/detect/files/heuristic"
	"github.com/exhunt/exhunt/detect/sigma"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/evidence"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/parse"
)

// Config sets up a run. The zero value (plus Roots) is a useful default.
type Config struct {
	Roots []string
	Host  string // override the host name of every root
	Full  bool   // walk whole system roots instead of the targeted places

	// Workers bounds how many files are parsed at once (default GOMAXPROCS).
	Workers int

	// ParseOnly reads the evidence with no detectors at all: the floor the
	// benchmarks compare rule evaluation against.
	ParseOnly bool

	// Sigma is the Sigma rule set; nil loads the embedded pack (unless
	// NoSigmaPack) plus the rule folders and files in SigmaPaths.
	Sigma       *SigmaRules
	SigmaPaths  []string
	NoSigmaPack bool

	// Detectors and Correlators default to the builtin pack.
	Detectors   []*detect.Detector
	Correlators []*detect.Correlator

	// Files: unless NoFiles, the walk also yields the files where web
	// shells, dumps and tools land, and each is hashed and checked against
	// hash indicators (embedded plus IOCPaths), YARA (the embedded pack,
	// unless NoYaraPack, plus YaraPaths) and the Exchange heuristics.
	// FileRules, when set, is used instead of loading them.
	NoFiles    bool
	YaraPaths  []string
	NoYaraPack bool
	IOCPaths   []string
	FileRules  *FileRules

	// MaxPerDetector bounds the findings kept per detector and host
	// (default 1000; negative means unbounded). The rest are counted.
	MaxPerDetector int

	Logger *slog.Logger

	// Progress, when set, is called from the workers after each file and
	// periodically within large files. It must be cheap and goroutine-safe.
	Progress func(Progress)
}

// Progress reports how far a run is.
type Progress struct {
	Files, FilesTotal int
	Bytes, BytesTotal int64
}

// FileStat is what was read from one evidence file.
type FileStat struct {
	Path      string    `json:"path"`
	Host      string    `json:"host"`
	Family    string    `json:"family"`
	Bytes     int64     `json:"bytes"`
	Records   int64     `json:"records"`
	Malformed int64     `json:"malformed"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
}

// Result is the outcome of a run: the output document plus what was read
// from each file.
type Result struct {
	finding.Document
	Files []FileStat
}

// BytesRead sums the sizes of the files parsed.
func (r *Result) BytesRead() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.Bytes
	}
	return n
}

// Version is the tool version written into reports; set at build time
// with -ldflags "-X github.com/exhunt/exhunt/hunt.Version=...".
var Version = "dev"

// Run hunts the roots.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Roots) == 0 {
		return nil, errors.New("no evidence path given")
	}
	if err := evidence.CheckRoots(cfg.Roots); err != nil {
		return nil, err
	}
	dets := cfg.Detectors
	if dets == nil {
		dets = builtin.All()
	}
	cors := cfg.Correlators
	if cors == nil {
		cors = builtin.Correlators()
	}
	sig := cfg.Sigma
	if sig == nil && !cfg.ParseOnly {
		var err error
		if sig, err = LoadSigma(cfg.SigmaPaths, cfg.NoSigmaPack); err != nil {
			return nil, err
		}
	}
	fr := cfg.FileRules
	if fr == nil && !cfg.NoFiles && !cfg.ParseOnly {
		var err error
		if fr, err = LoadFileRules(cfg.YaraPaths, cfg.NoYaraPack, cfg.IOCPaths); err != nil {
			return nil, err
		}
	}
	if cfg.ParseOnly || cfg.NoFiles {
		fr = nil
	}
	if cfg.ParseOnly {
		dets, cors, sig = []*detect.Detector{}, nil, nil
	}
	runner, err := detect.NewRunner(dets)
	if err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	maxPer := cfg.MaxPerDetector
	if maxPer == 0 {
		maxPer = 1000
	}
	var errs []finding.FileError
	if sig != nil {
		for _, e := range append(append([]sigma.RuleError(nil), sig.Report.Invalid...), sig.Report.Unsupported...) {
			errs = append(errs, finding.FileError{Path: e.Path, Message: "Sigma rule not loaded: " + strings.TrimPrefix(e.Error(), e.Path+": ")})
		}
	}
	if fr != nil {
		errs = append(errs, fr.Problems...)
	}
	res := &Result{Document: finding.Document{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "exhunt", Version: Version}, Started: time.Now().UTC(), Roots: cfg.Roots}}

	// Walk first: the item list is small (a path and a size per file) and
	// knowing the total lets the progress bar mean something.
	var items []evidence.Item
	fail := func(path string, err error) {
		errs = append(errs, finding.FileError{Path: path, Message: err.Error()})
		log.Warn("evidence problem", "path", path, "err", err)
	}
	wcfg := evidence.Config{Host: cfg.Host, Full: cfg.Full, Logger: log, Files: fr != nil}
	if fr != nil {
		// Our own rule and indicator files would match themselves.
		wcfg.Exclude = append(append(append(wcfg.Exclude, cfg.YaraPaths...), cfg.SigmaPaths...), cfg.IOCPaths...)
	}
	err = evidence.Walk(ctx, cfg.Roots, wcfg, func(it evidence.Item) error {
		if it.Kind == evidence.KindFile && fr != nil || ParserFor(it.Family) != nil {
			items = append(items, it)
		}
		return nil
	}, fail)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, it := range items {
		total += it.Size
	}
	log.Info("evidence found", "files", len(items), "bytes", total)

	// Workers parse and detect; one collector owns the findings.
	type fileOut struct {
		stat   FileStat
		err    *finding.FileError
		builds []finding.BuildSighting
	}
	findings := make(chan hit, 256)
	stats := make([]fileOut, len(items))
	set := &finding.Set{MaxPerDetector: maxPer}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		corr := newCorrelations(sig)
		for h := range findings {
			set.Add(h.f)
			corr.observe(h, set.Add)
		}
		corr.flush(set.Add)
	}()

	var doneFiles atomic.Int64
	var doneBytes atomic.Int64
	report := func() {
		if cfg.Progress != nil {
			cfg.Progress(Progress{Files: int(doneFiles.Load()), FilesTotal: len(items), Bytes: doneBytes.Load(), BytesTotal: total})
		}
	}
	var pool *scannerPool
	if fr != nil {
		pool = newScannerPool(fr.Engine, workers)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range items {
		it := items[i]
		g.Go(func() error {
			var st FileStat
			var ferr *finding.FileError
			var builds []finding.BuildSighting
			if it.Kind == evidence.KindFile {
				st, ferr = huntFileItem(gctx, it, pool, findings, &doneBytes)
				builds = fileItemBuilds(it)
			} else {
				bt := newBuildTracker(it.Family)
				st, ferr = huntFile(gctx, it, runner, sig, bt, findings, &doneBytes, report)
				builds = bt.finish(st.Last)
			}
			stats[i] = fileOut{stat: st, err: ferr, builds: builds}
			doneFiles.Add(1)
			report()
			if err := gctx.Err(); err != nil {
				return err
			}
			return nil
		})
	}
	werr := g.Wait()
	close(findings)
	<-collected
	if werr != nil {
		return nil, werr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	sightings := map[string][]finding.BuildSighting{}
	for _, s := range stats {
		res.Files = append(res.Files, s.stat)
		if s.err != nil {
			errs = append(errs, *s.err)
		}
		if len(s.builds) > 0 {
			sightings[s.stat.Host] = append(sightings[s.stat.Host], s.builds...)
		}
	}
	fs := set.Sorted()
	for _, c := range cors {
		derived := safeCorrelate(c, fs, func(err error) {
			errs = append(errs, finding.FileError{Path: "(correlator " + c.ID + ")", Message: err.Error()})
		})
		for _, f := range derived {
			set.Add(f)
		}
	}
	res.Findings = set.Sorted()
	// After-pass: an archive in ProgramData matters on a host that shows
	// an intrusion (CSS-Exchange#311: alone it is noise).
	files.Escalate(res.Findings, heuristic.ArchiveID)
	if sup := set.Suppressed(); len(sup) > 0 {
		res.Suppressed = sup
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	res.Errors = errs
	if res.Errors == nil {
		res.Errors = []finding.FileError{}
	}
	res.Inventory = inventory(res.Files)
	res.Hosts = summarise(res)
	builds := mergeBuilds(sightings)
	for i := range res.Hosts {
		res.Hosts[i].Builds = builds[res.Hosts[i].Host]
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

// huntFile parses one file and runs the detectors over it. A panic in a
// parser or a detector is recovered and becomes a file error.
func huntFile(ctx context.Context, it evidence.Item, runner *detect.Runner, sig *SigmaRules, bt *buildTracker, out chan<- hit, done *atomic.Int64, report func()) (st FileStat, ferr *finding.FileError) {
	st = FileStat{Path: it.Path, Host: it.Host, Family: it.Family.String(), Bytes: it.Size}
	fileErr := func(msg string) *finding.FileError {
		return &finding.FileError{Path: it.Path, Message: msg}
	}
	defer func() {
		if v := recover(); v != nil {
			ferr = fileErr(fmt.Sprintf("parser crashed (bug, please report): %v\n%s", v, debug.Stack()))
		}
	}()
	rc, err := it.Open()
	if err != nil {
		return st, fileErr(err.Error())
	}
	defer rc.Close()
	cr := &countingReader{r: rc, done: done, report: report}
	sc := runner.NewScanner()
	var detErr error
	onErr := func(e error) {
		if detErr == nil {
			detErr = e
		}
	}
	var ss *sigma.Scanner
	if sig != nil {
		ss = sig.Engine.NewScanner()
		ss.OnError = onErr
	}
	ps, perr := ParserFor(it.Family)(ctx, cr, parse.Meta{Path: it.Path, Host: it.Host, Source: it.Family}, func(ev *event.Event) error {
		bt.observe(ev)
		sc.Scan(ev, func(d *detect.Detector, h detect.Hit) {
			out <- hit{f: newFinding(d, h, ev)}
		}, onErr)
		if ss != nil {
			ss.Scan(ev, func(r *sigma.Rule, m sigma.Match) {
				f := newSigmaFinding(sig.Advisory(r), m, ev)
				out <- hit{f: f, rule: r, fields: m.Fields}
			})
		}
		return nil
	})
	cr.flush()
	st.Records, st.Malformed, st.First, st.Last = ps.Records, ps.Malformed, ps.First, ps.Last
	switch {
	case perr != nil && ctx.Err() != nil:
		return st, nil // cancelled: the run reports that
	case perr != nil:
		msg := perr.Error()
		if ps.Records > 0 {
			msg = fmt.Sprintf("%s (after %d records; those were checked)", msg, ps.Records)
		}
		return st, fileErr(msg)
	case detErr != nil:
		return st, fileErr(detErr.Error())
	case ps.Records == 0 && ps.Malformed > 0:
		return st, fileErr(fmt.Sprintf("no readable records (%d malformed lines)", ps.Malformed))
	case len(ps.Problems) > 0:
		return st, fileErr(fmt.Sprintf("%d line(s) skipped: %s", ps.Malformed, joinNotes(ps.Problems)))
	}
	return st, nil
}

func joinNotes(n []string) string {
	out := ""
	for i, s := range n {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

func newFinding(d *detect.Detector, h detect.Hit, ev *event.Event) finding.Finding {
	fields := make(map[string]string, len(h.Fields)+2)
	for k, v := range h.Fields {
		fields[k] = v
	}
	if _, ok := fields["client_ip"]; !ok {
		if v := ev.F(event.FClientIP); v != "" && v != "-" {
			fields["client_ip"] = v
		}
	}
	if _, ok := fields["user_agent"]; !ok {
		if v := ev.F(event.FUserAgent); v != "" && v != "-" {
			fields["user_agent"] = v
		}
	}
	t, _ := ev.Time()
	return finding.Finding{
		Advisory: d.Advisory,
		Time:     t,
		Host:     ev.Host,
		Evidence: finding.Evidence{
			Path:    ev.Loc.Path,
			Line:    ev.Loc.Line,
			Record:  ev.Loc.Record,
			Source:  ev.Source.String(),
			Excerpt: ev.Excerpt(),
			Fields:  fields,
		},
	}
}

func safeCorrelate(c *detect.Correlator, fs []finding.Finding, fail func(error)) (out []finding.Finding) {
	defer func() {
		if v := recover(); v != nil {
			fail(fmt.Errorf("panicked: %v", v))
			out = nil
		}
	}()
	return c.Correlate(fs)
}

// countingReader feeds the progress bar without a per-read callback storm.
type countingReader struct {
	r       io.Reader
	done    *atomic.Int64
	pending int64
	report  func()
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pending += int64(n)
	if c.pending >= 8<<20 {
		c.flush()
		c.report()
	}
	return n, err
}

func (c *countingReader) flush() {
	c.done.Add(c.pending)
	c.pending = 0
}

func inventory(files []FileStat) []finding.Inventory {
	idx := map[[2]string]int{}
	var out []finding.Inventory
	for _, f := range files {
		k := [2]string{f.Host, f.Family}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			src, _ := event.ParseSource(f.Family)
			title := src.Title()
			if f.Family == FilesFamily {
				title = filesTitle
			}
			out = append(out, finding.Inventory{Host: f.Host, Family: f.Family, Title: title})
		}
		inv := &out[i]
		inv.Files++
		inv.Bytes += f.Bytes
		inv.Records += f.Records
		inv.Malformed += f.Malformed
		if !f.First.IsZero() && (inv.First.IsZero() || f.First.Before(inv.First)) {
			inv.First = f.First
		}
		if f.Last.After(inv.Last) {
			inv.Last = f.Last
		}
	}
	for i := range out {
		out[i].Gaps = gaps(files, out[i].Host, out[i].Family)
	}
	order := map[string]int{FilesFamily: len(event.Sources())}
	for i, s := range event.Sources() {
		order[s.String()] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return order[out[i].Family] < order[out[j].Family]
	})
	return out
}

// gapMin is the shortest break between files that counts as a gap in a
// family's coverage: hourly logs of quiet nights are not gaps.
const gapMin = 24 * time.Hour

// gaps lists the breaks of more than gapMin between the files of one
// host and family, from the files' own first and last times.
func gaps(files []FileStat, host, family string) []finding.Span {
	var spans []finding.Span
	for _, f := range files {
		if f.Host == host && f.Family == family && !f.First.IsZero() {
			spans = append(spans, finding.Span{Start: f.First, End: f.Last})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start.Before(spans[j].Start) })
	var out []finding.Span
	var end time.Time
	for i, s := range spans {
		if i > 0 && s.Start.Sub(end) > gapMin {
			out = append(out, finding.Span{Start: end, End: s.Start})
		}
		if s.End.After(end) {
			end = s.End
		}
	}
	return out
}

func summarise(res *Result) []finding.HostSummary {
	idx := map[string]int{}
	var out []finding.HostSummary
	add := func(host string) *finding.HostSummary {
		i, ok := idx[host]
		if !ok {
			i = len(out)
			idx[host] = i
			out = append(out, finding.HostSummary{Host: host, Stages: map[finding.Stage]int{}, Severities: map[finding.Severity]int{}})
		}
		return &out[i]
	}
	for _, f := range res.Files {
		add(f.Host)
	}
	for _, f := range res.Findings {
		h := add(f.Host)
		h.Findings++
		h.Stages[f.Stage]++
		h.Severities[f.Severity]++
		// Context-only findings (info) do not raise the headline stage.
		if f.Severity > finding.Info && f.Stage > h.WorstStage {
			h.WorstStage = f.Stage
		}
		if f.Severity > h.WorstSeverity {
			h.WorstSeverity = f.Severity
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
