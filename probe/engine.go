// Package probe is exhunt's exposure scanner: it finds out which hosts
// run an Exchange build open to ProxyLogon, ProxyShell, ProxyNotShell or
// OWASSRF, from the outside, with a few public GET requests per host
// (exposure.md §4.3; docs/probe.md lists every request).
//
// The engine streams targets (a 30-million-line input is never held in
// memory) into a bounded pool of workers; each worker runs the per-host
// plan over one keep-alive connection and hands one Result per host to a
// single writer, which writes JSONL in completion order, keeps the summary
// and the resume state. A global token bucket, a per-IP cap on connections
// and requests, connect/request/host deadlines, body caps and a skip after
// consecutive failures (time-outs counted) keep tarpits and hostile
// servers from stalling a run. The library is silent: it logs through the
// injected *slog.Logger only.
package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Config sets the engine's limits. Zero values take the defaults.
type Config struct {
	Workers        int           // hosts probed at once (default 500)
	Rate           float64       // requests per second over all hosts; 0 = unlimited
	PerIPConns     int           // connections open to one IP at once (default 2)
	PerIPRate      float64       // requests per second to one IP (default 20); negative = unlimited
	ConnectTimeout time.Duration // TCP connect (default 5 s)
	RequestTimeout time.Duration // one request: handshake, write, headers and body (default 8 s)
	HostTimeout    time.Duration // everything for one host (default 30 s)
	// SilenceTimeout bounds the wait for a host's very first byte (the TLS
	// handshake, or the first HTTP answer) after TCP accepted: a host
	// silent that long is given up at once as a tarpit (default 4 s).
	SilenceTimeout time.Duration
	MaxFailures    int           // network failures in a row, time-outs counted, before a host is given up (default 2)
	Grace          time.Duration // after the run is cancelled, how long hosts in flight may finish (default 2 s)
	Active         bool          // send Microsoft's x.js check and the ProxyNotShell mitigation check
	Allow          []netip.Prefix
	Deny           []netip.Prefix
	UserAgent      string
	Ports          []int // for targets without a port (default 443)

	Logger   *slog.Logger
	Now      func() time.Time
	Resume   *Resume        // skip what a previous run finished, and record progress
	OnResult func(*Result)  // called by the writer for each result, after it is written
	Progress func(Progress) // called about once a second
	OnBad    func(BadLine)  // bad input lines (also counted in the summary)
}

// DefaultUserAgent names the tool honestly so that a server's owner can
// tell who knocked.
const DefaultUserAgent = "exhunt-probe/1 (Exchange exposure check; +https://github.com/exhunt/exhunt/blob/main/docs/probe.md)"

// Loopback is the default allow list: nothing else is contacted unless the
// user names it with --allow.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 500
	}
	if c.PerIPConns <= 0 {
		c.PerIPConns = 2
	}
	if c.PerIPRate == 0 {
		c.PerIPRate = 20
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 8 * time.Second
	}
	if c.HostTimeout <= 0 {
		c.HostTimeout = 30 * time.Second
	}
	if c.SilenceTimeout <= 0 {
		c.SilenceTimeout = 4 * time.Second
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 2
	}
	if c.Grace <= 0 {
		c.Grace = 2 * time.Second
	}
	if c.Allow == nil {
		c.Allow = Loopback
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Progress is the state of a run for a progress line.
type Progress struct {
	Done       int64
	Total      int64 // -1 until the input is read to its end
	Vulnerable int64
	Elapsed    time.Duration
}

type engine struct {
	cfg    Config
	tls    *tls.Config
	global *rate.Limiter
	res    *resolver

	mu  sync.Mutex
	ips map[netip.Addr]*ipLimit
}

// ipLimit caps connections and requests to one IP, whatever the number of
// targets (ports, names) that share it.
type ipLimit struct {
	sem  chan struct{}
	lim  *rate.Limiter
	refs int
}

func (l *ipLimit) acquire(ctx context.Context) (func(), error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-l.sem }) }, nil
}

func (e *engine) ipGet(a netip.Addr) *ipLimit {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.ips[a]
	if l == nil {
		l = &ipLimit{sem: make(chan struct{}, e.cfg.PerIPConns)}
		if e.cfg.PerIPRate > 0 {
			l.lim = rate.NewLimiter(rate.Limit(e.cfg.PerIPRate), 1)
		}
		e.ips[a] = l
	}
	l.refs++
	return l
}

func (e *engine) ipPut(a netip.Addr, l *ipLimit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(e.ips, a)
	}
}

