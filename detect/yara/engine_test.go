package yara

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// scanCase is one rule set, one input and the expected outcome. Every case
// is also run through libyara by TestOracleTable (build tag yara_cgo), so
// the expectations are libyara's, not ours.
type scanCase struct {
	name string
	src  string
	data string
	vars Vars
	// want lists the matching rules, sorted.
	want []string
	// offsets lists, for rule "t", the reported offsets per string.
	offsets map[string][]int64
}

func wide(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		b.WriteByte(0)
	}
	return b.String()
}

// stringCases cover every kind of string and modifier, positive and
// negative.
var stringCases = []scanCase{
	{name: "text", src: `rule t { strings: $a = "abc" condition: $a }`, data: "xxabcxxabc", want: []string{"t"}, offsets: map[string][]int64{"$a": {2, 7}}},
	{name: "text-miss", src: `rule t { strings: $a = "abc" condition: $a }`, data: "xxabxcABC", want: nil},
	{name: "text-case", src: `rule t { strings: $a = "abc" condition: $a }`, data: "ABC", want: nil},
	{name: "short", src: `rule t { strings: $a = "a" condition: #a == 3 }`, data: "banana", want: []string{"t"}, offsets: map[string][]int64{"$a": {1, 3, 5}}},
	{name: "two-bytes", src: `rule t { strings: $a = "<%" condition: $a }`, data: "x<%y", want: []string{"t"}, offsets: map[string][]int64{"$a": {1}}},
	{name: "escapes", src: `rule t { strings: $a = "a\x00\t\"\\b" condition: $a }`, data: "-a\x00\t\"\\b-", want: []string{"t"}, offsets: map[string][]int64{"$a": {1}}},
	{name: "nocase", src: `rule t { strings: $a = "eval(" nocase condition: #a == 3 }`, data: "eval( EVAL( EvAl(", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 6, 12}}},
	{name: "wide", src: `rule t { strings: $a = "cmd" wide condition: $a }`, data: "x" + wide("cmd") + "cmd", want: []string{"t"}, offsets: map[string][]int64{"$a": {1}}},
	{name: "wide-ascii", src: `rule t { strings: $a = "cmd" wide ascii condition: #a == 2 }`, data: "x" + wide("cmd") + "cmd", want: []string{"t"}, offsets: map[string][]int64{"$a": {1, 7}}},
	{name: "wide-nocase", src: `rule t { strings: $a = "Shell" wide nocase condition: $a }`, data: wide("sHELL"), want: []string{"t"}},
	{name: "fullword", src: `rule t { strings: $a = "exec" fullword condition: #a == 3 }`, data: "exec execute (exec) myexec _exec", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 14, 28}}},
	{name: "fullword-underscore", src: `rule t { strings: $a = "exec" fullword condition: $a }`, data: "_exec_", want: []string{"t"}},
	{name: "fullword-wide", src: `rule t { strings: $a = "run" fullword wide condition: #a == 1 }`, data: wide("run ") + wide("xrun") + wide("runx"), want: []string{"t"}, offsets: map[string][]int64{"$a": {0}}},
	{name: "xor", src: `rule t { strings: $a = "This program" xor condition: $a }`, data: xorString("This program", 0x5a), want: []string{"t"}},
	{name: "xor-plain", src: `rule t { strings: $a = "This program" xor condition: $a }`, data: "This program", want: []string{"t"}},
	{name: "xor-range-miss", src: `rule t { strings: $a = "This program" xor(1-3) condition: $a }`, data: "This program" + xorString("This program", 4), want: nil},
	{name: "xor-range-hit", src: `rule t { strings: $a = "This program" xor(1-3) condition: $a }`, data: xorString("This program", 3), want: []string{"t"}},
	{name: "xor-wide", src: `rule t { strings: $a = "abc" xor wide condition: $a }`, data: xorString(wide("abc"), 7), want: []string{"t"}},
	{name: "base64", src: `rule t { strings: $a = "Request.Form" base64 condition: $a }`, data: "cmVxdWVzdC5Gb3Jt UmVxdWVzdC5Gb3JtKCJ4Iik=", want: []string{"t"}, offsets: map[string][]int64{"$a": {17}}},
	{name: "base64-offset1", src: `rule t { strings: $a = "Request.Form" base64 condition: $a }`, data: "eFJlcXVlc3QuRm9ybQ==", want: []string{"t"}},
	{name: "base64wide", src: `rule t { strings: $a = "powershell" base64wide condition: $a }`, data: wide("cG93ZXJzaGVsbA=="), want: []string{"t"}},
	{name: "base64-alphabet", src: `rule t { strings: $a = "hello" base64("ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210+/") condition: $a }`, data: "zTEhyT1tw70byTJ aGVsbG8gd29ybGQ", want: []string{"t"}, offsets: map[string][]int64{"$a": {0}}},
	{name: "private", src: `rule t { strings: $a = "abc" private $b = "def" condition: $a and $b }`, data: "abcdef", want: []string{"t"}, offsets: map[string][]int64{"$b": {3}}},
	{name: "hex", src: `rule t { strings: $a = { 4D 5A 90 00 } condition: $a at 0 }`, data: "MZ\x90\x00rest", want: []string{"t"}},
	{name: "hex-wildcard", src: `rule t { strings: $a = { 61 ?? 63 } condition: #a == 2 }`, data: "abcaXc", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 3}}},
	{name: "hex-nibble", src: `rule t { strings: $a = { 6? 3? } condition: #a == 2 }`, data: "a1b2", want: []string{"t"}},
	{name: "hex-nibble-low", src: `rule t { strings: $a = { ?1 ?2 } condition: #a == 2 }`, data: "a1b2Qr", want: []string{"t"}, offsets: map[string][]int64{"$a": {1, 4}}},
	{name: "hex-jump", src: `rule t { strings: $a = { 61 [1-3] 62 } condition: #a == 2 }`, data: "axbaxxxxb ayyb", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 10}}},
	{name: "hex-jump-exact", src: `rule t { strings: $a = { 61 [2] 62 } condition: $a }`, data: "axxb", want: []string{"t"}},
	{name: "hex-alt", src: `rule t { strings: $a = { 61 ( 62 | 63 64 ) 65 } condition: #a == 2 }`, data: "abe acde ace", want: []string{"t"}},
	{name: "hex-unbounded-jump", src: `rule t { strings: $a = { 41 42 [-] 43 44 } condition: $a }`, data: "AB" + strings.Repeat("x", 9000) + "CD", want: []string{"t"}},
	{name: "hex-chained-jump", src: `rule t { strings: $a = { 41 42 [300-400] 43 44 } condition: $a }`, data: "AB" + strings.Repeat("x", 350) + "CD", want: []string{"t"}},
	{name: "hex-chained-jump-miss", src: `rule t { strings: $a = { 41 42 [300-400] 43 44 } condition: $a }`, data: "AB" + strings.Repeat("x", 250) + "CD", want: nil},
	{name: "regex", src: `rule t { strings: $a = /ab+c/ condition: $a }`, data: "xxabbbc", want: []string{"t"}, offsets: map[string][]int64{"$a": {2}}},
	{name: "regex-class", src: `rule t { strings: $a = /[0-9a-f]{8}-[0-9a-f]{4}/ condition: $a }`, data: "id=deadbeef-cafe", want: []string{"t"}},
	{name: "regex-i", src: `rule t { strings: $a = /eval\s*\(/i condition: $a }`, data: "EVAL   (", want: []string{"t"}},
	{name: "regex-dot-newline", src: `rule t { strings: $a = /a.b/ condition: $a }`, data: "a\nb", want: nil},
	{name: "regex-s", src: `rule t { strings: $a = /a.b/s condition: $a }`, data: "a\nb", want: []string{"t"}},
	{name: "regex-anchor-start", src: `rule t { strings: $a = /^<\?php/ condition: $a }`, data: " <?php", want: nil},
	{name: "regex-anchor-start-hit", src: `rule t { strings: $a = /^<\?php/ condition: $a }`, data: "<?php", want: []string{"t"}},
	{name: "regex-anchor-end", src: `rule t { strings: $a = /\?>$/ condition: $a }`, data: "<?php ?>", want: []string{"t"}},
	{name: "regex-word-boundary", src: `rule t { strings: $a = /\bexec\b/ condition: #a == 1 }`, data: "exec execute", want: []string{"t"}},
	{name: "regex-wide", src: `rule t { strings: $a = /cmd\.exe/ wide condition: $a }`, data: wide("cmd.exe"), want: []string{"t"}},
	{name: "regex-nocase-wide-ascii", src: `rule t { strings: $a = /Shell_Exec/ nocase wide ascii condition: #a == 2 }`, data: "shell_exec " + wide("SHELL_EXEC"), want: []string{"t"}},
	{name: "regex-alternation", src: `rule t { strings: $a = /(vb|jscript|c#)script/ condition: #a == 2 }`, data: "vbscript jscriptscript", want: []string{"t"}},
	{name: "regex-prefix-variable", src: `rule t { strings: $a = /\$[a-z]{1,5}\(\$_POST/ condition: $a }`, data: "<?php $abc($_POST['x']);", want: []string{"t"}, offsets: map[string][]int64{"$a": {6}}},
	{name: "regex-lazy", src: `rule t { strings: $a = /<%.{0,100}?%>/ condition: !a[1] == 7 }`, data: "<% x %> %>", want: []string{"t"}},
	{name: "regex-greedy", src: `rule t { strings: $a = /<%.{0,100}%>/ condition: !a[1] == 10 }`, data: "<% x %> %>", want: []string{"t"}},
	{name: "regex-no-atom", src: `rule t { strings: $a = /[a-z][0-9][a-z]/ condition: #a == 2 }`, data: "a1b--c2d", want: []string{"t"}},
	{name: "regex-high-bytes", src: `rule t { strings: $a = /\xe4\xb8[\x80-\xbf]/ condition: $a }`, data: "x\xe4\xb8\xad", want: []string{"t"}},
	{name: "regex-fullword", src: `rule t { strings: $a = /eval/ fullword condition: #a == 1 }`, data: "eval evaluate", want: []string{"t"}},
	{name: "anonymous", src: `rule t { strings: $ = "abc" $ = "def" condition: all of them }`, data: "abcdef", want: []string{"t"}},

	// libyara's own semantics, kept (see docs/yara.md).
	{name: "regex-negated-class-nocase", src: `rule t { strings: $a = /x[^a]/i condition: #a == 1 }`, data: "xa xA xb", want: []string{"t"}, offsets: map[string][]int64{"$a": {6}}},
	{name: "regex-leading-optional", src: `rule t { strings: $a = /q?\w/ condition: $a }`, data: "a qb", want: []string{"t"}, offsets: map[string][]int64{"$a": {2}}},
	{name: "regex-optional-with-atomless-start", src: `rule t { strings: $a = /\s(ab)?/ condition: !a[1] == 3 }`, data: "x ab", want: []string{"t"}, offsets: map[string][]int64{"$a": {1}}},
	{name: "regex-wide-ascii-order", src: `rule t { strings: $a = /\w+=/ wide ascii condition: $a }`, data: wide("ab="), want: nil},
	{name: "regex-greedy-keeps-last", src: `rule t { strings: $a = /\w+y/ condition: #a == 4 and !a[1] == 5 and !a[2] == 4 }`, data: "aayay", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 1, 2, 3}}},
	{name: "regex-lazy-keeps-first", src: `rule t { strings: $a = /\w+?y/ condition: #a == 4 and !a[1] == 3 and !a[3] == 3 }`, data: "aayay", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 1, 2, 3}}},
	{name: "regex-chained-range", src: `rule t { strings: $a = /a.{201,}?b/ condition: $a }`, data: "a" + strings.Repeat("x", 100) + "\n" + strings.Repeat("x", 104) + "b", want: []string{"t"}},
	{name: "regex-group-not-chained", src: `rule t { strings: $a = /(a.{201,}?b)/ condition: $a }`, data: "a" + strings.Repeat("x", 100) + "\n" + strings.Repeat("x", 104) + "b", want: nil},
	{name: "regex-star-not-chained", src: `rule t { strings: $a = /a.*?b/ condition: $a }`, data: "a\nb", want: nil},
	{name: "regex-wide-chain-gap-in-bytes", src: `rule t { strings: $a = /ab.{201,210}?cd/ wide condition: $a }`, data: wide("ab") + strings.Repeat("x", 205) + wide("cd"), want: []string{"t"}},
	{name: "regex-wide-chain-gap-in-bytes-miss", src: `rule t { strings: $a = /ab.{201,210}?cd/ wide condition: $a }`, data: wide("ab") + wide(strings.Repeat("x", 205)) + wide("cd"), want: nil},
	{name: "regex-literal-at", src: `rule t { strings: $a = /ab/ condition: $a at 2 }`, data: "ababab", want: []string{"t"}, offsets: map[string][]int64{"$a": {2}}},
	{name: "regex-group-not-literal", src: `rule t { strings: $a = /a(b)/ condition: $a at 2 }`, data: "ababab", want: []string{"t"}, offsets: map[string][]int64{"$a": {0, 2, 4}}},
}

