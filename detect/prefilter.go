package detect

import (
	"bytes"
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
type keywordFilter struct {
	quad    [1 << 12]uint64 // 2^18 bits over hashed 4-byte windows
	pair    [1 << 10]uint64 // 2^16 bits over 2-byte windows, for short keywords
	short   bool            // any keyword shorter than 4 bytes
	buckets map[uint32][]anchor
	pairs   map[uint32][]anchor
	pats    [][]byte // lower-cased keywords
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
	f := &keywordFilter{buckets: map[uint32][]anchor{}, pairs: map[uint32][]anchor{}}
	for i, k := range keywords {
		p := make([]byte, len(k))
		for j := 0; j < len(k); j++ {
			p[j] = fold[k[j]]
		}
		f.pats = append(f.pats, p)
		n := 4
		if len(p) < 4 {
			n = 2
			f.short = true
		}
		best, bestScore := 0, 1<<62
		for j := 0; j+n <= len(p); j++ {
			score := 1
			for _, c := range p[j : j+n] {
				score *= byteWeight(c)
			}
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		var w uint32
		for _, c := range p[best : best+n] {
			w = w<<8 | uint32(c)
		}
		a := anchor{pat: int32(i), off: int32(best)}
		if n == 4 {
			// Register every case variant of the window, so that the scan
			// loop hashes raw bytes and never folds them.
			for _, v := range caseVariants(p[best : best+4]) {
				h := quadHash(v)
				f.quad[h>>6] |= 1 << (h & 63)
			}
			f.buckets[w] = append(f.buckets[w], a)
		} else {
			f.pair[w>>6] |= 1 << (w & 63)
			f.pairs[w] = append(f.pairs[w], a)
		}
	}
	return f
}

// caseVariants returns the 4-byte window (lower-cased) in every ASCII case
// combination, packed big-endian.
func caseVariants(win []byte) []uint32 {
	out := []uint32{0}
	for _, c := range win {
		var next []uint32
		for _, v := range out {
			next = append(next, v<<8|uint32(c))
			if c >= 'a' && c <= 'z' {
				next = append(next, v<<8|uint32(c-('a'-'A')))
			}
		}
		out = next
	}
	return out
}

// find calls hit for each keyword occurring in line (a keyword may be
// reported more than once).
func (f *keywordFilter) find(line []byte, hit func(pat int)) {
	if f.short {
		f.findPairs(line, hit)
	}
	if len(line) < 4 {
		return
	}
	w := uint32(line[0])<<16 | uint32(line[1])<<8 | uint32(line[2])
	quad := &f.quad
	for i := 3; i < len(line); i++ {
		w = w<<8 | uint32(line[i])
		if h := quadHash(w); quad[h>>6]&(1<<(h&63)) != 0 {
			k := uint32(fold[line[i-3]])<<24 | uint32(fold[line[i-2]])<<16 | uint32(fold[line[i-1]])<<8 | uint32(fold[line[i]])
			f.verify(f.buckets[k], line, i-3, hit)
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
