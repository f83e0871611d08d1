package sim

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/exhunt/exhunt/exchange"
)

// Profile is what a host is and how it shows itself (exposure.md §6.3).
type Profile struct {
	// Kind: exchange-2007, exchange-2010, exchange-2013, exchange-2016,
	// exchange-2019, exchange-se, exchange-online, iis-default, other-web,
	// closed.
	Kind    string `json:"kind"`
	Domain  string `json:"domain"`            // the organisation's mail name
	Product string `json:"product,omitempty"` // exchange.Product
	CU      string `json:"cu,omitempty"`
	SU      string `json:"su,omitempty"` // the installed row: "CU" for the CU's base build, else the SU name
	// SetupVersion is the installed build (ExSetup); OWAVersion what OWA
	// and X-OWA-Version show, which lags on 2019 CU9 (858.2 for 858.5);
	// ExportVersion the export-tool manifest's version, following one of
	// them.
	SetupVersion  string `json:"setup_version,omitempty"`
	OWAVersion    string `json:"owa_version,omitempty"`
	ExportVersion string `json:"exporttool_version,omitempty"`
	OWAHeader     bool   `json:"owa_header"`  // X-OWA-Version on /owa/
	AuthHeader    bool   `json:"auth_header"` // X-OWA-Version on the 401 endpoints
	FEServer      string `json:"fe_server,omitempty"`
	Server        string `json:"server,omitempty"` // Server header: "Microsoft-IIS/10.0", "nginx"
	ECP           string `json:"ecp,omitempty"`    // "open", "404", "403" (blocked from outside)
	Front         string `json:"front,omitempty"`  // "forms", "federated" (302 to an STS)
	// Proxy: "" none; "strip" (a reverse proxy drops every X-* header and
	// rewrites Server); "portal" (it also replaces OWA with its own login
	// portal; only the 401 endpoints pass).
	Proxy       string   `json:"proxy,omitempty"`
	ProxyServer string   `json:"proxy_server,omitempty"`
	Mitigations []string `json:"mitigations,omitempty"` // "eomt_2021", "eomt_v2_2022"
	TLS         string   `json:"tls"`                   // "tls", "expired", "tls10", "http"
	// Pathology: "", "tarpit", "reset", "drip", "huge", "intermittent",
	// "pool".
	Pathology   string `json:"pathology,omitempty"`
	FailPercent int    `json:"fail_percent,omitempty"` // intermittent: share of requests answered 503
	// PoolSetupVersion, PoolOWAVersion, PoolFEServer: the second server
	// of a front-end pool, answering every other request.
	PoolSetupVersion string `json:"pool_setup_version,omitempty"`
	PoolOWAVersion   string `json:"pool_owa_version,omitempty"`
	PoolFEServer     string `json:"pool_fe_server,omitempty"`
	LatencyMS        int    `json:"latency_ms,omitempty"` // added to every answer
}

// rng is splitmix64 keyed by (seed, host, stream): each host and each
// aspect of it draws from its own sequence, so host i does not depend on
// the fleet size, and switching Faults or Tarpit leaves the builds alone.
type rng struct{ s uint64 }

func newRNG(seed int64, index int, stream uint64) *rng {
	r := &rng{s: uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(index)*0xbf58476d1ce4e5b9 ^ stream*0x94d049bb133111eb}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }
func (r *rng) chance(p float64) bool {
	return r.float() < p
}

