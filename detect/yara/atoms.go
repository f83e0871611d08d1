package yara

import (
	"sort"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// fold maps ASCII upper case to lower case; the atom scan compares folded
// bytes, so one key serves a nocase string in every case combination and
// a case-sensitive one is confirmed byte for byte afterwards.
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

func foldBytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = fold[c]
	}
	return out
}

// byteScore rates how rarely a byte shows up in the files we scan (web
// pages, scripts, logs, executables): whitespace, NUL and 0xFF are
// everywhere, common letters and code punctuation often, the rest rarely.
// Letters are scored folded, as the scan sees them.
func byteScore(c byte) int {
	c = fold[c]
	switch c {
	case 0x00, 0x20, 0xFF, 0x0A, 0x0D, 0x09, 0xCC:
		return 1
	}
	switch {
	case c >= 'a' && c <= 'z':
		switch c {
		case 'e', 't', 'a', 'o', 'i', 'n', 's', 'r':
			return 4
		case 'h', 'l', 'd', 'c', 'u', 'm', 'p':
			return 5
		}
		return 7
	case c >= '0' && c <= '9':
		return 4
	}
	switch c {
	case '<', '>', '=', '"', '\'', '(', ')', ';', '.', ',', '/', '$', '_', '-', ':', '{', '}', '[', ']':
		return 4
	}
	return 8
}

// windowQuality scores a run of byte sets as an atom: the rarer and the
// longer the better, with penalties for repeated bytes and for sets that
// stand for several keys.
func windowQuality(chars []re.ByteSet) int {
	q := 0
	prev := -1
	repeats := 0
	for i := range chars {
		var folded re.ByteSet
		worst, only := 100, -1
		for w := 0; w < 4; w++ {
			for bits := chars[i][w]; bits != 0; bits &= bits - 1 {
				c := byte(w<<6 | trailingZeros(bits))
				folded.Add(fold[c])
				if sc := byteScore(c); sc < worst {
					worst = sc
				}
				only = int(fold[c])
			}
		}
		if n := folded.Count(); n == 1 {
			if only == prev {
				repeats++
			}
			prev = only
		} else {
			prev = -1
			// Each doubling of the keys costs about a common byte.
			for k := n; k > 1; k >>= 1 {
				worst -= 2
			}
			worst = max(worst, 0)
		}
		q += worst
	}
	return finishQuality(q, repeats, len(chars))
}

func finishQuality(q, repeats, n int) int {
	q -= 3 * repeats
	// Short atoms hit far more often than their bytes' scores suggest.
	switch n {
	case 1:
		q -= 2
	case 2:
		q--
	}
	return max(q, 0)
}

func trailingZeros(x uint64) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

// literalQuality is windowQuality for plain bytes.
func literalQuality(b []byte) int {
	q, repeats, prev := 0, 0, -1
	for _, c := range b {
		f := int(fold[c])
		if f == prev {
			repeats++
		}
		prev = f
		q += byteScore(c)
	}
	return finishQuality(q, repeats, len(b))
}

func charsQuality(chars []re.ByteSet) int { return windowQuality(chars) }

// bestLiteralWindow picks the offset and length (at most 4) of the best
// atom inside a literal. For wide literals windows start on characters.
func bestLiteralWindow(lit []byte, wide bool) (off, n int) {
	n = 4
	if len(lit) < n {
		return 0, len(lit)
	}
	best, bestQ := 0, -1
	step := 1
	if wide {
		step = 2
	}
	for i := 0; i+n <= len(lit); i += step {
		if q := literalQuality(lit[i : i+n]); q > bestQ {
			best, bestQ = i, q
		}
	}
	return best, n
}

// atomEntry ties an atom key to a pattern: for literals atom is the
// atom's offset inside the literal, for regexes the index in
// pattern.atoms.
type atomEntry struct {
	pat  int32
	atom int32
	// next and mask describe (folded) the bytes that follow the atom in
	// every match, up to four: a hit whose following bytes differ under
	// mask is dropped before the pattern is verified.
	next, mask uint32
}

type pendingAtom struct {
	key []byte
	e   atomEntry
}

type indexBuilder struct {
	pending []pendingAtom
}

func newIndexBuilder() *indexBuilder { return &indexBuilder{} }

// add registers a folded key of 1 to 4 bytes.
func (b *indexBuilder) add(key []byte, e atomEntry) {
	if len(key) == 0 || len(key) > 4 {
		panic("atom key length")
	}
	b.pending = append(b.pending, pendingAtom{key: key, e: e})
}

// atomTable maps keys of one length to their entries.
type atomTable struct {
	slots   []tableSlot
	mask    uint32
	entries []atomEntry
	keyLen  int
}