// conditionCases cover the condition language.
var conditionCases = []scanCase{
	{name: "bool-ops", src: `rule t { condition: true and not false or false }`, data: "", want: []string{"t"}},
	{name: "arith", src: `rule t { condition: 1 + 2 * 3 == 7 and 7 \ 2 == 3 and 7 % 3 == 1 and -7 \ 2 == -3 and 10 - 4 - 3 == 3 }`, data: "", want: []string{"t"}},
	{name: "bitwise", src: `rule t { condition: 0xF0 | 0x0F == 0xFF and 0xFF & 0x0F == 0x0F and 5 ^ 1 == 4 and ~0 == -1 and 1 << 4 == 16 and 256 >> 4 == 16 and 1 << 64 == 0 }`, data: "", want: []string{"t"}},
	{name: "float", src: `rule t { condition: 1.5 > 1 and 2 == 2.0 and 1 \ 2.0 == 0.5 }`, data: "", want: []string{"t"}},
	{name: "filesize", src: `rule t { condition: filesize == 5 and filesize < 1KB }`, data: "hello", want: []string{"t"}},
	{name: "uint", src: `rule t { condition: uint16(0) == 0x5a4d and uint8(2) == 0x90 and uint32(0) == 0x00905a4d and uint16be(0) == 0x4d5a and uint32be(0) == 0x4d5a9000 }`, data: "MZ\x90\x00", want: []string{"t"}},
	{name: "int", src: `rule t { condition: int8(0) == -1 and int16(0) == -1 and int32(0) == 0x0201ffff and int16be(2) == 0x0102 and int8be(2) == 1 }`, data: "\xff\xff\x01\x02", want: []string{"t"}},
	{name: "uint-out-of-range", src: `rule t { condition: not defined uint32(2) and defined uint32(0) and not (not (uint32(0) == 0x64636261)) }`, data: "abcd", want: []string{"t"}},
	{name: "undefined-not", src: `rule t { condition: not (uint16(10) == 1) }`, data: "abc", want: nil},
	{name: "undefined-and-or", src: `rule t { condition: not (uint16(10) == 1 and true) and (uint16(10) == 1 or true) }`, data: "abc", want: []string{"t"}},
	{name: "div-zero", src: `rule t { condition: not defined (1 \ (filesize - 3)) }`, data: "abc", want: []string{"t"}},
	{name: "entrypoint-text", src: `rule t { condition: not defined entrypoint }`, data: "abc", want: []string{"t"}},
	{name: "count", src: `rule t { strings: $a = "ab" condition: #a == 3 and #a in (0..3) == 2 }`, data: "ababxab", want: []string{"t"}},
	{name: "offset-length", src: `rule t { strings: $a = /ab+/ condition: @a[1] == 0 and @a[2] == 4 and !a[2] == 3 and @a == 0 and !a == 2 and not defined @a[3] }`, data: "abx abb", want: []string{"t"}},
	{name: "at", src: `rule t { strings: $a = "ab" condition: $a at 2 and not $a at 1 }`, data: "xxab", want: []string{"t"}},
	{name: "in", src: `rule t { strings: $a = "ab" condition: $a in (1..2) and not $a in (3..10) }`, data: "xxab", want: []string{"t"}},
	{name: "n-of", src: `rule t { strings: $a = "a1" $b = "b2" $c = "c3" condition: 2 of them and not all of them and any of ($a, $b) and none of ($c) }`, data: "a1 b2", want: []string{"t"}},
	{name: "percent-of", src: `rule t { strings: $a = "a1" $b = "b2" $c = "c3" condition: 50% of them and not 67% of them }`, data: "a1 b2", want: []string{"t"}},
	{name: "of-in", src: `rule t { strings: $a = "a1" $b = "b2" condition: all of them in (0..3) }`, data: "a1b2", want: []string{"t"}},
	{name: "wildcard-set", src: `rule t { strings: $x1 = "one" $x2 = "two" $y = "three" condition: all of ($x*) and not any of ($y*) }`, data: "one two", want: []string{"t"}},
	{name: "for-of", src: `rule t { strings: $a = "aa" $b = "bb" condition: for all of them : ( # == 2 ) and for any of ($a) : ( $ at 0 ) }`, data: "aa bb aa bb", want: []string{"t"}},
	{name: "for-in-range", src: `rule t { strings: $a = "x" condition: for all i in (1..#a) : ( @a[i] % 2 == 0 ) }`, data: "x-x-x", want: []string{"t"}},
	{name: "for-in-enum", src: `rule t { condition: for any i in (1, 2, 3) : ( i * 2 == 4 ) and for 2 i in (1, 2, 3) : ( i > 1 ) }`, data: "", want: []string{"t"}},
	{name: "for-empty-range", src: `rule t { condition: not for all i in (1..filesize) : ( false ) }`, data: "", want: []string{"t"}},
	{name: "for-undefined-body", src: `rule t { condition: for none i in (1..2) : ( uint16(100) == i ) }`, data: "", want: []string{"t"}},
	{name: "nested-loops", src: `rule t { strings: $a = "a" $b = "b" condition: for any i in (1..#a) : ( for any j in (1..#b) : ( @b[j] == @a[i] + 1 ) ) }`, data: "xxab", want: []string{"t"}},
	{name: "rule-ref", src: `private rule p { strings: $a = "abc" condition: $a } rule t { condition: p } rule u { condition: not p }`, data: "abc", want: []string{"t"}},
	{name: "rule-set", src: `rule r1 { condition: true } rule r2 { condition: false } rule t { condition: 1 of (r1, r2) and not all of (r*) }`, data: "", want: []string{"r1", "t"}},
	{name: "global-pass", src: `global rule g { condition: filesize > 2 } rule t { condition: true }`, data: "abc", want: []string{"g", "t"}},
	{name: "global-fail", src: `global rule g { condition: filesize > 5 } rule t { condition: true }`, data: "abc", want: nil},
	{name: "string-ops", src: `rule t { condition: "HelloWorld" contains "loW" and "HelloWorld" icontains "LOWO" and "abc" startswith "ab" and "abc" istartswith "AB" and "abc" endswith "bc" and "abc" iendswith "BC" and "abc" iequals "ABC" and "abc" matches /b+/ }`, data: "", want: []string{"t"}},
	{name: "externals", src: `rule t { condition: filename iendswith ".aspx" and filepath contains "aspnet_client" and extension == ".aspx" and filename matches /^[a-z]{5}\.aspx$/i }`, data: "x", vars: Vars{"filename": "Shell.aspx", "filepath": `C:\inetpub\wwwroot\aspnet_client\Shell.aspx`, "extension": ".aspx"}, want: []string{"t"}},
	{name: "externals-default", src: `rule t { condition: filename == "" }`, data: "x", want: []string{"t"}},
	{name: "math", src: `import "math" rule t { condition: math.entropy(0, filesize) == 0 and math.entropy("ab") == 1 and math.mean(0, filesize) == 97 and math.count(0x61) == 4 and math.in_range(2.0, 1.0, 3.0) and math.max(1, 2) == 2 }`, data: "aaaa", want: []string{"t"}},
	{name: "math-deviation", src: `import "math" rule t { condition: math.deviation(0, filesize, math.MEAN_BYTES) > 0 and math.serial_correlation(0, filesize) > -2 }`, data: "abcdefgh", want: []string{"t"}},
	{name: "math-undefined", src: `import "math" rule t { condition: not defined math.entropy(10, 1) }`, data: "abc", want: []string{"t"}},
	{name: "hash", src: `import "hash" rule t { condition: hash.md5(0, filesize) == "5d41402abc4b2a76b9719d911017c592" and hash.sha1("hello") == "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" and hash.sha256(1, 2) == hash.sha256("el") and hash.crc32("hello") == 0x3610a686 and hash.checksum32("ab") == 195 }`, data: "hello", want: []string{"t"}},
	{name: "pe-not-pe", src: `import "pe" rule t { condition: pe.is_pe == 0 and not defined pe.number_of_sections and not defined pe.imphash() and not for any s in pe.sections : ( true ) }`, data: "not a pe", want: []string{"t"}},
	{name: "meta-tags", src: `rule t : tagA tagB { meta: author = "x" score = 80 active = true condition: true }`, data: "", want: []string{"t"}},
}

