package sigma

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive comparison, the Sigma default, is defined here as:
// an ASCII character matches its ASCII case variants only, and a non-ASCII
// character matches the non-ASCII members of its Unicode simple-folding
// orbit. So "K" (Kelvin sign) does not match "k". This keeps the ASCII
// keyword prefilter exact: an ASCII literal of a pattern occurs, up to
// ASCII case, in every value the pattern matches.

type patKind uint8

const (
	pExact    patKind = iota // value == lit
	pPrefix                  // lit*
	pSuffix                  // *lit
	pContains                // *lit*
	pGlob                    // any other wildcard pattern
	pAny                     // * (any value, also empty)
	pRegex
	pCIDR
	pCmp      // lt, lte, gt, gte
	pNull     // field absent or empty
	pFieldRef // equal to (or contains ...) another field's value
	pNever    // matches nothing (an empty placeholder list)
)

type cmpOp uint8

const (
	opLT cmpOp = iota
	opLTE
	opGT
	opGTE
)

// pattern matches one field value.
type pattern struct {
	kind  patKind
	cased bool // compare case-sensitively
	fast  bool // case-insensitive, compare ASCII-lowered bytes (see compileString)
	// nonASCII: a literal holds a non-ASCII byte, so an ASCII value
	// cannot match.
	nonASCII bool
	lit      string // exact/prefix/suffix/contains literal (lowered when fast)
	toks     []gtok // glob tokens
	re       *regexp.Regexp
	cidr     netip.Prefix
	op       cmpOp
	num      float64
	ref      string  // fieldref: the referenced field
	mode     patKind // fieldref: pExact, pPrefix, pSuffix or pContains
	src      sstr    // the Sigma string the pattern came from (needles, messages)
	reSrc    string  // regular expression source
}

// gtok is one glob token: a literal run, '?' (one character) or '*'.
type gtok struct {
	wild byte
	lit  string
}

// compileString turns a processed Sigma string into patterns (ORed).
//
// Case-insensitive patterns compare the ASCII-lowered value byte for
// byte ("fast"). That is exact when no non-ASCII character of the pattern
// has case variants (dashes, ®, emoji); otherwise the pattern is expanded
// into one variant per spelling of those characters (up to
// maxFoldVariants), and only beyond that compared rune by rune.
func compileString(s sstr, cased bool) []pattern {
	s = s.normalize()
	if cased {
		return []pattern{compileVariant(s, true, false)}
	}
	simple := true
	for _, part := range s {
		if part.wild == 0 && !foldInvariant(part.lit) {
			simple = false
		}
	}
	if simple {
		return []pattern{compileVariant(s, false, true)}
	}
	variants := foldVariants(s)
	if variants == nil {
		return []pattern{compileVariant(s, false, false)}
	}
	out := make([]pattern, 0, len(variants))
	for _, v := range variants {
		out = append(out, compileVariant(v, false, true))
	}
	return out
}

const maxFoldVariants = 64

// foldVariants spells out every case variant of the non-ASCII characters
// of s; nil when there are more than maxFoldVariants.
func foldVariants(s sstr) []sstr {
	outs := []sstr{nil}
	for _, part := range s {
		if part.wild != 0 {
			for i := range outs {
				outs[i] = append(outs[i], part)
			}
			continue
		}
		lits := []string{""}
		for _, r := range part.lit {
			var orbit []rune
			if r >= utf8.RuneSelf {
				orbit = append(orbit, r)
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					if f >= utf8.RuneSelf {
						orbit = append(orbit, f)
					}
				}
			} else {
				orbit = []rune{r}
			}
			if len(lits)*len(orbit)*len(outs) > maxFoldVariants {
				return nil
			}
			next := make([]string, 0, len(lits)*len(orbit))
			for _, l := range lits {
				for _, o := range orbit {
					next = append(next, l+string(o))
				}
			}
			lits = next
		}
		var next []sstr
		for _, o := range outs {
			for _, l := range lits {
				next = append(next, append(append(sstr(nil), o...), spart{lit: l}))
			}
		}
		outs = next
	}
	return outs
}

// compileVariant builds one pattern. fast: compare ASCII-lowered bytes.
func compileVariant(s sstr, cased, fast bool) pattern {
	p := pattern{cased: cased, fast: fast, src: s}
	low := func(x string) string {
		if fast {
			return lowerASCII(x)
		}
		return x
	}
	for _, part := range s {
		if part.wild == 0 && !isASCII(part.lit) {
			p.nonASCII = true
		}
	}
	n := len(s)
	switch {
	case n == 0:
		p.kind, p.lit = pExact, ""
	case n == 1 && s[0].wild == 0:
		p.kind, p.lit = pExact, low(s[0].lit)
	case n == 1 && s[0].wild == '*':
		p.kind = pAny
	case n == 2 && s[0].wild == 0 && s[1].wild == '*':
		p.kind, p.lit = pPrefix, low(s[0].lit)
	case n == 2 && s[0].wild == '*' && s[1].wild == 0:
		p.kind, p.lit = pSuffix, low(s[1].lit)
	case n == 3 && s[0].wild == '*' && s[1].wild == 0 && s[2].wild == '*':
		p.kind, p.lit = pContains, low(s[1].lit)
	default:
		p.kind = pGlob
		for _, part := range s {
			p.toks = append(p.toks, gtok{wild: part.wild, lit: low(part.lit)})
		}
	}
	return p
}

