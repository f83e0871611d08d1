package sigma

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The SigmaHQ rules are test data kept outside the repository
// (../shared/sigma, or $EXHUNT_SIGMA); tests that need them skip without.

func sigmaDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("EXHUNT_SIGMA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "sigma")
	}
	if _, err := os.Stat(filepath.Join(dir, "rules", "windows")); err != nil {
		t.Skipf("SigmaHQ rules not found at %s (set EXHUNT_SIGMA)", dir)
	}
	return dir
}

var (
	hqOnce  sync.Once
	hqByDir map[string]LoadReport
)

// loadHQ loads each SigmaHQ directory once per test binary.
func loadHQ(t testing.TB, dirs ...string) LoadReport {
	t.Helper()
	root := sigmaDir(t)
	hqOnce.Do(func() {
		hqByDir = map[string]LoadReport{}
		for _, d := range []string{"rules/windows", "rules/web", "rules-emerging-threats", "rules-threat-hunting"} {
			hqByDir[d] = Load(os.DirFS(root), d)
		}
	})
	var lr LoadReport
	for _, d := range dirs {
		lr.merge(hqByDir[d])
	}
	return lr
}

// upstreamBroken lists SigmaHQ rules that are broken upstream, with why.
// Keep it empty unless a rule really is wrong.
var upstreamBroken = map[string]string{}

// TestSigmaHQLoad loads the windows, web and emerging-threats rules and
// fails on any unsupported or invalid rule.
func TestSigmaHQLoad(t *testing.T) {
	dirs := []string{"rules/windows", "rules/web", "rules-emerging-threats"}
	lr := loadHQ(t, dirs...)
	routed, none := lr.Routed()
	t.Logf("SigmaHQ %s: loaded %d (routed %d, loaded with no evidence source %d), correlations %d, filters %d, unsupported %d, invalid %d",
		strings.Join(dirs, " + "), len(lr.Loaded), routed, none, len(lr.Correlations), len(lr.Filters), len(lr.Unsupported), len(lr.Invalid))
	reasons := map[string]int{}
	for _, r := range lr.Loaded {
		if !r.Routed() {
			reasons[r.NoEvidence()]++
		}
	}
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return reasons[keys[i]] > reasons[keys[j]] })
	for _, k := range keys {
		t.Logf("  no evidence source: %4d  %s", reasons[k], k)
	}
	for _, e := range append(append([]RuleError(nil), lr.Unsupported...), lr.Invalid...) {
		rel := strings.TrimPrefix(filepath.ToSlash(e.Path), "./")
		if why, ok := upstreamBroken[rel]; ok {
			t.Logf("known broken upstream: %s (%s)", e, why)
			continue
		}
		t.Errorf("not loaded: %s", e)
	}
}
