package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/exhunt/exhunt/probe"
)

// ExitInterrupted is the exit code of a probe run stopped by SIGINT or
// SIGTERM (128 + SIGINT, as shells report it).
const ExitInterrupted = 130

type probeFlags struct {
	inputs      []string
	ports       string
	workers     int
	rate        float64
	perIP       int
	perIPRate   float64
	connectTO   time.Duration
	requestTO   time.Duration
	hostTO      time.Duration
	silenceTO   time.Duration
	maxFailures int
	active      bool
	allow       []string
	deny        []string
	output      string
	summary     string
	summaryFmt  string
	resume      string
	userAgent   string
	noProgress  bool
	failOn      string
	verbose     bool
}

func probeCmd(code *int, stdout, stderr io.Writer) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe TARGET...",
		Short: "Find Exchange servers exposed to ProxyLogon, ProxyShell, ProxyNotShell and OWASSRF over the network",
		Long: `Probe reads each target's Exchange build with a few public GET requests
(/owa/, /EWS/Exchange.asmx, the export-tool manifest, the OWA logon page;
it stops as soon as a four-part build is read) and gives a verdict per
family: vulnerable, potentially vulnerable (the CU is known, the security
update is not), not vulnerable, or unknown. --active adds Microsoft's own
non-destructive CVE-2021-26855 check (one GET of /owa/auth/x.js with three
cookies) and a ProxyNotShell mitigation check. No credentials, no request
bodies, no writes. docs/probe.md lists every request.

TARGETs (arguments, -i FILE, or - for stdin, one per line): 192.0.2.1,
192.0.2.0/24, 192.0.2.1-192.0.2.9, 192.0.2.1-9, host:port, [v6]:port,
https://host:port/ (the scheme forces TLS or plain HTTP). Only loopback is
allowed unless --allow names the networks to scan.

Output: one JSON line per host (-o FILE, default stdout) and a summary
(stderr, or --summary FILE).

Exit codes: 0 no host vulnerable, 1 a host vulnerable (or potentially, with
--fail-on potentially), 2 usage error, 130 interrupted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := runProbe(cmd.Context(), args, f, stdout, stderr)
			*code = c
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "read targets from this file, one per line ('-' for stdin; repeatable)")
	fl.StringVarP(&f.ports, "ports", "p", "443", "ports for targets that name none, comma-separated")
	fl.IntVarP(&f.workers, "concurrency", "c", 500, "hosts probed at once")
	fl.Float64Var(&f.rate, "rate", 0, "requests per second over all hosts (0: unlimited)")
	fl.IntVar(&f.perIP, "per-ip", 2, "connections open to one IP at once")
	fl.Float64Var(&f.perIPRate, "per-ip-rate", 20, "requests per second to one IP (0: unlimited)")
	fl.DurationVar(&f.connectTO, "connect-timeout", 5*time.Second, "TCP connect time-out")
	fl.DurationVar(&f.requestTO, "timeout", 8*time.Second, "time-out of one request (TLS handshake, headers and body)")
	fl.DurationVar(&f.hostTO, "host-timeout", 30*time.Second, "deadline for everything sent to one host")
	fl.DurationVar(&f.silenceTO, "silence-timeout", 4*time.Second, "give a host up at once when it accepts the connection but sends no byte for this long (tarpit)")
	fl.IntVar(&f.maxFailures, "max-failures", 2, "give a host up after this many network failures in a row (time-outs count)")
	fl.BoolVar(&f.active, "active", false, "also send Microsoft's CVE-2021-26855 x.js check and the ProxyNotShell mitigation check")
	fl.StringArrayVar(&f.allow, "allow", nil, "scan only inside this CIDR or address (repeatable; default: 127.0.0.0/8 and ::1 only)")
	fl.StringArrayVar(&f.deny, "deny", nil, "never contact this CIDR or address (repeatable; wins over --allow)")
	fl.StringVarP(&f.output, "output", "o", "", "write the JSONL results to this file instead of stdout")
	fl.StringVar(&f.summary, "summary", "", "write the summary to this file instead of stderr")
	fl.StringVar(&f.summaryFmt, "summary-format", "text", "summary format: "+strings.Join(probe.SummaryFormats, ", "))
	fl.StringVar(&f.resume, "resume", "", "record progress in this file and skip what it says is done (same inputs required)")
	fl.StringVar(&f.userAgent, "user-agent", probe.DefaultUserAgent, "User-Agent header of every request")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no progress line on stderr")
	fl.StringVar(&f.failOn, "fail-on", "vulnerable", "exit 1 when a host is at least: vulnerable, potentially")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log details to stderr")
	return cmd
}

func runProbe(ctx context.Context, args []string, f probeFlags, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 && len(f.inputs) == 0 {
		return ExitUsage, usageError{errors.New("probe needs targets: arguments, -i FILE or -i - for stdin")}
	}
	if f.failOn != "vulnerable" && f.failOn != "potentially" {
		return ExitUsage, usageError{fmt.Errorf("--fail-on %q: want vulnerable or potentially", f.failOn)}
	}
	if !slices.Contains(probe.SummaryFormats, f.summaryFmt) {
		return ExitUsage, usageError{fmt.Errorf("--summary-format %q: want one of %s", f.summaryFmt, strings.Join(probe.SummaryFormats, ", "))}
	}
	ports, err := parsePorts(f.ports)
	if err != nil {
		return ExitUsage, usageError{err}
	}
	allow, err := parsePrefixes("--allow", f.allow)
	if err != nil {
		return ExitUsage, usageError{err}
	}
	deny, err := parsePrefixes("--deny", f.deny)
	if err != nil {
		return ExitUsage, usageError{err}
	}
	if f.workers < 1 || f.perIP < 1 || f.maxFailures < 1 || f.rate < 0 || f.perIPRate < 0 ||
		f.connectTO <= 0 || f.requestTO <= 0 || f.hostTO <= 0 || f.silenceTO <= 0 {
		return ExitUsage, usageError{errors.New("-c, --per-ip and --max-failures must be at least 1; rates must not be negative; time-outs must be positive")}
	}

	var inputs []probe.Input
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	desc := []string{"ports=" + f.ports}
	stdinUsed := false
	var argSpecs []string
	for _, a := range args {
		if a == "-" {
			stdinUsed = true
			continue
		}
		argSpecs = append(argSpecs, a)
	}
	if len(argSpecs) > 0 {
		inputs = append(inputs, probe.Input{Name: "arg", Args: argSpecs})
		desc = append(desc, "args="+strings.Join(argSpecs, " "))
	}
	for _, name := range f.inputs {
		if name == "-" {
			stdinUsed = true
			continue
		}
		file, err := os.Open(name)
		if err != nil {
			return ExitUsage, usageError{err}
		}
		closers = append(closers, file)
		inputs = append(inputs, probe.Input{Name: name, Reader: file})
		desc = append(desc, "file="+name)
	}
	if stdinUsed {
		inputs = append(inputs, probe.Input{Name: "-", Reader: os.Stdin})
		desc = append(desc, "stdin")
	}

	var out io.Writer = stdout
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return ExitUsage, usageError{err}
		}
		closers = append(closers, file)
		out = file
	}
	level := slog.LevelError + 1
	if f.verbose {
		level = slog.LevelDebug
	}
	cfg := probe.Config{
		Workers: f.workers, Rate: f.rate, PerIPConns: f.perIP, PerIPRate: f.perIPRate,
		ConnectTimeout: f.connectTO, RequestTimeout: f.requestTO, HostTimeout: f.hostTO, SilenceTimeout: f.silenceTO,
		MaxFailures: f.maxFailures, Active: f.active, Allow: allow, Deny: deny,
		UserAgent: f.userAgent, Ports: ports,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if f.perIPRate == 0 {
		cfg.PerIPRate = -1
	}
	if f.resume != "" {
		rs, err := probe.OpenResume(f.resume, strings.Join(desc, "; "))
		if err != nil {
			return ExitUsage, usageError{err}
		}
		cfg.Resume = rs
	}
	progress := !f.noProgress && isTerminal(stderr)
	if progress {
		cfg.Progress = func(p probe.Progress) {
			total := "?"
			if p.Total >= 0 {
				total = strconv.FormatInt(p.Total, 10)
			}
			rate := 0.0
			if s := p.Elapsed.Seconds(); s > 0 {
				rate = float64(p.Done) / s
			}
			fmt.Fprintf(stderr, "\rprobe: %d/%s hosts, %.0f hosts/s, %d vulnerable   ", p.Done, total, rate, p.Vulnerable)
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, runErr := probe.Run(ctx, cfg, inputs, out)
	if progress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	// The summary is written even after an error or an interrupt: it is
	// what the partial run found.
	sw := stderr
	if f.summary != "" {
		file, err := os.Create(f.summary)
		if err != nil {
			fmt.Fprintf(stderr, "exhunt: --summary: %v\n", err)
		} else {
			closers = append(closers, file)
			sw = file
		}
	}
	if sum != nil {
		if err := probe.WriteSummary(sw, sum, f.summaryFmt); err != nil {
			fmt.Fprintf(stderr, "exhunt: writing the summary: %v\n", err)
		}
	}
	if runErr != nil {
		return ExitUsage, runErr
	}
	switch {
	case sum.Interrupted:
		return ExitInterrupted, nil
	case sum.VulnerableHosts > 0, f.failOn == "potentially" && sum.PotentiallyHosts > 0:
		return ExitFindings, nil
	}
	return ExitClean, nil
}

func parsePorts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("-p: bad port %q", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parsePrefixes reads CIDRs or single addresses; nil when none is given
// (the engine's default then applies).
func parsePrefixes(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%s %q: not a CIDR or address", flag, s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out, nil
}
