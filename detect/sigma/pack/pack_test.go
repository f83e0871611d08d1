package pack_test

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/detect/sigma"
	"github.com/exhunt/exhunt/detect/sigma/pack"
	"github.com/exhunt/exhunt/finding"
)

// load loads the whole pack and fails on any rule the engine cannot take.
func load(t *testing.T) sigma.LoadReport {
	t.Helper()
	lr := sigma.Load(pack.FS(), pack.RulesDir)
	for _, e := range lr.Invalid {
		t.Errorf("invalid: %v", e)
	}
	for _, e := range lr.Unsupported {
		t.Errorf("unsupported: %v", e)
	}
	if len(lr.Correlations) > 0 || len(lr.Filters) > 0 {
		t.Errorf("the pack holds %d correlations and %d filters; this test only runs detection rules", len(lr.Correlations), len(lr.Filters))
	}
	files, err := fs.Glob(pack.FS(), pack.RulesDir+"/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Loaded) != len(files) {
		t.Errorf("%d rule files, %d rules loaded", len(files), len(lr.Loaded))
	}
	if len(lr.Loaded) == 0 {
		t.Fatal("no rules loaded")
	}
	return lr
}

var exhID = regexp.MustCompile(`^EXH-EV-\d{2}$`)

// TestPackRules checks the attributes every pack rule must carry.
func TestPackRules(t *testing.T) {
	lr := load(t)
	ids := map[string]string{}
	uuids := map[string]string{}
	for _, r := range lr.Loaded {
		if !r.Routed() {
			t.Errorf("%s: reads no evidence exhunt parses: %s", r, r.NoEvidence())
		}
		m := r.Exhunt
		if m == nil {
			t.Errorf("%s: no exhunt attribute", r)
			continue
		}
		if !exhID.MatchString(m.ID) {
			t.Errorf("%s: exhunt.id %q is not EXH-EV-NN", r, m.ID)
		}
		if prev, dup := ids[m.ID]; dup {
			t.Errorf("%s: exhunt.id %s already used by %s", r, m.ID, prev)
		}
		ids[m.ID] = r.Path
		if prev, dup := uuids[r.ID]; dup {
			t.Errorf("%s: id %s already used by %s", r, r.ID, prev)
		}
		uuids[r.ID] = r.Path
		if m.Stage == finding.StageNone {
			t.Errorf("%s: exhunt.stage missing", r)
		}
		if r.Status != "experimental" || r.Author != "exhunt" || r.Date != "2026-11-25" {
			t.Errorf("%s: status/author/date = %q/%q/%q", r, r.Status, r.Author, r.Date)
		}
		if r.Title == "" || r.Description == "" || len(r.References) == 0 || len(r.Tags) == 0 || len(r.FalsePositives) == 0 {
			t.Errorf("%s: title, description, references, tags and falsepositives are all required", r)
		}
		switch r.Level {
		case "low", "medium", "high", "critical":
		default:
			t.Errorf("%s: level %q", r, r.Level)
		}
		a := r.Advisory()
		if a.ID != m.ID || a.Stage != m.Stage {
			t.Errorf("%s: advisory %s stage %s, want %s stage %s", r, a.ID, a.Stage, m.ID, m.Stage)
		}
		for _, ref := range r.References {
			if !strings.HasPrefix(ref, "https://") {
				t.Errorf("%s: reference %q is not an https URL", r, ref)
			}
		}
	}
	// Numbered from 01 without gaps (retired numbers are never reused), so
	// the next rule's number is obvious.
	retired := map[string]string{
		"EXH-EV-01": "moved to the built-in IIS detectors as EXH-PL-13",
		"EXH-EV-02": "moved to the built-in IIS detectors as EXH-WS-04",
	}
	n := 0
	for i := 1; n < len(ids); i++ {
		want := fmt.Sprintf("EXH-EV-%02d", i)
		_, used := ids[want]
		switch _, gone := retired[want]; {
		case used && gone:
			t.Errorf("%s is retired (%s) and must not be reused", want, retired[want])
		case used:
			n++
		case !gone:
			t.Errorf("exhunt ids: %s is missing (numbers run without gaps)", want)
			n = len(ids)
		}
	}
}

// TestPackSamples runs every rule's samples through the engine: at least
// one positive and one negative each, and all must come out as labelled.
func TestPackSamples(t *testing.T) {
	lr := load(t)
	eng, err := sigma.NewEngine(lr.Loaded, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, r := range lr.Loaded {
		p := pack.SamplesPath(r.Path)
		used[p] = true
		data, err := fs.ReadFile(pack.FS(), p)
		if err != nil {
			t.Errorf("%s: %v", r, err)
			continue
		}
		ss, err := sigma.ParseSamples(data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		pos, neg := 0, 0
		for _, s := range ss {
			if s.Match {
				pos++
			} else {
				neg++
			}
		}
		if pos < 1 || neg < 1 {
			t.Errorf("%s: %d positive and %d negative samples, want at least one of each", p, pos, neg)
		}
		for _, err := range eng.RunSamples(r, ss) {
			t.Error(err)
		}
	}
	// No orphaned sample files.
	files, err := fs.Glob(pack.FS(), pack.SamplesDir+"/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !used[f] {
			t.Errorf("%s: no rule %s", f, path.Join(pack.RulesDir, path.Base(f)))
		}
	}
}
