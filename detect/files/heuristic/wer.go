package heuristic

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// werMaxSize bounds the report text we read (real ones are a few KB).
const werMaxSize = 256 << 10

// werReport is the key=value content of a Windows Error Report.
type werReport map[string]string

// readWER decodes a Report.wer: UTF-16LE (with or without BOM) or UTF-8,
// one key=value per line. ok is false when the text does not look like a
// report (no Version and EventType keys).
func readWER(b []byte) (werReport, bool) {
	if len(b) > werMaxSize {
		b = b[:werMaxSize]
	}
	text := decodeText(b)
	r := werReport{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || len(k) > 200 {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := r[k]; !dup {
			r[k] = strings.TrimSpace(v)
		}
	}
	_, hasV := r["Version"]
	_, hasE := r["EventType"]
	return r, hasV && hasE
}

// decodeText returns UTF-16LE text (a BOM, or NULs in every odd byte of
// the start) decoded, else the bytes as they are.
func decodeText(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}):
		return utf16le(b[2:])
	case len(b) >= 4 && b[1] == 0 && b[3] == 0 && b[0] != 0:
		return utf16le(b)
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		return string(b[3:])
	}
	return string(b)
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// values returns every value whose key starts with prefix (Sig[0].Value,
// Sig[1].Value...), in key order of appearance is not kept: callers only
// test membership.
func (r werReport) values(suffix string) []string {
	var out []string
	for k, v := range r {
		if strings.HasSuffix(k, suffix) {
			out = append(out, v)
		}
	}
	return out
}

// eventTime converts EventTime (a FILETIME: 100 ns since 1601) to UTC.
func (r werReport) eventTime() time.Time {
	v, err := strconv.ParseUint(r["EventTime"], 10, 64)
	if err != nil || v == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if v < epochDiff {
		return time.Time{}
	}
	t := time.Unix(0, 0).Add(time.Duration((v-epochDiff)/10000) * time.Millisecond).UTC()
	if t.Year() > 2200 {
		return time.Time{}
	}
	return t
}
