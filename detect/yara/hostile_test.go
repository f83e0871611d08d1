package yara

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const hostileRules = `
import "pe"
import "math"
rule text { strings: $a = "eval(" nocase wide ascii $b = /<%@\s*Page/ condition: any of them }
rule hex { strings: $a = { 4D 5A [0-64] 50 45 00 00 } $b = { E8 ?? ?? ?? ?? 5? } condition: any of them }
rule loops { strings: $a = "A" condition: for all i in (1..#a) : ( @a[i] >= 0 ) }
rule mods { condition: pe.is_pe == 1 or math.entropy(0, filesize) > 7.5 }
rule tiny { condition: filesize < 10 and not (uint32(0) == 0) }
`

func hostileScanner(t testing.TB) *Scanner {
	rules, rep := Compile([]Source{{Name: "hostile.yar", Data: []byte(hostileRules)}})
	if list := rep.UnsupportedList(); len(list) > 0 {
		t.Fatal(list)
	}
	return rules.NewScanner()
}

func TestHostileInputs(t *testing.T) {
	sc := hostileScanner(t)
	r := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 1<<20)
	for i := range garbage {
		garbage[i] = byte(r.IntN(256))
	}
	inputs := map[string][]byte{
		"empty":       nil,
		"one byte":    {0},
		"garbage":     garbage,
		"all A":       bytes.Repeat([]byte("A"), 2<<20),
		"all zero":    make([]byte, 1<<20),
		"fake MZ":     append([]byte("MZ"), make([]byte, 62)...),
		"MZ bad lfa":  append(append([]byte("MZ"), make([]byte, 58)...), 0xff, 0xff, 0xff, 0x7f),
		"wide spam":   bytes.Repeat([]byte("e\x00v\x00a\x00l\x00(\x00"), 100000),
		"regex bomb":  []byte(strings.Repeat("<%@", 50000)),
		"truncated":   []byte("<%@ Pa"),
		"nul heavy":   bytes.Repeat([]byte{0, 0, 0, 'A'}, 300000),
		"high bytes":  bytes.Repeat([]byte{0xff, 0xfe, 0x80}, 100000),
		"eval at end": []byte("xxxxEVAL("),
	}
	for name, data := range inputs {
		start := time.Now()
		ms, err := sc.Scan(data, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
		_ = ms
	}
	// Garbage PE headers must parse without panicking.
	for i := 0; i < 2000; i++ {
		d := append([]byte("MZ"), garbage[i*37:i*37+600]...)
		d[0x3c], d[0x3d], d[0x3e], d[0x3f] = 0x40, 0, 0, 0
		copy(d[0x40:], "PE\x00\x00\x4c\x01")
		peLoad(d)
	}
}

func TestEmptyFile(t *testing.T) {
	sc := hostileScanner(t)
	ms, err := sc.Scan(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// uint32(0) is undefined on an empty file, so "not (... == 0)" is
	// undefined and tiny does not match; nothing else can.
	if len(ms) != 0 {
		t.Errorf("empty file matched %v", ms)
	}
}

func TestScanFileTruncates(t *testing.T) {
	rules, _ := Compile([]Source{{Name: "x", Data: []byte(`
		rule head { strings: $a = "HEAD" condition: $a }
		rule tail { strings: $a = "TAIL" condition: $a }
		rule size { condition: filesize == 1000000 }`)}})
	data := make([]byte, 1000000)
	copy(data, "HEAD")
	copy(data[len(data)-4:], "TAIL")
	sc := rules.NewScanner()
	sc.MaxScanSize = 4096
	ms, err := sc.ScanFile("big.bin", bytes.NewReader(data), int64(len(data)), nil)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err %v, want ErrTruncated", err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Rule)
	}
	if strings.Join(got, ",") != "head,size" {
		t.Errorf("matched %v, want head and size (the real filesize) but not tail", got)
	}
	if cap(sc.buf) > 4096 {
		t.Errorf("buffer grew to %d", cap(sc.buf))
	}
	// Under the limit the whole file is scanned.
	sc.MaxScanSize = 0
	ms, err = sc.ScanFile("big.bin", bytes.NewReader(data), int64(len(data)), nil)
	if err != nil || len(ms) != 3 {
		t.Errorf("got %d matches, %v", len(ms), err)
	}
}