// pick returns an index drawn by weight.
func (r *rng) pick(weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	u := r.float() * sum
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

const (
	streamKind = iota + 1
	streamBuild
	streamShow
	streamMitigation
	streamTarpit
	streamFaults
)

var kindNames = [5]string{"exchange", "exchange-online", "iis-default", "other-web", "closed"}

// host draws host i of the fleet.
func (w *world) host(cfg Config, i int) Host {
	p := w.profile(cfg, i)
	return Host{Index: i, Addr: netip.AddrPortFrom(addrAt(cfg.Base, i), uint16(cfg.Port)), Profile: p, Expect: w.expect(p)}
}

func (w *world) profile(cfg Config, i int) Profile {
	sc := w.sc
	p := Profile{Domain: fmt.Sprintf("mail.org%05d.example", i), TLS: "tls"}
	kr := newRNG(cfg.Seed, i, streamKind)
	switch kindNames[kr.pick(sc.Kinds[:])] {
	case "exchange-online":
		w.online(&p, newRNG(cfg.Seed, i, streamBuild))
	case "iis-default":
		p.Kind, p.Server = "iis-default", "Microsoft-IIS/10.0"
	case "other-web":
		p.Kind = "other-web"
		p.Server = [...]string{"nginx", "Apache", "nginx/1.18.0 (Ubuntu)"}[kr.intn(3)]
	case "closed":
		p.Kind = "closed"
		return p // nothing listens: no pathology either
	default:
		w.onPrem(&p, cfg, i)
	}
	if kr.chance(0.03) {
		p.TLS = "http"
	}
	if newRNG(cfg.Seed, i, streamTarpit).chance(cfg.Tarpit) {
		p.Pathology = "tarpit"
		return p
	}
	if cfg.Faults {
		w.faults(&p, cfg, i)
	}
	return p
}

// onPrem draws an on-premises Exchange server: product, build, what it
// shows, mitigations.
func (w *world) onPrem(p *Profile, cfg Config, i int) {
	sc := w.sc
	br := newRNG(cfg.Seed, i, streamBuild)
	prod := productOrder[br.pick(sc.Products[:])]
	p.Product = string(prod)
	switch prod {
	case exchange.Ex2007, exchange.Ex2010, exchange.ExSE:
		list := map[exchange.Product][]string{exchange.Ex2007: builds2007, exchange.Ex2010: builds2010, exchange.ExSE: buildsSE}[prod]
		b := list[br.intn(len(list))]
		p.SetupVersion, p.OWAVersion = b, b
		if prod == exchange.ExSE {
			p.CU, p.SU, p.ExportVersion = "RTM", "CU", b
		}
	default:
		set := w.fixed[prod]
		if br.chance(sc.Share) && len(w.vuln[prod]) > 0 || len(set) == 0 {
			set = w.vuln[prod]
		}
		weights := make([]float64, len(set))
		for k, c := range set {
			weights[k] = c.weight
		}
		r := set[br.pick(weights)].rel
		p.CU, p.SU, p.SetupVersion, p.OWAVersion = r.CU, r.Name, r.Build.String(), r.Build.String()
		// Exchange 2019 CU9: OwaVersion stays at 858.2 after setup
		// (CSS-Exchange #396).
		if r.Build.Major == 15 && r.Build.Minor == 2 && r.Build.Build == 858 && r.Name == "CU" && br.chance(0.8) {
			p.OWAVersion = "15.2.858.2"
		}
		p.ExportVersion = p.OWAVersion
		if br.chance(0.2) {
			p.ExportVersion = p.SetupVersion
		}
	}
	p.Kind = map[exchange.Product]string{exchange.Ex2007: "exchange-2007", exchange.Ex2010: "exchange-2010", exchange.Ex2013: "exchange-2013",
		exchange.Ex2016: "exchange-2016", exchange.Ex2019: "exchange-2019", exchange.ExSE: "exchange-se"}[prod]

	sr := newRNG(cfg.Seed, i, streamShow)
	modern := prod != exchange.Ex2007 && prod != exchange.Ex2010
	p.OWAHeader = modern && sr.chance(0.35)
	p.AuthHeader = modern && sr.chance(0.6)
	if sr.chance(0.9) {
		p.FEServer = fmt.Sprintf("EX%02d-%s", 1+sr.intn(12), []string{"MBX", "CAS", "SRV", "MAIL"}[sr.intn(4)])
	}
	switch prod {
	case exchange.Ex2007:
		p.Server = "Microsoft-IIS/7.0"
	case exchange.Ex2010:
		p.Server = "Microsoft-IIS/7.5"
	case exchange.Ex2013:
		p.Server = pickStr(sr, 0.7, "Microsoft-IIS/8.5", "Microsoft-IIS/10.0")
	case exchange.Ex2016:
		p.Server = pickStr(sr, 0.2, "Microsoft-IIS/8.5", "Microsoft-IIS/10.0")
	default:
		p.Server = "Microsoft-IIS/10.0"
	}
	p.ECP = "open"
	if !modern {
		p.ECP = "404" // no export tool before 2013
	} else if u := sr.float(); u < 0.2 {
		p.ECP = "404"
	} else if u < 0.3 {
		p.ECP = "403"
	}
	p.Front = pickStr(sr, 0.05, "federated", "forms")
	if u := sr.float(); u < 0.09 {
		p.Proxy = "strip"
	} else if u < 0.12 {
		p.Proxy = "portal"
	}
	if p.Proxy != "" {
		p.ProxyServer = []string{"BigIP", "nginx", "cloudflare"}[sr.intn(3)]
	}

	mr := newRNG(cfg.Seed, i, streamMitigation)
	if modern && prod != exchange.ExSE {
		rel := w.byBuild[p.SetupVersion]
		share := sc.EOMTPatched
		if rel.State(exchange.ProxyLogon) == exchange.Vulnerable {
			share = sc.EOMT
		}
		// The March 2021 tool only existed from 2021-03-05 on.
		if mr.chance(share) && !sc.Date.Before(day("2021-03-05")) {
			p.Mitigations = append(p.Mitigations, "eomt_2021")
		}
		if mr.chance(sc.EOMTv2) && !sc.Date.Before(day("2022-09-29")) {
			p.Mitigations = append(p.Mitigations, "eomt_v2_2022")
		}
	}
}

// online draws an Exchange Online-like front end: a 15.20 build in no
// on-premises table, cloud-style front-end names.
func (w *world) online(p *Profile, r *rng) {
	b := fmt.Sprintf("15.20.%d.%d", 4000+r.intn(4000), 10+r.intn(30))
	p.Kind, p.Product = "exchange-online", string(exchange.ExOnline)
	p.SetupVersion, p.OWAVersion = b, b
	p.OWAHeader, p.AuthHeader = true, true
	p.FEServer = fmt.Sprintf("%s%dPR%02dCA%04d", []string{"CY4", "AM6", "DB8", "SN1"}[r.intn(4)], r.intn(9), r.intn(20), r.intn(10000))
	p.Server = "Microsoft-IIS/10.0"
	p.ECP = "404"
	p.Front = "federated"
}

// faults assigns the pathologies of Config.Faults.
func (w *world) faults(p *Profile, cfg Config, i int) {
	fr := newRNG(cfg.Seed, i, streamFaults)
	u := fr.float()
	exch := p.SetupVersion != "" && p.Kind != "exchange-online"
	switch {
	case u < 0.01:
		p.Pathology = "reset"
	case u < 0.02:
		p.Pathology = "drip"
	case u < 0.03:
		p.Pathology = "huge"
	case u < 0.04:
		p.Pathology = "intermittent"
		p.FailPercent = 10 + fr.intn(41)
	case u < 0.06 && exch && p.Kind != "exchange-2007" && p.Kind != "exchange-2010" && p.Kind != "exchange-se":
		p.Pathology = "pool"
		w.poolPeer(p, fr)
	}
	if p.TLS == "tls" {
		if p.Server == "Microsoft-IIS/8.5" && fr.chance(0.3) {
			p.TLS = "tls10" // old 2012 R2 front ends never got TLS 1.2 switched on
		} else if fr.chance(0.05) {
			p.TLS = "expired"
		}
	}
	if fr.chance(0.1) {
		p.LatencyMS = 20 + fr.intn(230)
	}
}

// poolPeer picks the pool's second server: another build of the same CU
// (the patched or unpatched sibling), else the same build.
func (w *world) poolPeer(p *Profile, r *rng) {
	rel := w.byBuild[p.SetupVersion]
	rows := w.cuOfRows[rel.Build.Short()]
	peer := rows[r.intn(len(rows))]
	if peer.Build == rel.Build && len(rows) > 1 {
		peer = rows[len(rows)-1]
		if peer.Build == rel.Build {
			peer = rows[0]
		}
	}
	p.PoolSetupVersion, p.PoolOWAVersion = peer.Build.String(), peer.Build.String()
	p.PoolFEServer = fmt.Sprintf("EX%02d-POOL", 13+r.intn(8))
}

func pickStr(r *rng, p float64, yes, no string) string {
	if r.chance(p) {
		return yes
	}
	return no
}

// expect computes the ground truth of a profile (exposure.md §1.2, §2,
// §3.3): the best build readable from outside, its classification, and
// the answers of the active checks.
func (w *world) expect(p Profile) Expect {
	e := Expect{Exchange: "no", Precision: "none", Families: unknownFamilies(), Decidable: true}
	if p.Kind == "closed" || p.Pathology == "tarpit" || p.Pathology == "reset" {
		return e
	}
	e.Answers = true
	if p.SetupVersion == "" { // not Exchange
		return e
	}
	headers := p.Proxy == "" && (p.OWAHeader || p.AuthHeader)
	pages := p.Proxy != "portal" && p.Front != "federated"
	switch {
	case headers:
		e.Build, e.Precision = p.OWAVersion, "build"
	case pages && p.ECP == "open" && p.ExportVersion != "":
		e.Build, e.Precision = p.ExportVersion, "build"
	case pages && (p.Kind == "exchange-2007" || p.Kind == "exchange-2010"):
		e.Build, e.Precision = p.OWAVersion, "build" // /owa/<a.b.c.d>/ resource paths
	case pages:
		b := exchange.MustBuild(p.OWAVersion)
		e.Build, e.Precision = b.Short(), "cu"
	}
	e.Exchange, e.Product = "likely", string(exchange.ExUnknown)
	if e.Build != "" {
		a := exchange.Classify(exchange.MustBuild(e.Build))
		e.Exchange, e.Product = "yes", string(a.Product)
		for _, f := range exchange.Families {
			e.Families[f] = a.Status(f)
		}
	}
	v := w.view(p, 0)
	switch {
	case p.Proxy != "":
		// The proxy drops X-CalculatedBETarget, answers 502 for an
		// aborted backend, and the portal has no /owa/auth/.
		e.Active26855 = "not vulnerable"
	case hasMitigation(p, "eomt_2021"):
		e.Active26855 = "mitigated"
	case v.plVuln:
		e.Active26855 = "vulnerable"
	default:
		e.Active26855 = "not vulnerable"
	}
	e.ProxyShellProbe = "not vulnerable"
	if p.Proxy == "" && v.psOpen {
		e.ProxyShellProbe = "vulnerable"
	}
	e.PNSMitigation = "absent"
	if hasMitigation(p, "eomt_v2_2022") {
		e.PNSMitigation = "present"
	}
	switch p.Pathology {
	case "pool", "intermittent":
		e.Decidable = false
	case "drip":
		// Headers arrive at once; a build hidden in a dripped body may
		// take minutes to read.
		e.Decidable = headers
	}
	return e
}

func unknownFamilies() map[exchange.Family]exchange.Status {
	m := make(map[exchange.Family]exchange.Status, len(exchange.Families))
	for _, f := range exchange.Families {
		m[f] = exchange.Unknown
	}
	return m
}

func hasMitigation(p Profile, m string) bool {
	for _, x := range p.Mitigations {
		if x == m {
			return true
		}
	}
	return false
}

// view is one server behind a host's address: the pool alternates two.
type view struct {
	setup, owa, export, fe string
	owa3                   string // three-part OWA resource prefix
	plVuln                 bool   // ProxyLogon SSRF open at the installed build
	psOpen                 bool   // ProxyShell pre-auth pair open (below Apr21SU)
	pnsOpen                bool   // below Nov22SU
	modern                 bool   // 2013 or later (OWA /owa/auth/<3-part>/ paths, export tool)
}

func (w *world) view(p Profile, n uint64) view {
	v := view{setup: p.SetupVersion, owa: p.OWAVersion, export: p.ExportVersion, fe: p.FEServer}
	if p.Pathology == "pool" && n%2 == 1 {
		v = view{setup: p.PoolSetupVersion, owa: p.PoolOWAVersion, export: p.PoolOWAVersion, fe: p.PoolFEServer}
	}
	if v.owa == "" {
		return v
	}
	b := exchange.MustBuild(v.owa)
	v.owa3 = b.Short()
	v.modern = b.Major >= 15
	if rel, ok := w.byBuild[v.setup]; ok {
		v.plVuln = rel.State(exchange.ProxyLogon) == exchange.Vulnerable
		v.psOpen = openTo(rel, exchange.ProxyShell)
		v.pnsOpen = rel.State(exchange.ProxyNotShell) == exchange.Vulnerable
	}
	return v
}

// latency is the delay before answer n of a host, jittered ±50 %.
func latency(p Profile, seed int64, index int, n uint64) float64 {
	if p.LatencyMS == 0 {
		return 0
	}
	j := newRNG(seed, index, 1000+n).float()
	return math.Max(0, float64(p.LatencyMS)*(0.5+j))
}
