package yara

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"strings"
)

// A module object is described by a schema; its run-time value is built
// per scan: int64, float64, string, map[string]any (structure or
// dictionary) or []any (array). A missing value is undefined.

type kind uint8

const (
	kInt kind = iota + 1
	kFloat
	kStr
	kStruct
	kArray
	kDict
	kFunc
)

type schema struct {
	kind   kind
	fields map[string]*schema // kStruct
	elem   *schema            // kArray, kDict
	funcs  []*fnDef           // kFunc, overloads
	// constant, when set, is the value of a field that does not depend on
	// the scanned data (pe.MACHINE_I386, math.MEAN_BYTES).
	constant any
	// unimplemented names a field libyara has and we do not: a rule using
	// it is reported unsupported with this name.
	unimplemented string
}

// fnDef is one overload of a module function. args uses the libyara
// letters: i integer, f float, s string, r regexp, b boolean.
type fnDef struct {
	args string
	ret  kind
	fn   func(c *ectx, parent any, args []any) (any, bool)
}

func sInt() *schema             { return &schema{kind: kInt} }
func sFloat() *schema           { return &schema{kind: kFloat} }
func sStr() *schema             { return &schema{kind: kStr} }
func sArray(e *schema) *schema  { return &schema{kind: kArray, elem: e} }
func sDict(e *schema) *schema   { return &schema{kind: kDict, elem: e} }
func sConstInt(v int64) *schema { return &schema{kind: kInt, constant: v} }
func sConstF(v float64) *schema { return &schema{kind: kFloat, constant: v} }
func sFunc(f ...*fnDef) *schema { return &schema{kind: kFunc, funcs: f} }
func sStruct(f map[string]*schema) *schema {
	return &schema{kind: kStruct, fields: f}
}

// module is a YARA module: its schema and how to build its root value.
type module struct {
	name string
	root *schema
	// load builds the root value for one scan (nil: only constants and
	// functions are defined).
	load func(c *ectx) map[string]any
}

var modules = map[string]*module{
	"math": mathModule(),
	"hash": hashModule(),
	"pe":   peModule(),
}

// rangeData returns data[offset:offset+length] clipped to the end of the
// data, and false when libyara's functions over a range are undefined: a
// negative offset or length, or an offset that is not inside the data.
func (c *ectx) rangeData(offset, length int64) ([]byte, bool) {
	if offset < 0 || length < 0 || offset >= int64(len(c.data)) {
		return nil, false
	}
	end := offset + length
	if end > int64(len(c.data)) || end < offset {
		end = int64(len(c.data))
	}
	return c.data[offset:end], true
}

func distribution(b []byte) *[256]int64 {
	var d [256]int64
	for _, c := range b {
		d[c]++
	}
	return &d
}

func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	d := distribution(b)
	e := 0.0
	for _, n := range d {
		if n != 0 {
			x := float64(n) / float64(len(b))
			e -= x * math.Log2(x)
		}
	}
	return e
}

func floatResult(v float64) (any, bool) {
	if math.IsNaN(v) {
		return nil, false
	}
	return v, true
}

// signedChar is how libyara's string functions read a byte: as a C char,
// signed on the platforms yara runs on.
func signedChar(c byte) float64 { return float64(int8(c)) }

func serialCorrelation(b []byte, signed bool) float64 {
	var sccun, scclast, t1, t2, t3 float64
	for _, c := range b {
		if signed {
			sccun = signedChar(c)
		} else {
			sccun = float64(c)
		}
		t1 += scclast * sccun
		t2 += sccun
		t3 += sccun * sccun
		scclast = sccun
	}
	t1 += scclast * sccun
	t2 *= t2
	n := float64(len(b))
	scc := n*t3 - t2
	if scc == 0 {
		return -100000
	}
	return (n*t1 - t2) / scc
}

func monteCarloPi(b []byte, signed bool) (any, bool) {
	incirc := math.Pow(math.Pow(256, 3)-1, 2)
	var monte [6]uint32
	mcount, inmont := 0, 0
	for i, c := range b {
		if signed {
			monte[i%6] = uint32(int32(int8(c)))
		} else {
			monte[i%6] = uint32(c)
		}
		if i%6 == 5 {
			mcount++
			var mx, my float64
			for j := 0; j < 3; j++ {
				mx = mx*256 + float64(monte[j])
				my = my*256 + float64(monte[j+3])
			}
			if mx*mx+my*my <= incirc {
				inmont++
			}
		}
	}
	if mcount == 0 {
		return nil, false
	}
	mpi := 4 * (float64(inmont) / float64(mcount))
	return math.Abs((mpi - math.Pi) / math.Pi), true
}

