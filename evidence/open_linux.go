//go:build linux

package evidence

import (
	"errors"
	"os"
	"syscall"
)

// openRaw opens name read-only without blocking on a FIFO and, when
// allowed (owner or CAP_FOWNER), without updating its access time.
func openRaw(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return f, err
}