type tableSlot struct {
	key    uint32
	lo, hi int32 // entries[lo:hi]; hi == 0 marks an empty slot
}

const hashMul = 0x9E3779B1

func (t *atomTable) lookup(key uint32) []atomEntry {
	i := (key * hashMul) >> 7 & t.mask
	for {
		s := &t.slots[i]
		if s.hi == 0 {
			return nil
		}
		if s.key == key {
			return t.entries[s.lo:s.hi]
		}
		i = (i + 1) & t.mask
	}
}

// atomIndex is the compiled atom set: per key length a bitmap to reject
// most positions with one load, and a table for the survivors.
type atomIndex struct {
	tables [5]*atomTable // by key length
	bits4  []uint64      // hashed 4-byte keys
	shift4 uint32
	bits3  []uint64 // hashed 3-byte keys
	shift3 uint32
	bits2  *[1024]uint64 // 2-byte keys, direct
	bits1  [4]uint64     // 1-byte keys, direct
	short  bool          // any key shorter than 4 bytes
	// pairs has a bit for every last-two-bytes value that ends a short
	// key (for 1-byte keys: every pair ending in it), so the scan tests
	// one bit per byte for all short keys together.
	pairs *[1024]uint64
	keys  int
}

func keyOf(b []byte) uint32 {
	var k uint32
	for _, c := range b {
		k = k<<8 | uint32(c)
	}
	return k
}

func (b *indexBuilder) build() *atomIndex {
	ix := &atomIndex{pairs: new([1024]uint64)}
	byLen := [5][]pendingAtom{}
	for _, p := range b.pending {
		byLen[len(p.key)] = append(byLen[len(p.key)], p)
	}
	for l := 1; l <= 4; l++ {
		ps := byLen[l]
		if len(ps) == 0 {
			continue
		}
		if l < 4 {
			ix.short = true
		}
		sort.SliceStable(ps, func(i, j int) bool { return keyOf(ps[i].key) < keyOf(ps[j].key) })
		t := &atomTable{keyLen: l}
		nkeys := 0
		for i := range ps {
			if i == 0 || keyOf(ps[i].key) != keyOf(ps[i-1].key) {
				nkeys++
			}
		}
		ix.keys += nkeys
		size := uint32(16)
		for size < uint32(2*nkeys) {
			size <<= 1
		}
		t.slots = make([]tableSlot, size)
		t.mask = size - 1
		for i := 0; i < len(ps); {
			j := i
			k := keyOf(ps[i].key)
			for j < len(ps) && keyOf(ps[j].key) == k {
				t.entries = append(t.entries, ps[j].e)
				j++
			}
			lo, hi := int32(len(t.entries)-(j-i)), int32(len(t.entries))
			h := (k * hashMul) >> 7 & t.mask
			for t.slots[h].hi != 0 {
				h = (h + 1) & t.mask
			}
			t.slots[h] = tableSlot{key: k, lo: lo, hi: hi}
			i = j
		}
		ix.tables[l] = t
		switch l {
		case 4:
			ix.bits4, ix.shift4 = bitmapFor(nkeys)
			for _, p := range ps {
				h := (keyOf(p.key) * hashMul) >> ix.shift4
				ix.bits4[h>>6] |= 1 << (h & 63)
			}
		case 3:
			ix.bits3, ix.shift3 = bitmapFor(nkeys)
			for _, p := range ps {
				h := (keyOf(p.key) * hashMul) >> ix.shift3
				ix.bits3[h>>6] |= 1 << (h & 63)
				k := keyOf(p.key[1:])
				ix.pairs[k>>6] |= 1 << (k & 63)
			}
		case 2:
			ix.bits2 = new([1024]uint64)
			for _, p := range ps {
				k := keyOf(p.key)
				ix.bits2[k>>6] |= 1 << (k & 63)
				ix.pairs[k>>6] |= 1 << (k & 63)
			}
		case 1:
			for _, p := range ps {
				k := p.key[0]
				ix.bits1[k>>6] |= 1 << (k & 63)
				for x := 0; x < 256; x++ {
					pk := uint32(x)<<8 | uint32(k)
					ix.pairs[pk>>6] |= 1 << (pk & 63)
				}
			}
		}
	}
	return ix
}

// bitmapFor sizes a hashed bitmap at about 32 bits per key (so that under
// 3% of positions pass by chance), between 2^16 and 2^22 bits.
func bitmapFor(nkeys int) ([]uint64, uint32) {
	logBits := uint32(16)
	for logBits < 22 && (1<<logBits) < 32*nkeys {
		logBits++
	}
	return make([]uint64, (1<<logBits)/64), 32 - logBits
}
