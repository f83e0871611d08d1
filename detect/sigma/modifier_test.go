package sigma

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf16"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func wideB64(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestModifiers covers every value modifier, with what must and must not
// match. Each case is also checked against brute-force evaluation.
func TestModifiers(t *testing.T) {
	type ev = []string
	cases := []struct {
		name  string
		det   string
		event ev
		want  bool
	}{
		// plain values: exact, case-insensitive
		{"exact", "    sel:\n        Image: 'C:\\Windows\\System32\\cmd.exe'\n    condition: sel", ev{"Image", `c:\windows\system32\CMD.EXE`}, true},
		{"exact is whole value", "    sel:\n        Image: 'cmd.exe'\n    condition: sel", ev{"Image", `C:\cmd.exe`}, false},
		{"list is OR", "    sel:\n        Image:\n            - a.exe\n            - b.exe\n    condition: sel", ev{"Image", `B.EXE`}, true},
		{"contains", "    sel:\n        CommandLine|contains: ' -enc '\n    condition: sel", ev{"CommandLine", `powershell -ENC abc`}, true},
		{"contains miss", "    sel:\n        CommandLine|contains: ' -enc '\n    condition: sel", ev{"CommandLine", `powershell -encoded`}, false},
		{"startswith", "    sel:\n        CommandLine|startswith: 'cmd /c'\n    condition: sel", ev{"CommandLine", `CMD /C whoami`}, true},
		{"startswith miss", "    sel:\n        CommandLine|startswith: 'cmd /c'\n    condition: sel", ev{"CommandLine", `x cmd /c`}, false},
		{"endswith", "    sel:\n        Image|endswith: '\\w3wp.exe'\n    condition: sel", ev{"Image", `c:\windows\system32\inetsrv\W3WP.exe`}, true},
		{"endswith miss", "    sel:\n        Image|endswith: '\\w3wp.exe'\n    condition: sel", ev{"Image", `c:\w3wp.exe.bak`}, false},
		{"contains|all", "    sel:\n        CommandLine|contains|all:\n            - comsvcs\n            - MiniDump\n    condition: sel", ev{"CommandLine", `rundll32 comsvcs.dll, MiniDump 624 x full`}, true},
		{"contains|all miss", "    sel:\n        CommandLine|contains|all:\n            - comsvcs\n            - MiniDump\n    condition: sel", ev{"CommandLine", `rundll32 comsvcs.dll`}, false},
		// wildcards and escapes
		{"wildcard *", "    sel:\n        Image: 'C:\\\\*\\cmd.exe'\n    condition: sel", ev{"Image", `C:\Windows\System32\cmd.exe`}, true},
		{"backslash star is a literal star", "    sel:\n        Image: 'C:\\*\\cmd.exe'\n    condition: sel", ev{"Image", `C:\Windows\System32\cmd.exe`}, false},
		{"wildcard ?", "    sel:\n        Image: '*\\cmd.ex?'\n    condition: sel", ev{"Image", `C:\cmd.exe`}, true},
		{"wildcard ? needs a char", "    sel:\n        Image: '*\\cmd.exe?'\n    condition: sel", ev{"Image", `C:\cmd.exe`}, false},
		{"wildcard ? one rune", "    sel:\n        User: 'J?rg'\n    condition: sel", ev{"User", "Jörg"}, true},
		{"escaped *", "    sel:\n        CommandLine: 'a\\*b'\n    condition: sel", ev{"CommandLine", `a*b`}, true},
		{"escaped * is literal", "    sel:\n        CommandLine: 'a\\*b'\n    condition: sel", ev{"CommandLine", `axxb`}, false},
		{"escaped backslash then wildcard", "    sel:\n        CommandLine: 'a\\\\*'\n    condition: sel", ev{"CommandLine", `a\zzz`}, true},
		{"lone backslash literal", "    sel:\n        Image: 'C:\\Temp\\x.exe'\n    condition: sel", ev{"Image", `C:\Temp\x.exe`}, true},
		{"double backslash is one", "    sel:\n        CommandLine|contains: '\\\\localhost\\C$'\n    condition: sel", ev{"CommandLine", `copy \\localhost\C$\x`}, true},
		// cased
		{"cased", "    sel:\n        CommandLine|contains|cased: 'MiniDump'\n    condition: sel", ev{"CommandLine", `x MiniDump y`}, true},
		{"cased miss", "    sel:\n        CommandLine|contains|cased: 'MiniDump'\n    condition: sel", ev{"CommandLine", `x minidump y`}, false},
		// Unicode case folding outside ASCII; the Kelvin sign is not k
		{"unicode fold", "    sel:\n        User|contains: 'ÉCOLE'\n    condition: sel", ev{"User", "l'école"}, true},
		{"kelvin is not k", "    sel:\n        CommandLine|contains: 'kill'\n    condition: sel", ev{"CommandLine", "\u212aill"}, false},
		// regular expressions
		{"re", "    sel:\n        CommandLine|re: '\\s-e(nc?)?\\s'\n    condition: sel", ev{"CommandLine", `powershell -en AAA`}, true},
		{"re case-sensitive", "    sel:\n        CommandLine|re: 'MiniDump'\n    condition: sel", ev{"CommandLine", `minidump`}, false},
		{"re|i", "    sel:\n        CommandLine|re|i: 'MiniDump'\n    condition: sel", ev{"CommandLine", `minidump`}, true},
		{"re|m", "    sel:\n        CommandLine|re|m: '^two$'\n    condition: sel", ev{"CommandLine", "one\ntwo\nthree"}, true},
		{"re without m", "    sel:\n        CommandLine|re: '^two$'\n    condition: sel", ev{"CommandLine", "one\ntwo\nthree"}, false},
		{"re|s", "    sel:\n        CommandLine|re|s: 'one.two'\n    condition: sel", ev{"CommandLine", "one\ntwo"}, true},
		{"re without s", "    sel:\n        CommandLine|re: 'one.two'\n    condition: sel", ev{"CommandLine", "one\ntwo"}, false},
		{"re (?i) kelvin", "    sel:\n        CommandLine|re: '(?i)kill'\n    condition: sel", ev{"CommandLine", "\u212aILL"}, false},
		{"re (?i) ascii", "    sel:\n        CommandLine|re: '(?i)kill'\n    condition: sel", ev{"CommandLine", "KILL"}, true},
		// cidr
		{"cidr v4", "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel", ev{"DestinationIp", "10.1.2.3"}, true},
		{"cidr v4 miss", "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel", ev{"DestinationIp", "11.1.2.3"}, false},
		{"cidr v6", "    sel:\n        DestinationIp|cidr: 'fe80::/10'\n    condition: sel", ev{"DestinationIp", "fe80::1"}, true},
		{"cidr not an ip", "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel", ev{"DestinationIp", "host"}, false},
		// base64 family
		{"base64", "    sel:\n        CommandLine|base64|contains: 'IEX (New'\n    condition: sel", ev{"CommandLine", "x " + b64("IEX (New") + " y"}, true},
		{"base64offset 0", "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel", ev{"CommandLine", b64("http://x")}, true},
		{"base64offset 1", "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel", ev{"CommandLine", b64("ahttp://x")}, true},
		{"base64offset 2", "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel", ev{"CommandLine", b64("abhttp://x")}, true},
		{"base64 is case-sensitive", "    sel:\n        CommandLine|base64|contains: 'IEX (New'\n    condition: sel", ev{"CommandLine", "x " + strings.ToLower(b64("IEX (New")) + " y"}, false},
		{"base64offset miss", "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel", ev{"CommandLine", b64("ftp://x")}, false},
		{"wide|base64offset", "    sel:\n        CommandLine|wide|base64offset|contains: 'Invoke-'\n    condition: sel", ev{"CommandLine", "-enc " + wideB64("x;Invoke-Mimikatz")}, true},
		{"utf16le|base64offset", "    sel:\n        CommandLine|utf16le|base64offset|contains: 'Invoke-'\n    condition: sel", ev{"CommandLine", "-enc " + wideB64("xyInvoke-Mimikatz")}, true},
		{"utf16be", "    sel:\n        CommandLine|utf16be|base64|contains: 'ab'\n    condition: sel", ev{"CommandLine", base64.StdEncoding.EncodeToString([]byte{0, 'a', 0, 'b'})}, true},
		{"utf16 bom", "    sel:\n        CommandLine|utf16|base64|contains: 'ab'\n    condition: sel", ev{"CommandLine", base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 'a', 0, 'b', 0})}, true},
		// windash
		{"windash dash", "    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel", ev{"CommandLine", `certutil -urlcache -f x`}, true},
		{"windash slash", "    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel", ev{"CommandLine", `certutil /urlcache /f x`}, true},
		{"windash en dash", "    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel", ev{"CommandLine", "certutil \u2013urlcache x"}, true},
		{"windash em dash", "    sel:\n        CommandLine|contains|windash: ' -urlcache '\n    condition: sel", ev{"CommandLine", "certutil \u2014urlcache x"}, true},
		{"windash bar", "    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel", ev{"CommandLine", "certutil \u2015urlcache x"}, true},
		{"windash mid-word dash kept", "    sel:\n        CommandLine|windash|contains: 'x-urlcache'\n    condition: sel", ev{"CommandLine", "x/urlcache"}, false},
		{"windash miss", "    sel:\n        CommandLine|windash|contains: ' -urlcache '\n    condition: sel", ev{"CommandLine", `certutil +urlcache x`}, false},
		// comparisons
		{"gt", "    sel:\n        Count|gt: 10\n    condition: sel", ev{"Count", "11"}, true},
		{"gt equal", "    sel:\n        Count|gt: 10\n    condition: sel", ev{"Count", "10"}, false},
		{"gte", "    sel:\n        Count|gte: 10\n    condition: sel", ev{"Count", "10"}, true},
		{"lt", "    sel:\n        Count|lt: 10\n    condition: sel", ev{"Count", "9.5"}, true},
		{"lte hex", "    sel:\n        Count|lte: 16\n    condition: sel", ev{"Count", "0x10"}, true},
		{"lt not a number", "    sel:\n        Count|lt: 10\n    condition: sel", ev{"Count", "abc"}, false},
		// exists and null
		{"exists true", "    sel:\n        ParentUser|exists: true\n    condition: sel", ev{"ParentUser", ""}, true},
		{"exists true miss", "    sel:\n        ParentUser|exists: true\n    condition: sel", ev{"User", "x"}, false},
		{"exists false", "    sel:\n        ParentUser|exists: false\n    condition: sel", ev{"User", "x"}, true},
		{"null absent", "    sel:\n        ParentUser: null\n    condition: sel", ev{"User", "x"}, true},
		{"null empty", "    sel:\n        ParentUser: null\n    condition: sel", ev{"ParentUser", ""}, true},
		{"null set", "    sel:\n        ParentUser: null\n    condition: sel", ev{"ParentUser", "bob"}, false},
		{"empty string", "    sel:\n        ParentUser: ''\n    condition: sel", ev{"ParentUser", ""}, true},
		{"empty string absent", "    sel:\n        ParentUser: ''\n    condition: sel", ev{"User", "x"}, false},
		// fieldref
		{"fieldref", "    sel:\n        User|fieldref: ParentUser\n    condition: sel", ev{"User", "CONTOSO\\bob", "ParentUser", "contoso\\BOB"}, true},
		{"fieldref miss", "    sel:\n        User|fieldref: ParentUser\n    condition: sel", ev{"User", "a", "ParentUser", "b"}, false},
		{"fieldref absent", "    sel:\n        User|fieldref: ParentUser\n    condition: sel", ev{"User", "a"}, false},
		{"fieldref|contains", "    sel:\n        CommandLine|fieldref|contains: Image\n    condition: sel", ev{"CommandLine", `"C:\x\a.exe" -q`, "Image", `c:\x\a.exe`}, true},
		{"fieldref|endswith", "    sel:\n        CommandLine|fieldref|endswith: Image\n    condition: sel", ev{"CommandLine", `run c:\a.exe`, "Image", `c:\a.exe`}, true},
		// numbers and booleans
		{"number", "    sel:\n        EventID: 1\n        ProcessId: 0x1F\n    condition: sel", ev{"ProcessId", "31"}, true},
		{"bool", "    sel:\n        Signed: true\n    condition: sel", ev{"Signed", "True"}, true},
		{"bool miss", "    sel:\n        Signed: true\n    condition: sel", ev{"Signed", "false"}, false},
		// neq
		{"neq", "    sel:\n        Image|neq: 'a.exe'\n    condition: sel", ev{"Image", "b.exe"}, true},
		{"neq miss", "    sel:\n        Image|neq: 'a.exe'\n    condition: sel", ev{"Image", "A.exe"}, false},
		// expand with a default placeholder (empty list: matches nothing)
		{"expand empty default", "    sel:\n        Image|endswith: 'x.exe'\n    filter:\n        User|contains|expand: '%known_cdcs%'\n    condition: sel and not filter", ev{"Image", "x.exe", "User", "dc01"}, true},
		// keywords
		{"keywords", "    keywords:\n        - 'Invoke-Mimikatz'\n        - 'sekurlsa'\n    condition: keywords", ev{"CommandLine", "x sekurlsa::logonpasswords"}, true},
		{"keywords miss", "    keywords:\n        - 'Invoke-Mimikatz'\n    condition: keywords", ev{"CommandLine", "x"}, false},
		{"keywords |all", "    keywords:\n        '|all':\n            - 'Set-OabVirtualDirectory'\n            - 'Page_Load'\n    condition: keywords", ev{"Data", "Set-OabVirtualDirectory -ExternalUrl x", "Data2", "<script>Page_Load</script>"}, true},
		{"keywords |all miss", "    keywords:\n        '|all':\n            - 'Set-OabVirtualDirectory'\n            - 'Page_Load'\n    condition: keywords", ev{"Data", "Set-OabVirtualDirectory"}, false},
		{"keyword wildcard", "    keywords:\n        - 'evil*tool'\n    condition: keywords", ev{"CommandLine", "the evil hacking tool!"}, true},
		{"keywords see Channel", "    keywords:\n        - 'Sysmon/Operational'\n    condition: keywords", ev{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, ruleYAML(tc.det))
			if got := fires(t, r, sysmon1(t, tc.event...)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestConditions covers the condition grammar.
func TestConditions(t *testing.T) {
	sels := "    a:\n        Image|endswith: 'a.exe'\n    b:\n        CommandLine|contains: 'bbb'\n    sel_c:\n        User: 'ccc'\n    sel_d:\n        Company: 'ddd'\n    _hidden:\n        Product: 'zzz'\n"
	cases := []struct {
		cond string
		ev   []string
		want bool
	}{
		{"a and b", []string{"Image", "x\\a.exe", "CommandLine", "bbb"}, true},
		{"a and b", []string{"Image", "x\\a.exe"}, false},
		{"a or b", []string{"CommandLine", "xbbbx"}, true},
		{"a or b", []string{"User", "ccc"}, false},
		{"not a", []string{"Image", "b.exe"}, true},
		{"not a", []string{"Image", "a.exe"}, false},
		{"a and not b", []string{"Image", "a.exe", "CommandLine", "bbb"}, false},
		{"not a and b", []string{"CommandLine", "bbb"}, true},
		{"not (a or b)", []string{"CommandLine", "bbb"}, false},
		{"(a or b) and sel_c", []string{"CommandLine", "bbb", "User", "ccc"}, true},
		{"a or b and sel_c", []string{"Image", "a.exe"}, true}, // and binds tighter
		{"1 of sel_*", []string{"Company", "ddd"}, true},
		{"1 of sel_*", []string{"Image", "a.exe"}, false},
		{"any of sel_*", []string{"User", "ccc"}, true},
		{"all of sel_*", []string{"User", "ccc"}, false},
		{"all of sel_*", []string{"User", "ccc", "Company", "ddd"}, true},
		{"1 of them", []string{"CommandLine", "bbb"}, true},
		{"1 of them", []string{"Product", "zzz"}, false}, // them skips _hidden
		{"all of them", []string{"Image", "a.exe", "CommandLine", "bbb", "User", "ccc", "Company", "ddd"}, true},
		{"2 of them", []string{"Image", "a.exe", "User", "ccc"}, true},
		{"2 of them", []string{"Image", "a.exe"}, false},
		{"a and not 1 of sel_*", []string{"Image", "a.exe"}, true},
		{"a and not 1 of sel_*", []string{"Image", "a.exe", "User", "ccc"}, false},
		{"_hidden", []string{"Product", "zzz"}, true},
		{"a AND NOT b", []string{"Image", "a.exe"}, true},
		{"not not a", []string{"Image", "a.exe"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			r := mustRule(t, ruleYAML(sels+"    condition: "+tc.cond+"\n"))
			if got := fires(t, r, sysmon1(t, tc.ev...)); got != tc.want {
				t.Errorf("%v: got %v, want %v", tc.ev, got, tc.want)
			}
		})
	}
	t.Run("condition list is OR", func(t *testing.T) {
		r := mustRule(t, ruleYAML(sels+"    condition:\n        - a\n        - b\n"))
		if !fires(t, r, sysmon1(t, "CommandLine", "bbb")) || !fires(t, r, sysmon1(t, "Image", "a.exe")) || fires(t, r, sysmon1(t, "User", "ccc")) {
			t.Error("condition list is not an OR")
		}
	})
	t.Run("list of maps is OR", func(t *testing.T) {
		r := mustRule(t, ruleYAML("    sel:\n        - Image: a.exe\n          User: u\n        - CommandLine: c\n    condition: sel\n"))
		if !fires(t, r, sysmon1(t, "CommandLine", "c")) || !fires(t, r, sysmon1(t, "Image", "a.exe", "User", "u")) || fires(t, r, sysmon1(t, "Image", "a.exe")) {
			t.Error("list of maps is not an OR of ANDs")
		}
	})
}

func TestMatchFields(t *testing.T) {
	r := mustRule(t, ruleYAML("    sel:\n        Image|endswith: '\\cmd.exe'\n        ParentImage|endswith: '\\w3wp.exe'\n    filter:\n        CommandLine: 'x'\n    condition: sel and not filter\n")+
		"fields:\n    - User\n")
	e, err := NewEngine([]*Rule{r}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Match
	e.NewScanner().Scan(sysmon1(t, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `c:\windows\system32\inetsrv\w3wp.exe`, "CommandLine", "cmd /c whoami", "User", `NT AUTHORITY\SYSTEM`),
		func(_ *Rule, m Match) { got = m })
	want := map[string]string{"Image": `C:\Windows\System32\cmd.exe`, "ParentImage": `c:\windows\system32\inetsrv\w3wp.exe`, "User": `NT AUTHORITY\SYSTEM`}
	if len(got.Fields) != len(want) || got.Mapping != "sysmon" {
		t.Fatalf("got %v (%s), want %v", got.Fields, got.Mapping, want)
	}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Errorf("%s = %q, want %q", k, got.Fields[k], v)
		}
	}
	long := strings.Repeat("é", 600)
	if b := boundValue(long); len(b) > MaxFieldValue+len("…") || !strings.HasSuffix(b, "…") {
		t.Errorf("boundValue did not bound: %d bytes", len(b))
	}
}

func TestPlaceholders(t *testing.T) {
	src := ruleYAML("    sel:\n        Image|endswith: '\\cmd.exe'\n    filter:\n        User|expand: '%admins%'\n    condition: sel and not filter\n")
	if lr := ParseFile("x.yml", []byte(src)); len(lr.Unsupported) != 1 || !strings.Contains(lr.Unsupported[0].Error(), "x.yml: detection.filter.User|expand: placeholder %admins% has no value") {
		t.Fatalf("unknown placeholder: %v", lr.Unsupported)
	}
	l := Loader{Placeholders: map[string][]string{"admins": {`CONTOSO\adm_*`, "root"}}}
	lr := l.ParseFile("x.yml", []byte(src))
	if len(lr.Loaded) != 1 {
		t.Fatalf("not loaded: %v %v", lr.Invalid, lr.Unsupported)
	}
	r := lr.Loaded[0]
	for user, want := range map[string]bool{`contoso\adm_bob`: false, "ROOT": false, "eve": true} {
		if got := fires(t, r, sysmon1(t, "Image", `C:\cmd.exe`, "User", user)); got != want {
			t.Errorf("user %s: fired %v, want %v", user, got, want)
		}
	}
	// An embedded placeholder expands in place.
	src = ruleYAML("    sel:\n        CommandLine|contains|expand: 'net user %admins% /add'\n    condition: sel\n")
	r = l.ParseFile("x.yml", []byte(src)).Loaded[0]
	if !fires(t, r, sysmon1(t, "CommandLine", "net user root /add")) || fires(t, r, sysmon1(t, "CommandLine", "net user eve /add")) {
		t.Error("embedded placeholder")
	}
}
