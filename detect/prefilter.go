package detect

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// keywordFilter finds which of a set of case-insensitive literals occur in
// a line. It is our own because the general Aho-Corasick library measured
// 127 MB/s per line with four allocations per call (BenchmarkScan), and the
// prefilter runs on every line of every log: it has to keep pace with
// ripgrep. It is the rare n-gram scheme that fast literal searchers use:
// each keyword is anchored on its least common 4-byte window (2-byte for
// keywords shorter than four), by a frequency model of IIS and Exchange log
// text; one pass over the line tests a hash of each window against a bitmap
// of anchors, and only on a bitmap hit are the keywords with that exact
// anchor compared in full. Four bytes matter: keywords such as IP addresses
// are made only of digits and dots, whose byte pairs are in every line.
//
// When every keyword is at least three bytes long, each is anchored on two
// neighbouring windows instead of one and the scan tests every second
// position only: one of the two windows of any occurrence starts at an
// even position. That halves the loop over every byte of every log line
// for twice the anchors in the bitmap. A keyword of three or four bytes
// cannot fill two windows; its windows reach one byte past it, a wildcard
// registered with all 256 values. Only a two-byte keyword brings back the
// one-position scan and the byte-pair pass.
type keywordFilter struct {
	quad    [1 << 12]uint64 // 2^18 bits over hashed 4-byte windows
	pair    [1 << 10]uint64 // 2^16 bits over 2-byte windows, for short keywords
	short   bool            // byte-pair pass needed (one-position scan with a keyword shorter than 4 bytes)
	stride2 bool            // every keyword ≥ 3 bytes: two anchors each, every second position scanned
	buckets map[uint32][]anchor
	pairs   map[uint32][]anchor
	pats    [][]byte // lower-cased keywords
	// table is buckets as an open-addressing table: a bitmap hit looks its
	// window up there, cheaper than a Go map on the hottest loop.
	table anchorTable
}

// anchorTable maps a lower-cased 4-byte window to the keywords anchored on
// it; linear probing over a power-of-two table at most half full.
type anchorTable struct {
	keys  []uint64 // 1<<32 | window; 0 = empty slot
	vals  [][]anchor
	shift uint32
}

func newAnchorTable(m map[uint32][]anchor) anchorTable {
	bits := uint32(4)
	for 1<<bits < 2*len(m) {
		bits++
	}
	t := anchorTable{keys: make([]uint64, 1<<bits), vals: make([][]anchor, 1<<bits), shift: 32 - bits}
	for k, v := range m {
		i := (k * 2654435761) >> t.shift
		for t.keys[i] != 0 {
			i = (i + 1) & (1<<bits - 1)
		}
		t.keys[i], t.vals[i] = 1<<32|uint64(k), v
	}
	return t
}

func (t *anchorTable) get(k uint32) []anchor {
	mask := uint32(len(t.keys) - 1)
	want := 1<<32 | uint64(k)
	for i := (k * 2654435761) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case want:
			return t.vals[i]
		case 0:
			return nil
		}
	}
}

type anchor struct {
	pat int32 // index into pats
	off int32 // offset of the anchor window within the keyword
}

func quadHash(w uint32) uint32 { return (w ^ w>>13) & (1<<18 - 1) }

var fold [256]byte

func init() {
	for i := range fold {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		fold[i] = c
	}
}

// byteWeight models how common a byte is in IIS and Exchange log lines:
// digits, separators and common letters are everywhere (timestamps, IPs,
// URLs, GUIDs); punctuation like '~', '@', '<' is rare.
func byteWeight(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 12
	case c == ' ' || c == ',' || c == '.' || c == '-' || c == ':' || c == '/':
		return 10
	case bytes.IndexByte([]byte("etaoinsrhlcd"), c) >= 0:
		return 7
	case c >= 'a' && c <= 'z':
		return 4
	case c == '+' || c == '=' || c == '%' || c == '&' || c == '?' || c == ';' || c == '_':
		return 4
	}
	return 1
}

