package sigma

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// sstr is a Sigma string after escape processing: literal runs and
// wildcards. A literal may hold any bytes (after wide/utf16 encoding).
type sstr []spart

type spart struct {
	wild byte   // 0 for a literal, '*' or '?'
	lit  string // literal bytes
	ph   string // placeholder name (expand), when wild == '%'
}

// parseSigmaString applies the Sigma escaping rules: * and ? are
// wildcards; a backslash escapes *, ? and itself; a backslash before any
// other character (or at the end) is a literal backslash.
func parseSigmaString(s string) sstr {
	var out sstr
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, spart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*', '?':
			flush()
			out = append(out, spart{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// literalSigma is s as one literal (no wildcard processing).
func literalSigma(s string) sstr {
	if s == "" {
		return nil
	}
	return sstr{{lit: s}}
}

func (s sstr) hasWildcards() bool {
	for _, p := range s {
		if p.wild != 0 {
			return true
		}
	}
	return false
}

// plain concatenates the literal parts (for strings without wildcards).
func (s sstr) plain() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.lit)
	}
	return b.String()
}

// String renders s back in Sigma syntax (for messages).
func (s sstr) String() string {
	var b strings.Builder
	for _, p := range s {
		switch p.wild {
		case 0:
			for i := 0; i < len(p.lit); i++ {
				if c := p.lit[i]; c == '*' || c == '?' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(p.lit[i])
			}
		case '%':
			b.WriteString("%" + p.ph + "%")
		default:
			b.WriteByte(p.wild)
		}
	}
	return b.String()
}