func mathModule() *module {
	rng := func(f func(b []byte, args []any) (any, bool)) func(c *ectx, _ any, a []any) (any, bool) {
		return func(c *ectx, _ any, a []any) (any, bool) {
			b, ok := c.rangeData(a[0].(int64), a[1].(int64))
			if !ok {
				return nil, false
			}
			return f(b, a[2:])
		}
	}
	str := func(f func(b []byte, args []any) (any, bool)) func(c *ectx, _ any, a []any) (any, bool) {
		return func(c *ectx, _ any, a []any) (any, bool) { return f([]byte(a[0].(string)), a[1:]) }
	}
	meanOf := func(signed bool) func(b []byte, _ []any) (any, bool) {
		return func(b []byte, _ []any) (any, bool) {
			s := 0.0
			for _, c := range b {
				if signed {
					s += signedChar(c)
				} else {
					s += float64(c)
				}
			}
			return floatResult(s / float64(len(b)))
		}
	}
	devOf := func(signed bool) func(b []byte, a []any) (any, bool) {
		return func(b []byte, a []any) (any, bool) {
			mean := a[0].(float64)
			s := 0.0
			for _, c := range b {
				if signed {
					s += math.Abs(signedChar(c) - mean)
				} else {
					s += math.Abs(float64(c) - mean)
				}
			}
			return floatResult(s / float64(len(b)))
		}
	}
	global := func(c *ectx) []byte { return c.data }
	count := func(b []byte, byteArg int64) int64 {
		return distribution(b)[uint8(byteArg)]
	}
	pct := func(b []byte, byteArg int64) (any, bool) {
		d := distribution(b)
		// libyara divides two C floats.
		return floatResult(float64(float32(d[uint8(byteArg)]) / float32(len(b))))
	}
	mode := func(b []byte) int64 {
		d := distribution(b)
		best := 0
		for i := 1; i < 256; i++ {
			if d[i] > d[best] {
				best = i
			}
		}
		return int64(best)
	}
	return &module{name: "math", root: sStruct(map[string]*schema{
		"MEAN_BYTES": sConstF(127.5),
		"in_range": sFunc(&fnDef{"fff", kInt, func(_ *ectx, _ any, a []any) (any, bool) {
			t, lo, hi := a[0].(float64), a[1].(float64), a[2].(float64)
			if lo <= t && t <= hi {
				return int64(1), true
			}
			return int64(0), true
		}}),
		"deviation": sFunc(&fnDef{"iif", kFloat, rng(devOf(false))}, &fnDef{"sf", kFloat, str(devOf(true))}),
		"mean":      sFunc(&fnDef{"ii", kFloat, rng(meanOf(false))}, &fnDef{"s", kFloat, str(meanOf(true))}),
		"serial_correlation": sFunc(
			&fnDef{"ii", kFloat, rng(func(b []byte, _ []any) (any, bool) { return serialCorrelation(b, false), true })},
			&fnDef{"s", kFloat, str(func(b []byte, _ []any) (any, bool) { return serialCorrelation(b, true), true })}),
		"monte_carlo_pi": sFunc(
			&fnDef{"ii", kFloat, rng(func(b []byte, _ []any) (any, bool) { return monteCarloPi(b, false) })},
			&fnDef{"s", kFloat, str(func(b []byte, _ []any) (any, bool) { return monteCarloPi(b, true) })}),
		"entropy": sFunc(
			&fnDef{"ii", kFloat, rng(func(b []byte, _ []any) (any, bool) { return entropy(b), true })},
			&fnDef{"s", kFloat, str(func(b []byte, _ []any) (any, bool) { return entropy(b), true })}),
		"min": sFunc(&fnDef{"ii", kInt, func(_ *ectx, _ any, a []any) (any, bool) {
			i, j := uint64(a[0].(int64)), uint64(a[1].(int64))
			return int64(min(i, j)), true
		}}),
		"max": sFunc(&fnDef{"ii", kInt, func(_ *ectx, _ any, a []any) (any, bool) {
			i, j := uint64(a[0].(int64)), uint64(a[1].(int64))
			return int64(max(i, j)), true
		}}),
		"to_number": sFunc(&fnDef{"b", kInt, func(_ *ectx, _ any, a []any) (any, bool) {
			if a[0].(int64) != 0 {
				return int64(1), true
			}
			return int64(0), true
		}}),
		"abs": sFunc(&fnDef{"i", kInt, func(_ *ectx, _ any, a []any) (any, bool) {
			v := a[0].(int64)
			if v < 0 {
				v = -v
			}
			return v, true
		}}),
		"count": sFunc(
			&fnDef{"iii", kInt, func(c *ectx, _ any, a []any) (any, bool) {
				b, ok := c.rangeData(a[1].(int64), a[2].(int64))
				if !ok {
					return nil, false
				}
				return count(b, a[0].(int64)), true
			}},
			&fnDef{"i", kInt, func(c *ectx, _ any, a []any) (any, bool) { return count(global(c), a[0].(int64)), true }}),
		"percentage": sFunc(
			&fnDef{"iii", kFloat, func(c *ectx, _ any, a []any) (any, bool) {
				b, ok := c.rangeData(a[1].(int64), a[2].(int64))
				if !ok {
					return nil, false
				}
				return pct(b, a[0].(int64))
			}},
			&fnDef{"i", kFloat, func(c *ectx, _ any, a []any) (any, bool) { return pct(global(c), a[0].(int64)) }}),
		"mode": sFunc(
			&fnDef{"ii", kInt, rng(func(b []byte, _ []any) (any, bool) { return mode(b), true })},
			&fnDef{"", kInt, func(c *ectx, _ any, _ []any) (any, bool) { return mode(global(c)), true }}),
		"to_string": sFunc(
			&fnDef{"i", kStr, func(_ *ectx, _ any, a []any) (any, bool) { return strconv.FormatInt(a[0].(int64), 10), true }},
			&fnDef{"ii", kStr, func(_ *ectx, _ any, a []any) (any, bool) {
				v := a[0].(int64)
				switch a[1].(int64) {
				case 10:
					return strconv.FormatInt(v, 10), true
				case 8:
					return strconv.FormatUint(uint64(v), 8), true
				case 16:
					return strconv.FormatUint(uint64(v), 16), true
				}
				return nil, false
			}}),
		"to_int": sFunc(
			&fnDef{"s", kInt, func(_ *ectx, _ any, a []any) (any, bool) { return strtoll(a[0].(string), 0) }},
			&fnDef{"si", kInt, func(_ *ectx, _ any, a []any) (any, bool) { return strtoll(a[0].(string), int(a[1].(int64))) }}),
	})}
}