// foldInvariant reports whether no non-ASCII character of s has case
// variants.
func foldInvariant(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && unicode.SimpleFold(r) != r {
			return false
		}
		i += n
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// matchString tests one value. v is the value as stored; lv is v with
// ASCII upper case folded (the same string when it has none).
func (p *pattern) matchString(v, lv string) bool {
	switch p.kind {
	case pAny:
		return true
	case pNever:
		return false
	case pRegex:
		return p.re.MatchString(v)
	case pCIDR:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		return p.cidr.Contains(a.Unmap())
	case pCmp:
		x, ok := parseNumber(v)
		if !ok {
			return false
		}
		switch p.op {
		case opLT:
			return x < p.num
		case opLTE:
			return x <= p.num
		case opGT:
			return x > p.num
		default:
			return x >= p.num
		}
	}
	if p.fast {
		switch p.kind {
		case pExact:
			return lv == p.lit
		case pPrefix:
			return strings.HasPrefix(lv, p.lit)
		case pSuffix:
			return strings.HasSuffix(lv, p.lit)
		case pContains:
			return strings.Contains(lv, p.lit)
		case pGlob:
			return globMatch(p.toks, lv, bytesEq)
		}
		return false
	}
	if p.cased {
		switch p.kind {
		case pExact:
			return v == p.lit
		case pPrefix:
			return strings.HasPrefix(v, p.lit)
		case pSuffix:
			return strings.HasSuffix(v, p.lit)
		case pContains:
			return strings.Contains(v, p.lit)
		case pGlob:
			return globMatch(p.toks, v, bytesEq)
		}
		return false
	}
	// Non-ASCII literal, case-insensitive: rune-wise folding.
	switch p.kind {
	case pExact:
		n, ok := foldPrefix(v, p.lit)
		return ok && n == len(v)
	case pPrefix:
		_, ok := foldPrefix(v, p.lit)
		return ok
	case pSuffix:
		return foldSuffix(v, p.lit)
	case pContains:
		return foldIndex(v, p.lit) >= 0
	case pGlob:
		return globMatch(p.toks, v, foldPrefix)
	}
	return false
}

// parseNumber reads a decimal, or 0x-prefixed hexadecimal, number.
func parseNumber(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		u, err := strconv.ParseUint(v[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		return float64(u), true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// bytesEq reports whether s starts with lit byte for byte.
func bytesEq(s, lit string) (int, bool) {
	if strings.HasPrefix(s, lit) {
		return len(lit), true
	}
	return 0, false
}

// foldRuneEq is the package's case-insensitive rune equality.
func foldRuneEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf || b < utf8.RuneSelf {
		if a >= utf8.RuneSelf || b >= utf8.RuneSelf {
			return false
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// foldPrefix reports whether s starts with lit ignoring case, and how many
// bytes of s matched.
func foldPrefix(s, lit string) (int, bool) {
	i := 0
	for _, lr := range lit {
		if i >= len(s) {
			return 0, false
		}
		sr, n := utf8.DecodeRuneInString(s[i:])
		if !foldRuneEq(sr, lr) {
			return 0, false
		}
		i += n
	}
	return i, true
}

func foldSuffix(s, lit string) bool {
	i := len(s)
	j := len(lit)
	for j > 0 {
		if i == 0 {
			return false
		}
		lr, ln := utf8.DecodeLastRuneInString(lit[:j])
		sr, sn := utf8.DecodeLastRuneInString(s[:i])
		if !foldRuneEq(sr, lr) {
			return false
		}
		i -= sn
		j -= ln
	}
	return true
}

func foldIndex(s, lit string) int {
	if lit == "" {
		return 0
	}
	for i := 0; i < len(s); {
		if _, ok := foldPrefix(s[i:], lit); ok {
			return i
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return -1
}

// globMatch matches s against tokens; eq compares a literal at the start
// of a string and returns the bytes consumed. '?' consumes one UTF-8
// character (or one invalid byte).
func globMatch(toks []gtok, s string, eq func(s, lit string) (int, bool)) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.wild {
			case '*':
				starT, starS = ti, si
				ti++
				continue
			case '?':
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				if n, ok := eq(s[si:], t.lit); ok {
					si += n
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		ti, si = starT+1, starS
	}
}
