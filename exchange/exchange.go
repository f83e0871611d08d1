// Package exchange holds what exhunt knows about Microsoft Exchange itself:
// the build table (product, cumulative update, security update, date), the
// bug families ProxyLogon, ProxyShell, ProxyNotShell and OWASSRF, the state
// of each family at every build, and the campaign windows. The assess stage
// uses it to say what a server's build was exposed to; probe uses it to
// turn a remotely read build into a verdict; the fleet simulator uses it to
// build hosts and their ground truth. One table, so that the three agree.
//
// The rules are those of ../shared/design/exposure.md §3.3: the CU is
// keyed by the build's third component, never by "≥ the CU's release
// build" (Exchange 2019 CU9 shows 15.2.858.2 through OWA while ExSetup
// reads 15.2.858.5); a three-part build that cannot tell a patched SU from
// an unpatched one gives "potentially vulnerable".
package exchange

import (
	"bufio"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Family is a bug family: CVEs chained in one campaign, fixed together.
type Family string

const (
	ProxyLogon    Family = "ProxyLogon"
	ProxyShell    Family = "ProxyShell"
	ProxyNotShell Family = "ProxyNotShell"
	OWASSRF       Family = "OWASSRF"
)

// Families lists the families in campaign order.
var Families = []Family{ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF}

// CVEs names the CVEs of a family.
func (f Family) CVEs() []string {
	switch f {
	case ProxyLogon:
		return []string{"CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"}
	case ProxyShell:
		return []string{"CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"}
	case ProxyNotShell:
		return []string{"CVE-2022-41040", "CVE-2022-41082"}
	case OWASSRF:
		return []string{"CVE-2022-41080", "CVE-2022-41082"}
	}
	return nil
}

// FixedBy names the security update that fixes a family.
func (f Family) FixedBy() string {
	switch f {
	case ProxyLogon:
		return "Mar21SU"
	case ProxyShell:
		return "May21SU"
	case ProxyNotShell, OWASSRF:
		return "Nov22SU"
	}
	return ""
}

// Status is the verdict for one family at one build.
type Status string

const (
	Vulnerable    Status = "vulnerable"
	Potentially   Status = "potentially vulnerable" // the CU is known, the SU is not, and it decides
	NotVulnerable Status = "not vulnerable"
	Unknown       Status = "unknown"
)

// Product names an Exchange version.
type Product string

const (
	Ex2007    Product = "Exchange 2007"
	Ex2010    Product = "Exchange 2010"
	Ex2013    Product = "Exchange 2013"
	Ex2016    Product = "Exchange 2016"
	Ex2019    Product = "Exchange 2019"
	ExSE      Product = "Exchange SE"
	ExOnline  Product = "Exchange Online"
	ExUnknown Product = "unknown"
)

// SupportEnd is the end of extended support (HealthChecker's dates); zero
// for products we do not date.
func (p Product) SupportEnd() time.Time {
	switch p {
	case Ex2007:
		return day("2017-04-11")
	case Ex2010:
		return day("2020-10-13")
	case Ex2013:
		return day("2023-04-11")
	case Ex2016, Ex2019:
		return day("2025-10-14")
	case ExSE:
		return day("2035-12-31")
	}
	return time.Time{}
}

// Build is an Exchange version number. Parts is 4 for a full build
// (15.1.2106.13) and 3 when only the CU-level prefix was seen (15.1.2106).
type Build struct {
	Major, Minor, Build, Rev int
	Parts                    int
}

// ParseBuild reads "15.1.2106.13", the zero-padded "15.01.2106.013" of
// X-ServerApplication ("Exchange/" prefix allowed), or a three-part
// "15.1.2106". Anything else is rejected.
func ParseBuild(s string) (Build, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "Exchange/")
	parts := strings.Split(s, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return Build{}, fmt.Errorf("build %q: want three or four numbers", s)
	}
	var n [4]int
	for i, p := range parts {
		if p == "" || len(p) > 6 {
			return Build{}, fmt.Errorf("build %q: bad number %q", s, p)
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Build{}, fmt.Errorf("build %q: bad number %q", s, p)
		}
		n[i] = v
	}
	return Build{n[0], n[1], n[2], n[3], len(parts)}, nil
}

// MustBuild is ParseBuild for constants in tests and tables.
func MustBuild(s string) Build {
	b, err := ParseBuild(s)
	if err != nil {
		panic(err)
	}
	return b
}

func (b Build) String() string {
	if b.Parts == 3 {
		return fmt.Sprintf("%d.%d.%d", b.Major, b.Minor, b.Build)
	}
	return fmt.Sprintf("%d.%d.%d.%d", b.Major, b.Minor, b.Build, b.Rev)
}

// Short is the three-part CU prefix, as in OWA resource paths.
func (b Build) Short() string { return fmt.Sprintf("%d.%d.%d", b.Major, b.Minor, b.Build) }

// Padded is the form of the X-ServerApplication header: 15.02.0858.002.
func (b Build) Padded() string {
	return fmt.Sprintf("%d.%02d.%04d.%03d", b.Major, b.Minor, b.Build, b.Rev)
}

