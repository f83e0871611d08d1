package parse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// MaxLine is the longest line a parser accepts; longer lines are skipped
// and counted as malformed (a real IIS or Exchange row is a few KB).
const MaxLine = 256 << 10

var bom = []byte{0xEF, 0xBB, 0xBF}

// ErrBinary reports a file that is not text.
var ErrBinary = errors.New("not a text log (binary content)")

// Lines calls fn for every physical line of r, 1-based, with the line ending
// (LF or CRLF) and a leading UTF-8 BOM removed. Over-long lines are skipped
// (fn is not called; the count is returned). It checks ctx every few
// thousand lines. A NUL-heavy first block is reported as ErrBinary.
func Lines(ctx context.Context, r io.Reader, fn func(n int64, line []byte) error) (lines, overlong int64, err error) {
	br := bufio.NewReaderSize(r, MaxLine+2)
	first := true
	var long bool // inside an over-long line
	for {
		chunk, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			if !long {
				long = true
				lines++
				overlong++
			}
			continue
		}
		if long {
			// tail of an over-long line
			long = false
			if rerr != nil {
				break
			}
			continue
		}
		if len(chunk) == 0 && rerr != nil {
			if rerr == io.EOF {
				return lines, overlong, nil
			}
			return lines, overlong, rerr
		}
		lines++
		if first {
			first = false
			chunk = bytes.TrimPrefix(chunk, bom)
			if looksBinary(chunk) {
				return lines, overlong, ErrBinary
			}
		}
		line := chunk
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > MaxLine {
			overlong++
		} else if err := fn(lines, line); err != nil {
			return lines, overlong, err
		}
		if lines&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return lines, overlong, err
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return lines, overlong, nil
			}
			return lines, overlong, rerr
		}
	}
	if err := ctx.Err(); err != nil {
		return lines, overlong, err
	}
	return lines, overlong, nil
}

// looksBinary says whether the first line is binary: NUL bytes or mostly
// control characters. UTF-16 logs (NUL every other byte) count as binary
// here; they are not a format Exchange or IIS writes.
func looksBinary(b []byte) bool {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if len(b) == 0 {
		return false
	}
	ctl := 0
	for _, c := range b {
		if c == 0 {
			return true
		}
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			ctl++
		}
	}
	return ctl*10 > len(b)
}

// OverlongNote is the problem text for skipped long lines.
func OverlongNote(n int64) string {
	return fmt.Sprintf("%d line(s) longer than %d bytes skipped", n, MaxLine)
}
