package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The probe speaks HTTP/1.1 itself over one connection per host instead of
// going through net/http's Transport: every request it sends is one it
// chose (the Transport silently replays an idempotent GET once when a
// reused connection drops, which would send Microsoft's x.js check twice
// and blur "aborted" into "retried"), keep-alive within a host is explicit,
// the connection is closed when the host is done, no goroutines are left
// per connection, and header and body bytes are capped on the wire.

// response is what one GET returned. Body aliases the session's buffer
// and is valid until the next request of the session.
type response struct {
	Path      string
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool  // the body was longer than the cap (the rest was not read)
	BodyErr   error // the body ended early (timeout, reset); Body holds what came
}

// netError is a failed request, typed for the result and the summary.
type netError struct {
	Kind string // refused, timeout, reset, tls, http, connect, interrupted
	Err  error
	// Silent marks a time-out of a host that has not sent one byte since
	// it accepted the connection: a tarpit, given up at once.
	Silent bool
}

func (e *netError) Error() string { return e.Kind + ": " + e.Err.Error() }
func (e *netError) Unwrap() error { return e.Err }

// Error kinds.
const (
	errRefused     = "refused"
	errTimeout     = "timeout"
	errReset       = "reset"
	errTLS         = "tls"
	errHTTP        = "http"
	errConnect     = "connect"
	errInterrupted = "interrupted"
	errDNS         = "dns"
	errSlowBody    = "slow-body" // a body cut for trickling below minBodyRate
)

// headerCap bounds the status line and headers of one response: a server
// that sends endless headers is cut off instead of filling memory.
const headerCap = 32 << 10

// session is the connection state of one host. A worker reuses one
// session value (and its buffers) for every host it probes.
type session struct {
	e      *engine
	addr   netip.AddrPort
	host   string // Host header value
	sni    string
	scheme string // "https", "http", or "" until the first connection decides
	forced bool   // the input fixed the scheme

	conn    net.Conn
	lim     *capReader
	br      *bufio.Reader
	release func()
	reused  bool
	names   []string // certificate names seen
	body    []byte   // reusable body buffer, len = the largest cap
	ipl     *ipLimit
	heard   bool // the host has sent at least one byte (TLS or HTTP)
	request int  // requests sent
	bodyN   int  // body bytes read so far in the current request
}

func (s *session) reset(e *engine, t Target, ipl *ipLimit) {
	s.e = e
	s.addr = netip.AddrPortFrom(t.Addr, uint16(t.Port))
	s.scheme, s.forced = t.Scheme, t.Scheme != ""
	s.sni = t.Host
	switch {
	case t.Host != "":
		s.host = t.Host
	case t.Addr.Is6():
		s.host = "[" + t.Addr.String() + "]"
	default:
		s.host = t.Addr.String()
	}
	if t.Host != "" || t.Port != 443 && t.Port != 80 {
		if t.Port != 443 && t.Port != 80 {
			s.host = net.JoinHostPort(strings.Trim(s.host, "[]"), strconv.Itoa(t.Port))
		}
	}
	s.names = s.names[:0]
	s.ipl = ipl
	s.request = 0
	s.heard = false
	if s.body == nil {
		s.body = make([]byte, maxBodyCap)
	}
	if s.br == nil {
		s.lim = &capReader{}
		s.br = bufio.NewReaderSize(s.lim, 4096)
	}
}

// close ends the host's connection.
func (s *session) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

// request is one GET of the plan.
type request struct {
	path   string
	cookie string // sent only by the --active x.js check
	cap    int    // body bytes read at most
	// enough tells, when the body is slow to come, whether what has come
	// suffices (nil: the body is not needed at all); the rest is dropped
	// with the connection instead of waiting for it.
	enough func(body []byte) bool
	// fresh forces a new connection, so that a dropped connection is the
	// server's answer to this request, not a stale keep-alive.
	fresh bool
}

// softBody is how long a body may take before the plan settles for what
// has come when that is enough (a slow-drip server holds the rest back).
const softBody = 500 * time.Millisecond

// get sends one GET and reads the answer.
func (s *session) get(ctx context.Context, rq request) (*response, error) {
	if err := s.e.wait(ctx, s.ipl); err != nil {
		return nil, err
	}
	if rq.fresh {
		s.close()
	}
	s.request++
	resp, err := s.try(ctx, rq)
	var ne *netError
	if err != nil && s.reused && !rq.fresh && errors.As(err, &ne) && ne.Kind == errReset && resp == nil {
		// The server closed an idle keep-alive connection as we reused it:
		// nothing was answered, so ask once more on a new connection.
		s.close()
		resp, err = s.try(ctx, rq)
	}
	return resp, err
}

