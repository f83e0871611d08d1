package exchange

import (
	"strings"
	"testing"
	"time"
)

func TestParseBuild(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"15.1.2106.2", "15.1.2106.2", true},
		{"15.02.0858.002", "15.2.858.2", true},
		{"Exchange/15.02.0858.002", "15.2.858.2", true},
		{"15.1.2106", "15.1.2106", true},
		{"15.1", "", false},
		{"15.1.x.2", "", false},
		{"15.1.2106.2.1", "", false},
		{"15.1.-1.2", "", false},
		{"15.1.2106.9999999", "", false},
	} {
		b, err := ParseBuild(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseBuild(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && b.String() != tc.want {
			t.Errorf("ParseBuild(%q) = %s, want %s", tc.in, b, tc.want)
		}
	}
	if got := MustBuild("15.2.858.2").Padded(); got != "15.02.0858.002" {
		t.Errorf("Padded = %s", got)
	}
}

func TestTableLoads(t *testing.T) {
	if len(table) < 270 {
		t.Fatalf("table has %d rows", len(table))
	}
	if _, _, err := loadTable("product\\tcu\\n2016\\tCU1\\tCU\\t15.1.1.1\\t2016\\tv\\tv\\n"); err == nil {
		t.Error("short row accepted")
	}
	if _, _, err := loadTable("2016\tCU1\tCU\t15.2.1.1\t2016\tv\tv\tv\n"); err == nil {
		t.Error("row whose build is another product accepted")
	}
	if _, _, err := loadTable("2016\tCU1\tCU\t15.1.1.1\t2016\tv\tx\tv\n"); err == nil {
		t.Error("bad state accepted")
	}
}

func TestClassify(t *testing.T) {
	type want struct {
		product Product
		cu      string
		pl, ps  Status
		pns     Status
	}
	V, P, N, U := Vulnerable, Potentially, NotVulnerable, Unknown
	for _, tc := range []struct {
		build string
		want  want
	}{
		// Our samples: 2016 CU18 unpatched in early 2021.
		{"15.1.2106.2", want{Ex2016, "CU18", V, V, V}},
		{"15.1.2106.13", want{Ex2016, "CU18", N, V, V}}, // Mar21SU
		{"15.1.2106", want{Ex2016, "CU18", P, V, V}},    // three parts: SU unseen
		// 2019 CU9: OwaVersion 858.2 below the CU's 858.5 counts as the CU.
		{"15.2.858.2", want{Ex2019, "CU9", N, V, V}},
		{"15.2.858.10", want{Ex2019, "CU9", N, V, V}}, // Apr21SU: partial
		{"15.2.858.12", want{Ex2019, "CU9", N, N, V}}, // May21SU
		{"15.2.858", want{Ex2019, "CU9", N, P, V}},
		// Disputed HealthChecker row treated as unpatched.
		{"15.1.1415.8", want{Ex2016, "CU8", V, V, V}},
		{"15.1.1415.10", want{Ex2016, "CU8", N, V, V}},
		// Late builds.
		{"15.2.1748.26", want{Ex2019, "CU15", N, N, N}},
		{"15.2.2562.17", want{ExSE, "", N, N, N}},
		// Not decidable.
		{"15.1.9999.1", want{Ex2016, "", U, U, U}},
		{"15.20.5000.1", want{ExOnline, "", U, U, U}},
		{"14.3.513.0", want{Ex2010, "", U, U, U}},
	} {
		a := Classify(MustBuild(tc.build))
		got := want{a.Product, a.CU, a.Status(ProxyLogon), a.Status(ProxyShell), a.Status(ProxyNotShell)}
		if got != tc.want {
			t.Errorf("Classify(%s) = %+v, want %+v", tc.build, got, tc.want)
		}
		if a.Status(OWASSRF) != a.Status(ProxyNotShell) {
			t.Errorf("Classify(%s): OWASSRF %s differs from ProxyNotShell", tc.build, a.Status(OWASSRF))
		}
		for _, f := range a.Families {
			if f.Detail == "" {
				t.Errorf("Classify(%s) %s: no detail", tc.build, f.Family)
			}
		}
	}
	if d := Classify(MustBuild("15.2.858.10")).Families[1].Detail; !strings.Contains(d, "31207") {
		t.Errorf("partial ProxyShell detail = %q", d)
	}
	if d := Classify(MustBuild("15.1.2106")).Families[0].Detail; !strings.Contains(d, "15.1.2106.13") {
		t.Errorf("potential ProxyLogon detail = %q, want the fixing build", d)
	}
	// 2013 CU20 never got Mar21SU: only an upgrade fixes it.
	if d := Classify(MustBuild("15.0.1367.3")).Families[0].Detail; !strings.Contains(d, "upgrade") {
		t.Errorf("CU without SU detail = %q", d)
	}
}

func TestEOL(t *testing.T) {
	a := Classify(MustBuild("15.0.1497.2"))
	if !a.EOLAt(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || a.EOLAt(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("Exchange 2013 support end wrong")
	}
}

func TestEveryRowClassifiesToItself(t *testing.T) {
	for _, r := range table {
		a := Classify(r.Build)
		for _, f := range Families {
			if a.Status(f) != r.State(f) {
				t.Errorf("%s %s %s: %s = %s, row says %s", r.Product, r.CU, r.Build, f, a.Status(f), r.State(f))
			}
		}
	}
}
