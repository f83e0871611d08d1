package hunt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/detect/sigma"
	"github.com/exhunt/exhunt/detect/sigma/pack"
	"github.com/exhunt/exhunt/finding"
)

// SigmaRules is the Sigma part of a run's rule set: the embedded pack plus
// the user's rule folders, loaded, validated and indexed once.
type SigmaRules struct {
	Engine *sigma.Engine
	// Report is the merged load report; rule paths of user rules are as the
	// user gave them, pack rules are "pack:rules/<file>".
	Report sigma.LoadReport
	// Pack is the number of loaded pack rules (the first ones in Report.Loaded).
	Pack int

	advisory map[*sigma.Rule]finding.Advisory
}

// LoadSigma loads the embedded pack (unless noPack) and every rule file
// under paths (folders are walked for *.yml and *.yaml; a file is read as
// one rule file). Rules that do not load are in Report.Unsupported and
// Report.Invalid; LoadSigma fails only when a path cannot be read at all or
// the loaded rules cannot be indexed.
func LoadSigma(paths []string, noPack bool) (*SigmaRules, error) {
	var all sigma.LoadReport
	out := &SigmaRules{}
	if !noPack {
		lr := sigma.Load(pack.FS(), pack.RulesDir)
		prefix(&lr, "pack:")
		if n := len(lr.Invalid) + len(lr.Unsupported); n > 0 {
			// The pack is tested; this only happens on a broken build.
			return nil, fmt.Errorf("embedded Sigma pack: %d rule(s) do not load: %v", n, append(lr.Invalid, lr.Unsupported...)[0])
		}
		merge(&all, lr)
		out.Pack = len(lr.Loaded)
	}
	for _, p := range paths {
		lr, err := loadPath(p)
		if err != nil {
			return nil, err
		}
		merge(&all, lr)
	}
	dedupe(&all)
	eng, err := sigma.NewEngine(all.Loaded, all.Filters, all.Correlations)
	if err != nil {
		return nil, fmt.Errorf("indexing the Sigma rules: %w", err)
	}
	out.Engine, out.Report = eng, all
	out.advisory = make(map[*sigma.Rule]finding.Advisory, len(all.Loaded))
	for _, r := range all.Loaded {
		a := r.Advisory()
		a.RuleFile = r.Path // after prefix: where the user finds the file
		out.advisory[r] = a
	}
	return out, nil
}

// Advisory returns the (cached) advisory of a loaded rule.
func (s *SigmaRules) Advisory(r *sigma.Rule) finding.Advisory {
	if a, ok := s.advisory[r]; ok {
		return a
	}
	a := r.Advisory()
	a.RuleFile = r.Path
	return a
}

func loadPath(p string) (sigma.LoadReport, error) {
	st, err := os.Stat(p)
	if err != nil {
		return sigma.LoadReport{}, fmt.Errorf("--sigma %s: %w", p, err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return sigma.LoadReport{}, fmt.Errorf("--sigma %s: %w", p, err)
		}
		if len(data) > sigma.MaxFileSize {
			return sigma.LoadReport{Invalid: []sigma.RuleError{{Path: p, Reason: fmt.Sprintf("file is %d bytes, larger than the %d-byte limit for a rule file", len(data), sigma.MaxFileSize)}}}, nil
		}
		return sigma.ParseFile(p, data), nil
	}
	lr := sigma.Load(os.DirFS(p), ".")
	prefix(&lr, filepath.ToSlash(filepath.Clean(p))+"/")
	return lr, nil
}

// prefix makes rule paths name the folder they were loaded from.
func prefix(lr *sigma.LoadReport, pre string) {
	for _, r := range lr.Loaded {
		r.Path = pre + r.Path
	}
	for _, c := range lr.Correlations {
		c.Path = pre + c.Path
	}
	for _, f := range lr.Filters {
		f.Path = pre + f.Path
	}
	for i := range lr.Unsupported {
		lr.Unsupported[i].Path = pre + lr.Unsupported[i].Path
	}
	for i := range lr.Invalid {
		lr.Invalid[i].Path = pre + lr.Invalid[i].Path
	}
}

func merge(dst *sigma.LoadReport, src sigma.LoadReport) {
	dst.Loaded = append(dst.Loaded, src.Loaded...)
	dst.Correlations = append(dst.Correlations, src.Correlations...)
	dst.Filters = append(dst.Filters, src.Filters...)
	dst.Unsupported = append(dst.Unsupported, src.Unsupported...)
	dst.Invalid = append(dst.Invalid, src.Invalid...)
}

// dedupe drops a rule whose id was already loaded (the same folder given
// twice, or a rule copied beside the pack), keeping the first and
// reporting the others as invalid, so that one hit never counts twice.
func dedupe(lr *sigma.LoadReport) {
	seen := map[string]string{}
	kept := lr.Loaded[:0]
	for _, r := range lr.Loaded {
		if r.ID != "" {
			if first, dup := seen[r.ID]; dup {
				lr.Invalid = append(lr.Invalid, sigma.RuleError{Path: r.Path, Doc: r.Doc, ID: r.ID, Title: r.Title, Field: "id", Reason: "duplicate rule id, already loaded from " + first})
				continue
			}
			seen[r.ID] = r.Path
		}
		kept = append(kept, r)
	}
	lr.Loaded = kept
}

// SigmaSampleResult is the outcome of one pack rule's samples.
type SigmaSampleResult struct {
	Rule    string // EXH-EV-NN and file
	Samples int
	Errs    []error
}

// CheckSigmaSamples runs the samples of every rule in the embedded pack
// through a one-rule engine (prefilter and index included).
func CheckSigmaSamples() ([]SigmaSampleResult, error) {
	lr := sigma.Load(pack.FS(), pack.RulesDir)
	if n := len(lr.Invalid) + len(lr.Unsupported); n > 0 {
		return nil, fmt.Errorf("embedded Sigma pack: %d rule(s) do not load", n)
	}
	sort.Slice(lr.Loaded, func(i, j int) bool { return lr.Loaded[i].Path < lr.Loaded[j].Path })
	var out []SigmaSampleResult
	for _, r := range lr.Loaded {
		name := r.Path
		if r.Exhunt != nil && r.Exhunt.ID != "" {
			name = r.Exhunt.ID + " " + strings.TrimPrefix(r.Path, pack.RulesDir+"/")
		}
		res := SigmaSampleResult{Rule: name}
		data, err := fs.ReadFile(pack.FS(), pack.SamplesPath(r.Path))
		if err != nil {
			res.Errs = append(res.Errs, fmt.Errorf("no samples: %w", err))
			out = append(out, res)
			continue
		}
		ss, err := sigma.ParseSamples(data)
		if err == nil && len(ss) == 0 {
			err = errors.New("empty samples file")
		}
		if err != nil {
			res.Errs = append(res.Errs, err)
			out = append(out, res)
			continue
		}
		res.Samples = len(ss)
		eng, err := sigma.NewEngine([]*sigma.Rule{r}, nil, nil)
		if err != nil {
			res.Errs = append(res.Errs, err)
		} else {
			res.Errs = append(res.Errs, eng.RunSamples(r, ss)...)
		}
		out = append(out, res)
	}
	return out, nil
}
