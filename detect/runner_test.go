package detect

import (
	"fmt"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
)

func det(id string, kw []string, src []event.Source, match func(*event.Event) bool) *Detector {
	return &Detector{
		Advisory: finding.Advisory{ID: id, Title: id, Stage: finding.StageRecon, Techniques: []string{"T1595"}},
		Sources:  src,
		Keywords: kw,
		Match: func(ev *event.Event) (Hit, bool) {
			return Hit{}, match(ev)
		},
	}
}

func scanLine(t *testing.T, r *Runner, src event.Source, line string) []string {
	t.Helper()
	var ev event.Event
	ev.Reset(src, event.Location{Path: "x", Line: 1}, "h", []byte(line), nil, nil, nil)
	var got []string
	r.NewScanner().Scan(&ev, func(d *Detector, _ Hit) { got = append(got, d.ID) }, func(err error) { got = append(got, "ERR:"+err.Error()) })
	return got
}

func TestRunnerPrefilterAndRouting(t *testing.T) {
	calls := 0
	always := func(*event.Event) bool { calls++; return true }
	r, err := NewRunner([]*Detector{
		det("A", []string{"ServerInfo~"}, []event.Source{event.HTTPProxy}, always),
		det("B", []string{"autodiscover.json", "X-Rps-CAT"}, []event.Source{event.IIS, event.HTTPProxy}, always),
		det("C", []string{"serverinfo~"}, nil, func(*event.Event) bool { return false }),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src  event.Source
		line string
		want string
	}{
		{event.HTTPProxy, "x,SERVERINFO~a]@h:444/mapi/emsmdb", "A"},         // case-insensitive
		{event.IIS, "x,ServerInfo~a]@h:444/mapi/emsmdb", ""},                // A does not read IIS; C reads but does not match
		{event.IIS, "GET /autodiscover/AutoDiscover.JSON?@x", "B"},          // one of two keywords
		{event.HTTPProxy, "ServerInfo~ x-rps-cat autodiscover.json", "A,B"}, // both, once each, in list order
		{event.ECPServer, "nothing here", ""},
	}
	for _, c := range cases {
		got := strings.Join(scanLine(t, r, c.src, c.line), ",")
		if got != c.want {
			t.Errorf("%s %q: got %q, want %q", c.src, c.line, got, c.want)
		}
	}
	calls = 0
	scanLine(t, r, event.HTTPProxy, "a plain row with no keyword")
	if calls != 0 {
		t.Errorf("match ran %d times on a line without keywords", calls)
	}
}

func TestRunnerRejectsDuplicates(t *testing.T) {
	a := det("A", []string{"x"}, nil, func(*event.Event) bool { return true })
	if _, err := NewRunner([]*Detector{a, a}); err == nil {
		t.Fatal("duplicate id accepted")
	}
	if _, err := NewRunner([]*Detector{{Advisory: finding.Advisory{ID: "N"}}}); err == nil {
		t.Fatal("detector without match accepted")
	}
}

func TestRunnerContainsPanics(t *testing.T) {
	r, err := NewRunner([]*Detector{
		det("P", []string{"boom"}, nil, func(*event.Event) bool { panic("bad detector") }),
		det("Q", []string{"boom"}, nil, func(*event.Event) bool { return true }),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(scanLine(t, r, event.IIS, "boom"), ",")
	if !strings.Contains(got, "ERR:detector P panicked") || !strings.HasSuffix(got, "Q") {
		t.Errorf("got %q", got)
	}
}

func TestValidate(t *testing.T) {
	d := det("V", []string{"k"}, nil, func(*event.Event) bool { return true })
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "sample") {
		t.Errorf("missing samples not reported: %v", err)
	}
	d.Samples = []Sample{{Match: true}, {Match: false}}
	if err := d.Validate(); err != nil {
		t.Errorf("valid detector rejected: %v", err)
	}
	d.Keywords = nil
	if err := d.Validate(); err == nil {
		t.Error("detector without keywords accepted")
	}
}

// BenchmarkScan measures the matching cost alone (no parsing): one line per
// iteration through a runner with 200 keywords, most lines matching none.
func BenchmarkScan(b *testing.B) {
	var dets []*Detector
	for i := 0; i < 100; i++ {
		dets = append(dets, det(fmt.Sprintf("D%03d", i), []string{fmt.Sprintf("needle%03dx", i), fmt.Sprintf("/path%03d/", i)}, []event.Source{event.IIS}, func(*event.Event) bool { return true }))
	}
	r, err := NewRunner(dets)
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("2021-03-02 10:00:00 10.0.0.5 POST /owa/auth.owa - 443 CONTOSO\\alice 198.51.100.20 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/88.0.4324.190+Safari/537.36 https://mail.contoso.com/owa/ 302 0 0 31")
	sc := r.NewScanner()
	var ev event.Event
	b.SetBytes(int64(len(line) + 1))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset(event.IIS, event.Location{Path: "x", Line: 1}, "h", line, nil, nil, nil)
		sc.Scan(&ev, func(*Detector, Hit) {}, nil)
	}
}
