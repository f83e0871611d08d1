package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The requests of the plan (exposure.md §4.3). Every one is a GET without
// body or credentials; only the --active x.js check carries cookies.
const (
	pathOWA    = "/owa/"
	pathLogon  = "/owa/auth/logon.aspx"
	pathExport = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
	pathEWS    = "/EWS/Exchange.asmx"
	pathXJS    = "/owa/auth/x.js"
	// pathPNS contains "autodiscover" and "powershell", which is all the
	// EOMTv2 rewrite rule looks for; it does not use the @-path confusion
	// of the exploit, so on an unmitigated host it is an ordinary
	// autodiscover request that stays on the front end.
	pathPNS = "/autodiscover/autodiscover.xml?exhunt-probe=powershell"

	// cookieXJS is Microsoft's http-vuln-cve2021-26855.nse request (§2.1).
	cookieXJS = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3"
)

// Body caps: the build sits in the first kilobytes of the logon page, the
// manifest is about 16 KB; the others are read only to keep the
// connection usable.
const (
	capSmall   = 4 << 10
	capLogon   = 64 << 10
	capExport  = 32 << 10
	maxBodyCap = capLogon
)

// host runs the plan against one host. It stops as soon as a four-part
// build is read, after K network failures in a row (time-outs count), or
// at the host deadline.
type hostRun struct {
	s        *session
	ev       *evidence
	res      *Result
	base     string
	failures int
	stop     bool
}

// step sends one GET and feeds the answer to the evidence. It returns the
// response (nil on failure).
func (h *hostRun) step(ctx context.Context, rq request) (*response, *netError) {
	if h.stop {
		return nil, nil
	}
	path := rq.path
	r, err := h.s.get(ctx, rq)
	h.res.Requests = h.s.request
	if err != nil {
		var ne *netError
		if !errors.As(err, &ne) {
			ne = classifyErr(err)
		}
		h.fail(path, ne)
		return nil, ne
	}
	h.failures = 0
	if h.base == "" {
		h.base = h.s.scheme + "://" + h.s.host
	}
	h.res.Scheme = h.s.scheme
	if r.BodyErr != nil {
		var ne *netError
		errors.As(r.BodyErr, &ne)
		if ne != nil {
			h.addErr(path, ne.Kind, "body cut short: "+ne.Err.Error())
		}
	}
	return r, nil
}

func (h *hostRun) fail(path string, ne *netError) {
	h.addErr(path, ne.Kind, ne.Err.Error())
	switch ne.Kind {
	case errInterrupted:
		h.stop = true
		h.res.GaveUp = "run interrupted"
		return
	case errRefused, errTLS:
		// A refused port or a failed handshake does not change between two
		// requests a few milliseconds apart.
		h.stop = true
		return
	}
	if ne.Silent {
		h.stop = true
		h.res.GaveUp = "silent host: " + ne.Err.Error()
		return
	}
	if ne.Kind == errTimeout && strings.Contains(ne.Err.Error(), "host deadline") {
		h.stop = true
		h.res.GaveUp = "host deadline reached"
		return
	}
	h.failures++
	if h.failures >= h.s.e.cfg.MaxFailures {
		h.stop = true
		h.res.GaveUp = fmt.Sprintf("%d network failures in a row (time-outs counted)", h.failures)
	}
}

func (h *hostRun) addErr(path, kind, msg string) {
	if len(h.res.Errors) < 8 {
		h.res.Errors = append(h.res.Errors, Error{Request: path, Kind: kind, Message: clip(msg, 200)})
	}
}

// read is a build-reading step: a 5xx (intermittent server trouble) is
// asked once more. It returns the last answer (nil when none came).
func (h *hostRun) read(ctx context.Context, rq request) *response {
	r, _ := h.step(ctx, rq)
	if r != nil && r.Status >= 500 {
		h.ev.observe(h.base, r)
		r, _ = h.step(ctx, rq)
	}
	if r != nil {
		h.ev.observe(h.base, r)
	}
	return r
}