// ProductOf maps major.minor (and the build for Exchange SE) to a product.
func ProductOf(b Build) Product {
	switch {
	case b.Major == 8:
		return Ex2007
	case b.Major == 14:
		return Ex2010
	case b.Major == 15 && b.Minor == 0:
		return Ex2013
	case b.Major == 15 && b.Minor == 1:
		return Ex2016
	case b.Major == 15 && b.Minor == 2 && b.Build >= 2562:
		return ExSE
	case b.Major == 15 && b.Minor == 2:
		return Ex2019
	case b.Major == 15 && b.Minor >= 20:
		return ExOnline
	}
	return ExUnknown
}

// Release is one row of the build table.
type Release struct {
	Product Product
	CU      string // "CU18", "RTM"
	Name    string // "CU" for the CU's base build, else the SU name ("Mar21SU")
	Build   Build
	Date    string // YYYY-MM-DD or YYYY-MM
	// state per column: ProxyLogon, ProxyShell, ProxyNotShell/OWASSRF;
	// 'v' vulnerable, 'f' fixed, 'p' partially fixed, 'd' disputed (vulnerable).
	state [3]byte
}

//go:embed builds.tsv
var tableText string

// table and byCU ((major, minor, build) → row indexes, by revision) are
// data compiled into the binary; a malformed row is a programming error
// that the package's tests catch.
var table, byCU = mustLoad()

func mustLoad() ([]Release, map[[3]int][]int) {
	t, idx, err := loadTable(tableText)
	if err != nil {
		panic(err)
	}
	return t, idx
}

func loadTable(text string) ([]Release, map[[3]int][]int, error) {
	var rows []Release
	idx := map[[3]int][]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "product\t") {
			continue
		}
		c := strings.Split(t, "\t")
		if len(c) != 8 {
			return nil, nil, fmt.Errorf("builds.tsv:%d: %d columns", line, len(c))
		}
		b, err := ParseBuild(c[3])
		if err != nil || b.Parts != 4 {
			return nil, nil, fmt.Errorf("builds.tsv:%d: %v", line, err)
		}
		r := Release{Product: Product("Exchange " + c[0]), CU: c[1], Name: c[2], Build: b, Date: c[4]}
		for i := 0; i < 3; i++ {
			if len(c[5+i]) != 1 || !strings.Contains("vfpd", c[5+i]) {
				return nil, nil, fmt.Errorf("builds.tsv:%d: bad state %q", line, c[5+i])
			}
			r.state[i] = c[5+i][0]
		}
		if ProductOf(b) != r.Product {
			return nil, nil, fmt.Errorf("builds.tsv:%d: build %s is not %s", line, b, r.Product)
		}
		k := [3]int{b.Major, b.Minor, b.Build}
		// Rows of one CU arrive in revision order in the source table.
		if rs := idx[k]; len(rs) > 0 && rows[rs[len(rs)-1]].Build.Rev > b.Rev {
			return nil, nil, fmt.Errorf("builds.tsv:%d: revisions out of order", line)
		}
		idx[k] = append(idx[k], len(rows))
		rows = append(rows, r)
	}
	return rows, idx, sc.Err()
}

// Table returns every row of the build table, in table order.
func Table() []Release {
	out := make([]Release, len(table))
	copy(out, table)
	return out
}

// State is the status of a family at exactly this row's build.
func (r Release) State(f Family) Status {
	switch r.column(f) {
	case 'f':
		return NotVulnerable
	}
	return Vulnerable
}

// Partial reports a ProxyShell row fixed only in part (Apr21SU: the
// pre-auth pair fixed, CVE-2021-31207 open).
func (r Release) Partial(f Family) bool { return r.column(f) == 'p' }

// Disputed reports an SU row that sources disagree on (treated as
// unpatched, exposure.md §3.1).
func (r Release) Disputed(f Family) bool { return r.column(f) == 'd' }

func (r Release) column(f Family) byte {
	switch f {
	case ProxyLogon:
		return r.state[0]
	case ProxyShell:
		return r.state[1]
	case ProxyNotShell, OWASSRF:
		return r.state[2]
	}
	return 'v'
}

// FamilyVerdict is the outcome for one family.
type FamilyVerdict struct {
	Family Family
	Status Status
	// Detail says why in words: the SU that fixes it on this CU, that only
	// an upgrade fixes it, or why it cannot be decided.
	Detail string
}

// Assessment is what a build means.
type Assessment struct {
	Build    Build
	Product  Product
	CU       string // "" when the third component is not in the table
	Release  string // the row at or below the revision ("Mar21SU"), four-part builds only
	Known    bool   // the CU is in the table (or the product needs no table: SE)
	Families []FamilyVerdict
}

// EOLAt reports whether the product was out of support at t.
func (a Assessment) EOLAt(t time.Time) bool {
	end := a.Product.SupportEnd()
	return !end.IsZero() && t.After(end)
}

