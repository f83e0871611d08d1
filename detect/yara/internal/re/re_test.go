package re

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	// Each of these is rejected by libyara 4.2 as well.
	for _, src := range []string{
		"", "(", ")", "a)", "(a", "[a", "a**", "a+*", "*a", "|a", "()", `\`, `(a)\1`, "a{2}{3}", "{2}", `[b-a]`,
		`\xZZ`, "[\x80]", "a{3,2}", "a{99999}",
	} {
		if _, err := Parse(src); err == nil {
			t.Errorf("Parse(%q) succeeded", src)
		}
	}
	for _, src := range []string{
		"a", "a|b", "a|", "a||b", "(a|b)c", "a{,3}", "a{2,}", "a{2}", "a{", "a{x}", "}", "]", "[]a]", "[^]a]",
		`[\w-z]`, `[a-]`, `[-a]`, `\.`, `\/`, `\e`, "[\\x80-\\xff]", "\x80", `\b\B^$`, "a*?b+?c??d{1,2}?",
	} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

type matchCase struct {
	re     string
	flags  Flags
	data   string
	start  int
	wide   bool
	length int // -1: no match
}

func TestMatch(t *testing.T) {
	for _, c := range []matchCase{
		{re: "abc", data: "abcd", length: 3},
		{re: "abc", data: "abd", length: -1},
		{re: "a+", data: "aaab", length: 3},
		{re: "a+?", data: "aaab", length: 1},
		{re: "a{2,3}", data: "aaaa", length: 3},
		{re: "a{2,3}?", data: "aaaa", length: 2},
		{re: "a{,2}b", data: "aab", length: 3},
		{re: "(ab|a)c", data: "abc", length: 3},
		{re: "(a|ab)(c|bcd)", data: "abcd", length: 4},
		{re: "a.c", data: "a\nc", length: -1},
		{re: "a.c", flags: Flags{DotAll: true}, data: "a\nc", length: 3},
		{re: "ABC", flags: Flags{NoCase: true}, data: "aBc", length: 3},
		{re: "[a-c]+", flags: Flags{NoCase: true}, data: "ABCD", length: 3},
		{re: `\d+`, data: "123x", length: 3},
		{re: `\w+`, data: "ab_1-", length: 4},
		{re: `\s`, data: "\v", length: 1},
		{re: `[\s]`, data: "\v", length: -1}, // \s in a class is only space and tab in libyara
		{re: `[\s]`, data: "\t", length: 1},
		{re: `\bab`, data: "ab", length: 2},
		{re: `\bab`, data: "xab", start: 1, length: -1},
		{re: `ab\b`, data: "ab", length: 2},
		{re: `ab\b`, data: "abc", length: -1},
		{re: `ab\B`, data: "abc", length: 2},
		{re: `^ab`, data: "ab", length: 2},
		{re: `^ab`, data: "xab", start: 1, length: -1},
		{re: `ab$`, data: "ab", length: 2},
		{re: `ab$`, data: "abc", length: -1},
		{re: "\xe4\xb8", data: "\xe4\xb8\xad", length: 2},
		{re: `[^a]`, data: "\xff", length: 1},
		{re: `.`, data: "\xff", length: 1},
		{re: "abc", data: "a\x00b\x00c\x00", wide: true, length: 6},
		{re: "abc", data: "a\x00b\x01c\x00", wide: true, length: -1},
		{re: `\w+`, data: "a\x00b\x00-\x00", wide: true, length: 4},
		{re: `a|`, data: "b", length: 0},
		{re: `(a*)*b`, data: strings.Repeat("a", 3000), length: -1},
	} {
		n, err := Parse(c.re)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.re, err)
			continue
		}
		p, err := Compile(n, c.flags)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.re, err)
			continue
		}
		var m Machine
		if got := m.Match(p, []byte(c.data), c.start, len(c.data), c.wide); got != c.length {
			t.Errorf("/%s/ on %q at %d (wide %v): %d, want %d", c.re, c.data, c.start, c.wide, got, c.length)
		}
	}
}

func TestScanLimit(t *testing.T) {
	n, _ := Parse("a.*b")
	p, _ := Compile(n, Flags{DotAll: true})
	var m Machine
	data := []byte("a" + strings.Repeat("x", 5000) + "b")
	if got := m.Match(p, data, 0, ScanLimit, false); got != -1 {
		t.Errorf("match across the scan limit: %d", got)
	}
	if got := m.Match(p, data[4000:], 0, ScanLimit, false); got != -1 {
		t.Errorf("unexpected match")
	}
}

func TestReverse(t *testing.T) {
	n, _ := Parse(`\$[a-z]{1,3}`)
	p, err := CompileReverse(n, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	var m Machine
	data := []byte("x$abc(")
	var starts []int
	m.Reverse(p, data, 5, 0, false, func(s int) bool { starts = append(starts, s); return true })
	if len(starts) != 1 || starts[0] != 1 {
		t.Errorf("starts %v, want [1]", starts)
	}
}

func TestSearch(t *testing.T) {
	for _, c := range []struct {
		re, data string
		want     bool
	}{
		{"b+", "abbc", true}, {"^b", "ab", false}, {"c$", "abc", true}, {"x", "abc", false}, {"", "", true},
	} {
		n, err := Parse(c.re)
		if c.re == "" {
			n, err = &Node{Op: OpEmpty}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		p, _ := Compile(n, Flags{})
		var m Machine
		if got := m.Search(p, []byte(c.data)); got != c.want {
			t.Errorf("Search(/%s/, %q) = %v", c.re, c.data, got)
		}
	}
}

func TestAtoms(t *testing.T) {
	for _, c := range []struct {
		re         string
		flags      Flags
		atoms      int
		fixedStart bool
	}{
		{re: "abcdef", atoms: 1, fixedStart: true},
		{re: `\beval\(`, atoms: 1, fixedStart: true},
		{re: "(vb|jscript)script", atoms: 1, fixedStart: false},
		{re: "x(abc|def)", atoms: 2},
		{re: "[a-z]+", atoms: 0},
		{re: "(abcd|efgh)", atoms: 2, fixedStart: true},
	} {
		n, _ := Parse(c.re)
		atoms, _ := Atoms(n, c.flags, 4, func(ch []ByteSet) int { return len(ch) * 4 })
		if len(atoms) != c.atoms {
			t.Errorf("/%s/: %d atoms, want %d", c.re, len(atoms), c.atoms)
			continue
		}
		if c.fixedStart && atoms[0].PrefixMax != atoms[0].PrefixMin {
			t.Errorf("/%s/: variable prefix", c.re)
		}
	}
}

func TestTooLarge(t *testing.T) {
	n, _ := Parse(`(((a{1,1000}){1,1000}){1,1000})`)
	if _, err := Compile(n, Flags{}); err != ErrTooLarge {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
}
