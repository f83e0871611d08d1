package detect

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// naive is the obvious answer the filter must agree with.
func naive(keywords []string, line []byte) []int {
	l := asciiLower(line)
	var out []int
	for i, k := range keywords {
		if bytes.Contains(l, asciiLower([]byte(k))) {
			out = append(out, i)
		}
	}
	return out
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func filterFind(f *keywordFilter, line []byte) []int {
	seen := map[int]bool{}
	var out []int
	f.find(line, func(p int) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	})
	sort.Ints(out)
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeywordFilterTable(t *testing.T) {
	kws := []string{"ServerInfo~", "autodiscover.json", "/ecp/", "x-rps-cat", "ab", "python-requests"}
	f := newKeywordFilter(kws)
	for _, line := range []string{
		"", "a", "ab", "AB", "xxab", "serverinfo~a]@x", "SERVERINFO", "GET /Autodiscover/autodiscover.JSON?@a",
		"/ECP/ and /ecp/", "python-requests/2.25.1", "python-request", "x-rps-ca",
	} {
		if got, want := filterFind(f, []byte(line)), naive(kws, []byte(line)); !equalInts(got, want) {
			t.Errorf("%q: got %v, want %v", line, got, want)
		}
	}
}

func TestKeywordFilterRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aAbB~/.-0 ")
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for round := 0; round < 600; round++ {
		var kws []string
		for i := 0; i < 1+r.IntN(8); i++ {
			if round%2 == 0 {
				kws = append(kws, word(2+r.IntN(4)))
			} else {
				kws = append(kws, word(3+r.IntN(8))) // all ≥ 3 bytes: the stride-2 scan
			}
		}
		if f := newKeywordFilter(kws); f.stride2 != (round%2 == 1) && round%2 == 1 {
			t.Fatalf("keywords %q: stride-2 scan not chosen", kws)
		}
		f := newKeywordFilter(kws)
		for j := 0; j < 50; j++ {
			line := []byte(word(r.IntN(40)))
			if got, want := filterFind(f, line), naive(kws, line); !equalInts(got, want) {
				t.Fatalf("keywords %q line %q: got %v, want %v", kws, line, got, want)
			}
		}
	}
}

func FuzzKeywordFilter(f *testing.F) {
	f.Add("serverinfo~", "x,ServerInfo~a]@h:444/ecp/proxyLogon.ecp")
	f.Add("ab", "aab")
	f.Add("/w.js", "POST /owa/auth/W.JS x")
	f.Add("abcde", "zabcde")
	f.Add("={{", "GET /a?x={{7*7}}")
	f.Add("get", "GET")
	f.Add("post", "xPOST")
	f.Fuzz(func(t *testing.T, kw string, line string) {
		if len(kw) < 2 {
			return
		}
		kws := []string{kw}
		if got, want := filterFind(newKeywordFilter(kws), []byte(line)), naive(kws, []byte(line)); !equalInts(got, want) {
			t.Fatalf("got %v want %v", got, want)
		}
	})
}

// TestKeywordFilterShortStride2: three- and four-byte keywords in the
// stride-2 scan (windows with a wildcard byte) at every position, line
// ends and starts of both parities included.
func TestKeywordFilterShortStride2(t *testing.T) {
	kws := []string{"get", "={{", "post", "/${#", "longer-keyword"}
	f := newKeywordFilter(kws)
	if !f.stride2 {
		t.Fatal("stride-2 scan not chosen")
	}
	for _, kw := range []string{"GET", "={{", "PoSt", "/${#"} {
		for pre := 0; pre < 6; pre++ {
			for post := 0; post < 6; post++ {
				line := []byte(strings.Repeat("x", pre) + kw + strings.Repeat("y", post))
				if got, want := filterFind(f, line), naive(kws, line); !equalInts(got, want) {
					t.Errorf("%q: got %v, want %v", line, got, want)
				}
			}
		}
	}
}