func TestScanFileVars(t *testing.T) {
	rules, _ := Compile([]Source{{Name: "x", Data: []byte(`rule t { condition: filename == "a.ASPX" and extension == ".aspx" and filepath endswith "/dir/a.ASPX" }`)}})
	ms, err := rules.NewScanner().ScanFile("/dir/a.ASPX", bytes.NewReader([]byte("x")), 1, nil)
	if err != nil || len(ms) != 1 {
		t.Errorf("got %v, %v", ms, err)
	}
	if _, err := rules.NewScanner().Scan(nil, Vars{"filename": 3}); err == nil {
		t.Error("a string external given an integer must be an error")
	}
}

func TestRulePanicIsContained(t *testing.T) {
	rules, _ := Compile([]Source{{Name: "x", Data: []byte(`rule a { condition: true } rule b { condition: true }`)}})
	rules.rules[0].cond = func(*ectx) tri { panic("boom") }
	ms, err := rules.NewScanner().Scan([]byte("x"), nil)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err %v", err)
	}
	if len(ms) != 1 || ms[0].Rule != "b" {
		t.Errorf("the other rule must still match: %v", ms)
	}
}

func TestRunawayLoop(t *testing.T) {
	rules, rep := Compile([]Source{{Name: "x", Data: []byte(`rule t { condition: for all i in (0..0x7fffffffffffffff) : ( i >= 0 ) }`)}})
	if rep.Loaded != 1 {
		t.Fatal(rep.UnsupportedList())
	}
	start := time.Now()
	ms, err := rules.NewScanner().Scan([]byte("x"), nil)
	if err != nil || len(ms) != 0 || time.Since(start) > 30*time.Second {
		t.Errorf("got %v, %v after %v", ms, err, time.Since(start))
	}
}

func TestCompileHostile(t *testing.T) {
	for _, src := range []string{
		"", "rule", "rule t { condition: " + strings.Repeat("(", 5000) + "true" + strings.Repeat(")", 5000) + " }",
		"rule t { strings: $a = /" + strings.Repeat("(a", 300) + strings.Repeat(")", 300) + "/ condition: $a }",
		"rule t { strings: $a = /(((a{1,1000}){1,1000}){1,1000})/ condition: $a }",
		"rule t { strings: $a = { " + strings.Repeat("?? ", 5000) + "41 } condition: $a }",
		"rule t { strings: $a = \"\" condition: $a }",
		"rule t { condition: true }\x00",
		"include \"other.yar\" rule t { condition: true }",
	} {
		rules, _ := Compile([]Source{{Name: "h", Data: []byte(src)}})
		if _, err := rules.NewScanner().Scan([]byte("aaaa"), nil); err != nil {
			t.Errorf("%.40q: %v", src, err)
		}
	}
}

// TestConcurrentScanners shares one Rules between goroutines, each with
// its own Scanner (run with -race).
func TestConcurrentScanners(t *testing.T) {
	rules, _ := Compile([]Source{{Name: "h", Data: []byte(hostileRules)}})
	done := make(chan []string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			sc := rules.NewScanner()
			var names []string
			for i := 0; i < 50; i++ {
				ms, _ := sc.Scan([]byte("MZ <%@ Page eval( AAAA"), nil)
				names = names[:0]
				for _, m := range ms {
					names = append(names, m.Rule)
				}
			}
			done <- names
		}()
	}
	first := strings.Join(<-done, ",")
	for g := 1; g < 4; g++ {
		if got := strings.Join(<-done, ","); got != first {
			t.Errorf("goroutines disagree: %s vs %s", got, first)
		}
	}
}
