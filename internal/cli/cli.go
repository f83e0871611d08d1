// Package cli is the command line: flags, output selection and exit codes.
// It is the only code that knows about exit codes; main only calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/exhunt/exhunt/assess"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/hunt"
	"github.com/exhunt/exhunt/report"
)

// Exit codes.
const (
	ExitClean    = 0 // nothing at or above --fail-on
	ExitFindings = 1 // findings at or above --fail-on (or a rules test failed)
	ExitUsage    = 2 // the run could not start: bad arguments, missing path
)

// usageError marks errors that mean "could not start".
type usageError struct{ error }

// Run executes the command line and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	code := ExitClean
	root := &cobra.Command{
		Use:           "exhunt",
		Short:         "Hunt Exchange servers' logs and files for ProxyLogon, ProxyShell, ProxyNotShell and OWASSRF",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(huntCmd(&code, stdout, stderr), assessCmd(&code, stdout, stderr), probeCmd(&code, stdout, stderr), rulesCmd(&code, stdout), versionCmd(stdout))
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "exhunt: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "arg(s)") {
			return ExitUsage
		}
		if ctx.Err() != nil {
			return ExitUsage
		}
		return ExitUsage
	}
	return code
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "exhunt %s\n", hunt.Version)
		},
	}
}

type huntFlags struct {
	format    string
	failOn    string
	output    string
	host      string
	full      bool
	workers   int
	verbose   bool
	noColor   bool
	noProg    bool
	maxPerID  int
	parseOnly bool
	sigma     []string
	noPack    bool
	yara      []string
	noYPack   bool
	ioc       []string
	noFiles   bool
	tlp       string

	// assess only
	failState finding.State     // exit 1 when a verdict is at or above this state
	docIn     *finding.Document // a hunt JSON document given instead of evidence
}

