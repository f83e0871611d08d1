package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Target is one host:port to probe, in input order. Index numbers the
// expanded targets from 0 in the order the inputs give them, so that a
// rerun over the same input meets the same index for the same target (the
// resume file relies on it).
type Target struct {
	Index  int64
	Spec   string     // the input item that produced it (a line or an argument)
	Source string     // "arg", the file name, or "-" for stdin
	Line   int        // 1-based line in Source (the argument position for args)
	Addr   netip.Addr // invalid until Host is resolved
	Host   string     // the host name given in the input, "" for literal addresses
	Port   int
	Scheme string // "https" or "http" when the input forced it, "" to find out
}

// HostPort is the address the target is reached at ("127.0.0.1:443",
// "[::1]:443"), or the unresolved name.
func (t Target) HostPort() string {
	if t.Addr.IsValid() {
		return netip.AddrPortFrom(t.Addr, uint16(t.Port)).String()
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// BadLine is an input item that is not a target. The run goes on without it.
type BadLine struct {
	Source string `json:"source"`
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

func (b BadLine) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", b.Source, b.Line, b.Reason, b.Text)
}

// Input is one origin of target specs: command-line arguments, a file or
// stdin. Exactly one of Args and Reader is set.
type Input struct {
	Name   string    // "arg", a file name, "-"
	Args   []string  // specs given on the command line
	Reader io.Reader // one spec per line; '#' starts a comment
}

// maxExpand bounds one CIDR or range so that a typo (an IPv6 /64) cannot
// turn into an endless scan; larger blocks must be split by the user.
const maxExpand = 1 << 24

// dedupeWindow is how many recent targets are remembered to drop
// duplicates: consecutive and nearby repeats are caught, the memory stays
// fixed whatever the input size (httpx#2277: whole-input dedupe is what
// ran out of memory on 30 M lines).
const dedupeWindow = 4096

// Targets streams the targets of the inputs, expanded lazily (a /8 is never
// materialised), to yield; it stops when yield returns false or ctx ends.
// Bad items go to bad and are skipped. ports are the default ports for
// items that name none.
func Targets(ctx context.Context, inputs []Input, ports []int, yield func(Target) bool, bad func(BadLine)) error {
	if len(ports) == 0 {
		ports = []int{443}
	}
	e := expander{ports: ports, yield: yield, bad: bad, seen: newWindow(dedupeWindow)}
	for _, in := range inputs {
		if in.Reader == nil {
			for i, a := range in.Args {
				if !e.item(ctx, in.Name, i+1, a) {
					return ctx.Err()
				}
			}
			continue
		}
		sc := bufio.NewScanner(in.Reader)
		sc.Buffer(make([]byte, 0, 4096), 64*1024)
		line := 0
		for sc.Scan() {
			line++
			if !e.item(ctx, in.Name, line, sc.Text()) {
				return ctx.Err()
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				bad(BadLine{Source: in.Name, Line: line + 1, Reason: "line longer than 64 KiB; the rest of this input is skipped"})
				continue
			}
			return fmt.Errorf("%s: %w", in.Name, err)
		}
	}
	return nil
}

type expander struct {
	ports []int
	yield func(Target) bool
	bad   func(BadLine)
	next  int64
	seen  *window
}

// item expands one spec; false means stop.
func (e *expander) item(ctx context.Context, src string, line int, text string) bool {
	if ctx.Err() != nil {
		return false
	}
	s := strings.TrimSpace(text)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" {
		return true
	}
	sp, err := ParseSpec(s)
	if err != nil {
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		e.bad(BadLine{Source: src, Line: line, Text: text, Reason: err.Error()})
		return true
	}
	ports := e.ports
	if sp.Port != 0 {
		ports = []int{sp.Port}
	}
	emit := func(a netip.Addr, host string) bool {
		for _, p := range ports {
			key := dedupeKey{a, host, p}
			if e.seen.add(key) {
				continue
			}
			t := Target{Index: e.next, Spec: s, Source: src, Line: line, Addr: a, Host: host, Port: p, Scheme: sp.Scheme}
			e.next++
			if !e.yield(t) {
				return false
			}
		}
		return true
	}
	if sp.Host != "" {
		return emit(netip.Addr{}, sp.Host)
	}
	n := 0
	for a := sp.First; ; a = a.Next() {
		if n&1023 == 0 && ctx.Err() != nil {
			return false
		}
		n++
		if !emit(a, "") {
			return false
		}
		if a == sp.Last {
			break
		}
	}
	return true
}

// Spec is one parsed input item: a single address, a block of addresses
// (First..Last inclusive) or a host name, with the port and scheme it forced.
type Spec struct {
	First, Last netip.Addr
	Host        string
	Port        int
	Scheme      string
}

// ParseSpec reads one target item: 192.0.2.1, 2001:db8::1, 192.0.2.0/24,
// 192.0.2.1-192.0.2.9, 192.0.2.1-9, host:port, [v6]:port, name,
// https://name:port/path (the path is ignored: the probe plan fixes the paths).
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return sp, fmt.Errorf("bad URL: %v", errors.Unwrap(err))
		}
		switch strings.ToLower(u.Scheme) {
		case "https", "http":
			sp.Scheme = strings.ToLower(u.Scheme)
		default:
			return sp, fmt.Errorf("scheme %q: only http and https", u.Scheme)
		}
		if u.User != nil {
			return sp, errors.New("credentials in the URL are refused: the probe never sends any")
		}
		h := u.Hostname()
		if h == "" {
			return sp, errors.New("URL without a host")
		}
		if p := u.Port(); p != "" {
			port, err := parsePort(p)
			if err != nil {
				return sp, err
			}
			sp.Port = port
		} else if sp.Scheme == "https" {
			sp.Port = 443
		} else {
			sp.Port = 80
		}
		return sp.host(h)
	}
	if strings.ContainsAny(s, " \t,;") {
		return sp, errors.New("one target per line")
	}
	// [v6]:port, or v4/name:port (a bare IPv6 address has several colons).
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return sp, fmt.Errorf("bad host:port: %v", strings.TrimPrefix(err.Error(), "address "+s+": "))
		}
		port, err := parsePort(p)
		if err != nil {
			return sp, err
		}
		sp.Port = port
		if strings.Contains(h, "/") {
			return sp, errors.New("a port goes with a single address, not a block")
		}
		return sp.host(h)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return sp, fmt.Errorf("bad CIDR: %v", strings.TrimPrefix(err.Error(), "netip.ParsePrefix("+strconv.Quote(s)+"): "))
		}
		p = p.Masked()
		if p.Addr().BitLen()-p.Bits() > 24 {
			return sp, fmt.Errorf("block %s has more than %d addresses; split it", p, maxExpand)
		}
		sp.First = p.Addr()
		sp.Last = lastOf(p)
		return sp, nil
	}
	if i := strings.IndexByte(s, '-'); i > 0 {
		if a, err := netip.ParseAddr(s[:i]); err == nil {
			return sp.rangeOf(a, s[i+1:])
		}
	}
	return sp.host(s)
}

