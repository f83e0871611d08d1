package files_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/detect/files/heuristic"
	"github.com/exhunt/exhunt/finding"
)

const (
	corpusDir = "../../../shared/corpus"
	sigBase   = "../../../shared/signature-base/yara"
)

// sigBaseWebShellRules are the signature-base rule files about web shells
// and the Exchange campaigns.
var sigBaseWebShellRules = []string{
	"apt_hafnium*.yar", "*webshell*.yar", "expl_proxy*.yar", "thor-webshells.yar", "gen_cn_webshells.yar",
	"expl_cve_2022_41040_proxynoshell.yar", "vuln_proxynotshell_cve_2022_41040.yar", "exploit_cve_2021_33766_proxytoken.yar",
}

// TestWebShellCorpusQuality scans the shared web-shell corpus with the
// embedded rules and heuristics alone, then with signature-base's web-shell
// and Exchange rules added: every positive must be flagged at medium or
// above, no negative (hard negatives with Eval( and SaveAs( included). It
// prints recall and false positives for both; the first configuration
// fails on false positives only, the second on any miss or false positive.
//
//	go test ./detect/files -run WebShellCorpus -v
func TestWebShellCorpusQuality(t *testing.T) {
	pos, neg := filepath.Join(corpusDir, "pos", "webshell"), filepath.Join(corpusDir, "neg", "webshell")
	if _, err := os.Stat(pos); err != nil {
		t.Skip("shared corpus not present")
	}
	var sb []string
	seen := map[string]bool{}
	for _, g := range sigBaseWebShellRules {
		ms, _ := filepath.Glob(filepath.Join(sigBase, g))
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				sb = append(sb, m)
			}
		}
	}
	sort.Strings(sb)
	configs := []struct {
		name   string
		yara   []string
		strict bool
	}{
		{"embedded rules and heuristics", nil, false},
		{"embedded + signature-base web-shell and Exchange rules", sb, true},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			if c.yara != nil && len(c.yara) == 0 {
				t.Skip("signature-base not present")
			}
			y, err := files.LoadYara(c.yara, false)
			if err != nil {
				t.Fatal(err)
			}
			if n := y.Report.Unsupported; n > 0 {
				t.Logf("%d signature-base rules not loaded: %v", n, y.Report.UnsupportedList())
			}
			e, err := files.NewEngine(files.Config{Detectors: heuristic.All(), Yara: y, IOCs: files.NewIOCSet(files.Embedded()), KnownGood: files.NewIOCSet(files.KnownGood())})
			if err != nil {
				t.Fatal(err)
			}
			sc := e.NewScanner()
			var tp, fn, fp, tn int
			var misses, fps []string
			for _, set := range []struct {
				dir string
				pos bool
			}{{pos, true}, {neg, false}} {
				err := filepath.WalkDir(set.dir, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(corpusDir, p)
					worst, why := finding.Info, []string{}
					_, err = sc.Scan(context.Background(), files.File{Path: filepath.ToSlash(rel), Host: "corpus", Place: "other",
						Open: func() (io.ReadCloser, error) { return os.Open(p) }}, func(f finding.Finding) {
						if f.Severity > worst {
							worst = f.Severity
						}
						if f.Severity >= finding.Medium {
							why = append(why, f.ID+" "+f.Rule+" "+f.Severity.String())
						}
					})
					if err != nil {
						t.Errorf("%s: %v", rel, err)
					}
					flagged := worst >= finding.Medium
					switch {
					case set.pos && flagged:
						tp++
					case set.pos:
						fn++
						misses = append(misses, rel)
					case flagged:
						fp++
						fps = append(fps, rel+": "+strings.Join(why, ", "))
					default:
						tn++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: recall %d/%d (%.1f%%), false positives %d/%d at medium or above", c.name, tp, tp+fn, 100*float64(tp)/float64(max(1, tp+fn)), fp, fp+tn)
			for _, m := range misses {
				t.Logf("  missed %s", m)
				if c.strict {
					t.Errorf("missed %s", m)
				}
			}
			for _, f := range fps {
				t.Errorf("false positive %s", f)
			}
		})
	}
}
