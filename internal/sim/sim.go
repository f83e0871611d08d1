// Package sim is a fleet of simulated Exchange servers on loopback, the test
// bed of the probe command (../shared/design/exposure.md §6). Every host
// listens on its own 127.x.y.z address, answers the unauthenticated requests
// of exposure.md §1.1 and §2 the way a real server with its profile would,
// and carries a ground truth (Expect) computed with package exchange, so
// the probe's verdicts can be scored host by host.
//
// Profiles are drawn from (seed, index) alone: host i is the same whether
// the fleet has 100 or 30,000 hosts, and one Config gives the same fleet,
// byte for byte. Nothing here ever listens outside 127.0.0.0/8.
package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"

	"github.com/exhunt/exhunt/exchange"
)

// Config describes a fleet. Deterministic: the same Config gives the same
// hosts, byte for byte.
type Config struct {
	Hosts    int // number of hosts
	Seed     int64
	Scenario string // one of Scenarios(); "" is "mixed"
	// Tarpit is the fraction of hosts that accept and never answer (0.02
	// = 2 %); -1 = the scenario's default.
	Tarpit float64
	// Faults turns on the other pathologies: reset, slow drip, huge body,
	// TLS 1.0 only, expired certificate, intermittent 5xx, front-end pool,
	// added latency.
	Faults bool
	Base   netip.Addr // first address; default 127.1.0.1; all addresses must be in 127.0.0.0/8
	Port   int        // the port every host listens on; default 18443
	// First and Count select hosts [First, First+Count) to serve, for
	// sharding a fleet over processes; Count 0 = all.
	First, Count int
	// PNSPatchedStatus is the answer of a Nov22SU-patched host to the
	// ProxyNotShell heuristic URL; 0 = 400. No capture of a patched host
	// was found (exposure.md §6.4), hence a knob.
	PNSPatchedStatus int
	// TarpitCap bounds the connections the tarpits of one process hold
	// open; beyond it they stay in the kernel's accept queue, which looks
	// the same to a client. 0 = 2000.
	TarpitCap int
}

// Host is one simulated server.
type Host struct {
	Index   int            `json:"index"`
	Addr    netip.AddrPort `json:"addr"`
	Profile Profile        `json:"profile"`
	Expect  Expect         `json:"expect"`
}

// Expect is the ground truth for one host: what a correct probe must
// report.
type Expect struct {
	// Answers is false for tarpit, closed and reset-on-accept hosts: the
	// probe must still emit a result for them, with families "unknown".
	Answers bool `json:"answers"`
	// Exchange is "yes", "likely" (version hidden but Exchange-only
	// paths or headers show) or "no".
	Exchange string `json:"exchange"`
	// Build is the best build a probe can read remotely ("" when none):
	// four parts from X-OWA-Version or the export-tool manifest, else the
	// three-part /owa/auth/<a.b.c>/ of the logon page (four parts from
	// /owa/<a.b.c.d>/ for Exchange 2007 and 2010).
	Build     string `json:"build"`
	Precision string `json:"precision"` // "build", "cu", "none"
	// Product is exchange.ProductOf(Build) as a string; "unknown" for
	// "likely" hosts; "" when not Exchange or not answering.
	Product  string                              `json:"product"`
	Families map[exchange.Family]exchange.Status `json:"families"`
	// Active26855 is the outcome of Microsoft's x.js check (exposure.md
	// §2.1): "vulnerable", "not vulnerable", "mitigated" (the connection
	// is aborted), "" (not Exchange, or no answer).
	Active26855 string `json:"active_26855"`
	// ProxyShellProbe is the outcome of the autodiscover.json probe
	// (§2.2): "vulnerable" (302 with OwaADUserNotFoundException) or "not
	// vulnerable"; "" when not Exchange or no answer.
	ProxyShellProbe string `json:"proxyshell_probe"`
	// PNSMitigation is whether the ProxyNotShell URL-rewrite mitigation
	// shows (§2.3): "present" (the heuristic URL is aborted), "absent", or
	// "" when not Exchange or no answer.
	PNSMitigation string `json:"pns_mitigation"`
	// Decidable is false when no probe could be right every time: a
	// front-end pool alternating builds, intermittent 5xx that may hit
	// every request, a slow drip hiding the build in a body.
	Decidable bool `json:"decidable"`
}

