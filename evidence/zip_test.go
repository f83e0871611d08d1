package evidence

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func deflate(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

// raw writes an entry with a header we choose (it may lie).
func raw(t testing.TB, zw *zip.Writer, fh zip.FileHeader, data []byte) {
	t.Helper()
	fh.Modified = time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC)
	w, err := zw.CreateRaw(&fh)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
}

// bundle builds a hostile triage zip and returns its path.
func bundle(t testing.TB, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string, method uint16) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	// Good entries.
	add("C/", "", zip.Store)
	add("C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", iisLog, zip.Deflate)
	add("Exchange/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG", proxyLog, zip.Store)
	add(`D\Exchange Server\V15\Logging\ECP\Server\ECPServer20210303-1.LOG`, ecpServerLog, zip.Deflate)
	add("./loose/export.txt", iisLog, zip.Deflate)
	add("W3SVC1/dup.log", iisLog, zip.Deflate)
	add("W3SVC1/empty.log", "", zip.Deflate)
	// Skipped quietly: not logs, and a nested zip that is not followed.
	add("notes.txt", textNote, zip.Deflate)
	add("inner.zip", "PK\x05\x06"+strings.Repeat("\x00", 18), zip.Store)
	add("Logging/HttpProxy/Owa/tool.exe", "MZ", zip.Deflate)
	// Zip-slip names.
	for _, n := range []string{"../../evil.log", "/abs.log", "C:/win.log", "a/../../b.log", `..\x.log`, "a/b.log:ads"} {
		add(n, iisLog, zip.Deflate)
	}
	add("W3SVC1/dup.log", iisLog, zip.Deflate)

	big := []byte(iisLog + strings.Repeat("2021-03-03 00:00:01 10.0.0.5 GET /owa/ - 443 - 192.0.2.7 x - 200 0 0 15\r\n", 200))
	bigZ := deflate(t, big)
	// Encrypted flag.
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/enc.log", Method: zip.Deflate, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(big), CompressedSize64: uint64(len(bigZ)), UncompressedSize64: uint64(len(big))}, bigZ)
	// Declared size over the cap.
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/huge.log", Method: zip.Deflate,
		CompressedSize64: uint64(len(bigZ)), UncompressedSize64: 32 << 30}, bigZ)
	// Absurd ratio: 200 MB declared from a few KB.
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/ratio.log", Method: zip.Deflate,
		CompressedSize64: uint64(len(bigZ)), UncompressedSize64: 200 << 20}, bigZ)
	// Lying header: declares 100 bytes, inflates to far more.
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/liar.log", Method: zip.Deflate,
		CompressedSize64: uint64(len(bigZ)), UncompressedSize64: 100}, bigZ)
	// Declares more than it holds.
	small := []byte(iisLog)
	smallZ := deflate(t, small)
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/short.log", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(small),
		CompressedSize64: uint64(len(smallZ)), UncompressedSize64: uint64(len(small)) + 10}, smallZ)
	// Bad CRC: sniffs fine, so it is yielded; reading it to the end fails.
	raw(t, zw, zip.FileHeader{Name: "W3SVC1/crc.log", Method: zip.Deflate, CRC32: 0xDEADBEEF,
		CompressedSize64: uint64(len(bigZ)), UncompressedSize64: uint64(len(big))}, bigZ)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "EXCH01-triage.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWalkZip(t *testing.T) {
	dir := t.TempDir()
	root := bundle(t, dir)
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log iis",
		"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG ecp-server",
		"Exchange/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG httpproxy",
		"W3SVC1/crc.log iis",
		"W3SVC1/dup.log iis",
		"W3SVC1/empty.log iis",
		"loose/export.txt iis",
	})
	wantFail := map[string]error{
		"../../evil.log":   ErrUnsafeName,
		"/abs.log":         ErrUnsafeName,
		"C:/win.log":       ErrUnsafeName,
		"a/../../b.log":    ErrUnsafeName,
		`..\x.log`:         ErrUnsafeName,
		"a/b.log:ads":      ErrUnsafeName,
		"W3SVC1/dup.log":   ErrDuplicateZip,
		"W3SVC1/enc.log":   ErrEncrypted,
		"W3SVC1/huge.log":  ErrZipBomb,
		"W3SVC1/ratio.log": ErrZipBomb,
		"W3SVC1/liar.log":  ErrBeyondSize,
		"W3SVC1/short.log": io.ErrUnexpectedEOF,
	}
	for name, want := range wantFail {
		err := g.fails[root+"/"+name]
		if !errors.Is(err, want) {
			t.Errorf("%s: fail %v, want %v", name, err, want)
		}
	}
	if len(g.fails) != len(wantFail) {
		t.Errorf("fails: %v", g.fails)
	}
	for _, it := range g.items {
		if it.Host != "EXCH01-triage" || it.Root != root {
			t.Errorf("%s: host %q root %q", it.Path, it.Host, it.Root)
		}
		body, err := readItem(t, it)
		switch it.Path {
		case "W3SVC1/crc.log":
			if !errors.Is(err, zip.ErrChecksum) {
				t.Errorf("crc: %v", err)
			}
		case "W3SVC1/empty.log":
			if err != nil || body != "" {
				t.Errorf("empty: %q %v", body, err)
			}
		case "Exchange/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG":
			if err != nil || body != proxyLog {
				t.Errorf("stored: %q %v", body, err)
			}
		default:
			if err != nil || body == "" || int64(len(body)) != it.Size {
				t.Errorf("%s: %d bytes of %d, %v", it.Path, len(body), it.Size, err)
			}
		}
	}
	// Opens are independent: two readers of one entry at once.
	for _, it := range g.items {
		if it.Path != "loose/export.txt" {
			continue
		}
		a, _ := it.Open()
		b, _ := it.Open()
		ab, _ := io.ReadAll(a)
		bb, _ := io.ReadAll(b)
		a.Close()
		b.Close()
		if string(ab) != iisLog || string(bb) != iisLog {
			t.Errorf("concurrent opens differ")
		}
	}
}

func TestWalkZipCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "broken.zip")
	os.WriteFile(p, []byte("PK\x03\x04 this is not a zip"), 0o644)
	g := walk(t, []string{p}, Config{})
	if len(g.items) != 0 || g.fails[p] == nil {
		t.Errorf("items %v fails %v", g.pf(), g.fails)
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"a/b.log", "a/b.log", false},
		{`a\b.log`, "a/b.log", false},
		{"./a//b.log", "a/b.log", false},
		{"a/./b.log", "a/b.log", false},
		{"a..b/c.log", "a..b/c.log", false},
		{"../a.log", "", true},
		{"a/../b.log", "", true},
		{"/a.log", "", true},
		{`\a.log`, "", true},
		{"c:a.log", "", true},
		{"a\x00.log", "", true},
	}
	for _, tt := range tests {
		got, err := entryName(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("entryName(%q) = %q, %v", tt.in, got, err)
		}
	}
}
