package sim

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultPerProcess is how many hosts one process serves. Each host holds
// a listening socket, and this machine's open-file limit is 20,000 and
// cannot be raised, so 8,000 listeners leave room for the probe's
// connections and the held tarpit ones (docs/sim.md).
const DefaultPerProcess = 8000

// Main is the exhunt-sim command: args without the program name, the
// exit code as result. It serves until ctx is done.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exhunt-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      Config
		base     = fs.String("base", "127.1.0.1", "first host address (must be in 127.0.0.0/8)")
		truth    = fs.String("truth", "", "write the ground truth (JSON lines, one per host) to this file")
		targets  = fs.String("targets", "", "write the target list (one ip:port per line) to this file")
		per      = fs.Int("per-process", DefaultPerProcess, "hosts served per process; more are served by child processes")
		verbose  = fs.Bool("v", false, "log debug messages")
		child    = fs.Bool("child", false, "internal: serve one shard for a parent exhunt-sim")
		noServe  = fs.Bool("generate-only", false, "write -truth and -targets, do not serve")
		pnsPatch = fs.Int("pns-patched-status", 400, "status a Nov22SU-patched host gives the ProxyNotShell heuristic URL (unverified)")
	)
	fs.IntVar(&cfg.Hosts, "n", 1000, "number of hosts")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed: the same seed gives the same fleet")
	fs.StringVar(&cfg.Scenario, "scenario", "mixed", "preset: "+strings.Join(Scenarios(), ", "))
	fs.Float64Var(&cfg.Tarpit, "tarpit", -1, "fraction of hosts that accept and never answer; -1 = the scenario's default")
	fs.BoolVar(&cfg.Faults, "faults", false, "add resets, slow drips, huge bodies, TLS 1.0-only, expired certificates, intermittent 5xx, front-end pools, latency")
	fs.IntVar(&cfg.Port, "port", 18443, "port of every host")
	fs.IntVar(&cfg.First, "first", 0, "internal: first host of this shard")
	fs.IntVar(&cfg.Count, "count", 0, "internal: hosts in this shard (0 = all)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	b, err := netip.ParseAddr(*base)
	if err != nil {
		fmt.Fprintln(stderr, "exhunt-sim: -base:", err)
		return 2
	}
	cfg.Base = b
	cfg.PNSPatchedStatus = *pnsPatch
	if err := run(ctx, cfg, *truth, *targets, *per, *child, *noServe, stdout, stderr, logger); err != nil {
		fmt.Fprintln(stderr, "exhunt-sim:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, cfg Config, truth, targets string, per int, child, noServe bool, stdout, stderr io.Writer, logger *slog.Logger) error {
	if child {
		return serveChild(ctx, cfg, stdout, logger)
	}
	all := cfg
	all.First, all.Count = 0, 0
	hosts, err := Generate(all)
	if err != nil {
		return err
	}
	if err := writeFile(truth, func(w io.Writer) error { return WriteTruth(w, hosts) }); err != nil {
		return err
	}
	if err := writeFile(targets, func(w io.Writer) error { return WriteTargets(w, hosts) }); err != nil {
		return err
	}
	if noServe {
		return nil
	}
	if per <= 0 {
		return fmt.Errorf("-per-process %d: want at least one host", per)
	}
	if cfg.Hosts <= per {
		f, err := Start(ctx, all, logger)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ready %d hosts\n", len(f.Hosts()))
		<-ctx.Done()
		return f.Close()
	}
	return serveShards(ctx, cfg, per, stdout, stderr, logger)
}

// serveChild serves one shard and stops when its parent closes stdin (so
// a parent killed outright leaves no orphans) or on a signal.
func serveChild(ctx context.Context, cfg Config, stdout io.Writer, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	f, err := Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready %d hosts\n", len(f.Hosts()))
	<-ctx.Done()
	return f.Close()
}

// serveShards re-executes this program once per shard of per hosts,
// waits for every child's ready line, then prints its own. A child that
// dies takes the fleet down; on exit the children get an interrupt, then
// a kill.
func serveShards(ctx context.Context, cfg Config, per int, stdout, stderr io.Writer, logger *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		shard int
		err   error
	}
	ready := make(chan int)
	exited := make(chan result)
	var cmds []*exec.Cmd
	var stdins []io.Closer
	defer func() {
		for _, in := range stdins {
			_ = in.Close()
		}
	}()
	for first := 0; first < cfg.Hosts; first += per {
		count := min(per, cfg.Hosts-first)
		args := []string{"-child", "-n", strconv.Itoa(cfg.Hosts), "-seed", strconv.FormatInt(cfg.Seed, 10),
			"-scenario", cfg.Scenario, "-tarpit", strconv.FormatFloat(cfg.Tarpit, 'g', -1, 64),
			"-base", cfg.Base.String(), "-port", strconv.Itoa(cfg.Port),
			"-first", strconv.Itoa(first), "-count", strconv.Itoa(count),
			"-pns-patched-status", strconv.Itoa(cfg.PNSPatchedStatus)}
		if cfg.Faults {
			args = append(args, "-faults")
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Cancel = func() error {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				return cmd.Process.Kill() // no interrupts on Windows
			}
			return nil
		}
		cmd.WaitDelay = 5 * time.Second
		cmd.Stderr = stderr
		in, err := cmd.StdinPipe() // closed when we exit: the child's cue to stop
		if err != nil {
			return err
		}
		stdins = append(stdins, in)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("shard at host %d: %w", first, err)
		}
		cmds = append(cmds, cmd)
		shard := len(cmds) - 1
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "ready ") {
					select {
					case ready <- shard:
					case <-ctx.Done():
					}
				}
			}
			exited <- result{shard, cmd.Wait()}
		}()
		logger.Info("shard started", "shard", shard, "first", first, "count", count, "pid", cmd.Process.Pid)
	}
	waitAll := func() {
		for _, in := range stdins {
			_ = in.Close()
		}
		cancel()
		for range cmds {
			<-exited
		}
	}
	for n := 0; n < len(cmds); {
		select {
		case <-ready:
			n++
		case r := <-exited:
			cancel()
			for range cmds[1:] {
				<-exited
			}
			return fmt.Errorf("shard %d exited before it was ready: %v", r.shard, r.err)
		case <-ctx.Done():
			waitAll()
			return nil
		}
	}
	fmt.Fprintf(stdout, "ready %d hosts\n", cfg.Hosts)
	select {
	case <-ctx.Done():
		waitAll()
		return nil
	case r := <-exited:
		cancel()
		for range cmds[1:] {
			<-exited
		}
		return fmt.Errorf("shard %d exited: %v", r.shard, r.err)
	}
}

func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
