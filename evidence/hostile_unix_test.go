//go:build unix

package evidence

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// hostileTree has symlink loops, a self-referencing symlink, a dangling
// symlink, a FIFO named like a log and a symlinked directory.
func hostileTree(t *testing.T) string {
	base := t.TempDir()
	root := filepath.Join(base, "r")
	outside := filepath.Join(base, "outside")
	mk(t, root, map[string]string{"W3SVC1/u_ex210301.log": iisLog, "W3SVC1/sub/u_ex210302.log": iisLog})
	mk(t, outside, map[string]string{"W3SVC7/u_ex210309.log": iisLog})
	links := map[string]string{
		"W3SVC1/loop":         "..",                 // points to its parent
		"W3SVC1/sub/up":       "../..",              // to the root
		"W3SVC1/self.log":     "self.log",           // to itself
		"W3SVC1/dangling.log": "does-not-exist.log", // unreadable
		"W3SVC1/out":          outside,              // a directory outside the tree
		"W3SVC1/alias.log":    "u_ex210301.log",     // a file: followed
		"W3SVC1/ping.log":     "pong.log",           // a two-link loop
		"W3SVC1/pong.log":     "ping.log",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "W3SVC1", "fifo.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestWalkHostileTree(t *testing.T) {
	root := hostileTree(t)
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		"W3SVC1/alias.log iis",
		"W3SVC1/sub/u_ex210302.log iis",
		"W3SVC1/u_ex210301.log iis",
	})
	var fails []string
	for p := range g.fails {
		rel, _ := filepath.Rel(root, p)
		fails = append(fails, filepath.ToSlash(rel))
	}
	want := map[string]bool{"W3SVC1/self.log": true, "W3SVC1/dangling.log": true, "W3SVC1/fifo.log": true, "W3SVC1/ping.log": true, "W3SVC1/pong.log": true}
	if len(fails) != len(want) {
		t.Errorf("fails: %v", g.fails)
	}
	for _, f := range fails {
		if !want[f] {
			t.Errorf("unexpected fail %s: %v", f, g.fails[filepath.Join(root, f)])
		}
	}
	// A FIFO given as a root is refused without blocking.
	fifo := filepath.Join(root, "W3SVC1", "fifo.log")
	if err := CheckRoots([]string{fifo}); err == nil {
		t.Errorf("CheckRoots accepted a FIFO")
	}
	if g := walk(t, []string{fifo}, Config{}); len(g.items) != 0 || g.fails[fifo] == nil {
		t.Errorf("FIFO root: %v %v", g.pf(), g.fails)
	}
	// Opening a FIFO through an Item-style opener fails fast too.
	if _, err := fileOpener(fifo)(); err == nil {
		t.Errorf("opened a FIFO")
	}
}

func TestWalkRootSymlink(t *testing.T) {
	// The root itself may be a symlink (the user named it): it is followed.
	base := t.TempDir()
	mk(t, base, map[string]string{"real/W3SVC1/u_ex1.log": iisLog})
	link := filepath.Join(base, "link")
	os.Symlink(filepath.Join(base, "real"), link)
	g := walk(t, []string{link}, Config{})
	sameList(t, "items", g.pf(), []string{"W3SVC1/u_ex1.log iis"})
}

func hostileTreeForHash(t *testing.T) string { return hostileTree(t) }