// newKeywordFilter builds a filter over keywords (compared ignoring ASCII
// case). Keywords shorter than two bytes are not allowed by the caller.
func newKeywordFilter(keywords []string) *keywordFilter {
	f := &keywordFilter{buckets: map[uint32][]anchor{}, pairs: map[uint32][]anchor{}, stride2: len(keywords) > 0}
	for _, k := range keywords {
		if len(k) < 3 {
			f.stride2 = false
		}
	}
	for i, k := range keywords {
		p := make([]byte, len(k))
		for j := 0; j < len(k); j++ {
			p[j] = fold[k[j]]
		}
		f.pats = append(f.pats, p)
		switch {
		case f.stride2:
			// Two neighbouring windows [o, o+4) and [o+1, o+5). A keyword of
			// three or four bytes cannot fill both, so a window may reach
			// one byte before or after it: that byte is a wildcard (all
			// 256 values registered), scored far above any real byte so
			// that longer keywords keep their windows inside.
			best, bestScore := 0, 1<<62
			for o := -1; o <= len(p)-4; o++ {
				if s := windowScore(p, o) + windowScore(p, o+1); s < bestScore {
					best, bestScore = o, s
				}
			}
			f.addWindow(p, best, int32(i))
			f.addWindow(p, best+1, int32(i))
		case len(p) < 4:
			f.short = true
			best, bestScore := 0, 1<<62
			for j := 0; j+2 <= len(p); j++ {
				if s := byteWeight(p[j]) * byteWeight(p[j+1]); s < bestScore {
					best, bestScore = j, s
				}
			}
			w := uint32(p[best])<<8 | uint32(p[best+1])
			f.pair[w>>6] |= 1 << (w & 63)
			f.pairs[w] = append(f.pairs[w], anchor{pat: int32(i), off: int32(best)})
		default:
			best, bestScore := 0, 1<<62
			for o := 0; o+4 <= len(p); o++ {
				if s := windowScore(p, o); s < bestScore {
					best, bestScore = o, s
				}
			}
			f.addWindow(p, best, int32(i))
		}
	}
	f.table = newAnchorTable(f.buckets)
	return f
}

// windowScore is how common the 4-byte window at offset o of p is; a byte
// outside p is a wildcard, which every byte matches.
func windowScore(p []byte, o int) int {
	s := 1
	for j := o; j < o+4; j++ {
		if j < 0 || j >= len(p) {
			s *= 4096 // every byte value: only where nothing else fits
		} else {
			s *= byteWeight(p[j])
		}
	}
	return s
}

// addWindow anchors keyword pat (lower-cased p) on its window at offset o,
// registering every ASCII case variant (the scan loop hashes raw bytes and
// never folds them) and, for a byte outside p, every byte value.
func (f *keywordFilter) addWindow(p []byte, o int, pat int32) {
	var win [4]int // byte value, or -1 for a wildcard
	for j := range win {
		if k := o + j; k < 0 || k >= len(p) {
			win[j] = -1
		} else {
			win[j] = int(p[k])
		}
	}
	raw, folded := []uint32{0}, []uint32{0}
	for _, c := range win {
		var nr, nf []uint32
		for i, v := range raw {
			w := folded[i]
			switch {
			case c < 0:
				for b := 0; b < 256; b++ {
					nr, nf = append(nr, v<<8|uint32(b)), append(nf, w<<8|uint32(fold[b]))
				}
			case c >= 'a' && c <= 'z':
				nr, nf = append(nr, v<<8|uint32(c), v<<8|uint32(c-('a'-'A'))), append(nf, w<<8|uint32(c), w<<8|uint32(c))
			default:
				nr, nf = append(nr, v<<8|uint32(c)), append(nf, w<<8|uint32(c))
			}
		}
		raw, folded = nr, nf
	}
	a := anchor{pat: pat, off: int32(o)}
	for i, v := range raw {
		h := quadHash(v)
		f.quad[h>>6] |= 1 << (h & 63)
		w := folded[i]
		if bs := f.buckets[w]; len(bs) == 0 || bs[len(bs)-1] != a {
			f.buckets[w] = append(bs, a)
		}
	}
}