// laterCases use syntax libyara 4.2 rejects but gyp and this engine
// accept (from YARA 4.3); they are not part of the oracle table.
var laterCases = []scanCase{
	{name: "hex-not", src: `rule t { strings: $a = { 61 ~62 63 } condition: #a == 1 }`, data: "abc axc", want: []string{"t"}, offsets: map[string][]int64{"$a": {4}}},
	{name: "of-at", src: `rule t { strings: $a = "ab" $b = "cd" condition: any of them at 2 }`, data: "xxcd", want: []string{"t"}},
}

func xorString(s string, k byte) string {
	b := []byte(s)
	for i := range b {
		b[i] ^= k
	}
	return string(b)
}

func runCase(t *testing.T, c scanCase) []Match {
	t.Helper()
	rules, rep := Compile([]Source{{Name: "case.yar", Data: []byte(c.src)}})
	if rep.Unsupported > 0 || len(rep.UnsupportedList()) > 0 {
		t.Fatalf("%s: unsupported: %v", c.name, rep.UnsupportedList())
	}
	ms, err := rules.NewScanner().Scan([]byte(c.data), c.vars)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Rule)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, c.want) {
		t.Errorf("%s: matched %v, want %v", c.name, got, c.want)
	}
	for id, want := range c.offsets {
		var offs []int64
		for _, m := range ms {
			if m.Rule != "t" {
				continue
			}
			for _, s := range m.Strings {
				if s.ID == id {
					offs = append(offs, s.Offset)
				}
			}
		}
		if !reflect.DeepEqual(offs, want) {
			t.Errorf("%s: %s at %v, want %v", c.name, id, offs, want)
		}
	}
	return ms
}

