//go:build linux

package evidence

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFileItemsKeepAccessTime: reading a file item does not move its
// access time (O_NOATIME, we own the file). The access time is set before
// the modification time, so that relatime would update it on a plain read.
func TestFileItemsKeepAccessTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inetpub", "wwwroot", "aspnet_client")
	mk(t, dir, map[string]string{"s.aspx": shellPage})
	p := filepath.Join(dir, "s.aspx")
	old := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, old, old.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	atime := func() time.Time {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	before := atime()
	g := walk(t, []string{filepath.Dir(filepath.Dir(dir))}, Config{Files: true})
	if len(g.items) != 1 {
		t.Fatalf("items: %v", g.ipf())
	}
	if _, err := readItem(t, g.items[0]); err != nil {
		t.Fatal(err)
	}
	if after := atime(); !after.Equal(before) {
		t.Errorf("access time moved from %v to %v", before, after)
	}
}