// find calls hit for each keyword occurring in line (a keyword may be
// reported more than once).
func (f *keywordFilter) find(line []byte, hit func(pat int)) {
	if f.short {
		f.findPairs(line, hit)
	}
	if len(line) < 4 && !f.stride2 {
		return
	}
	quad := &f.quad
	if f.stride2 {
		for i := 0; i+4 <= len(line); i += 2 {
			w := binary.BigEndian.Uint32(line[i:])
			if h := quadHash(w); quad[h>>6]&(1<<(h&63)) != 0 {
				k := uint32(fold[line[i]])<<24 | uint32(fold[line[i+1]])<<16 | uint32(fold[line[i+2]])<<8 | uint32(fold[line[i+3]])
				f.verify(f.table.get(k), line, i, hit)
			}
		}
		// The window that starts three bytes before the end reaches one
		// byte past it: only a wildcard can match there, so any pad does.
		if i := len(line) - 3; i >= 0 {
			w := uint32(line[i])<<24 | uint32(line[i+1])<<16 | uint32(line[i+2])<<8
			if h := quadHash(w); quad[h>>6]&(1<<(h&63)) != 0 {
				k := uint32(fold[line[i]])<<24 | uint32(fold[line[i+1]])<<16 | uint32(fold[line[i+2]])<<8
				f.verify(f.table.get(k), line, i, hit)
			}
		}
		return
	}
	w := uint32(line[0])<<16 | uint32(line[1])<<8 | uint32(line[2])
	for i := 3; i < len(line); i++ {
		w = w<<8 | uint32(line[i])
		if h := quadHash(w); quad[h>>6]&(1<<(h&63)) != 0 {
			k := uint32(fold[line[i-3]])<<24 | uint32(fold[line[i-2]])<<16 | uint32(fold[line[i-1]])<<8 | uint32(fold[line[i]])
			f.verify(f.table.get(k), line, i-3, hit)
		}
	}
}

func (f *keywordFilter) findPairs(line []byte, hit func(pat int)) {
	if len(line) < 2 {
		return
	}
	w := uint32(fold[line[0]])
	for i := 1; i < len(line); i++ {
		w = (w<<8 | uint32(fold[line[i]])) & 0xffff
		if f.pair[w>>6]&(1<<(w&63)) != 0 {
			f.verify(f.pairs[w], line, i-1, hit)
		}
	}
}

// verify compares the keywords anchored at window position at.
func (f *keywordFilter) verify(as []anchor, line []byte, at int, hit func(pat int)) {
	for _, a := range as {
		start := at - int(a.off)
		p := f.pats[a.pat]
		if start < 0 || start+len(p) > len(line) {
			continue
		}
		if equalFold(line[start:start+len(p)], p) {
			hit(int(a.pat))
		}
	}
}

// equalFold compares s with the lower-cased pattern p, ignoring ASCII case.
func equalFold(s, p []byte) bool {
	for i := range p {
		if fold[s[i]] != p[i] {
			return false
		}
	}
	return true
}

// KeywordFilter is the prefilter for other engines (the Sigma engine puts
// every literal needle of its rules into one per rule group).
type KeywordFilter struct{ f *keywordFilter }

// NewKeywordFilter builds a filter over keywords compared ignoring ASCII
// case. Every keyword must be at least two bytes long.
func NewKeywordFilter(keywords []string) (*KeywordFilter, error) {
	for _, k := range keywords {
		if len(k) < 2 {
			return nil, fmt.Errorf("keyword %q is too short for the prefilter", k)
		}
	}
	return &KeywordFilter{f: newKeywordFilter(keywords)}, nil
}

// Find calls hit with the index of each keyword occurring in b; an index
// may be reported more than once. It does not allocate.
func (k *KeywordFilter) Find(b []byte, hit func(i int)) { k.f.find(b, hit) }
