//go:build !unix

package evidence

import "os"

// openRaw opens name read-only.
//
// On Windows, reading a file updates its last-access time when the volume
// has access-time updates enabled (off by default since Vista, but some
// servers turn it on). There is no cheap way to avoid it from Go: it would
// take FILE_WRITE_ATTRIBUTES access and SetFileTime(-1) on every handle,
// which needs write access to evidence we promise not to touch. We accept
// the access-time change and never modify anything else.
func openRaw(name string) (*os.File, error) {
	return os.Open(name)
}
