package files

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/finding"
)

func TestParseIOCs(t *testing.T) {
	in := "\ufeff# a comment line\n" +
		"\n" +
		"099C8625C58B315B6C11F5BAEB859F4C\n" +
		"b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0;SecChecker shell - http://example.test/#frag\n" +
		"da39a3ee5e6b4b0d3255bfef95601890afd80709;55;Vulnerable thing; with a semicolon\n" +
		"  d41d8cd98f00b204e9800998ecf8427e   # empty file, inline comment\n" +
		"\\\\aspnet_client\\\\[a-z]{8}\\.aspx;90\n" +
		"203.0.113.9\n" +
		"0123456789abcdef;too short\n"
	iocs, errs := ParseIOCs(strings.NewReader(in), "list.txt")
	want := []IOC{
		{Hash: "099c8625c58b315b6c11f5baeb859f4c", Kind: "md5", Source: "list.txt:3", Severity: finding.High},
		{Hash: "b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0", Kind: "sha256", Name: "SecChecker shell - http://example.test/#frag", Source: "list.txt:4", Severity: finding.High},
		{Hash: "da39a3ee5e6b4b0d3255bfef95601890afd80709", Kind: "sha1", Name: "Vulnerable thing; with a semicolon", Source: "list.txt:5", Severity: finding.Low},
		{Hash: "d41d8cd98f00b204e9800998ecf8427e", Kind: "md5", Source: "list.txt:6", Severity: finding.High},
	}
	if len(iocs) != len(want) {
		t.Fatalf("got %d indicators %+v", len(iocs), iocs)
	}
	for i := range want {
		if iocs[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, iocs[i], want[i])
		}
	}
	if len(errs) != 3 {
		t.Fatalf("want 3 problems (regex, address, short hash), got %v", errs)
	}
	for _, e := range errs {
		if !strings.Contains(e.Error(), "hash indicators only") || !strings.HasPrefix(e.Error(), "list.txt:") {
			t.Errorf("problem %q does not name the line and the limit", e)
		}
	}
}

func TestEmbeddedIOCs(t *testing.T) {
	emb := Embedded()
	if len(emb) != 36 {
		t.Errorf("detections.md 4.1 lists 36 hashes, embedded %d", len(emb))
	}
	seen := map[string]bool{}
	for _, i := range emb {
		if hashKind(i.Hash) != i.Kind || i.Name == "" || i.Source == "" || i.Severity < finding.High {
			t.Errorf("bad indicator %+v", i)
		}
		if seen[i.Hash] {
			t.Errorf("duplicate %s", i.Hash)
		}
		seen[i.Hash] = true
	}
}

// The known-good list holds the web.config IIS writes into aspnet_client
// (CRLF, four-space indent): the bytes are reproducible, so the hashes are
// checked against them.
func TestKnownGoodWebConfigs(t *testing.T) {
	set := NewIOCSet(KnownGood())
	for _, inner := range []string{
		`<httpRedirect enabled="false" />`, `<httpRedirect enabled="true" />`,
		`<httpRedirect enabled="false" destination="" childOnly="false" />`, `<httpRedirect enabled="true" destination="" childOnly="false" />`,
	} {
		cfg := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<configuration>\r\n    <system.webServer>\r\n        " + inner + "\r\n    </system.webServer>\r\n</configuration>\r\n"
		sum := sha256.Sum256([]byte(cfg))
		if _, ok := set.Lookup(Hashes{SHA256: hex.EncodeToString(sum[:])}); !ok {
			t.Errorf("web.config with %s not known-good", inner)
		}
	}
	if set.Len() != 4 {
		t.Errorf("%d known-good hashes", set.Len())
	}
}
