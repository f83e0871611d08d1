package finding

import (
	"strings"
	"testing"
)

func TestAdvisoryProblems(t *testing.T) {
	ok := Advisory{ID: "EXH-X-01", Title: "t", Stage: StageWrite, Techniques: []string{"T1505.003"}}
	if p := ok.Problems(); len(p) != 0 {
		t.Errorf("complete advisory: %v", p)
	}
	for _, c := range []struct {
		mut  func(*Advisory)
		want string
	}{
		{func(a *Advisory) { a.ID = "" }, "empty id"},
		{func(a *Advisory) { a.Title = "" }, "empty title"},
		{func(a *Advisory) { a.Stage = StageNone }, "no stage"},
		{func(a *Advisory) { a.Techniques = nil }, "no ATT&CK technique"},
	} {
		a := ok
		c.mut(&a)
		if got := strings.Join(a.Problems(), "; "); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestFingerprintRecord(t *testing.T) {
	a := Finding{Advisory: Advisory{ID: "EXH-EV-23"}, Host: "ex01", Evidence: Evidence{Path: "Security.evtx", Record: 1}}
	b := a
	b.Evidence.Record = 2
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("two records of one .evtx share a fingerprint")
	}
}