func (s *session) try(ctx context.Context, rq request) (*response, error) {
	path, cookie, bodyCap := rq.path, rq.cookie, rq.cap
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return nil, err
		}
	} else {
		s.reused = true
	}
	deadline := time.Now().Add(s.e.cfg.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c := s.conn
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var b strings.Builder
	b.Grow(160 + len(path) + len(cookie))
	b.WriteString("GET ")
	b.WriteString(path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(s.host)
	b.WriteString("\r\nUser-Agent: ")
	b.WriteString(s.e.cfg.UserAgent)
	b.WriteString("\r\nAccept: */*\r\n")
	if cookie != "" {
		b.WriteString("Cookie: ")
		b.WriteString(cookie)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		s.close()
		return nil, s.classify(ctx, err)
	}
	s.lim.n = headerCap
	s.lim.ctx, s.lim.conn, s.lim.soft, s.lim.enough = ctx, c, time.Time{}, nil
	if !s.heard {
		// Plain HTTP, first answer: the host has not said a word yet.
		c.SetReadDeadline(s.silence(deadline))
	}
	if _, err := s.br.Peek(1); err != nil {
		s.close()
		return nil, s.silent(ctx, err)
	}
	if !s.heard {
		s.heard = true
		c.SetReadDeadline(deadline)
	}
	hr, err := http.ReadResponse(s.br, nil)
	if err != nil {
		s.close()
		if ctx.Err() != nil || isTimeout(err) {
			return nil, s.classify(ctx, err)
		}
		return nil, &netError{Kind: errHTTP, Err: fmt.Errorf("bad HTTP response: %w", err)}
	}
	r := &response{Path: path, Status: hr.StatusCode, Header: hr.Header}
	// Slack for chunk framing; the body itself is capped below.
	s.lim.n = int64(bodyCap) + int64(s.br.Buffered()) + 4096
	s.lim.hard = deadline
	s.lim.got, s.lim.since = 0, time.Now()
	s.lim.soft = s.lim.since.Add(min(softBody, s.e.cfg.RequestTimeout/2))
	if s.lim.soft.Before(deadline) {
		c.SetReadDeadline(s.lim.soft)
		s.lim.enough = func() bool { return rq.enough == nil || rq.enough(s.body[:s.bodyN]) }
	} else {
		s.lim.soft = time.Time{}
	}
	s.bodyN = 0
	n, err := readBody(hr.Body, s.body[:bodyCap], &s.bodyN)
	r.Body = s.body[:n]
	switch {
	case err == nil:
	case errors.Is(err, errBodyCap), errors.Is(err, errTooLarge), errors.Is(err, errEnough):
		r.Truncated = true
	case errors.Is(err, errSlow):
		// Cut, not failed: the headers and the bytes that came still count.
		r.Truncated = true
		r.BodyErr = &netError{Kind: errSlowBody, Err: fmt.Errorf("%w after %d bytes; cut", errSlow, n)}
	default:
		r.BodyErr = s.classify(ctx, err)
	}
	hr.Body.Close()
	if r.Truncated || r.BodyErr != nil || hr.Close {
		s.close()
	}
	return r, nil
}

var errBodyCap = errors.New("body longer than its cap")

// readBody fills buf from r, keeping *got current; nil means the body
// ended within the cap.
func readBody(r io.Reader, buf []byte, got *int) (int, error) {
	n := 0
	for {
		*got = n
		if n == len(buf) {
			var one [1]byte
			m, err := r.Read(one[:])
			if m > 0 {
				return n, errBodyCap
			}
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
			continue
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// connect dials and, for https or an undecided scheme, shakes hands. An
// undecided scheme tries TLS first (plain first on port 80) and falls back
// when the other side turns out to speak the other protocol.
func (s *session) connect(ctx context.Context) error {
	s.reused = false
	tlsFirst := s.scheme == "https" || s.scheme == "" && s.addr.Port() != 80
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	if !tlsFirst {
		if s.scheme == "" {
			s.scheme = "http"
		}
		s.setConn(c)
		return nil
	}
	tc, err := s.handshake(ctx, c)
	if err == nil {
		s.scheme = "https"
		s.setConn(tc)
		return nil
	}
	var rh tls.RecordHeaderError
	if s.forced || !errors.As(err, &rh) {
		return err
	}
	// The port answered the ClientHello in plain HTTP (or not in TLS):
	// speak HTTP to it.
	c, err = s.dial(ctx)
	if err != nil {
		return err
	}
	s.scheme = "http"
	s.setConn(c)
	return nil
}

func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.lim.r = c
	s.br.Reset(s.lim)
}

func (s *session) dial(ctx context.Context) (net.Conn, error) {
	release, err := s.ipl.acquire(ctx)
	if err != nil {
		return nil, &netError{Kind: errInterrupted, Err: err}
	}
	d := net.Dialer{Timeout: s.e.cfg.ConnectTimeout}
	c, err := d.DialContext(ctx, "tcp", s.addr.String())
	if err != nil {
		release()
		return nil, s.classify(ctx, err)
	}
	s.release = release
	return c, nil
}

func (s *session) handshake(ctx context.Context, c net.Conn) (net.Conn, error) {
	cfg := s.e.tls
	if s.sni != "" {
		cfg = cfg.Clone()
		cfg.ServerName = s.sni
	}
	tc := tls.Client(c, cfg)
	deadline := time.Now().Add(s.e.cfg.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if !s.heard {
		deadline = s.silence(deadline)
	}
	c.SetDeadline(deadline)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		s.release()
		s.release = nil
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) {
			return nil, rh
		}
		ne := s.silent(ctx, err)
		if ne.Kind == errConnect {
			ne.Kind = errTLS
		}
		return nil, ne
	}
	s.heard = true
	st := tc.ConnectionState()
	if len(st.PeerCertificates) > 0 && len(s.names) == 0 {
		cert := st.PeerCertificates[0]
		if cn := cert.Subject.CommonName; cn != "" {
			s.names = append(s.names, cn)
		}
		for _, n := range cert.DNSNames {
			if len(s.names) >= 8 {
				break
			}
			if len(s.names) == 0 || n != s.names[0] {
				s.names = append(s.names, n)
			}
		}
	}
	return tc, nil
}

// classify types a network error; the context's end wins over what it
// caused (a deadline set to the past reads as a timeout).
// hostDeadline is the message of a time-out of the whole-host deadline.
const hostDeadline = "host deadline reached"

// silence bounds the wait for a host's first byte: a server that accepts
// a connection and then says nothing for SilenceTimeout is a tarpit (or
// dead), and waiting the whole request time-out for it only holds a
// worker (nuclei#7454, zgrab2#163).
func (s *session) silence(deadline time.Time) time.Time {
	if d := time.Now().Add(s.e.cfg.SilenceTimeout); d.Before(deadline) {
		return d
	}
	return deadline
}

// silent classifies an error while waiting for a first byte, marking the
// time-out of a host that never spoke.
func (s *session) silent(ctx context.Context, err error) *netError {
	ne := s.classify(ctx, err)
	if ne.Kind == errTimeout && !s.heard && ctx.Err() == nil && isTimeout(err) && ne.Err.Error() != hostDeadline {
		return &netError{Kind: errTimeout, Err: fmt.Errorf("no byte from the host within %v of connecting (tarpit?)", s.e.cfg.SilenceTimeout), Silent: true}
	}
	return ne
}

func (s *session) classify(ctx context.Context, err error) *netError {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &netError{Kind: errInterrupted, Err: errors.New("run interrupted")}
	}
	// The connection's deadline and the context's fire together; the
	// context may not know yet.
	if d, ok := ctx.Deadline(); ok && (ctx.Err() != nil || isTimeout(err) && time.Until(d) < 10*time.Millisecond) {
		return &netError{Kind: errTimeout, Err: errors.New(hostDeadline)}
	}
	return classifyErr(err)
}

func classifyErr(err error) *netError {
	var ne *netError
	if errors.As(err, &ne) {
		return ne
	}
	switch {
	case isTimeout(err):
		return &netError{Kind: errTimeout, Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &netError{Kind: errRefused, Err: err}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNABORTED):
		return &netError{Kind: errReset, Err: err}
	case errors.Is(err, errTooLarge):
		return &netError{Kind: errHTTP, Err: err}
	}
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	if errors.As(err, &alert) || errors.As(err, &rh) {
		return &netError{Kind: errTLS, Err: err}
	}
	return &netError{Kind: errConnect, Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

var (
	errTooLarge = errors.New("response larger than its cap")
	errEnough   = errors.New("body slow; what came is enough")
	errSlow     = errors.New("body trickled below 1 KB/s")
)

// capReader hands out at most n bytes of r before failing, so that one
// response cannot make the probe read without bound. While a body is
// read it also keeps the soft deadline: when the read deadline passes at
// soft, the body is dropped if what came is enough, else the read goes on
// until hard. The time-out never reaches net/http's chunked reader, whose
// errors are sticky.
type capReader struct {
	r      io.Reader
	n      int64
	ctx    context.Context
	conn   net.Conn
	soft   time.Time
	hard   time.Time
	enough func() bool
	// Rate check once the body is slow: bytes since the last check, and
	// when that was.
	got   int64
	since time.Time
}

// minBodyRate is the slowest body worth waiting for (bytes per second,
// judged over the last window): a page trickling slower than this is a
// slow-drip server, and the bytes it holds back would take minutes.
const minBodyRate = 1024

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	for n == 0 && err != nil && !c.soft.IsZero() && isTimeout(err) && c.ctx.Err() == nil {
		if c.enough != nil && c.enough() {
			c.soft = time.Time{}
			return 0, errEnough
		}
		now := time.Now()
		if el := now.Sub(c.since).Seconds(); el > 0 && float64(c.got)/el < minBodyRate {
			c.soft = time.Time{}
			return 0, errSlow
		}
		// Fast enough so far: check again in a second, until the hard
		// deadline.
		c.got, c.since = 0, now
		next := now.Add(time.Second)
		if !next.Before(c.hard) {
			next, c.soft = c.hard, time.Time{}
		} else {
			c.soft = next
		}
		c.conn.SetReadDeadline(next)
		n, err = c.r.Read(p)
	}
	c.n -= int64(n)
	c.got += int64(n)
	return n, err
}
