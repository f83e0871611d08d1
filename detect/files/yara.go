package files

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/VirusTotal/gyp"

	"github.com/exhunt/exhunt/detect/files/pack"
	"github.com/exhunt/exhunt/detect/yara"
	"github.com/exhunt/exhunt/finding"
)

// MaxRuleFile bounds one YARA rule file (signature-base's largest is
// under 1 MB).
const MaxRuleFile = 16 << 20

// YaraRules is the YARA part of a run: the embedded pack plus the user's
// rule files, compiled once.
type YaraRules struct {
	Rules *yara.Rules
	// Report is what Compile made of each file; pack files are named
	// "pack:rules/<file>", user files as the user gave them.
	Report yara.Report
	// Pack is the number of pack rules loaded.
	Pack int

	hashes map[string]bool
}

// IsRuleSource reports whether a SHA-256 (hex) is that of a loaded rule
// file: such a file is never scanned (it would match itself).
func (y *YaraRules) IsRuleSource(sha string) bool {
	return y != nil && y.hashes[sha]
}

// LoadYara compiles the embedded pack (unless noPack) and every *.yar and
// *.yara file under each path (a file given directly is read whatever its
// name). Rules the engine cannot evaluate are listed in Report with the
// reason; LoadYara fails only when a path cannot be read, or the pack
// itself does not load (a broken build).
func LoadYara(paths []string, noPack bool) (*YaraRules, error) {
	var srcs []yara.Source
	npack := 0
	if !noPack {
		ps, err := pack.Sources()
		if err != nil {
			return nil, err
		}
		npack = len(ps)
		srcs = append(srcs, ps...)
	}
	for _, p := range paths {
		s, err := readRuleSources(p)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s...)
	}
	rules, rep := yara.Compile(srcs)
	y := &YaraRules{Rules: rules, Report: rep, hashes: map[string]bool{}}
	for i, f := range rep.Files {
		if i < npack {
			if f.Err != "" {
				return nil, fmt.Errorf("embedded YARA pack: %s: %s", f.Name, f.Err)
			}
			for _, r := range f.Rules {
				if !r.Loaded {
					return nil, fmt.Errorf("embedded YARA pack: %s: %s: %s", f.Name, r.Rule, r.Reason)
				}
				y.Pack++
			}
		}
	}
	for _, h := range rules.SourceHashes() {
		y.hashes[h] = true
	}
	return y, nil
}

// readRuleSources reads one --yara path: a rule file, or a folder walked
// for *.yar and *.yara (any case), in sorted order.
func readRuleSources(p string) ([]yara.Source, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("--yara %s: %w", p, err)
	}
	read := func(file, name string) (yara.Source, error) {
		st, err := os.Stat(file)
		if err != nil {
			return yara.Source{}, fmt.Errorf("--yara %s: %w", file, err)
		}
		if st.Size() > MaxRuleFile {
			return yara.Source{}, fmt.Errorf("--yara %s: %d bytes, larger than the %d-byte limit for a rule file", file, st.Size(), MaxRuleFile)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return yara.Source{}, fmt.Errorf("--yara %s: %w", file, err)
		}
		return yara.Source{Name: name, Data: data}, nil
	}
	if !fi.IsDir() {
		s, err := read(p, filepath.ToSlash(p))
		if err != nil {
			return nil, err
		}
		return []yara.Source{s}, nil
	}
	var out []yara.Source
	err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("--yara %s: %w", file, err)
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(file)) {
		case ".yar", ".yara":
		default:
			return nil
		}
		s, err := read(file, filepath.ToSlash(file))
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// SeverityFromScore maps a signature-base/LOKI score: 75 and above high,
// 60–74 medium, 40–59 low, below 40 info (THOR and LOKI do not report
// such matches on their own).
func SeverityFromScore(score int64) finding.Severity {
	switch {
	case score >= 75:
		return finding.High
	case score >= 60:
		return finding.Medium
	case score >= 40:
		return finding.Low
	}
	return finding.Info
}