func (sp Spec) host(h string) (Spec, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return sp, errors.New("zoned IPv6 addresses are not supported")
		}
		a = a.Unmap()
		sp.First, sp.Last = a, a
		return sp, nil
	}
	if !isName(h) {
		return sp, fmt.Errorf("%q is neither an address nor a host name", h)
	}
	sp.Host = strings.ToLower(strings.TrimSuffix(h, "."))
	return sp, nil
}

func (sp Spec) rangeOf(first netip.Addr, end string) (Spec, error) {
	first = first.Unmap()
	last, err := netip.ParseAddr(end)
	if err != nil {
		// a.b.c.d-h: the last octet only.
		n, err2 := strconv.Atoi(end)
		if err2 != nil || !first.Is4() || n < 0 || n > 255 {
			return sp, fmt.Errorf("bad range end %q", end)
		}
		b := first.As4()
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	}
	last = last.Unmap()
	if first.Is4() != last.Is4() {
		return sp, errors.New("range mixes IPv4 and IPv6")
	}
	if last.Less(first) {
		return sp, errors.New("range ends before it starts")
	}
	if span(first, last) > maxExpand {
		return sp, fmt.Errorf("range has more than %d addresses; split it", maxExpand)
	}
	sp.First, sp.Last = first, last
	return sp, nil
}

func span(a, b netip.Addr) uint64 {
	x := new(big.Int).SetBytes(a.AsSlice())
	y := new(big.Int).SetBytes(b.AsSlice())
	d := y.Sub(y, x)
	if !d.IsUint64() {
		return ^uint64(0)
	}
	return d.Uint64() + 1
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", p)
	}
	return n, nil
}

// isName accepts DNS host names (letters, digits, hyphens, dots).
func isName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A top-level label always has a letter; without one this is a
	// malformed address or range ("192.0.2.1-5"), not a name.
	tld := h[strings.LastIndexByte(h, '.')+1:]
	return strings.ContainsFunc(tld, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
}

type dedupeKey struct {
	a    netip.Addr
	host string
	port int
}

// window is a fixed-size set of the most recent keys.
type window struct {
	ring []dedupeKey
	pos  int
	set  map[dedupeKey]struct{}
}

func newWindow(n int) *window {
	return &window{ring: make([]dedupeKey, 0, n), set: make(map[dedupeKey]struct{}, n)}
}

// add reports whether k was already in the window, and remembers it.
func (w *window) add(k dedupeKey) bool {
	if _, ok := w.set[k]; ok {
		return true
	}
	if len(w.ring) < cap(w.ring) {
		w.ring = append(w.ring, k)
	} else {
		delete(w.set, w.ring[w.pos])
		w.ring[w.pos] = k
		w.pos = (w.pos + 1) % len(w.ring)
	}
	w.set[k] = struct{}{}
	return false
}

// resolver resolves host names once per run (sticky: a round-robin name
// keeps its first answer, zgrab2#452) with bounded concurrency, so that a
// list of names cannot flood the DNS server.
type resolver struct {
	sem   chan struct{}
	mu    sync.Mutex
	cache map[string]resolved
	look  func(ctx context.Context, host string) ([]netip.Addr, error)
}

type resolved struct {
	addr netip.Addr
	err  error
}

const resolverCacheMax = 1 << 16

func newResolver(parallel int) *resolver {
	return &resolver{
		sem:   make(chan struct{}, parallel),
		cache: map[string]resolved{},
		look: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
	}
}

func (r *resolver) resolve(ctx context.Context, host string) (netip.Addr, error) {
	r.mu.Lock()
	c, ok := r.cache[host]
	r.mu.Unlock()
	if ok {
		return c.addr, c.err
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return netip.Addr{}, ctx.Err()
	}
	addrs, err := r.look(ctx, host)
	<-r.sem
	var res resolved
	switch {
	case err != nil:
		res.err = err
	case len(addrs) == 0:
		res.err = errors.New("no address")
	default:
		res.addr = addrs[0].Unmap()
	}
	if ctx.Err() == nil {
		r.mu.Lock()
		if len(r.cache) < resolverCacheMax {
			r.cache[host] = res
		}
		r.mu.Unlock()
	}
	return res.addr, res.err
}
