package evidence

import (
	"io"
	"path/filepath"
	"testing"
)

// TestWalkLeavesEvidenceUntouched hashes every tree (names, modes, sizes,
// mtimes, symlink targets, contents) before and after a walk that reads
// every item to the end, for each kind of root.
func TestWalkLeavesEvidenceUntouched(t *testing.T) {
	type root struct {
		name string
		tree string // what is hashed
		path string // what is walked
		cfg  Config
	}
	copied := copiedTree(t)
	sys, _ := systemImage(t)
	zdir := t.TempDir()
	zip := bundle(t, zdir)
	roots := []root{
		{"copied tree", copied, copied, Config{}},
		{"system targeted", filepath.Dir(sys), sys, Config{}},
		{"system full", filepath.Dir(sys), sys, Config{Full: true}},
		{"zip", zdir, zip, Config{}},
		{"single file", copied, filepath.Join(copied, "E", "IISLogs", "W3SVC3", "u_ex210303.log"), Config{}},
	}
	if h := hostileTreeForHash(t); h != "" {
		roots = append(roots, root{"hostile", filepath.Dir(h), h, Config{}})
	}
	for _, r := range roots {
		t.Run(r.name, func(t *testing.T) {
			before := treeHash(t, r.tree)
			g := walk(t, []string{r.path}, r.cfg)
			if len(g.items) == 0 {
				t.Fatal("nothing found")
			}
			for _, it := range g.items {
				rc, err := it.Open()
				if err != nil {
					continue
				}
				io.Copy(io.Discard, rc)
				rc.Close()
			}
			if after := treeHash(t, r.tree); after != before {
				t.Errorf("evidence changed by the walk")
			}
		})
	}
}