// SeverityFromMeta reads a rule's severity: a "severity" meta (info, low,
// medium, high, critical) wins; else a "score" meta through
// SeverityFromScore; else medium. It also says which it used.
func SeverityFromMeta(meta map[string]any) (finding.Severity, string) {
	if s, ok := meta["severity"].(string); ok {
		if v, err := finding.ParseSeverity(strings.TrimSpace(s)); err == nil {
			return v, "severity meta"
		}
	}
	switch v := meta["score"].(type) {
	case int64:
		return SeverityFromScore(v), "score " + strconv.FormatInt(v, 10)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return SeverityFromScore(n), "score " + strconv.FormatInt(n, 10)
		}
	}
	return finding.Medium, "no score"
}

// RuleAdvisory builds the advisory of a YARA rule from its namespace (the
// rule file), name, tags and meta. Our pack's rules carry exhunt_id,
// stage, campaign, cve, technique and reference metas; community rules get
// an id derived from file and rule, stage write, and T1505.003 when they
// are about web shells.
func RuleAdvisory(ns, rule string, tags []string, meta map[string]any) finding.Advisory {
	str := func(k string) string {
		if s, ok := meta[k].(string); ok {
			return strings.TrimSpace(s)
		}
		return ""
	}
	list := func(k string) []string {
		var out []string
		for _, s := range strings.Split(str(k), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	a := finding.Advisory{
		ID:         str("exhunt_id"),
		Title:      str("description"),
		Campaign:   str("campaign"),
		CVEs:       list("cve"),
		Techniques: list("technique"),
		Rule:       ns + ":" + rule,
		RuleFile:   ns,
		Stage:      finding.StageWrite,
	}
	if a.ID == "" {
		sum := sha256.Sum256([]byte(ns + ":" + rule))
		a.ID = "YARA-" + hex.EncodeToString(sum[:4])
		// A community rule: say which rule spoke.
		if a.Title == "" {
			a.Title = "YARA rule " + rule
		} else {
			a.Title += " (YARA " + rule + ")"
		}
	} else if a.Title == "" {
		a.Title = rule
	}
	a.Severity, _ = SeverityFromMeta(meta)
	if s := str("stage"); s != "" {
		var st finding.Stage
		if st.UnmarshalText([]byte(s)) == nil {
			a.Stage = st
		}
	}
	if ref := str("reference"); ref != "" {
		a.References = []string{ref}
	}
	if len(a.Techniques) == 0 && webShellRule(ns, rule, tags, a.Title) {
		a.Techniques = []string{"T1505.003"}
	}
	return a
}

// webShellRule reports whether a rule is about web shells by its names.
func webShellRule(ns, rule string, tags []string, title string) bool {
	s := strings.ToLower(ns + " " + rule + " " + title + " " + strings.Join(tags, " "))
	for _, w := range []string{"webshell", "web shell", "web_shell", "chopper", "regeorg", "godzilla", "behinder", "antsword"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// PackAdvisories returns the advisory of every rule in the embedded pack,
// in ID order (for `exhunt rules list`).
func PackAdvisories() ([]finding.Advisory, error) {
	srcs, err := pack.Sources()
	if err != nil {
		return nil, err
	}
	var out []finding.Advisory
	for _, s := range srcs {
		rs, err := gyp.ParseString(string(s.Data))
		if err != nil {
			return nil, fmt.Errorf("embedded YARA pack %s: %w", s.Name, err)
		}
		for _, r := range rs.Rules {
			meta := map[string]any{}
			for _, m := range r.Meta {
				if _, dup := meta[m.Key]; dup {
					continue
				}
				if i, ok := m.Value.(int64); ok {
					meta[m.Key] = i
				} else {
					meta[m.Key] = m.Value
				}
			}
			out = append(out, RuleAdvisory(s.Name, r.Identifier, r.Tags, meta))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
