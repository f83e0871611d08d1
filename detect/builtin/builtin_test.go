package builtin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/detect/builtin"
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/hunt"
	"github.com/exhunt/exhunt/parse"
)

var reID = regexp.MustCompile(`^EXH-(PL|PS|PNS|OWA|PT|WS|HF)-\d{2}$`)

func TestDetectorsValidateAndIDsUnique(t *testing.T) {
	dets := builtin.All()
	if len(dets) < 30 {
		t.Fatalf("only %d detectors", len(dets))
	}
	titles := map[string]string{}
	check := func(a finding.Advisory) {
		t.Helper()
		if !reID.MatchString(a.ID) {
			t.Errorf("%s: id does not follow EXH-<FAMILY>-<NN>", a.ID)
		}
		if prev, ok := titles[a.ID]; ok && prev != a.Title {
			t.Errorf("%s has two titles: %q and %q", a.ID, prev, a.Title)
		}
		titles[a.ID] = a.Title
		if a.Description == "" || a.Campaign == "" || len(a.References) == 0 || len(a.Techniques) == 0 {
			t.Errorf("%s: incomplete metadata", a.ID)
		}
	}
	seen := map[string]bool{}
	for _, d := range dets {
		if err := d.Validate(); err != nil {
			t.Error(err)
		}
		if seen[d.ID] {
			t.Errorf("duplicate detector id %s", d.ID)
		}
		seen[d.ID] = true
		check(d.Advisory)
		for _, s := range d.Sources {
			if s == event.Unknown {
				t.Errorf("%s reads the unknown family", d.ID)
			}
		}
	}
	for _, c := range builtin.Correlators() {
		if seen[c.ID] {
			t.Errorf("correlator id %s collides with a detector", c.ID)
		}
		seen[c.ID] = true
		check(c.Advisory)
	}
	for _, a := range builtin.ChainAdvisories() {
		if seen[a.ID] {
			t.Errorf("chain advisory id %s collides", a.ID)
		}
		seen[a.ID] = true
		check(a)
	}
	if _, err := detect.NewRunner(dets); err != nil {
		t.Fatal(err)
	}
}

func TestSamples(t *testing.T) {
	res := hunt.CheckSamples(context.Background(), builtin.All())
	n := 0
	for _, r := range res {
		n++
		if !r.OK() {
			t.Errorf("%s sample %d (%s): want match=%v, got %v, err=%v", r.Detector, r.Index, r.Sample.Note, r.Sample.Match, r.Got, r.Err)
		}
	}
	t.Logf("%d samples checked", n)
}