// wait takes a token from the global bucket and the IP's bucket.
func (e *engine) wait(ctx context.Context, l *ipLimit) error {
	if e.global != nil {
		if err := e.global.Wait(ctx); err != nil {
			return waitErr(ctx, err)
		}
	}
	if l != nil && l.lim != nil {
		if err := l.lim.Wait(ctx); err != nil {
			return waitErr(ctx, err)
		}
	}
	return nil
}

func waitErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &netError{Kind: errInterrupted, Err: errors.New("run interrupted")}
	}
	return &netError{Kind: errTimeout, Err: fmt.Errorf("host deadline reached while rate-limited: %v", err)}
}

func newEngine(cfg Config) *engine {
	e := &engine{cfg: cfg, ips: map[netip.Addr]*ipLimit{}, res: newResolver(16)}
	if cfg.Rate > 0 {
		e.global = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/20)))
	}
	// Verification off (self-signed and expired certificates are the rule
	// on Exchange, §1.4), TLS 1.0 allowed for 2013-era servers, and the
	// RSA key-exchange suites Go leaves out by default listed explicitly:
	// Windows Server 2012 hosts may offer nothing else.
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	e.tls = &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // a scanner reads the build; it never trusts the server
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       suites,
		ClientSessionCache: tls.NewLRUClientSessionCache(4096),
		// Classical groups only: Exchange's Schannel offers no post-quantum
		// hybrid, and Go's default X25519MLKEM768 key share would cost an
		// ML-KEM key generation (and a 1 KB larger hello) on every host.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
	}
	return e
}

// Run probes every target of inputs and writes one JSONL line per host to
// out. It returns the summary; when ctx is cancelled it stops feeding,
// lets hosts in flight finish within cfg.Grace (then cuts them off with
// their partial result), writes what it has and returns the partial
// summary with Interrupted set.
func Run(ctx context.Context, cfg Config, inputs []Input, out io.Writer) (*Summary, error) {
	cfg.defaults()
	e := newEngine(cfg)
	start := time.Now()
	sum := newSummary(cfg.Now())

	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(cfg.Grace, cancelHard)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stopGrace()

	jobs := make(chan Target, cfg.Workers)
	results := make(chan *Result, cfg.Workers)
	var total atomic.Int64
	total.Store(-1)
	var feedErr error
	var bad []BadLine
	var badMu sync.Mutex
	go func() {
		defer close(jobs)
		var n int64
		err := Targets(ctx, inputs, cfg.Ports, func(t Target) bool {
			if cfg.Resume != nil && cfg.Resume.Done(t.Index) {
				sum.resumed(t.Index)
				return true
			}
			select {
			case jobs <- t:
				n++
				return true
			case <-ctx.Done():
				return false
			}
		}, func(b BadLine) {
			badMu.Lock()
			bad = append(bad, b)
			if len(bad) > 1000 {
				bad = bad[1:]
			}
			badMu.Unlock()
			sum.badLine()
			if cfg.OnBad != nil {
				cfg.OnBad(b)
			}
			cfg.Logger.Debug("bad target", "source", b.Source, "line", b.Line, "reason", b.Reason)
		})
		if err != nil && ctx.Err() == nil {
			feedErr = err
		}
		if ctx.Err() == nil {
			total.Store(n)
		}
	}()

	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{e: e}
			for t := range jobs {
				if ctx.Err() != nil {
					continue // drain: hosts not started are left to a resumed run
				}
				results <- w.probe(hard, t)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	werr := e.write(out, results, sum, start, &total)
	sum.finish(time.Now(), time.Since(start))
	sum.Interrupted = ctx.Err() != nil
	badMu.Lock()
	sum.BadLines = bad
	badMu.Unlock()
	if cfg.Resume != nil {
		if err := cfg.Resume.Save(); err != nil && werr == nil {
			werr = fmt.Errorf("resume file: %w", err)
		}
	}
	if werr != nil {
		return sum, werr
	}
	return sum, feedErr
}

// write is the single owner of the output: JSONL lines in completion
// order through a buffer flushed every second, the summary, the resume
// state (saved only after the lines it covers are flushed) and progress.
func (e *engine) write(out io.Writer, results <-chan *Result, sum *Summary, start time.Time, total *atomic.Int64) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var werr error
	flush := func() {
		if err := bw.Flush(); err != nil && werr == nil {
			werr = err
		}
		if werr == nil && e.cfg.Resume != nil {
			if err := e.cfg.Resume.Save(); err != nil {
				e.cfg.Logger.Warn("resume file", "err", err)
			}
		}
		if e.cfg.Progress != nil {
			e.cfg.Progress(Progress{Done: sum.Hosts, Total: total.Load(), Vulnerable: sum.VulnerableHosts, Elapsed: time.Since(start)})
		}
	}
	for {
		select {
		case r, ok := <-results:
			if !ok {
				flush()
				return werr
			}
			if werr == nil {
				if err := enc.Encode(r); err != nil {
					werr = err
				}
			}
			sum.add(r)
			if e.cfg.Resume != nil && r.done {
				e.cfg.Resume.Mark(r.Index)
			}
			if e.cfg.OnResult != nil {
				e.cfg.OnResult(r)
			}
		case <-tick.C:
			flush()
		}
	}
}

