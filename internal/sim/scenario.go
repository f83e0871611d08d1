package sim

import (
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// scenario is a preset of exposure.md §6.5: the world on one day of the
// public timeline.
type scenario struct {
	Name string
	Date time.Time // only builds released on or before are installed
	Note string
	// Kinds weights exchange (on-premises), exchange-online, iis-default,
	// other-web and closed.
	Kinds [5]float64
	// Products weights 2007, 2010, 2013, 2016, 2019, SE among on-premises
	// Exchange hosts.
	Products [6]float64
	// Share of 2013/2016/2019 hosts whose build is vulnerable to Family
	// (for ProxyShell: below Apr21SU, the pre-auth pair open).
	Family exchange.Family
	Share  float64
	// Age is the years after which a CU's weight halves: how far behind
	// the fleet runs.
	Age float64
	// EOMT is the share with the March 2021 URL-rewrite mitigation among
	// hosts whose build is ProxyLogon-vulnerable, EOMTPatched among the
	// others (mitigated first, patched later); EOMTv2 the share with the
	// 2022 ProxyNotShell rule.
	EOMT, EOMTPatched, EOMTv2 float64
	Tarpit                    float64 // the default tarpit fraction
}

const (
	kindExchange = iota
	kindOnline
	kindIIS
	kindOther
	kindClosed
)

var productOrder = [6]exchange.Product{exchange.Ex2007, exchange.Ex2010, exchange.Ex2013, exchange.Ex2016, exchange.Ex2019, exchange.ExSE}

// Shares of the 2021 scenarios: most hosts on-premises Exchange, a few
// Exchange Online-like front ends, plain web servers, closed ports.
var kinds2021 = [5]float64{0.86, 0.02, 0.05, 0.05, 0.02}

// Product mix of 2021 (no public per-product split was found; 2016 was the
// most deployed, 2010 lingered).
var products2021 = [6]float64{0, 0.08, 0.27, 0.45, 0.20, 0}

var scenarios = []scenario{
	{Name: "2021-03-02", Date: day("2021-03-02"), Note: "disclosure day: almost every 2013/2016/2019 host below Mar21SU",
		Kinds: kinds2021, Products: products2021, Family: exchange.ProxyLogon, Share: 0.97, Age: 1, Tarpit: 0.01},
	{Name: "2021-03-14", Date: day("2021-03-14"), Note: "~20 % still vulnerable, a few with the manual URL-rewrite mitigation",
		Kinds: kinds2021, Products: products2021, Family: exchange.ProxyLogon, Share: 0.25, Age: 1, EOMT: 0.2, EOMTPatched: 0.05, Tarpit: 0.01},
	{Name: "2021-03-22", Date: day("2021-03-22"), Note: "~8 % vulnerable and unmitigated, many mitigated with EOMT",
		Kinds: kinds2021, Products: products2021, Family: exchange.ProxyLogon, Share: 0.14, Age: 1, EOMT: 0.45, EOMTPatched: 0.10, Tarpit: 0.01},
	{Name: "2021-08-proxyshell", Date: day("2021-08-08"), Note: "~30 % below Apr21SU (ProxyShell pre-auth pair open)",
		Kinds: kinds2021, Products: products2021, Family: exchange.ProxyShell, Share: 0.30, Age: 1, EOMT: 0.10, EOMTPatched: 0.10, Tarpit: 0.01},
	{Name: "2022-10-proxynotshell", Date: day("2022-10-15"), Note: "no fix yet: every host below Nov22SU, EOMTv2 on a fraction",
		Kinds: kinds2021, Products: [6]float64{0, 0.05, 0.22, 0.43, 0.30, 0}, Family: exchange.ProxyNotShell, Share: 1, Age: 1.5, EOMTPatched: 0.05, EOMTv2: 0.40, Tarpit: 0.01},
	{Name: "2023-12-eol", Date: day("2023-12-01"), Note: "2013 heavy; 2007 : 2010 : 2013 = 275 : 4,062 : 26,298 (Macnica); ~9 % ProxyShell-open",
		Kinds: kinds2021, Products: [6]float64{0.55 * 275 / 30635, 0.55 * 4062 / 30635, 0.55 * 26298 / 30635, 0.27, 0.18, 0}, Family: exchange.ProxyShell, Share: 0.09, Age: 2, EOMTPatched: 0.03, EOMTv2: 0.15, Tarpit: 0.01},
	{Name: "mixed", Date: day("2026-02-10"), Note: "every product and branch of the rules, for accuracy tests",
		Kinds: [5]float64{0.80, 0.03, 0.06, 0.06, 0.05}, Products: [6]float64{0.02, 0.06, 0.25, 0.30, 0.30, 0.07}, Family: exchange.ProxyLogon, Share: 0.25, Age: 4, EOMT: 0.15, EOMTPatched: 0.05, EOMTv2: 0.15, Tarpit: 0.01},
}

// Scenarios lists the preset names.
func Scenarios() []string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.Name)
	}
	return out
}