// TestTruncatedRows cuts the last line of every sample at every separator
// and checks no detector panics on the short row.
func TestTruncatedRows(t *testing.T) {
	dets := builtin.All()
	r, err := detect.NewRunner(dets)
	if err != nil {
		t.Fatal(err)
	}
	sc := r.NewScanner()
	for _, d := range dets {
		for _, s := range d.Samples {
			text := strings.TrimRight(s.Text, "\n")
			i := strings.LastIndexByte(text, '\n')
			head, last := text[:i+1], text[i+1:]
			for j := 0; j < len(last); j++ {
				if last[j] != ' ' && last[j] != ',' && last[j] != ';' {
					continue
				}
				p := hunt.ParserFor(s.Source)
				_, err := p(context.Background(), strings.NewReader(head+last[:j]+"\n"), parse.Meta{Path: "t", Host: "t", Source: s.Source}, func(ev *event.Event) error {
					sc.Scan(ev, func(*detect.Detector, detect.Hit) {}, func(e error) { t.Errorf("%s: %v", d.ID, e) })
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func stepFinding(id, ip, ua, host string, at time.Time, line int64) finding.Finding {
	var adv finding.Advisory
	for _, d := range builtin.All() {
		if d.ID == id {
			adv = d.Advisory
		}
	}
	return finding.Finding{
		Advisory: adv, Time: at, Host: host,
		Evidence: finding.Evidence{Path: "HttpProxy/Ecp/HttpProxy_2021030219-1.LOG", Line: line, Source: "httpproxy",
			Fields: map[string]string{"client_ip": ip, "user_agent": ua}},
	}
}

func TestChainCorrelator(t *testing.T) {
	cs := builtin.Correlators()
	if len(cs) != 1 {
		t.Fatalf("want one correlator, got %d", len(cs))
	}
	c := cs[0]
	t0 := time.Date(2021, 2, 27, 19, 53, 36, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	full := []finding.Finding{
		stepFinding("EXH-PL-01", "198.51.100.7", "python-requests/2.25.1", "EX01", at(0), 10),
		stepFinding("EXH-PL-02", "198.51.100.7", "python-requests/2.25.1", "EX01", at(1), 11),
		stepFinding("EXH-PL-03", "198.51.100.7", "python-requests/2.25.1", "EX01", at(2), 12),
		stepFinding("EXH-PL-04", "198.51.100.7", "ExchangeServicesClient/0.0.0.0", "EX01", at(10), 13),
		// unrelated finding must be ignored
		stepFinding("EXH-HF-11", "198.51.100.7", "python-requests/2.25.1", "EX01", at(3), 14),
	}
	reconOnly := []finding.Finding{
		stepFinding("EXH-PL-01", "203.0.113.50", "curl/7.68.0", "EX01", at(100), 20),
		stepFinding("EXH-PL-01", "203.0.113.50", "curl/7.68.0", "EX01", at(160), 21),
	}
	scanner := []finding.Finding{
		stepFinding("EXH-PL-07", "192.0.2.99 10.0.0.1", "Mozilla/5.0 zgrab/0.x", "EX02", at(5), 30),
	}
	sessionOnly := []finding.Finding{
		stepFinding("EXH-PL-01", "203.0.113.60", "x", "EX01", at(0), 40),
		stepFinding("EXH-PL-06", "203.0.113.60", "x", "EX01", at(1), 41),
		stepFinding("EXH-PL-03", "203.0.113.60", "x", "EX01", at(2), 42),
	}
	var many []finding.Finding
	for i := 0; i < 50; i++ {
		many = append(many, stepFinding("EXH-PL-01", "203.0.113.70", "x", "EX01", at(i), int64(100+i)))
	}
	many = append(many, stepFinding("EXH-PL-05", "203.0.113.70", "x", "EX01", at(99), 999))

	cases := []struct {
		name    string
		in      []finding.Finding
		ip      string
		id      string
		sev     finding.Severity
		stage   finding.Stage
		k       string
		related int
		line    int64
	}{
		{"full chain to OAB write", full, "198.51.100.7", "EXH-PL-94", finding.Critical, finding.StageWrite, "4", 4, 13},
		{"recon only", reconOnly, "203.0.113.50", "EXH-PL-91", finding.Low, finding.StageAttempt, "1", 2, 20},
		{"scanner only", scanner, "192.0.2.99", "EXH-PL-96", finding.Low, finding.StageRecon, "0", 1, 30},
		{"session", sessionOnly, "203.0.113.60", "EXH-PL-93", finding.High, finding.StageExploit, "3", 3, 42},
		{"bounded related", many, "203.0.113.70", "EXH-PL-95", finding.Critical, finding.StageWrite, "5", builtin.MaxChainRelated, 999},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := c.Correlate(tc.in)
			if len(out) != 1 {
				t.Fatalf("want 1 chain finding, got %d: %+v", len(out), out)
			}
			f := out[0]
			if f.ID != tc.id || f.Severity != tc.sev || f.Stage != tc.stage {
				t.Errorf("got %s %s %s, want %s %s %s", f.ID, f.Severity, f.Stage, tc.id, tc.sev, tc.stage)
			}
			fl := f.Evidence.Fields
			if fl["client_ip"] != tc.ip || fl["chain_key"] != tc.ip || fl["stage_reached"] != tc.k {
				t.Errorf("fields: %v", fl)
			}
			for _, k := range []string{"user_agents", "first_seen", "last_seen", "stages"} {
				if fl[k] == "" {
					t.Errorf("missing field %s: %v", k, fl)
				}
			}
			if len(f.Related) != tc.related {
				t.Errorf("related: got %d, want %d", len(f.Related), tc.related)
			}
			if f.Evidence.Line != tc.line {
				t.Errorf("evidence line %d, want the deepest stage row %d", f.Evidence.Line, tc.line)
			}
			if !f.Time.Equal(tc.in[0].Time) && tc.name != "bounded related" {
				t.Errorf("time %v, want first row %v", f.Time, tc.in[0].Time)
			}
			if f.Host == "" {
				t.Error("no host")
			}
			if tc.name == "full chain to OAB write" {
				if !strings.Contains(f.Title, "stage 4 of 5") || !strings.Contains(fl["user_agents"], "ExchangeServicesClient") {
					t.Errorf("title %q, agents %q", f.Title, fl["user_agents"])
				}
				if fl["first_seen"] != "2021-02-27T19:53:36Z" || fl["last_seen"] != "2021-02-27T19:53:46Z" {
					t.Errorf("first/last %s %s", fl["first_seen"], fl["last_seen"])
				}
			}
		})
	}

	all := append(append(append([]finding.Finding{}, full...), reconOnly...), scanner...)
	out := c.Correlate(all)
	if len(out) != 3 {
		t.Fatalf("want 3 chain findings for 3 addresses, got %d", len(out))
	}
	if got := c.Correlate(nil); len(got) != 0 {
		t.Errorf("no input, got %d findings", len(got))
	}
}

// --- corpus evaluation ---

const corpus = "/work/shared/corpus"

type hitRec struct {
	file, id string
	sev      finding.Severity
	line     int64
}

func runFile(t *testing.T, r *detect.Runner, path string, src event.Source) []hitRec {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := r.NewScanner()
	var out []hitRec
	_, err = hunt.ParserFor(src)(context.Background(), fh, parse.Meta{Path: path, Host: "corpus", Source: src}, func(ev *event.Event) error {
		sc.Scan(ev, func(d *detect.Detector, h detect.Hit) {
			out = append(out, hitRec{file: path, id: d.ID, sev: d.Severity, line: ev.Loc.Line})
		}, func(e error) { t.Errorf("%s: %v", path, e) })
		return nil
	})
	if err != nil && err != parse.ErrBinary {
		t.Errorf("%s: %v", path, err)
	}
	return out
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpus); err != nil {
		t.Skip("corpus not present")
	}
	r, err := detect.NewRunner(builtin.All())
	if err != nil {
		t.Fatal(err)
	}
	negs := map[string]event.Source{"neg/iis": event.IIS, "neg/httpproxy": event.HTTPProxy, "neg/ecp": event.ECPServer}
	for dir, src := range negs {
		files, hits, bad := 0, 0, 0
		perID := map[string]int{}
		err := filepath.WalkDir(filepath.Join(corpus, dir), func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			files++
			for _, h := range runFile(t, r, p, src) {
				hits++
				perID[h.id]++
				if h.sev >= finding.Medium {
					bad++
					t.Errorf("negative corpus: %s %s at %s:%d", h.id, h.sev, h.file, h.line)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d files, %d findings (all below medium unless reported), %d >= medium; by id %v", dir, files, hits, bad, perID)
	}

	// signature-base#125: a header-less HttpProxy row of a localhost probe.
	pos, _ := filepath.Glob(filepath.Join(corpus, "pos/httpproxy/Neo23x0*/*"))
	if len(pos) == 0 {
		t.Error("no Neo23x0 positive sample")
	}
	for _, p := range pos {
		hs := runFile(t, r, p, event.HTTPProxy)
		var scan bool
		for _, h := range hs {
			if h.id == "EXH-PL-07" && h.sev == finding.Low {
				scan = true
			}
			if h.sev >= finding.Medium {
				t.Errorf("%s: localhost probe raised %s %s", p, h.id, h.sev)
			}
		}
		if !scan {
			t.Errorf("%s: localhost scan detector did not fire: %v", p, hs)
		}
		t.Logf("%s: %v", filepath.Base(p), hs)
	}

	pos, _ = filepath.Glob(filepath.Join(corpus, "pos/iis/Qazeer*/*"))
	if len(pos) == 0 {
		t.Error("no Qazeer positive sample")
	}
	for _, p := range pos {
		hs := runFile(t, r, p, event.IIS)
		var ok bool
		for _, h := range hs {
			if h.sev >= finding.Medium {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no finding >= medium: %v", p, hs)
		}
		t.Logf("%s: %s", filepath.Base(p), fmt.Sprint(hs))
	}
}
