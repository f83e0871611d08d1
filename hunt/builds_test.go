package hunt

import (
	"bytes"
	"testing"
)

func TestOwaPathBuild(t *testing.T) {
	for _, c := range []struct {
		stem, want string
	}{
		{"/owa/auth/15.1.2106/themes/resources/logon.css", "15.1.2106"},
		{"/OWA/auth/15.2.1118/scripts/x.js", "15.2.1118"},
		{"/owa/14.3.123.4/themes/base/x.gif", "14.3.123.4"},
		{"/owa/auth/15.1.2106.2/x.css", ""}, // 2013+ paths have three parts
		{"/owa/auth/logon.aspx", ""},
		{"/owa/auth/15.1.2106", ""},
		{"/ecp/15.1.2106/x.js", ""},
		{"/owa/auth/99999999.1.1/x", ""},
	} {
		b, ok := owaPathBuild(c.stem)
		got := ""
		if ok {
			got = b.String()
		}
		if got != c.want {
			t.Errorf("owaPathBuild(%q) = %q, want %q", c.stem, got, c.want)
		}
	}
}

func TestExSetupVersion(t *testing.T) {
	key := utf16le("VS_VERSION_INFO")
	ffi := []byte{0xBD, 0x04, 0xEF, 0xFE, 0, 0, 1, 0, 1, 0, 15, 0, 14, 0, 0x04, 0x09}
	good := append(append(append([]byte("MZ junk"), 0), key...), 0, 0)
	for len(good)%4 != 0 {
		good = append(good, 0)
	}
	good = append(good, ffi...)
	b, ok := exSetupVersion(bytes.NewReader(good))
	if !ok || b.String() != "15.1.2308.14" {
		t.Fatalf("got %v %v", b, ok)
	}
	// Truncated, wrong signature, key at the very end: no version, no panic.
	for _, in := range [][]byte{good[:len(good)-3], bytes.Replace(good, []byte{0xBD, 0x04}, []byte{0, 0}, 1), key, nil} {
		if b, ok := exSetupVersion(bytes.NewReader(in)); ok {
			t.Errorf("read %v from a broken resource", b)
		}
	}
}
