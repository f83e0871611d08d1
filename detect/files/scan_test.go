package files

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/exhunt/exhunt/finding"
)

const chopper = `<%@ Page Language="Jscript"%><%eval(Request.Item["exhunt-test"],"unsafe");%>`

func memFile(path, place string, data []byte) File {
	return File{Path: path, Host: "H", Place: place, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func diskFile(t *testing.T, path, place string, data []byte) File {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return File{Path: path, Host: "H", Place: place, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return os.Open(p) }}
}

func scan(t *testing.T, e *Engine, f File) ([]finding.Finding, Stat, error) {
	t.Helper()
	var out []finding.Finding
	st, err := e.NewScanner().Scan(context.Background(), f, func(x finding.Finding) { out = append(out, x) })
	return out, st, err
}

func packEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	y, err := LoadYara(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Yara = y
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The hashing pass is exact across chunk boundaries, keeps the head and the
// tail in order, and YARA sees a file larger than its head, whether it is
// read at random (a disk file) or only as a stream (a zip entry).
func TestScanHashesHeadTail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*chunkSize+12345)
	for i := range data {
		data[i] = byte('a' + r.IntN(26))
	}
	copy(data[len(data)-200:], chopper) // only in the tail, past the head
	e := packEngine(t, Config{HeadSize: 4096, TailSize: 1000})
	for name, f := range map[string]File{"stream": memFile("x/a.aspx", "other", data), "disk": diskFile(t, "x/a.aspx", "other", data)} {
		t.Run(name, func(t *testing.T) {
			sc := e.NewScanner()
			var got []finding.Finding
			st, err := sc.Scan(context.Background(), f, func(x finding.Finding) { got = append(got, x) })
			if err != nil {
				t.Fatal(err)
			}
			m, s1, s2 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
			if st.Hashes != (Hashes{hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s2[:])}) || st.Bytes != int64(len(data)) {
				t.Errorf("hashes %+v bytes %d", st.Hashes, st.Bytes)
			}
			if !bytes.Equal(sc.head, data[:4096]) || !bytes.Equal(sc.tail(int64(len(data))), data[len(data)-1000:]) {
				t.Errorf("head or tail wrong")
			}
			if len(got) != 1 || got[0].ID != "EXH-YARA-01" {
				t.Fatalf("findings %+v", got)
			}
			ev := got[0].Evidence
			if ev.SHA256 != st.Hashes.SHA256 || ev.Size != int64(len(data)) || ev.Source != "file" || ev.Fields["place"] != "other" || ev.Line != 0 {
				t.Errorf("evidence %+v", ev)
			}
		})
	}
}

func TestScanIOCAndKnownGood(t *testing.T) {
	bad := []byte(chopper)
	sum := sha256.Sum256(bad)
	good := []byte("<configuration/>")
	gsum := sha256.Sum256(good)
	e := packEngine(t, Config{
		IOCs:      NewIOCSet([]IOC{{Hash: hex.EncodeToString(sum[:]), Kind: "sha256", Name: "test shell", Source: "t:1", Severity: finding.Critical}}),
		KnownGood: NewIOCSet([]IOC{{Hash: hex.EncodeToString(gsum[:]), Kind: "sha256"}}),
		Detectors: []*Detector{alwaysDetector()},
	})
	fs, _, err := scan(t, e, memFile("aspnet_client/s.aspx", "aspnet_client", bad))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]finding.Finding{}
	for _, f := range fs {
		ids[f.ID] = f
	}
	if f, ok := ids["EXH-FILE-00"]; !ok || f.Severity != finding.Critical || f.Evidence.Fields["ioc"] != "test shell" || f.Evidence.Fields["md5"] == "" {
		t.Errorf("IOC finding: %+v", fs)
	}
	if _, ok := ids["EXH-YARA-01"]; !ok {
		t.Errorf("YARA finding missing: %+v", fs)
	}
	if _, ok := ids["EXH-FILE-99"]; !ok {
		t.Errorf("heuristic finding missing: %+v", fs)
	}
	fs, _, err = scan(t, e, memFile("aspnet_client/web.config", "aspnet_client", good))
	if err != nil || len(fs) != 0 {
		t.Errorf("known-good file got findings %+v (%v)", fs, err)
	}
}

func alwaysDetector() *Detector {
	return &Detector{
		Advisory: finding.Advisory{ID: "EXH-FILE-99", Title: "always", Severity: finding.Low, Stage: finding.StageWrite, Techniques: []string{"T1505.003"}, References: []string{"x"}},
		Places:   []string{"aspnet_client"},
		Match:    func(t *Target) (Hit, bool) { return Hit{Offset: -1}, true },
		Samples:  []Sample{{Match: true}, {Match: false}},
	}
}

