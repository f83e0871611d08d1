package winjson

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader transcodes UTF-16 with a byte-order mark (what Windows
// PowerShell 5's Out-File and ">" write) to UTF-8; other input is passed
// through.
func utf16Reader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	b, _ := br.Peek(2)
	if len(b) == 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		_, _ = br.Discard(2)
		return &u16{r: br, be: b[0] == 0xFE, high: -1}
	}
	return br
}

type u16 struct {
	r    io.Reader
	be   bool
	in   [4096]byte
	n    int // bytes held in in
	buf  []byte
	out  []byte // the unread part of buf
	high rune   // a high surrogate waiting for its pair, -1 when none
	err  error
}

func (u *u16) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			if u.high >= 0 || u.n > 0 {
				u.buf = utf8.AppendRune(u.buf[:0], utf8.RuneError)
				u.out = u.buf
				u.high, u.n = -1, 0
				break
			}
			return 0, u.err
		}
		k, err := u.r.Read(u.in[u.n:])
		u.n += k
		u.err = err
		b := u.buf[:0]
		i := 0
		for ; i+1 < u.n; i += 2 {
			c := rune(u.in[i]) | rune(u.in[i+1])<<8
			if u.be {
				c = rune(u.in[i])<<8 | rune(u.in[i+1])
			}
			switch {
			case u.high >= 0 && c >= 0xDC00 && c <= 0xDFFF:
				b = utf8.AppendRune(b, utf16.DecodeRune(u.high, c))
				u.high = -1
				continue
			case u.high >= 0:
				b = utf8.AppendRune(b, utf8.RuneError)
				u.high = -1
			}
			if c >= 0xD800 && c <= 0xDBFF {
				u.high = c
				continue
			}
			b = utf8.AppendRune(b, c)
		}
		u.n = copy(u.in[:], u.in[i:u.n])
		u.buf, u.out = b, b
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}