func scenarioByName(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenario{}, false
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err) // constants above
	}
	return t
}

// releaseDate reads the table's dates; month-only dates count as the 28th,
// so a build of "2021-03" is not installed on 2021-03-02.
func releaseDate(s string) time.Time {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01", s); err == nil {
		return t.AddDate(0, 0, 27)
	}
	return time.Time{}
}

// candidate is one installable build with its draw weight.
type candidate struct {
	rel    exchange.Release
	weight float64
}

// world holds what a scenario draws from: per product, the builds
// released by its date, split into those vulnerable to the scenario's
// family and the others.
type world struct {
	sc       scenario
	vuln     map[exchange.Product][]candidate
	fixed    map[exchange.Product][]candidate
	byBuild  map[string]exchange.Release
	cuOfRows map[string][]exchange.Release // "15.2.858" → rows of that CU
}

func newWorld(sc scenario) *world {
	w := &world{sc: sc, vuln: map[exchange.Product][]candidate{}, fixed: map[exchange.Product][]candidate{},
		byBuild: map[string]exchange.Release{}, cuOfRows: map[string][]exchange.Release{}}
	table := exchange.Table()
	cuDate := map[string]time.Time{}
	for _, r := range table {
		w.byBuild[r.Build.String()] = r
		w.cuOfRows[r.Build.Short()] = append(w.cuOfRows[r.Build.Short()], r)
		if _, ok := cuDate[r.Build.Short()]; !ok {
			cuDate[r.Build.Short()] = releaseDate(r.Date)
		}
	}
	for _, r := range table {
		if releaseDate(r.Date).After(sc.Date) {
			continue
		}
		// Weight by the CU's age, not the row's: an old CU with a fresh SU
		// is as rare as the old CU.
		age := sc.Date.Sub(cuDate[r.Build.Short()]).Hours() / (24 * 365)
		c := candidate{rel: r, weight: 1 / (1 + age/sc.Age) / (1 + age/sc.Age)}
		if openTo(r, sc.Family) {
			w.vuln[r.Product] = append(w.vuln[r.Product], c)
		} else {
			w.fixed[r.Product] = append(w.fixed[r.Product], c)
		}
	}
	return w
}

// openTo reports whether a build is exposed to the family in the sense of
// the scenario shares: for ProxyShell the pre-auth pair (below Apr21SU).
func openTo(r exchange.Release, f exchange.Family) bool {
	if r.State(f) != exchange.Vulnerable {
		return false
	}
	return !(f == exchange.ProxyShell && r.Partial(f))
}

// Builds outside the exchange table: only their product matters to the
// rules (2007 and 2010 are out of support, SE ships every fix, Online is
// out of scope), so these are plausible synthetic numbers.
var (
	builds2007 = []string{"8.3.83.6", "8.3.298.3", "8.3.485.1"}
	builds2010 = []string{"14.3.123.4", "14.3.389.1", "14.3.496.0", "14.3.509.0", "14.3.513.0"}
	buildsSE   = []string{"15.2.2562.17", "15.2.2562.29", "15.2.2562.37"}
)