func huntCmd(code *int, stdout, stderr io.Writer) *cobra.Command {
	var f huntFlags
	cmd := &cobra.Command{
		Use:   "hunt PATH...",
		Short: "Find the attack chain in an Exchange server's logs, event logs and files",
		Long: `Hunt reads the IIS and Exchange logs and the Windows event logs (.evtx, or
exported as JSON lines) under each PATH and reports every stage of the
ProxyLogon chain and its successors it finds, with file:line or event record
evidence. Event logs are checked with the embedded Sigma pack and any Sigma
rules given with --sigma. Files where web shells, dumps and tools land
(aspnet_client, owa/ecp auth, OAB, Temporary ASP.NET Files, ProgramData,
Windows\Temp, C:\root, Users\Public, crash reports, applicationHost.config;
everything with --full) are hashed and checked against hash indicators
(embedded, plus --ioc), YARA (the embedded pack, plus --yara) and Exchange
heuristics.

PATH may be a live system root (C:\), a mounted image or copied tree, a folder
of loose logs, a single log file, or a .zip triage bundle (read in place).
Nothing under PATH is ever modified.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 the run could not start.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("hunt needs at least one PATH")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := runHunt(cmd.Context(), args, f, stdout, stderr)
			*code = c
			return err
		},
	}
	addHuntFlags(cmd, &f)
	return cmd
}

// addHuntFlags registers the hunt's flags; assess shares them.
func addHuntFlags(cmd *cobra.Command, f *huntFlags) {
	var names []string
	for _, x := range report.Formats {
		names = append(names, x.Name)
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "text", "output format: "+strings.Join(names, ", "))
	fl.StringVar(&f.failOn, "fail-on", "medium", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of stdout (never inside PATH)")
	fl.StringVar(&f.host, "host", "", "host name to report (default: from the evidence or the PATH name)")
	fl.BoolVar(&f.full, "full", false, "on a system root, walk the whole tree instead of the Exchange, IIS and file places (and scan every file)")
	fl.IntVar(&f.workers, "workers", 0, "files parsed at once (default: number of CPUs)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list every finding in the text report and log progress details to stderr")
	fl.BoolVar(&f.noColor, "no-color", false, "no colour in the text report (also NO_COLOR)")
	fl.BoolVar(&f.noProg, "no-progress", false, "no progress bar on stderr")
	fl.IntVar(&f.maxPerID, "max-per-detector", 1000, "findings kept per detector and host; more are counted (negative: keep all)")
	fl.StringArrayVar(&f.sigma, "sigma", nil, "also run the Sigma rules in this folder or file (repeatable; SigmaHQ rules load unchanged)")
	fl.BoolVar(&f.noPack, "no-sigma-pack", false, "do not run the embedded Sigma pack (Exchange event log rules)")
	fl.StringArrayVar(&f.yara, "yara", nil, "also run the YARA rules in this folder (*.yar, *.yara) or file over the files (repeatable; signature-base rules load unchanged)")
	fl.BoolVar(&f.noYPack, "no-yara-pack", false, "do not run the embedded YARA pack (Exchange web shells)")
	fl.StringArrayVar(&f.ioc, "ioc", nil, "also match file hashes against this list: MD5, SHA-1 or SHA-256, one per line, optional ;comment (signature-base hash-iocs.txt loads unchanged; hashes only) (repeatable)")
	fl.BoolVar(&f.noFiles, "no-files", false, "read logs and event logs only: do not scan files for web shells, dumps and tools")
	fl.StringVar(&f.tlp, "tlp", "", "Traffic Light Protocol marking for sharing the report: clear, green, amber, amber+strict, red (written into html, json and stix output)")
	fl.BoolVar(&f.parseOnly, "parse-only", false, "read and count the evidence without running any rule (benchmark floor)")
	_ = fl.MarkHidden("parse-only")
}

func runHunt(ctx context.Context, roots []string, f huntFlags, stdout, stderr io.Writer) (int, error) {
	format, err := report.Lookup(f.format)
	if err != nil {
		return ExitUsage, usageError{err}
	}
	failOn, err := finding.ParseSeverity(f.failOn)
	if err != nil {
		return ExitUsage, usageError{fmt.Errorf("--fail-on: %w", err)}
	}
	tlp, err := finding.ParseTLP(f.tlp)
	if err != nil {
		return ExitUsage, usageError{fmt.Errorf("--tlp: %w", err)}
	}
	var out io.Writer = stdout
	if f.output != "" {
		if err := outsideRoots(f.output, roots); err != nil {
			return ExitUsage, usageError{err}
		}
		file, err := os.Create(f.output)
		if err != nil {
			return ExitUsage, usageError{err}
		}
		defer file.Close()
		out = file
	}
	level := slog.LevelError + 1 // silent: errors are printed once, after the run
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := hunt.Config{Roots: roots, Host: f.host, Full: f.full, Workers: f.workers, MaxPerDetector: f.maxPerID, Logger: logger, ParseOnly: f.parseOnly, SigmaPaths: f.sigma, NoSigmaPack: f.noPack,
		NoFiles: f.noFiles, YaraPaths: f.yara, NoYaraPack: f.noYPack, IOCPaths: f.ioc}
	var bar *progressbar.ProgressBar
	if !f.noProg && isTerminal(stderr) {
		bar = newBar(stderr)
		cfg.Progress = func(p hunt.Progress) {
			if p.BytesTotal > 0 {
				bar.ChangeMax64(p.BytesTotal)
			}
			_ = bar.Set64(p.Bytes)
		}
	}
	start := time.Now()
	var doc *finding.Document
	if f.docIn != nil {
		// A document written earlier by hunt --format json: re-assessed
		// offline, no evidence is read.
		doc = f.docIn
	} else {
		res, err := hunt.Run(ctx, cfg)
		if bar != nil {
			_ = bar.Finish()
			_ = bar.Clear()
		}
		if err != nil {
			return ExitUsage, usageError{err}
		}
		doc = &res.Document
	}
	doc.TLP = tlp
	for _, e := range doc.Errors {
		fmt.Fprintf(stderr, "exhunt: %s: %s\n", e.Path, firstLine(e.Message))
	}
	if !f.parseOnly {
		assess.Assess(doc, assess.Options{Now: time.Now()})
	}
	opt := report.Options{
		Color:   f.output == "" && !f.noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout),
		Verbose: f.verbose,
		Elapsed: time.Since(start).Round(time.Millisecond).String(),
	}
	if err := format.Write(out, doc, opt); err != nil {
		return ExitUsage, fmt.Errorf("writing the report: %w", err)
	}
	return exitFor(doc, failOn, f.failState), nil
}

// exitFor is the exit code of a hunt or assessment: findings at or above
// failOn, or (when set) a host whose verdict state is at or above
// failState.
func exitFor(doc *finding.Document, failOn finding.Severity, failState finding.State) int {
	for _, fd := range doc.Findings {
		if fd.Severity >= failOn {
			return ExitFindings
		}
	}
	if failState != "" {
		for _, h := range doc.Hosts {
			if h.Verdict != nil && stateAtLeast(h.Verdict.State, failState) {
				return ExitFindings
			}
		}
	}
	return ExitClean
}

// outsideRoots refuses an output file inside the evidence: exhunt never
// writes under PATH.
func outsideRoots(out string, roots []string) error {
	o, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, r := range roots {
		a, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		if o == a || strings.HasPrefix(strings.ToLower(o), strings.ToLower(a+string(filepath.Separator))) {
			return fmt.Errorf("--output %s is inside the evidence path %s; exhunt never writes there", out, r)
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("hunting"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