// Status returns the verdict for one family.
func (a Assessment) Status(f Family) Status {
	for _, v := range a.Families {
		if v.Family == f {
			return v.Status
		}
	}
	return Unknown
}

// Classify applies exposure.md §3.3 to a build.
func Classify(b Build) Assessment {
	a := Assessment{Build: b, Product: ProductOf(b)}
	all := func(s Status, detail string) {
		for _, f := range Families {
			a.Families = append(a.Families, FamilyVerdict{f, s, detail})
		}
	}
	switch a.Product {
	case ExSE:
		a.Known = true
		all(NotVulnerable, "Exchange SE ships every fix")
		return a
	case ExOnline:
		all(Unknown, "Exchange Online (Microsoft 365) build: not an on-premises server, out of scope")
		return a
	case Ex2007, Ex2010:
		all(Unknown, string(a.Product)+" is out of support and not in the build table; the 2021–2022 families were not assessed for it")
		return a
	case ExUnknown:
		all(Unknown, "not an Exchange version number")
		return a
	}
	rows := byCU[[3]int{b.Major, b.Minor, b.Build}]
	if len(rows) == 0 {
		all(Unknown, fmt.Sprintf("build %s is not in the build table (CU unknown)", b.Short()))
		return a
	}
	a.Known = true
	a.CU = table[rows[0]].CU
	if b.Parts == 4 {
		r := table[rowAt(rows, b.Rev)]
		if r.Name != "CU" {
			a.Release = r.Name
		}
		for _, f := range Families {
			a.Families = append(a.Families, FamilyVerdict{f, r.State(f), detail(f, rows, r)})
		}
		return a
	}
	// Three parts: every revision of the CU is a candidate.
	for _, f := range Families {
		first := table[rows[0]].State(f)
		same := true
		for _, i := range rows[1:] {
			if table[i].State(f) != first {
				same = false
			}
		}
		if same {
			a.Families = append(a.Families, FamilyVerdict{f, first, detail(f, rows, table[rows[0]])})
			continue
		}
		fix := fixRow(f, rows)
		a.Families = append(a.Families, FamilyVerdict{f, Potentially, fmt.Sprintf("%s %s fixed by %s %s or later; the security update installed cannot be seen", a.Product, a.CU, fix.Name, fix.Build)})
	}
	return a
}

// rowAt is the highest row at or below rev; a revision below the CU's
// first row (OwaVersion lagging ExSetup) counts as that first row.
func rowAt(rows []int, rev int) int {
	at := rows[0]
	for _, i := range rows {
		if table[i].Build.Rev <= rev {
			at = i
		}
	}
	return at
}

// fixRow is the first row of the CU fixed for f (nil-safe: rows end
// fixed whenever the verdicts differ).
func fixRow(f Family, rows []int) Release {
	for _, i := range rows {
		if table[i].State(f) == NotVulnerable {
			return table[i]
		}
	}
	return table[rows[len(rows)-1]]
}

func detail(f Family, rows []int, at Release) string {
	if at.State(f) == NotVulnerable {
		fix := fixRow(f, rows)
		if fix.Name == "CU" || fix.Name == table[rows[0]].Name {
			return fmt.Sprintf("%s %s already includes the %s fix", at.Product, at.CU, f.FixedBy())
		}
		return fmt.Sprintf("fixed by %s %s", fix.Name, fix.Build)
	}
	for _, i := range rows {
		if table[i].State(f) == NotVulnerable {
			msg := fmt.Sprintf("fixed by %s %s on this CU", table[i].Name, table[i].Build)
			if at.Partial(f) {
				msg = "partially fixed (Apr21SU: CVE-2021-31207 still open); " + msg
			}
			if at.Disputed(f) {
				msg = "sources disagree whether this build carries the fix; treated as unpatched; " + msg
			}
			return msg
		}
	}
	return fmt.Sprintf("%s %s never received the %s fix: only an upgrade to a later CU fixes it", at.Product, at.CU, f.FixedBy())
}

// Campaign is a period of exploitation in the wild of one family. The
// assess stage sets log coverage against these windows.
type Campaign struct {
	Name   string
	Family Family
	Start  time.Time
	End    time.Time // inclusive: the last day of the window
	Note   string
}

// Campaigns are the windows of exhunt's verdicts (docs/assess.md gives the
// sources). ProxyLogon's starts at the first exploitation seen by Volexity
// and runs through the mass exploitation that followed disclosure.
var Campaigns = []Campaign{
	{"ProxyLogon", ProxyLogon, day("2021-01-06"), day("2021-04-30"), "exploitation seen from 2021-01-06; disclosure and mass exploitation from 2021-03-02"},
	{"ProxyShell", ProxyShell, day("2021-08-01"), day("2021-09-30"), "mass exploitation from August 2021"},
	{"ProxyNotShell", ProxyNotShell, day("2022-09-01"), day("2022-11-30"), "exploited from September 2022 until the November 2022 SU"},
	{"OWASSRF", OWASSRF, day("2022-12-01"), day("2022-12-31"), "the OWA front-end bypass of the ProxyNotShell mitigation, December 2022"},
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}
