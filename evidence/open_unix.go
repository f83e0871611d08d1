//go:build unix && !linux

package evidence

import (
	"os"
	"syscall"
)

// openRaw opens name read-only without blocking on a FIFO.
func openRaw(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
