package detect

import "bytes"

// keywordFilter finds which of a set of case-insensitive literals occur in
// a line. It is our own because the general Aho-Corasick library measured
// 127 MB/s per line with four allocations per call (BenchmarkScan), and the
// prefilter runs on every line of every log: it has to keep pace with
// ripgrep. This is the rare-bigram scheme that fast literal searchers use:
// each keyword is anchored on its least common byte pair (by a frequency
// model of IIS and Exchange log text); one pass over the line tests each
// byte pair against a 64 Kbit bitmap of anchors, and only on a bitmap hit are
// the keywords with that anchor compared in full. Lines rarely contain an
// anchor, so the pass costs a couple of table lookups per byte and never
// allocates.
type keywordFilter struct {
	bitmap  [1 << 10]uint64 // 65536 bits, one per folded byte pair
	buckets map[uint16][]anchor
	pats    [][]byte // lower-cased keywords
}

type anchor struct {
	pat int32 // index into pats
	off int32 // offset of the anchor pair within the keyword
}

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
	f := &keywordFilter{buckets: map[uint16][]anchor{}}
	for i, k := range keywords {
		p := make([]byte, len(k))
		for j := 0; j < len(k); j++ {
			p[j] = fold[k[j]]
		}
		f.pats = append(f.pats, p)
		best, bestScore := 0, 1<<30
		for j := 0; j+1 < len(p); j++ {
			if s := byteWeight(p[j]) * byteWeight(p[j+1]); s < bestScore {
				best, bestScore = j, s
			}
		}
		key := uint16(p[best])<<8 | uint16(p[best+1])
		f.bitmap[key>>6] |= 1 << (key & 63)
		f.buckets[key] = append(f.buckets[key], anchor{pat: int32(i), off: int32(best)})
	}
	return f
}

// find calls hit for each keyword occurring in line (a keyword may be
// reported more than once).
func (f *keywordFilter) find(line []byte, hit func(pat int)) {
	if len(line) < 2 {
		return
	}
	prev := uint16(fold[line[0]])
	for i := 1; i < len(line); i++ {
		cur := uint16(fold[line[i]])
		key := prev<<8 | cur
		prev = cur
		if f.bitmap[key>>6]&(1<<(key&63)) == 0 {
			continue
		}
		for _, a := range f.buckets[key] {
			start := i - 1 - int(a.off)
			p := f.pats[a.pat]
			if start < 0 || start+len(p) > len(line) {
				continue
			}
			if equalFold(line[start:start+len(p)], p) {
				hit(int(a.pat))
			}
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
