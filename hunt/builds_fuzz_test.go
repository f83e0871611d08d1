package hunt

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/exhunt/exhunt/exchange"
)

// FuzzExSetupVersion: ExSetup.exe is evidence, so hostile; any bytes give a
// build of a plausible major version or nothing, never a panic.
func FuzzExSetupVersion(f *testing.F) {
	fixed := make([]byte, 52)
	binary.LittleEndian.PutUint32(fixed, 0xFEEF04BD)
	binary.LittleEndian.PutUint32(fixed[8:], 15<<16|1)
	binary.LittleEndian.PutUint32(fixed[12:], 2106<<16|2)
	good := append(append([]byte("MZ\x90\x00"), utf16le("VS_VERSION_INFO")...), 0, 0)
	for len(good)%4 != 0 {
		good = append(good, 0)
	}
	good = append(good, fixed...)
	if b, ok := exSetupVersion(bytes.NewReader(good)); !ok || b.String() != "15.1.2106.2" {
		f.Fatalf("seed reads %v %v, want 15.1.2106.2", b, ok)
	}
	f.Add(good)
	f.Add(good[:len(good)-40])                            // truncated fixed info
	f.Add(append(utf16le("VS_VERSION_INFO"), 0, 0, 1, 2)) // key at the very end
	f.Add(bytes.Repeat(utf16le("VS_VERSION_INFO"), 50))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, ok := exSetupVersion(bytes.NewReader(data))
		if ok && (b.Major < 8 || b.Major > 99 || b.Parts != 4) {
			t.Fatalf("implausible build %+v", b)
		}
	})
}

// FuzzOWAPathBuild: a URL stem or a file path from the evidence gives a
// build that parses back to itself, or nothing.
func FuzzOWAPathBuild(f *testing.F) {
	for _, s := range []string{"/owa/auth/15.1.2106/themes/resources/favicon.ico", "/OWA/14.3.123.4/scripts/x.js", "/owa/auth/15.1.2106.2/x", "/owa/auth//", "/owa/", "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/15.1.2106/themes/x.css"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fn := range []func(string) (exchange.Build, bool){owaPathBuild, folderBuild} {
			b, ok := fn(s)
			if !ok {
				continue
			}
			if again, err := exchange.ParseBuild(b.String()); err != nil || again != b {
				t.Fatalf("%q → %v does not round-trip (%v)", s, b, err)
			}
		}
	})
}