// Generate returns the fleet's hosts [First, First+Count) with their
// profiles and ground truth, without touching the network.
func Generate(cfg Config) ([]Host, error) {
	cfg, w, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	hosts := make([]Host, 0, cfg.Count)
	for i := cfg.First; i < cfg.First+cfg.Count; i++ {
		hosts = append(hosts, w.host(cfg, i))
	}
	return hosts, nil
}

// prepare fills defaults, checks the config and builds the scenario's world.
func prepare(cfg Config) (Config, *world, error) {
	if cfg.Hosts <= 0 {
		return cfg, nil, fmt.Errorf("sim: %d hosts: want at least one", cfg.Hosts)
	}
	if cfg.Scenario == "" {
		cfg.Scenario = "mixed"
	}
	sc, ok := scenarioByName(cfg.Scenario)
	if !ok {
		return cfg, nil, fmt.Errorf("sim: unknown scenario %q (want one of %v)", cfg.Scenario, Scenarios())
	}
	if cfg.Tarpit < 0 {
		cfg.Tarpit = sc.Tarpit
	}
	if cfg.Tarpit > 1 {
		return cfg, nil, fmt.Errorf("sim: tarpit fraction %v is above 1", cfg.Tarpit)
	}
	if !cfg.Base.IsValid() {
		cfg.Base = netip.AddrFrom4([4]byte{127, 1, 0, 1})
	}
	if cfg.Port == 0 {
		cfg.Port = 18443
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return cfg, nil, fmt.Errorf("sim: port %d out of range", cfg.Port)
	}
	if cfg.Count == 0 && cfg.First == 0 {
		cfg.Count = cfg.Hosts
	}
	if cfg.First < 0 || cfg.Count <= 0 || cfg.First+cfg.Count > cfg.Hosts {
		return cfg, nil, fmt.Errorf("sim: hosts [%d, %d) are not inside the fleet of %d", cfg.First, cfg.First+cfg.Count, cfg.Hosts)
	}
	if err := checkLoopback(cfg.Base, cfg.Hosts); err != nil {
		return cfg, nil, err
	}
	if cfg.PNSPatchedStatus == 0 {
		cfg.PNSPatchedStatus = 400
	}
	if cfg.TarpitCap == 0 {
		cfg.TarpitCap = 2000
	}
	return cfg, newWorld(sc), nil
}

// checkLoopback refuses any fleet that would reach outside 127.0.0.0/8.
func checkLoopback(base netip.Addr, n int) error {
	if !base.Is4() || base.As4()[0] != 127 {
		return fmt.Errorf("sim: base address %s is not in 127.0.0.0/8; the simulator listens on loopback only", base)
	}
	last := base4(base) + uint32(n-1)
	if last>>24 != 127 || last < base4(base) || last&0xff_ff_ff == 0xff_ff_ff {
		return fmt.Errorf("sim: %d hosts from %s run past 127.255.255.254", n, base)
	}
	return nil
}

func base4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrAt(base netip.Addr, i int) netip.Addr {
	v := base4(base) + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// WriteTruth writes fleet.jsonl: one JSON object per host (index, addr,
// profile, expect), in index order.
func WriteTruth(w io.Writer, hosts []Host) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range hosts {
		if err := enc.Encode(&hosts[i]); err != nil {
			return fmt.Errorf("sim: truth for host %d: %w", hosts[i].Index, err)
		}
	}
	return bw.Flush()
}

// WriteTargets writes one ip:port per line, the probe's input.
func WriteTargets(w io.Writer, hosts []Host) error {
	bw := bufio.NewWriter(w)
	for _, h := range hosts {
		if _, err := fmt.Fprintln(bw, h.Addr); err != nil {
			return err
		}
	}
	return bw.Flush()
}