func TestStrings(t *testing.T) {
	for _, c := range stringCases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestConditions(t *testing.T) {
	for _, c := range conditionCases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestLaterSyntax(t *testing.T) {
	for _, c := range laterCases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestMatchShape(t *testing.T) {
	src := `rule t : tagA tagB { meta: author = "a\"b" score = 80 active = true score = 90
	strings: $a = "secret" private $b = "visible" condition: $a and $b }`
	rules, _ := Compile([]Source{{Name: "ns1", Data: []byte(src)}})
	ms, err := rules.NewScanner().Scan([]byte("a secret and a visible thing"), nil)
	if err != nil || len(ms) != 1 {
		t.Fatalf("got %v, %v", ms, err)
	}
	m := ms[0]
	want := Match{
		Namespace: "ns1", Rule: "t", Tags: []string{"tagA", "tagB"},
		Meta:    map[string]any{"author": `a"b`, "score": int64(80), "active": true},
		Strings: []StringMatch{{ID: "$b", Offset: 15, Length: 7, Data: []byte("visible")}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v\nwant %#v", m, want)
	}
}

// TestUnsupported checks that what the engine cannot do exactly, or what
// libyara rejects, is reported with a reason and never loaded.
func TestUnsupported(t *testing.T) {
	for _, c := range []struct{ src, reason string }{
		{`rule t { strings: $a = /a(?:b)/ condition: $a }`, "regex"},
		{`rule t { strings: $a = /(a)\1/ condition: $a }`, "backreferences"},
		{`rule t { strings: $a = /a+b*?/ condition: $a }`, "greedy and ungreedy"},
		{`rule t { strings: $a = "x" xor nocase condition: $a }`, "xor and nocase"},
		{`rule t { strings: $a = "abc" base64 fullword condition: $a }`, "base64"},
		{`rule t { condition: unknown_thing }`, "undefined identifier"},
		{`import "pe" rule t { condition: pe.no_such_field == 1 }`, "unknown field"},
		{`import "cuckoo" rule t { condition: true }`, "not implemented"},
		{`rule t { condition: "a" == 1 }`, "cannot compare"},
	} {
		_, rep := Compile([]Source{{Name: "x", Data: []byte(c.src)}})
		list := strings.Join(rep.UnsupportedList(), "\n")
		if rep.Loaded != 0 || !strings.Contains(list, c.reason) {
			t.Errorf("%s: loaded %d, report %q, want reason containing %q", c.src, rep.Loaded, list, c.reason)
		}
	}
	// A rule that depends on an unsupported rule is unsupported too.
	_, rep := Compile([]Source{{Name: "x", Data: []byte(`rule a { condition: nope } rule b { condition: a }`)}})
	if rep.Loaded != 0 || !strings.Contains(strings.Join(rep.UnsupportedList(), " "), "depends on unsupported rule a") {
		t.Errorf("dependency: %v", rep.UnsupportedList())
	}
	// A file that does not parse loads nothing and says why.
	_, rep = Compile([]Source{{Name: "bad", Data: []byte(`rule {`)}})
	if len(rep.Files) != 1 || rep.Files[0].Err == "" {
		t.Errorf("parse error not reported: %+v", rep)
	}
}

func TestNamespaces(t *testing.T) {
	rules, rep := Compile([]Source{
		{Name: "a.yar", Data: []byte(`rule same { condition: true } global rule g { condition: false }`)},
		{Name: "b.yar", Data: []byte(`rule same { condition: true }`)},
	})
	if rep.Loaded != 3 {
		t.Fatalf("loaded %d: %v", rep.Loaded, rep.UnsupportedList())
	}
	ms, _ := rules.NewScanner().Scan([]byte("x"), nil)
	if len(ms) != 1 || ms[0].Namespace != "b.yar" {
		t.Errorf("global rule of a.yar must only silence a.yar: %+v", ms)
	}
}

func TestSourceHashes(t *testing.T) {
	src := []byte(`rule t { strings: $a = "needle" condition: $a }`)
	rules, rep := Compile([]Source{{Name: "t.yar", Data: src}})
	if !rules.IsRuleSource(src) || rules.IsRuleSource([]byte("other")) {
		t.Error("IsRuleSource")
	}
	if h := rules.SourceHashes(); len(h) != 1 || h[0] != rep.Files[0].SHA256 {
		t.Errorf("hashes %v vs report %s", h, rep.Files[0].SHA256)
	}
	// The rule file itself matches its own rule: the walker must skip it.
	if ms, _ := rules.NewScanner().Scan(src, nil); len(ms) != 1 {
		t.Errorf("expected the rule file to match its own rule")
	}
}

func TestMaxMatches(t *testing.T) {
	rules, _ := Compile([]Source{{Name: "x", Data: []byte(`rule t { strings: $a = "ab" condition: #a == 3000 and @a[2500] == 4998 }`)}})
	ms, err := rules.NewScanner().Scan([]byte(strings.Repeat("ab", 3000)), nil)
	if err != nil || len(ms) != 1 {
		t.Fatalf("%v %v", ms, err)
	}
	if n := len(ms[0].Strings); n != MaxReportedMatches {
		t.Errorf("reported %d matches, want %d", n, MaxReportedMatches)
	}
	if d := ms[0].Strings[0].Data; string(d) != "ab" {
		t.Errorf("data %q", d)
	}
}

func TestCasesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range append(append([]scanCase(nil), stringCases...), conditionCases...) {
		if seen[c.name] {
			t.Errorf("duplicate case %s", c.name)
		}
		seen[c.name] = true
	}
	_ = fmt.Sprint
}