// strtoll mimics C's strtoll closely enough for to_int: leading space,
// sign, base prefixes, and the longest valid prefix.
func strtoll(s string, base int) (any, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if (base == 0 || base == 16) && len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, base = s[2:], 16
	} else if base == 0 && len(s) > 0 && s[0] == '0' {
		base = 8
	} else if base == 0 {
		base = 10
	}
	if base < 2 || base > 36 {
		return nil, false
	}
	end := 0
	for end < len(s) {
		d := digitVal(s[end])
		if d < 0 || d >= base {
			break
		}
		end++
	}
	if end == 0 {
		return int64(0), true
	}
	v, err := strconv.ParseInt(s[:end], base, 64)
	if err != nil {
		return nil, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

func hashModule() *module {
	// Hashes of the whole data are memoised per scan: rules often hash the
	// same range.
	type hasher func([]byte) string
	md5h := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
	sha1h := func(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }
	sha256h := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	def := func(name string, h hasher) *schema {
		return sFunc(
			&fnDef{"ii", kStr, func(c *ectx, _ any, a []any) (any, bool) {
				off, n := a[0].(int64), a[1].(int64)
				b, ok := c.rangeData(off, n)
				if !ok {
					return nil, false
				}
				key := hashKey{name, off, int64(len(b))}
				if v, ok := c.hashes[key]; ok {
					return v, true
				}
				v := h(b)
				if c.hashes == nil {
					c.hashes = map[hashKey]string{}
				}
				c.hashes[key] = v
				return v, true
			}},
			&fnDef{"s", kStr, func(_ *ectx, _ any, a []any) (any, bool) { return h([]byte(a[0].(string))), true }})
	}
	checksum := func(b []byte) int64 {
		var s uint32
		for _, c := range b {
			s += uint32(c)
		}
		return int64(s)
	}
	crc := func(b []byte) int64 { return int64(crc32.ChecksumIEEE(b)) }
	intDef := func(f func([]byte) int64) *schema {
		return sFunc(
			&fnDef{"ii", kInt, func(c *ectx, _ any, a []any) (any, bool) {
				b, ok := c.rangeData(a[0].(int64), a[1].(int64))
				if !ok {
					return nil, false
				}
				return f(b), true
			}},
			&fnDef{"s", kInt, func(_ *ectx, _ any, a []any) (any, bool) { return f([]byte(a[0].(string))), true }})
	}
	return &module{name: "hash", root: sStruct(map[string]*schema{
		"md5":        def("md5", md5h),
		"sha1":       def("sha1", sha1h),
		"sha256":     def("sha256", sha256h),
		"checksum32": intDef(checksum),
		"crc32":      intDef(crc),
	})}
}

type hashKey struct {
	alg       string
	off, size int64
}

// sortedKeys returns a dictionary's keys in order, for deterministic loops.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