var (
	reqOWA    = request{path: pathOWA, cap: capSmall}
	reqLogon  = request{path: pathLogon, cap: capLogon, enough: func(b []byte) bool { return reOWAPath.Match(b) || reOWA2010Path.Match(b) }}
	reqEWS    = request{path: pathEWS, cap: capSmall}
	reqExport = request{path: pathExport, cap: capExport, enough: func(b []byte) bool { return reVersionAttr.Match(b) }}
)

// run is the plan of §4.3 with two changes of order, both to ask fewer
// questions per host:
//   - the 401 endpoint comes right after /owa/: its X-OWA-Version ranks
//     first among the sources (§1.2), its answer is a few hundred bytes
//     and its build is in a header, which a slow-drip body cannot hold
//     back;
//   - on a host that already shows Exchange, the export-tool manifest
//     (four parts) comes before the logon page (three parts), which is
//     then read only when the manifest gives nothing (ECP blocked).
//
// A host whose /owa/ and EWS both answer 404 with no sign of Exchange is
// not asked for the logon page: it lives under /owa/.
func (h *hostRun) run(ctx context.Context, active bool) {
	owa := h.read(ctx, reqOWA)
	var ews *response
	if !h.ev.fourPart() {
		ews = h.read(ctx, reqEWS)
	}
	exported := false
	if !h.ev.fourPart() && h.ev.exchangeSeen() {
		h.read(ctx, reqExport)
		exported = true
	}
	if !h.ev.fourPart() && !(is404(owa) && is404(ews) && !h.ev.exchangeSeen()) {
		h.read(ctx, reqLogon)
		if !h.ev.fourPart() && h.ev.exchangeSeen() && !exported {
			h.read(ctx, reqExport) // Exchange shown by the logon page alone
		}
	}
	if active && h.ev.answered && h.ev.exchangeSeen() {
		h.activeChecks(ctx)
	}
}

func is404(r *response) bool { return r != nil && r.Status == 404 }

// activeChecks runs Microsoft's CVE-2021-26855 check, a control request
// when it was dropped, and the ProxyNotShell mitigation check. They ride
// the host's keep-alive connection; when that drops, get asks once more
// on a new one, so a drop counts as an abort only when it happens on a
// fresh connection too (a mitigated host sees the check twice).
func (h *hostRun) activeChecks(ctx context.Context) {
	x := &xjsObs{}
	h.ev.xjs = x
	failures, gaveUp := h.failures, h.res.GaveUp
	r, ne := h.step(ctx, request{path: pathXJS, cookie: cookieXJS, cap: capSmall})
	switch {
	case r != nil:
		x.status = r.Status
		x.betarget = clip(r.Header.Get("X-CalculatedBETarget"), 255)
		h.ev.observe(h.base, r)
	case ne != nil && ne.Kind == errReset:
		x.aborted = true
		x.err = ne.Kind
		// An abort is the answer to this request, not a host failure.
		h.failures, h.res.GaveUp, h.stop = failures, gaveUp, false
		c, _ := h.step(ctx, request{path: pathXJS, cap: capSmall, fresh: true})
		if c != nil {
			x.control = c.Status
		}
	case ne != nil:
		x.err = ne.Kind
	}
	p := &pnsObs{}
	h.ev.pns = p
	failures, gaveUp = h.failures, h.res.GaveUp
	r, ne = h.step(ctx, request{path: pathPNS, cap: capSmall})
	switch {
	case r != nil && r.Status == 502 && h.ev.answered:
		// A reverse proxy reports its backend dropping the request as Bad
		// Gateway; the host answered other requests, so the drop is the
		// rewrite rule's.
		p.status = r.Status
		p.aborted = true
	case r != nil:
		p.status = r.Status
	case ne != nil && ne.Kind == errReset:
		p.aborted = true
		p.err = ne.Kind
		h.failures, h.res.GaveUp, h.stop = failures, gaveUp, false
	case ne != nil:
		p.err = ne.Kind
	}
	if p.aborted && x.control == 0 && x.status == 0 {
		// Without any answer after the aborts the drop says nothing.
		p.aborted = false
	}
}
