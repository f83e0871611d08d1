package sample

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
)

var update = flag.Bool("update", false, "rewrite the committed trees under samples/")

// samplesDir is the repository's samples/ directory.
const samplesDir = "../../samples"

// TestCommittedTreesMatchGenerator regenerates every sample tree and
// compares it byte for byte with samples/, so a generator change that was
// not followed by `go run ./cmd/exhunt-samples -out samples` fails CI.
func TestCommittedTreesMatchGenerator(t *testing.T) {
	if *update {
		for _, name := range Names() {
			tr, err := Generate(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Write(samplesDir); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(samplesDir); err != nil {
		t.Skipf("samples/ not found (%v); run `go run ./cmd/exhunt-samples -out samples`", err)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			tr, err := Generate(name)
			if err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(samplesDir, name)
			if _, err := os.Stat(root); err != nil {
				t.Skipf("%s not found (%v); run `go run ./cmd/exhunt-samples -out samples`", root, err)
			}
			want := map[string][]byte{}
			for _, f := range tr.Files {
				want[f.Path] = f.Data
			}
			err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				rel = filepath.ToSlash(rel)
				if _, ok := want[rel]; !ok {
					t.Errorf("%s: committed but no longer generated", rel)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tr.Files {
				got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Errorf("%s: %v", f.Path, err)
					continue
				}
				if !bytes.Equal(got, f.Data) {
					t.Errorf("%s: differs from the generator (regenerate with go test ./internal/sample -update)", f.Path)
				}
			}
			got, err := os.ReadFile(filepath.Join(samplesDir, name+".truth.tsv"))
			if err != nil || !bytes.Equal(got, tr.TruthTSV()) {
				t.Errorf("%s.truth.tsv differs from the generator (%v)", name, err)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, name := range Names() {
		a, _ := Generate(name)
		b, _ := Generate(name)
		if len(a.Files) != len(b.Files) {
			t.Fatalf("%s: file count differs between runs", name)
		}
		for i := range a.Files {
			if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
				t.Fatalf("%s: %s differs between runs", name, a.Files[i].Path)
			}
		}
	}
}

// TestMarksPointAtTheirLines checks the ground truth against the text.
func TestMarksPointAtTheirLines(t *testing.T) {
	for _, name := range Names() {
		tr, _ := Generate(name)
		files := map[string][]string{}
		for _, f := range tr.Files {
			files[f.Path] = strings.Split(string(f.Data), "\r\n")
		}
		for _, m := range tr.Marks {
			if m.Source == "evtx" || m.Source == "file" {
				continue // record ids and whole files: TestEventLogMarks, TestFileMarks
			}
			lines := files[m.Path]
			if m.Line < 1 || m.Line > len(lines) {
				t.Errorf("%s:%d out of range", m.Path, m.Line)
				continue
			}
			l := lines[m.Line-1]
			var want string
			switch {
			case strings.HasPrefix(m.Kind, "proxylogon.ssrf") && m.Source == "httpproxy":
				want = "ServerInfo~a]@"
			case strings.Contains(m.Kind, "localhost-probe") && m.Source == "httpproxy":
				want = "ServerInfo~localhost/ecp/default.flt?"
			case m.Kind == "proxylogon.ecp.set-oab-externalurl":
				want = `S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=""JScript""`
			case strings.HasPrefix(m.Kind, "webshell."):
				want = ShellURL
			case strings.HasPrefix(m.Kind, "proxyshell."):
				want = "autodiscover.json"
			case strings.Contains(m.Kind, "oab-download-failed"):
				want = "Download failed and temporary file"
			}
			if !strings.Contains(l, want) {
				t.Errorf("%s:%d (%s) does not contain %q: %s", m.Path, m.Line, m.Kind, want, l)
			}
		}
	}
}

func TestChainIsComplete(t *testing.T) {
	tr, _ := Generate(Compromised)
	seen := map[string]bool{}
	for _, m := range tr.Marks {
		seen[m.Source+" "+m.Kind] = true
	}
	for _, k := range []string{
		"httpproxy proxylogon.ssrf.autodiscover", "httpproxy proxylogon.ssrf.mapi", "httpproxy proxylogon.ssrf.proxylogon",
		"httpproxy proxylogon.ssrf.ddi-getobject", "httpproxy proxylogon.ssrf.ddi-setobject", "httpproxy proxylogon.ssrf.ddi-reset",
		"ecp proxylogon.ecp.set-oab-externalurl", "oab proxylogon.oab.download-failed-outside-oab",
		"iis-fe webshell.post", "iis-fe proxyshell.attempt", "httpproxy proxyshell.attempt",
	} {
		if !seen[k] {
			t.Errorf("compromised tree lacks %s", k)
		}
	}
	cl, _ := Generate(Clean)
	for _, m := range cl.Marks {
		if !strings.HasPrefix(m.Kind, "noise.") && !strings.HasPrefix(m.Kind, "benign.") {
			t.Errorf("clean tree plants %s at %s:%d", m.Kind, m.Path, m.Line)
		}
	}
}

// TestEventLogMarks reads the generated .evtx back and checks that every
// mark names a record that says what the mark claims.
func TestEventLogMarks(t *testing.T) {
	want := map[string]string{
		"cve-2021-26857.um-invalid-cast": "System.InvalidCastException",
		"proxylogon.mgmt.set-oab-script": "Page_Load",
		"webshell.command":               "echo [S]",
		"credential.comsvcs-minidump":    "comsvcs.dll, MiniDump",
		"credential.lsass-dump-file":     `lsass.dmp`,
		"cleanup.security-log-cleared":   "EventID=1102",
		"persistence.local-admin-added":  "S-1-5-32-544",
		"benign.w3wp-csc":                "csc.exe",
		"benign.set-oab-plain-url":       "/OAB",
		"benign.export-to-share":         `\\fs01\pst$`,
	}
	for _, name := range Names() {
		tr, _ := Generate(name)
		recs := map[string]map[uint64]string{}
		for _, f := range tr.Files {
			if !strings.HasSuffix(f.Path, ".evtx") {
				continue
			}
			m := map[uint64]string{}
			_, err := evtx.Parse(context.Background(), bytes.NewReader(f.Data), parse.Meta{Path: f.Path, Source: event.EVTX}, func(ev *event.Event) error {
				m[ev.Loc.Record] = string(ev.Win.AppendText(nil))
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			recs[f.Path] = m
		}
		n := 0
		for _, mk := range tr.Marks {
			if mk.Source != "evtx" {
				continue
			}
			n++
			text, ok := recs[mk.Path][uint64(mk.Line)]
			if !ok {
				t.Errorf("%s: %s record %d not found", name, mk.Path, mk.Line)
				continue
			}
			w, known := want[mk.Kind]
			if !known {
				t.Errorf("%s: mark kind %s has no check", name, mk.Kind)
			}
			if !strings.Contains(text, w) {
				t.Errorf("%s: %s record %d (%s) lacks %q: %s", name, mk.Path, mk.Line, mk.Kind, w, text)
			}
		}
		if n == 0 {
			t.Errorf("%s: no event log marks", name)
		}
	}
}

// TestFileMarks checks that every file mark names a generated file whose
// bytes say what the mark claims, and that the story's files are there.
func TestFileMarks(t *testing.T) {
	want := map[string]string{
		"benign.aspnet-client-webconfig": `<httpRedirect enabled="false" />`,
		"benign.exchange-page":           "Microsoft.Exchange.HttpProxy",
		"benign.compiled-exchange-page":  "MZ",
		"benign.wer-installer":           "\xff\xfe",
		"file.webshell.owa-auth":         `eval(Request.Item[`,
		"file.webshell.oab-dump":         `ExternalUrl                     : http://f/<script language="JScript" runat="server">`,
		"file.compiled-shell":            "aspnet_client",
		"file.credential.lsass-dump":     "MDMP",
		"file.collection.archive":        "7z\xbc\xaf\x27\x1c",
		"file.attempt.um-crash":          "\xff\xfe",
		"noise.archive-vendor":           "PK\x03\x04",
		"benign.exsetup":                 "V\x00S\x00_\x00V\x00E\x00R\x00S\x00I\x00O\x00N\x00_\x00I\x00N\x00F\x00O\x00",
	}
	seen := map[string]bool{}
	for _, name := range Names() {
		tr, _ := Generate(name)
		data := map[string][]byte{}
		for _, f := range tr.Files {
			data[f.Path] = f.Data
		}
		for _, m := range tr.Marks {
			if m.Source != "file" {
				continue
			}
			seen[m.Kind] = true
			w, known := want[m.Kind]
			if !known {
				t.Errorf("%s: file mark kind %s has no check", name, m.Kind)
				continue
			}
			b, ok := data[m.Path]
			if !ok {
				t.Errorf("%s: %s marked but not generated", name, m.Path)
				continue
			}
			if m.Line != 0 {
				t.Errorf("%s: file mark %s has line %d", name, m.Path, m.Line)
			}
			if !bytes.Contains(b, []byte(unquote(w))) {
				t.Errorf("%s: %s (%s) lacks %q", name, m.Path, m.Kind, w)
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("no file marked %s", k)
		}
	}
}

// unquote turns the \xNN escapes of the table above into bytes.
func unquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			var v byte
			for _, c := range s[i+2 : i+4] {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= byte(c - '0')
				case c >= 'a' && c <= 'f':
					v |= byte(c-'a') + 10
				}
			}
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
