package exchange

import "testing"

// FuzzParseBuild: any string either fails to parse or gives a build whose
// text parses back to itself, and classifying it never panics.
func FuzzParseBuild(f *testing.F) {
	for _, s := range []string{"15.1.2106.2", "15.02.0858.002", "Exchange/15.2.858.2", "15.1.2106", "14.3.513.0", "15.20.5000.1", "8.3.0.0", "1.2", "15.1.-1.2", "15..1.2", " 15.1.2.3 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBuild(s)
		if err != nil {
			return
		}
		again, err := ParseBuild(b.String())
		if err != nil || again != b {
			t.Fatalf("%q → %v → %q → %v (%v)", s, b, b.String(), again, err)
		}
		a := Classify(b)
		if len(a.Families) != len(Families) {
			t.Fatalf("%s: %d family verdicts", b, len(a.Families))
		}
	})
}
