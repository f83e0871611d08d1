package files

import (
	"bytes"
	"testing"
)

// FuzzParseIOCs: the indicator reader never panics, returns only
// well-formed lower-case hashes and a problem for every other line.
func FuzzParseIOCs(f *testing.F) {
	f.Add([]byte("099c8625c58b315b6c11f5baeb859f4c;Tiny shell\n# comment\n"))
	f.Add([]byte("b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0;75;desc;with;semicolons\r\n"))
	f.Add([]byte("\ufeffDA39A3EE5E6B4B0D3255BFEF95601890AFD80709 # sha1\nnot a hash\n"))
	f.Add([]byte(";;;\n#\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		iocs, _ := ParseIOCs(bytes.NewReader(data), "fuzz")
		for _, i := range iocs {
			if hashKind(i.Hash) != i.Kind || i.Kind == "" {
				t.Fatalf("bad indicator %+v", i)
			}
		}
		set := NewIOCSet(iocs)
		for _, i := range iocs {
			if _, ok := set.Lookup(Hashes{MD5: i.Hash, SHA1: i.Hash, SHA256: i.Hash}); !ok {
				t.Fatalf("%s not found", i.Hash)
			}
		}
	})
}