// A file that is one of the loaded rule files is not checked.
func TestScanSkipsRuleFiles(t *testing.T) {
	dir := t.TempDir()
	rule := []byte(`rule T { strings: $a = "eval(Request.Item[" condition: $a }` + "\n// " + chopper + "\n")
	if err := os.WriteFile(filepath.Join(dir, "t.yar"), rule, 0o644); err != nil {
		t.Fatal(err)
	}
	y, err := LoadYara([]string{dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := NewEngine(Config{Yara: y})
	fs, _, err := scan(t, e, memFile("copy/t.yar", "other", rule))
	if !errors.Is(err, ErrSkipped) || len(fs) != 0 {
		t.Errorf("rule file scanned: %v %+v", err, fs)
	}
	fs, _, err = scan(t, e, memFile("x.aspx", "other", []byte(chopper)))
	if err != nil || len(fs) != 2 {
		t.Errorf("want the pack rule and the user rule: %v %+v", err, fs)
	}
}

// A crashing heuristic becomes a file error; the other checks still run.
func TestScanRecoversDetectorPanic(t *testing.T) {
	d := alwaysDetector()
	d.Places = nil
	d.Match = func(*Target) (Hit, bool) { panic("boom") }
	e := packEngine(t, Config{Detectors: []*Detector{d}})
	fs, _, err := scan(t, e, memFile("x.aspx", "other", []byte(chopper)))
	if err == nil || !strings.Contains(err.Error(), "boom") || len(fs) != 1 {
		t.Errorf("err %v, findings %+v", err, fs)
	}
}

func TestExcerpt(t *testing.T) {
	for _, tt := range []struct {
		head string
		off  int
		want string
	}{
		{"\xef\xbb\xbf<%@ Page %>\r\nsecond line", -1, "<%@ Page %>"},
		{"a\x00b\x00c\x00", -1, "abc"},
		{"x\x01\x02\x03   y\n\tz", 0, "x y z"},
		{strings.Repeat("A", 100) + "eval(Request", 100, strings.Repeat("A", 40) + "eval(Request"},
		{"\xff\xfe\xfd ok", 3, "... ok"},
	} {
		if got := Excerpt([]byte(tt.head), tt.off); got != tt.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.head, tt.off, got, tt.want)
		}
	}
	long := Excerpt(bytes.Repeat([]byte("\x80é"), 5000), 10)
	if utf8.RuneCountInString(long) > ExcerptWidth+1 || !utf8.ValidString(long) {
		t.Errorf("excerpt not bounded or not valid: %d runes", utf8.RuneCountInString(long))
	}
}

// Generic eval rules fire on data-bound pages; such matches are shown at
// low, and a real eval on input is not demoted.
func TestDataBindingDemotion(t *testing.T) {
	dir := t.TempDir()
	rule := `rule Generic_Eval { meta: score = 75 strings: $p = "<%@ Page" $e = /\beval\(/ nocase condition: $p and $e }`
	if err := os.WriteFile(filepath.Join(dir, "g.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	y, err := LoadYara([]string{dir}, true)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := NewEngine(Config{Yara: y})
	for _, tt := range []struct {
		page string
		sev  finding.Severity
	}{
		{`<%@ Page Language="C#" %><td><%# Eval("Name") %></td><td><%# DataBinder.Eval(Container.DataItem, "X") %></td>`, finding.Low},
		{`<%@ Page Language="C#" %><a href='<%# SiteRoot + Eval("PageUrl").ToString() %>'>x</a>`, finding.Low},
		{`<%@ Page Language="Jscript" %><%# Eval("Name") %><% eval(Request["x"], "unsafe"); %>`, finding.High},
		{`<%@ Page Language="C#" %><% Eval("Name"); %>`, finding.High}, // not inside <%# %>
	} {
		fs, _, err := scan(t, e, memFile("p.aspx", "other", []byte(tt.page)))
		if err != nil || len(fs) != 1 {
			t.Fatalf("%s: %v %+v", tt.page, err, fs)
		}
		if fs[0].Severity != tt.sev {
			t.Errorf("%s: severity %s, want %s (fields %v)", tt.page, fs[0].Severity, tt.sev, fs[0].Evidence.Fields)
		}
	}
}

// A file larger than YARA's bound is scanned over its head, hashed whole,
// and the truncation is not an error.
func TestScanHugeFileBounded(t *testing.T) {
	e := packEngine(t, Config{YaraMaxScan: 1 << 20, HeadSize: 64 << 10})
	data := make([]byte, 3<<19) // past the YARA bound, under the rule's own filesize limit
	copy(data, chopper)
	for _, f := range []File{diskFile(t, "big.aspx", "other", data), memFile("big.aspx", "other", data)} {
		fs, st, err := scan(t, e, f)
		if err != nil || st.Bytes != int64(len(data)) || len(fs) != 1 || fs[0].Evidence.Size != int64(len(data)) {
			t.Errorf("err %v, bytes %d, findings %+v", err, st.Bytes, fs)
		}
	}
}
