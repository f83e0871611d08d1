package yara

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"

	"github.com/VirusTotal/gyp"
	"github.com/VirusTotal/gyp/ast"

	"github.com/exhunt/exhunt/detect/yara/internal/re"
)

// sampleGen builds synthetic samples out of rules' own strings, so that a
// differential test exercises many more rules (and near misses) than a
// corpus of real files does.
type sampleGen struct {
	r *rand.Rand
}

// fragments returns, per rule, byte strings that match (or nearly match)
// the rule's strings.
func (g *sampleGen) fragments(src []byte) [][][]byte {
	rs, err := gyp.ParseString(string(src))
	if err != nil {
		return nil
	}
	var out [][][]byte
	for _, r := range rs.Rules {
		var frags [][]byte
		for _, s := range r.Strings {
			if f := g.stringFrag(s); f != nil {
				frags = append(frags, f)
			}
		}
		out = append(out, frags)
	}
	return out
}

func (g *sampleGen) stringFrag(s ast.String) []byte {
	switch v := s.(type) {
	case *ast.TextString:
		b, err := unescape(v.Value)
		if err != nil || len(b) == 0 {
			return nil
		}
		b = append([]byte(nil), b...)
		if v.Nocase {
			for i, c := range b {
				if g.r.IntN(2) == 0 {
					if c >= 'a' && c <= 'z' {
						b[i] = c - 32
					} else if c >= 'A' && c <= 'Z' {
						b[i] = c + 32
					}
				}
			}
		}
		if v.Base64 || v.Base64Wide {
			pre := bytes.Repeat([]byte{'x'}, g.r.IntN(3))
			enc := []byte(base64.StdEncoding.EncodeToString(append(pre, b...)))
			if v.Base64Wide && (!v.Base64 || g.r.IntN(2) == 0) {
				enc = toWide(enc)
			}
			return enc
		}
		if v.Wide && (!v.ASCII || g.r.IntN(2) == 0) {
			b = toWide(b)
		}
		if v.Xor {
			k := byte(int(v.XorMin) + g.r.IntN(int(v.XorMax-v.XorMin)+1))
			for i := range b {
				b[i] ^= k
			}
		}
		return g.mutate(b)
	case *ast.HexString:
		n, err := hexNode(v.Tokens)
		if err != nil {
			return nil
		}
		return g.mutate(g.gen(n, false, 0))
	case *ast.RegexpString:
		n, err := re.Parse(v.Regexp.Value)
		if err != nil {
			return nil
		}
		b := g.gen(n, v.Nocase || v.Regexp.Modifiers&ast.RegexpCaseInsensitive != 0, 0)
		if v.Wide && (!v.ASCII || g.r.IntN(2) == 0) {
			b = toWide(b)
		}
		return g.mutate(b)
	}
	return nil
}

// mutate sometimes damages a fragment: a near miss is as useful a test as
// a match.
func (g *sampleGen) mutate(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	switch g.r.IntN(8) {
	case 0:
		return b[:g.r.IntN(len(b))]
	case 1:
		c := append([]byte(nil), b...)
		c[g.r.IntN(len(c))] ^= byte(1 + g.r.IntN(255))
		return c
	case 2:
		return append([]byte("a"), append(b, 'z')...)
	}
	return b
}

// gen produces a random string that the tree matches.
func (g *sampleGen) gen(n *re.Node, nocase bool, depth int) []byte {
	switch n.Op {
	case re.OpSet:
		m := n.Set.Members()
		if len(m) == 0 {
			return nil
		}
		c := m[g.r.IntN(len(m))]
		if nocase && g.r.IntN(2) == 0 {
			if c >= 'a' && c <= 'z' {
				c -= 32
			} else if c >= 'A' && c <= 'Z' {
				c += 32
			}
		}
		return []byte{c}
	case re.OpAny:
		if g.r.IntN(3) == 0 {
			return []byte{byte(' ' + g.r.IntN(90))}
		}
		return []byte{byte(g.r.IntN(256))}
	case re.OpConcat:
		var out []byte
		for _, s := range n.Subs {
			out = append(out, g.gen(s, nocase, depth+1)...)
		}
		return out
	case re.OpAlt:
		return g.gen(n.Subs[g.r.IntN(len(n.Subs))], nocase, depth+1)
	case re.OpRepeat:
		max := n.Max
		if max < 0 || max > n.Min+8 {
			max = n.Min + 8
		}
		if max > 300 {
			max = 300
		}
		min := n.Min
		if min > max {
			min = max
		}
		k := min + g.r.IntN(max-min+1)
		var out []byte
		for i := 0; i < k && len(out) < 2000; i++ {
			out = append(out, g.gen(n.Subs[0], nocase, depth+1)...)
		}
		return out
	}
	return nil
}

// samples builds count samples mixing the fragments of random rules with
// noise, executable and archive headers, and sizes that cross the
// filesize thresholds rules use.
func (g *sampleGen) samples(frags [][][]byte, count int) [][]byte {
	var out [][]byte
	headers := [][]byte{nil, []byte("MZ\x90\x00"), []byte("PK\x03\x04"), []byte("<?php "), []byte("<%@ Page Language=\"C#\" %>"), []byte("\xef\xbb\xbf")}
	for i := 0; i < count && len(frags) > 0; i++ {
		var b bytes.Buffer
		b.Write(headers[g.r.IntN(len(headers))])
		rules := 1 + g.r.IntN(3)
		for j := 0; j < rules; j++ {
			fs := frags[g.r.IntN(len(frags))]
			for _, f := range fs {
				if g.r.IntN(4) == 0 {
					continue
				}
				b.Write(f)
				g.noise(&b, g.r.IntN(40))
			}
		}
		if g.r.IntN(4) == 0 {
			g.noise(&b, g.r.IntN(200000))
		}
		out = append(out, b.Bytes())
	}
	return out
}

func (g *sampleGen) noise(b *bytes.Buffer, n int) {
	const text = " \n\t\r;(){}=\"'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_<>%/.,"
	for i := 0; i < n; i++ {
		if g.r.IntN(10) == 0 {
			b.WriteByte(byte(g.r.IntN(256)))
		} else {
			b.WriteByte(text[g.r.IntN(len(text))])
		}
	}
}