// normalize merges adjacent literals and collapses runs of '*'.
func (s sstr) normalize() sstr {
	var out sstr
	for _, p := range s {
		if len(out) > 0 {
			last := &out[len(out)-1]
			if p.wild == 0 && last.wild == 0 {
				last.lit += p.lit
				continue
			}
			if p.wild == '*' && last.wild == '*' {
				continue
			}
		}
		if p.wild == 0 && p.lit == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// withWildcards adds leading and/or trailing '*' (contains, startswith,
// endswith).
func (s sstr) withWildcards(lead, trail bool) sstr {
	out := make(sstr, 0, len(s)+2)
	if lead && (len(s) == 0 || s[0].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	out = append(out, s...)
	if trail && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	return out
}

// insertPlaceholders splits %name% out of the literal parts (expand).
func (s sstr) insertPlaceholders() sstr {
	var out sstr
	for _, p := range s {
		if p.wild != 0 {
			out = append(out, p)
			continue
		}
		lit := p.lit
		for {
			i := strings.IndexByte(lit, '%')
			if i < 0 {
				break
			}
			j := strings.IndexByte(lit[i+1:], '%')
			if j < 0 {
				break
			}
			name := lit[i+1 : i+1+j]
			if name == "" || !isWordString(name) {
				out = append(out, spart{lit: lit[:i+1]})
				lit = lit[i+1:]
				continue
			}
			if i > 0 {
				out = append(out, spart{lit: lit[:i]})
			}
			out = append(out, spart{wild: '%', ph: name})
			lit = lit[i+2+j:]
		}
		if lit != "" {
			out = append(out, spart{lit: lit})
		}
	}
	return out
}

func isWordString(s string) bool {
	for _, r := range s {
		if !isWordRune(r) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// maxVariants bounds how many strings one value may expand into
// (windash permutations, placeholder lists).
const maxVariants = 4096

// expandPlaceholders replaces placeholder parts by each of their values
// (parsed as Sigma strings, so a value may carry wildcards).
func expandPlaceholders(s sstr, lookup func(string) ([]string, bool)) ([]sstr, error) {
	outs := []sstr{nil}
	for _, p := range s {
		if p.wild != '%' {
			for i := range outs {
				outs[i] = append(outs[i], p)
			}
			continue
		}
		vals, ok := lookup(p.ph)
		if !ok {
			return nil, &unsupportedError{fmt.Sprintf("placeholder %%%s%% has no value (set it in Loader.Placeholders)", p.ph)}
		}
		if len(outs)*len(vals) > maxVariants {
			return nil, fmt.Errorf("placeholder %%%s%% expands to more than %d values", p.ph, maxVariants)
		}
		var next []sstr
		for _, o := range outs {
			for _, v := range vals {
				n := append(append(sstr(nil), o...), parseSigmaString(v)...)
				next = append(next, n)
			}
		}
		outs = next
	}
	return outs, nil
}

// unsupportedError marks valid Sigma that this engine cannot evaluate.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// encodeUTF16 re-encodes every literal part as UTF-16 (wide, utf16le,
// utf16be, utf16).
func encodeUTF16(s sstr, bigEndian, bom bool) (sstr, error) {
	out := make(sstr, 0, len(s)+1)
	if bom {
		out = append(out, spart{lit: "\xff\xfe"})
	}
	for _, p := range s {
		if p.wild != 0 {
			out = append(out, p)
			continue
		}
		if !utf8.ValidString(p.lit) {
			return nil, fmt.Errorf("cannot encode invalid UTF-8 as UTF-16")
		}
		var b []byte
		for _, u := range utf16.Encode([]rune(p.lit)) {
			if bigEndian {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		out = append(out, spart{lit: string(b)})
	}
	return out, nil
}

// base64Encode encodes the whole (wildcard-free) value.
func base64Encode(s sstr) (sstr, error) {
	if s.hasWildcards() {
		return nil, fmt.Errorf("base64 encoding of a value with wildcards is not possible")
	}
	return literalSigma(base64.StdEncoding.EncodeToString([]byte(s.plain()))), nil
}

// base64Offsets returns the three base64 forms of the value as it may
// appear at any byte offset inside a longer encoded string, with the
// unstable leading and trailing characters cut (as pySigma does).
func base64Offsets(s sstr) ([]sstr, error) {
	if s.hasWildcards() {
		return nil, fmt.Errorf("base64 encoding of a value with wildcards is not possible")
	}
	data := []byte(s.plain())
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2} // chars cut at the end, by (len+i)%3
	var out []sstr
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), data...))
		end := len(enc) - endCut[(len(data)+i)%3]
		if start[i] > end {
			continue
		}
		out = append(out, literalSigma(enc[start[i]:end]))
	}
	return out, nil
}

// windashChars replace a '-' or '/' that starts a command-line option.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash returns every variant of s in which each option dash or slash
// (one not preceded by a word character and followed by one) is replaced
// by each of windashChars.
func windash(s sstr) ([]sstr, error) {
	type pos struct{ part, off int }
	var ps []pos
	for pi, p := range s {
		if p.wild != 0 {
			continue
		}
		for i := 0; i < len(p.lit); i++ {
			c := p.lit[i]
			if c != '-' && c != '/' {
				continue
			}
			if i > 0 {
				r, _ := utf8.DecodeLastRuneInString(p.lit[:i])
				if isWordRune(r) {
					continue
				}
			}
			if i+1 >= len(p.lit) {
				continue
			}
			r, _ := utf8.DecodeRuneInString(p.lit[i+1:])
			if !isWordRune(r) {
				continue
			}
			ps = append(ps, pos{pi, i})
		}
	}
	if len(ps) == 0 {
		return []sstr{s}, nil
	}
	total := 1
	for range ps {
		total *= len(windashChars)
		if total > maxVariants {
			return nil, fmt.Errorf("windash expands to more than %d variants", maxVariants)
		}
	}
	out := make([]sstr, 0, total)
	choice := make([]int, len(ps))
	for {
		v := make(sstr, len(s))
		copy(v, s)
		// Rebuild affected parts from the end so offsets stay valid.
		for k := len(ps) - 1; k >= 0; k-- {
			p := ps[k]
			lit := v[p.part].lit
			v[p.part].lit = lit[:p.off] + windashChars[choice[k]] + lit[p.off+1:]
		}
		out = append(out, v)
		k := 0
		for ; k < len(choice); k++ {
			choice[k]++
			if choice[k] < len(windashChars) {
				break
			}
			choice[k] = 0
		}
		if k == len(choice) {
			break
		}
	}
	return out, nil
}
