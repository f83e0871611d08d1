package yara

import (
	"bytes"
	"testing"
)

// FuzzCompile feeds arbitrary rule text to Compile: it must never panic,
// and whatever it loads must scan.
//
//	go test -run=^$ -fuzz=FuzzCompile -fuzztime=30s ./detect/yara
func FuzzCompile(f *testing.F) {
	f.Add(`rule t { strings: $a = "abc" nocase wide condition: $a }`)
	f.Add(`rule t { strings: $a = { 4D 5A [2-4] ?? (50|51) } condition: #a > 1 and @a[1] < 100 }`)
	f.Add(`rule t { strings: $a = /a[bc]{1,3}?d\b/is condition: for any i in (1..#a) : ( !a[i] > 2 ) }`)
	f.Add(`import "pe" rule t { condition: pe.imphash() == "x" or pe.exports(/Dll/) }`)
	f.Add(`import "math" rule t { condition: math.entropy(0, filesize) > 7 }`)
	f.Add(`global private rule g { condition: true } rule t { strings: $ = "x" xor(1-2) $ = "y" base64 condition: all of them }`)
	f.Fuzz(func(t *testing.T, src string) {
		rules, rep := Compile([]Source{{Name: "f.yar", Data: []byte(src)}})
		if rep.Loaded+rep.Unsupported != len(rules.rules)+countUnsupported(rep) {
			t.Fatalf("report counts %d+%d do not add up", rep.Loaded, rep.Unsupported)
		}
		if _, err := rules.NewScanner().Scan([]byte("MZ abc <?php eval($_POST['x']); ?> \x00\xff"), nil); err != nil {
			// Rule-evaluation failures are reported, never panics.
			t.Logf("scan error: %v", err)
		}
	})
}

func countUnsupported(r Report) int { return r.Unsupported }

const fuzzScanRules = `
import "pe"
import "math"
rule f_lit { strings: $a = "ab" condition: $a }
rule f_nocase { strings: $a = "xyz" nocase condition: $a }
rule f_wide { strings: $a = "cmd" wide ascii fullword condition: $a }
rule f_hex { strings: $a = { 61 ?? 62 [0-3] (63|64) } condition: $a }
rule f_re1 { strings: $a = /[a-c]{2,}?d/ condition: $a }
rule f_re2 { strings: $a = /\beval\s*\(/i wide ascii condition: $a }
rule f_xor1 { strings: $a = "hello" xor(1-255) condition: $a }
rule f_b64 { strings: $a = "secret" base64 condition: $a }
rule f_loop { strings: $a = "a" condition: for any i in (1..#a) : ( uint8(@a[i] + 1) == 0x62 ) }
rule f_mod { condition: pe.is_pe == 1 and pe.number_of_sections > 0 or math.mean(0, filesize) > 200 }
rule f_opt { strings: $a = /q?\w[^a]/i fullword condition: $a }
rule f_alt { strings: $a = /(ab+|ab\s[^c])x*/ wide ascii condition: $a }
rule f_chain { strings: $a = /ab.{201,}?cd/ wide ascii fullword condition: $a }
`

// FuzzScan scans arbitrary data: it must never panic or fail, and a plain
// literal's matches must be exactly where bytes.Index finds them.
//
//	go test -run=^$ -fuzz=FuzzScan -fuzztime=30s ./detect/yara
func FuzzScan(f *testing.F) {
	rules, rep := Compile([]Source{{Name: "f.yar", Data: []byte(fuzzScanRules)}})
	if list := rep.UnsupportedList(); len(list) > 0 {
		f.Fatal(list)
	}
	sc := rules.NewScanner()
	f.Add([]byte("abxyzcmd"))
	f.Add([]byte("c\x00m\x00d\x00 EVAL ( aab"))
	f.Add([]byte("MZ\x90\x00\x03\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := sc.Scan(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for i := 0; ; {
			j := bytes.Index(data[i:], []byte("ab"))
			if j < 0 {
				break
			}
			want = append(want, int64(i+j))
			i += j + 1
		}
		var got []int64
		for _, m := range ms {
			if m.Rule == "f_lit" {
				for _, s := range m.Strings {
					got = append(got, s.Offset)
				}
			}
		}
		if len(want) > MaxReportedMatches {
			want = want[:MaxReportedMatches]
		}
		if len(got) != len(want) {
			t.Fatalf("lit: %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("lit: %v, want %v", got, want)
			}
		}
	})
}