// worker probes hosts one after the other, reusing its buffers.
type worker struct {
	e *engine
	s session
}

func (w *worker) probe(ctx context.Context, t Target) *Result {
	cfg := &w.e.cfg
	res := &Result{Target: t.Spec, Index: t.Index, Port: t.Port, Scheme: t.Scheme}
	res.Start = cfg.Now().UTC()
	defer func() {
		res.End = cfg.Now().UTC()
		res.DurationMS = res.End.Sub(res.Start).Milliseconds()
	}()
	if t.Host != "" {
		res.Names = []string{t.Host}
	}
	hctx, cancel := context.WithTimeout(ctx, cfg.HostTimeout)
	defer cancel()
	if !t.Addr.IsValid() {
		a, err := w.e.res.resolve(hctx, t.Host)
		if err != nil {
			res.Status, res.Reason, res.done = StatusSkipped, "could not resolve "+t.Host, ctx.Err() == nil
			res.Errors = []Error{{Request: "dns", Kind: errDNS, Message: clip(err.Error(), 200)}}
			res.Exchange, res.BuildPrecision, res.Families = ExchangeUnknown, PrecisionNone, unknownFamilies("not probed")
			res.Mitigations = Mitigations{MitUnknown, MitUnknown, MitUnknown}
			return res
		}
		t.Addr = a
	}
	res.IP = t.Addr.String()
	if why := w.e.refuse(t.Addr); why != "" {
		res.Status, res.Reason, res.done = StatusSkipped, why, true
		if why == notAllowed {
			res.Status = StatusNotAllowed
		}
		res.Exchange, res.BuildPrecision, res.Families = ExchangeUnknown, PrecisionNone, unknownFamilies("not probed: "+why)
		res.Mitigations = Mitigations{MitUnknown, MitUnknown, MitUnknown}
		return res
	}
	ipl := w.e.ipGet(t.Addr)
	defer w.e.ipPut(t.Addr, ipl)
	w.s.reset(w.e, t, ipl)
	defer w.s.close()
	ev := &evidence{target: t.Addr.String()}
	if t.Host != "" {
		ev.target = t.Host
	}
	h := hostRun{s: &w.s, ev: ev, res: res}
	h.run(hctx, cfg.Active)
	if len(w.s.names) > 0 {
		for _, n := range w.s.names {
			if !has(res.Names, n) {
				res.Names = append(res.Names, n)
			}
		}
	}
	res.Requests = w.s.request
	if res.Scheme == "" {
		res.Scheme = w.s.scheme
	}
	assess(res, ev, cfg.Active, cfg.Now())
	res.Status = hostStatus(ev.answered, res.Errors)
	// A host cut off by the end of the grace period keeps its partial
	// result but is not done: a resumed run probes it again.
	interrupted := res.GaveUp == "run interrupted"
	if interrupted && res.Status != StatusOK {
		res.Status = StatusInterrupted
	}
	res.done = !interrupted
	return res
}

const notAllowed = "outside the allow list (name it with --allow to scan it)"

// refuse says why an address must not be contacted, or "".
func (e *engine) refuse(a netip.Addr) string {
	for _, p := range e.cfg.Deny {
		if p.Contains(a) {
			return "on the deny list (" + p.String() + ")"
		}
	}
	for _, p := range e.cfg.Allow {
		if p.Contains(a) {
			return ""
		}
	}
	return notAllowed
}

// hostStatus is an answered host's "ok", else the kind of its first
// failure (the first is the cause; later ones follow from it).
func hostStatus(answered bool, errs []Error) string {
	if answered {
		return StatusOK
	}
	if len(errs) == 0 {
		return StatusTimeout
	}
	switch errs[0].Kind {
	case errRefused:
		return StatusRefused
	case errReset:
		return StatusReset
	case errTLS:
		return StatusTLSError
	case errHTTP:
		return StatusHTTPError
	case errInterrupted:
		return StatusInterrupted
	case errConnect:
		return StatusRefused
	}
	return StatusTimeout
}
