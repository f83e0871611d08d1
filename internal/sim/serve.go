package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Fleet is a running fleet: one listener per host of [First, First+Count)
// and one shared HTTP server.
type Fleet struct {
	cfg   Config
	w     *world
	log   *slog.Logger
	hosts []Host
	state []hostState // by index - cfg.First
	srv   *http.Server
	tls   map[string]*tls.Config
	lns   []net.Listener
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	held     sync.Mutex // tarpit connections held open
	heldConn map[net.Conn]struct{}
	heldFree *sync.Cond

	accepted, resets, aborts, tarpitted atomic.Int64
}

// hostState is the little a served host keeps: its profile, its two
// views (a pool alternates them) and counters.
type hostState struct {
	h      *Host
	views  [2]view
	n      atomic.Uint64 // requests answered, for pools, intermittent faults and latency jitter
	byPath [numPaths]atomic.Int64
	conns  atomic.Int64
}

// Start listens on every host address of [First, First+Count) and serves
// until Close or until ctx is done.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Fleet, error) {
	cfg, w, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Fleet{cfg: cfg, w: w, log: logger, done: make(chan struct{}), heldConn: map[net.Conn]struct{}{}}
	f.heldFree = sync.NewCond(&f.held)
	f.hosts = make([]Host, 0, cfg.Count)
	for i := cfg.First; i < cfg.First+cfg.Count; i++ {
		f.hosts = append(f.hosts, w.host(cfg, i))
	}
	f.state = make([]hostState, len(f.hosts))
	for k := range f.hosts {
		st := &f.state[k]
		st.h = &f.hosts[k]
		st.views[0] = w.view(st.h.Profile, 0)
		st.views[1] = w.view(st.h.Profile, 1)
	}
	if f.tls, err = tlsConfigs(); err != nil {
		return nil, err
	}
	f.srv = &http.Server{
		Handler:           http.HandlerFunc(f.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake noise from probes is expected
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, hostKey{}, f.stateOf(c.LocalAddr()))
		},
	}
	var lc net.ListenConfig
	for k := range f.state {
		st := &f.state[k]
		if st.h.Profile.Kind == "closed" {
			continue // connection refused
		}
		ln, err := lc.Listen(ctx, "tcp", st.h.Addr.String())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sim: host %d: %w (each host holds one file descriptor; see docs/sim.md on sharding)", st.h.Index, err)
		}
		f.lns = append(f.lns, ln)
		f.wg.Add(1)
		switch st.h.Profile.Pathology {
		case "tarpit":
			go f.tarpit(ln, st)
		case "reset":
			go f.reset(ln, st)
		default:
			go f.serve(&hostListener{Listener: ln, f: f, st: st})
		}
	}
	go func() {
		select {
		case <-ctx.Done():
			f.Close()
		case <-f.done:
		}
	}()
	f.log.Info("fleet up", "hosts", len(f.hosts), "listeners", len(f.lns), "first", cfg.First, "scenario", cfg.Scenario)
	return f, nil
}

type hostKey struct{}

// stateOf maps a connection's local address back to its host.
func (f *Fleet) stateOf(a net.Addr) *hostState {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return nil
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return nil
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return nil
	}
	k := int(base4(ip)-base4(f.cfg.Base)) - f.cfg.First
	if k < 0 || k >= len(f.state) {
		return nil
	}
	return &f.state[k]
}

func (f *Fleet) serve(ln net.Listener) {
	defer f.wg.Done()
	if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		f.log.Debug("listener stopped", "addr", ln.Addr().String(), "err", err)
	}
}

// hostListener applies the host's transport: TLS (valid, expired, 1.0
// only) or plain HTTP.
type hostListener struct {
	net.Listener
	f  *Fleet
	st *hostState
}

func (l *hostListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.f.accepted.Add(1)
	l.st.conns.Add(1)
	if cfg := l.f.tls[l.st.h.Profile.TLS]; cfg != nil {
		return tls.Server(c, cfg), nil
	}
	return c, nil
}

// tarpit accepts and holds connections without reading or answering, up
// to the fleet's cap; beyond it, connections wait in the kernel's accept
// queue, which a client cannot tell apart.
func (f *Fleet) tarpit(ln net.Listener, st *hostState) {
	defer f.wg.Done()
	for {
		f.held.Lock()
		for len(f.heldConn) >= f.cfg.TarpitCap && !f.closed() {
			f.heldFree.Wait()
		}
		f.held.Unlock()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f.accepted.Add(1)
		f.tarpitted.Add(1)
		st.conns.Add(1)
		f.held.Lock()
		if f.closed() {
			f.held.Unlock()
			c.Close()
			return
		}
		f.heldConn[c] = struct{}{}
		f.held.Unlock()
		go f.hold(c)
	}
}

// hold keeps a tarpit connection until its client gives up or the fleet
// closes. Reading and dropping what the client sent is invisible to it:
// it never gets an answer; the read only tells when it has gone, so that
// the cap counts live connections.
func (f *Fleet) hold(c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
	_ = c.Close()
	f.held.Lock()
	delete(f.heldConn, c)
	f.heldFree.Signal()
	f.held.Unlock()
}

// reset answers every connection with a TCP RST (SO_LINGER 0).
func (f *Fleet) reset(ln net.Listener, st *hostState) {
	defer f.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f.accepted.Add(1)
		f.resets.Add(1)
		st.conns.Add(1)
		abort(c)
	}
}

// abort drops a connection with a reset, as IIS's AbortRequest does.
func abort(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (f *Fleet) closed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Hosts returns the hosts this fleet serves.
func (f *Fleet) Hosts() []Host { return f.hosts }

// Config returns the config with its defaults filled in.
func (f *Fleet) Config() Config { return f.cfg }

// Close stops every listener, drops every connection (tarpits included)
// and waits for the accept loops.
func (f *Fleet) Close() error {
	f.once.Do(func() {
		close(f.done)
		if f.srv != nil {
			_ = f.srv.Close()
		}
		for _, ln := range f.lns {
			_ = ln.Close()
		}
		f.held.Lock()
		for c := range f.heldConn {
			_ = c.Close()
		}
		f.heldConn = map[net.Conn]struct{}{}
		f.heldFree.Broadcast()
		f.held.Unlock()
	})
	f.wg.Wait()
	return nil
}
