package parse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxLine is the longest line a parser accepts; longer lines are skipped
// and counted as malformed (a real IIS or Exchange row is a few KB).
const MaxLine = 256 << 10

// binaryProbe is how much of a file's start is inspected for binary content.
const binaryProbe = 4096

var bom = []byte{0xEF, 0xBB, 0xBF}

// ErrBinary reports a file that is not text.
var ErrBinary = errors.New("not a text log (binary content)")

// stickyReader remembers the first error of r, so that bufio (whose Peek
// hands an error out once and forgets it) cannot lose a read error.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// Lines calls fn for every physical line of r, 1-based, with the line ending
// (LF or CRLF), a leading UTF-8 BOM and leading NUL padding (what a crash
// leaves in a preallocated log) removed. line aliases the read buffer and is
// only valid during the call. Over-long lines are skipped (fn is not called;
// they are counted in lines and in overlong). It checks ctx at the start,
// every thousand lines and on every over-long chunk. A first block that is
// mostly NULs, control bytes or invalid UTF-8 is reported as ErrBinary.
// A read error is returned after the lines before it were delivered.
func Lines(ctx context.Context, r io.Reader, fn func(n int64, line []byte) error) (lines, overlong int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReaderSize(&stickyReader{r: r}, MaxLine+2)
	// Peek errors are sticky and come back from ReadSlice below.
	head, _ := br.Peek(binaryProbe)
	if bytes.HasPrefix(head, bom) {
		head = head[len(bom):]
		_, _ = br.Discard(len(bom))
	}
	if looksBinary(head) {
		return 0, 0, ErrBinary
	}
	long := false // inside an over-long line
	for {
		chunk, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			if !long {
				long = true
				lines++
				overlong++
			}
			if err := ctx.Err(); err != nil {
				return lines, overlong, err
			}
			continue
		}
		if long {
			long = false // chunk is the tail of the over-long line
		} else if len(chunk) > 0 {
			lines++
			line := chunk
			if n := len(line); line[n-1] == '\n' {
				line = line[:n-1]
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > 0 && line[0] == 0 {
				line = bytes.TrimLeft(line, "\x00")
			}
			if len(line) > MaxLine {
				overlong++
			} else if err := fn(lines, line); err != nil {
				return lines, overlong, err
			}
			if lines&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return lines, overlong, err
				}
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return lines, overlong, nil
			}
			return lines, overlong, rerr
		}
	}
}

// looksBinary says whether a file's first block is binary: more than one
// byte in ten is a NUL, another control byte or invalid UTF-8. UTF-16 logs
// (NUL every other byte) count as binary; they are not a format Exchange
// or IIS writes. A stray NUL or a few Latin-1 bytes do not.
func looksBinary(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
				bad++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if !utf8.FullRune(b[i:]) {
				break // a character cut by the block end
			}
			bad++
		}
		i += size
	}
	return bad*10 > len(b)
}

// OverlongNote is the problem text for skipped long lines.
func OverlongNote(n int64) string {
	return fmt.Sprintf("%d line(s) longer than %d bytes skipped", n, MaxLine)
}
