package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/TcM1911/stix2"

	"github.com/exhunt/exhunt/finding"
)

// stixObjects writes doc as STIX and returns the bundle's objects as raw
// maps, failing the test on any error or on a bundle that breaks the
// required properties (checkSTIX).
func stixObjects(t *testing.T, doc *finding.Document) ([]map[string]any, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := STIX(&buf, doc, Options{}); err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(buf.Bytes(), &bundle); err != nil {
		t.Fatalf("bundle is not JSON: %v", err)
	}
	objs := checkSTIX(t, bundle)
	if _, err := stix2.FromJSON(buf.Bytes()); err != nil {
		t.Errorf("the library cannot read the bundle: %v", err)
	}
	return objs, buf.Bytes()
}

func byType(objs []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, o := range objs {
		typ, _ := o["type"].(string)
		out[typ] = append(out[typ], o)
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// --- required properties, from the STIX 2.1 specification (OASIS
// Standard, 10 June 2021), checked on the raw JSON without the library ---

var (
	reSTIXID = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	// §3.2: timestamps are RFC 3339 in UTC; created and modified are
	// precise to the millisecond.
	reMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

var stixSCOTypes = map[string]bool{"ipv4-addr": true, "ipv6-addr": true, "file": true, "network-traffic": true}

// checkSTIX checks the bundle and every object in it, and that every
// reference names an object of the bundle.
func checkSTIX(t *testing.T, bundle map[string]any) []map[string]any {
	t.Helper()
	if bundle["type"] != "bundle" {
		t.Errorf("bundle type = %v", bundle["type"])
	}
	if id, _ := bundle["id"].(string); !reSTIXID.MatchString(id) || !strings.HasPrefix(id, "bundle--") {
		t.Errorf("bundle id %q", id)
	}
	raw, ok := bundle["objects"].([]any)
	if !ok || len(raw) == 0 {
		t.Fatalf("bundle has no objects")
	}
	var objs []map[string]any
	ids := map[string]string{}
	for _, r := range raw {
		o, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("object is %T", r)
		}
		objs = append(objs, o)
		id, _ := o["id"].(string)
		if ids[id] != "" {
			t.Errorf("duplicate id %s", id)
		}
		ids[id], _ = o["type"].(string)
	}
	for _, o := range objs {
		checkSTIXObject(t, o, ids)
	}
	return objs
}

func checkSTIXObject(t *testing.T, o map[string]any, ids map[string]string) {
	t.Helper()
	typ, _ := o["type"].(string)
	id, _ := o["id"].(string)
	errorf := func(format string, a ...any) { t.Helper(); t.Errorf("%s: "+format, append([]any{id}, a...)...) }
	str := func(k string) string { s, _ := o[k].(string); return s }
	need := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			v, ok := o[k]
			if !ok || v == nil || v == "" {
				errorf("required property %q missing", k)
			}
			if l, isList := v.([]any); isList && len(l) == 0 {
				errorf("required list %q empty", k)
			}
		}
	}
	stamp := func(k string, millis bool) time.Time {
		t.Helper()
		s := str(k)
		if millis && !reMillis.MatchString(s) {
			errorf("%s %q is not a millisecond UTC timestamp", k, s)
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.HasSuffix(s, "Z") {
			errorf("%s %q is not an RFC 3339 UTC timestamp", k, s)
		}
		return v
	}
	ref := func(k string, v string, types ...string) {
		t.Helper()
		got, ok := ids[v]
		if !ok {
			errorf("%s %q names no object of the bundle", k, v)
			return
		}
		if len(types) > 0 && !contains(types, got) {
			errorf("%s %q is a %s, want one of %v", k, v, got, types)
		}
	}

	// §2.7, §3.1: type and id.
	need("type", "id")
	if m := reSTIXID.FindStringSubmatch(id); m == nil || m[1] != typ {
		errorf("id does not have the form %s--<UUID>", typ)
	}
	// §3.2 common properties.
	sdo := !stixSCOTypes[typ] && typ != "marking-definition"
	switch {
	case sdo:
		need("spec_version", "created", "modified")
		if c, m := stamp("created", true), stamp("modified", true); m.Before(c) {
			errorf("modified before created")
		}
	case typ == "marking-definition":
		need("spec_version", "created")
		stamp("created", true)
	}
	if v, ok := o["spec_version"]; ok && v != "2.1" {
		errorf("spec_version %v", v)
	}
	if v, ok := o["created_by_ref"]; ok {
		s, _ := v.(string)
		ref("created_by_ref", s, "identity")
	}
	for _, m := range strs(o["object_marking_refs"]) {
		ref("object_marking_refs", m, "marking-definition")
	}
	if typ != "marking-definition" {
		// exhunt marks all or nothing.
		if _, marked := o["object_marking_refs"]; marked != (len(markingIDs(ids)) > 0) {
			errorf("object_marking_refs present = %v with %d marking(s) in the bundle", marked, len(markingIDs(ids)))
		}
	}
	for _, er := range listOfMaps(o["external_references"]) {
		if er["source_name"] == nil || er["source_name"] == "" {
			errorf("external reference without source_name")
		}
		if er["description"] == nil && er["url"] == nil && er["external_id"] == nil {
			errorf("external reference with neither description, url nor external_id")
		}
	}
	for _, kc := range listOfMaps(o["kill_chain_phases"]) {
		if kc["kill_chain_name"] == nil || kc["phase_name"] == nil {
			errorf("kill chain phase without kill_chain_name or phase_name")
		}
	}

	switch typ {
	case "identity": // §4.5
		need("name")
	case "attack-pattern": // §4.1
		need("name")
		var mitre bool
		for _, er := range listOfMaps(o["external_references"]) {
			if er["source_name"] == "mitre-attack" {
				mitre = true
				if s, _ := er["external_id"].(string); !regexp.MustCompile(`^T\d{4}(\.\d{3})?$`).MatchString(s) {
					errorf("mitre-attack external_id %q", s)
				}
			}
		}
		if !mitre {
			errorf("attack pattern without a mitre-attack reference")
		}
	case "indicator": // §4.7
		need("pattern", "pattern_type", "valid_from")
		stamp("valid_from", false)
		if str("pattern_type") == "stix" {
			if err := checkPattern(str("pattern")); err != nil {
				errorf("pattern: %v", err)
			}
		}
	case "observed-data": // §4.14
		need("first_observed", "last_observed", "number_observed", "object_refs")
		if stamp("last_observed", false).Before(stamp("first_observed", false)) {
			errorf("last_observed before first_observed")
		}
		if n, _ := o["number_observed"].(float64); n < 1 || n > 999999999 || n != float64(int64(n)) {
			errorf("number_observed %v", o["number_observed"])
		}
		if _, both := o["objects"]; both {
			errorf("objects and object_refs both present")
		}
		for _, r := range strs(o["object_refs"]) {
			ref("object_refs", r, "ipv4-addr", "ipv6-addr", "file", "network-traffic")
		}
	case "sighting": // §5.2
		need("sighting_of_ref")
		ref("sighting_of_ref", str("sighting_of_ref"), "indicator")
		for _, r := range strs(o["observed_data_refs"]) {
			ref("observed_data_refs", r, "observed-data")
		}
		for _, r := range strs(o["where_sighted_refs"]) {
			ref("where_sighted_refs", r, "identity", "location")
		}
		if c, ok := o["count"].(float64); ok && (c < 0 || c > 999999999) {
			errorf("count %v", c)
		}
		if o["first_seen"] != nil && o["last_seen"] != nil && stamp("last_seen", false).Before(stamp("first_seen", false)) {
			errorf("last_seen before first_seen")
		}
	case "relationship": // §5.1
		need("relationship_type", "source_ref", "target_ref")
		ref("source_ref", str("source_ref"))
		ref("target_ref", str("target_ref"))
		if str("relationship_type") == "indicates" {
			ref("source_ref", str("source_ref"), "indicator")
		}
	case "report": // §4.16
		need("name", "published", "object_refs")
		stamp("published", false)
		for _, r := range strs(o["object_refs"]) {
			ref("object_refs", r)
		}
	case "note": // §4.13
		need("content", "object_refs")
		for _, r := range strs(o["object_refs"]) {
			ref("object_refs", r)
		}
	case "marking-definition": // §7.2.1, and the TLP 2.0 extension
		if _, ext := o["extensions"]; !ext {
			need("definition_type", "definition")
		}
		if _, known := wantMarkingName[id]; !known {
			errorf("not a published TLP marking-definition id")
		} else if o["name"] != wantMarkingName[id] {
			errorf("name %v, want %s", o["name"], wantMarkingName[id])
		}
	case "ipv4-addr", "ipv6-addr": // §6.4, §6.5
		need("value")
		a, err := netip.ParseAddr(str("value"))
		if err != nil || (typ == "ipv4-addr") != a.Is4() {
			errorf("value %q is not an %s", str("value"), typ)
		}
	case "file": // §6.7: hashes or name
		if o["hashes"] == nil && o["name"] == nil {
			errorf("file with neither hashes nor name")
		}
	case "network-traffic": // §6.12
		need("protocols")
		if o["src_ref"] == nil && o["dst_ref"] == nil {
			errorf("neither src_ref nor dst_ref")
		}
		if s, ok := o["src_ref"].(string); ok {
			ref("src_ref", s, "ipv4-addr", "ipv6-addr")
		}
		exts, _ := o["extensions"].(map[string]any)
		if h, ok := exts["http-request-ext"].(map[string]any); ok {
			m, _ := h["request_method"].(string)
			if m == "" || h["request_value"] == nil || m != strings.ToLower(m) {
				errorf("http-request-ext needs request_method (lower case) and request_value: %v", h)
			}
		}
	default:
		errorf("type %q: the check does not know it (add it here when the writer emits it)", typ)
	}
}

func listOfMaps(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func markingIDs(ids map[string]string) []string {
	var out []string
	for id, typ := range ids {
		if typ == "marking-definition" {
			out = append(out, id)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// wantMarkingName are the published TLP marking-definitions: TLP 1.0 from
// STIX 2.1 §7.2.1.4, TLP 2.0 from the OASIS TLP 2.0 extension.
var wantMarkingName = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "TLP:WHITE",
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "TLP:GREEN",
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "TLP:AMBER",
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "TLP:RED",
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "TLP:CLEAR",
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "TLP:GREEN",
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "TLP:AMBER",
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "TLP:AMBER+STRICT",
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "TLP:RED",
}

// checkPattern parses the only pattern shapes the writer makes, by the
// grammar of STIX 2.1 §9 for them: one comparison of an object path with a
// string literal in brackets. A literal that a hostile value broke open
// leaves text after the closing quote and fails.
func checkPattern(p string) error {
	rest, ok := strings.CutPrefix(p, "[")
	if !ok {
		return fmt.Errorf("no opening bracket in %q", p)
	}
	var path string
	switch {
	case strings.HasPrefix(rest, "ipv4-addr:value = "), strings.HasPrefix(rest, "ipv6-addr:value = "):
		path, rest, _ = strings.Cut(rest, " = ")
	case strings.HasPrefix(rest, "file:hashes.'SHA-256' = "):
		path, rest = "file:hashes.'SHA-256'", strings.TrimPrefix(rest, "file:hashes.'SHA-256' = ")
	default:
		return fmt.Errorf("unexpected comparison in %q", p)
	}
	val, rest, err := readLiteral(rest)
	if err != nil {
		return err
	}
	if rest != "]" {
		return fmt.Errorf("text after the literal: %q", rest)
	}
	switch path {
	case "file:hashes.'SHA-256'":
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(val) {
			return fmt.Errorf("not a SHA-256: %q", val)
		}
	default:
		a, err := netip.ParseAddr(val)
		if err != nil || a.Is4() != strings.HasPrefix(path, "ipv4") {
			return fmt.Errorf("not an address of %s: %q", path, val)
		}
	}
	return nil
}

// readLiteral reads a quoted STIX string literal from the start of s and
// returns its value and what follows it.
func readLiteral(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("no literal at %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '\\' && s[i+1] != '\'') {
				return "", "", fmt.Errorf("bad escape in %q", s)
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", fmt.Errorf("unterminated literal %q", s)
}

// --- tests ---

func TestSTIXRoundTrip(t *testing.T) {
	doc := sampleDoc()
	doc.TLP = "amber"
	objs, data := stixObjects(t, doc)
	got := map[string]int{}
	for typ, l := range byType(objs) {
		got[typ] = len(l)
	}
	// One public attacker address (the scanner's is recon only) and one
	// web shell hash; four techniques; ex01 and exhunt.
	want := map[string]int{"marking-definition": 1, "identity": 2, "attack-pattern": 4, "indicator": 2, "relationship": 2,
		"ipv4-addr": 1, "file": 1, "observed-data": 2, "note": 1, "sighting": 2, "report": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects by type:\n got %v\nwant %v", got, want)
	}

	c, err := stix2.FromJSON(data)
	if err != nil {
		t.Fatalf("the library cannot read the bundle: %v", err)
	}
	lib := map[string]int{}
	for _, o := range c.AllObjects() {
		lib[string(o.GetType())]++
	}
	if fmt.Sprint(lib) != fmt.Sprint(want) {
		t.Errorf("the library reads:\n got %v\nwant %v", lib, want)
	}
	// Every reference resolves through the library too.
	for _, o := range objs {
		for _, r := range refsOf(o) {
			if c.Get(stix2.Identifier(r)) == nil {
				t.Errorf("%s refers to %s, which the library did not find", o["id"], r)
			}
		}
	}
	if n := len(c.Indicators()); n != 2 {
		t.Fatalf("%d indicators", n)
	}
	for _, ind := range c.Indicators() {
		if ind.ValidFrom == nil || ind.PatternType != "stix" || len(ind.ObjectMarking) != 1 || ind.ObjectMarking[0] != stix2.TLPAmber.ID {
			t.Errorf("indicator %s: %+v", ind.ID, ind)
		}
	}
	rep := c.Reports()[0]
	if len(rep.Objects) != len(objs)-2 { // all but the marking and the report
		t.Errorf("report refers to %d of %d objects", len(rep.Objects), len(objs))
	}
	for _, s := range []string{"compromised", "almost certain", "A web shell was written", "Technical overlap is not attribution"} {
		if !strings.Contains(rep.Description, s) {
			t.Errorf("report description lacks %q:\n%s", s, rep.Description)
		}
	}
	if !rep.Published.Equal(doc.Finished) {
		t.Errorf("published %v, want %v", rep.Published, doc.Finished)
	}
}

// refsOf lists every identifier an object refers to (*_ref, *_refs, at
// any depth).
func refsOf(v any) []string {
	var out []string
	var walk func(k string, v any)
	walk = func(k string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k2, v2 := range x {
				walk(k2, v2)
			}
		case []any:
			for _, v2 := range x {
				walk(k, v2)
			}
		case string:
			if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
				out = append(out, x)
			}
		}
	}
	walk("", v)
	return out
}

func TestSTIXDeterministic(t *testing.T) {
	_, a := stixObjects(t, sampleDoc())
	_, b := stixObjects(t, sampleDoc())
	if !bytes.Equal(a, b) {
		t.Fatal("the same document gave two bundles")
	}
	doc := sampleDoc()
	doc.Started = doc.Started.Add(time.Hour)
	doc.Finished = doc.Finished.Add(time.Hour)
	objs, _ := stixObjects(t, doc)
	first, _ := stixObjects(t, sampleDoc())
	ids := map[string]bool{}
	for _, o := range first {
		ids[o["id"].(string)] = true
	}
	for _, o := range objs {
		id := o["id"].(string)
		if stixSCOTypes[o["type"].(string)] != ids[id] {
			t.Errorf("%s: another hunt should share observable ids only", id)
		}
	}
}

func TestSTIXObservableIDs(t *testing.T) {
	// Our UUIDv5 against the library's (google/uuid), on the SCO namespace.
	for _, name := range []string{`{"value":"167.99.168.251"}`, "", "ä\x00'\\"} {
		want := stix2.NewObservableIdentifier(name, stix2.TypeIPv4Addr)
		if got := stixSCOID(stix2.TypeIPv4Addr, name); got != want {
			t.Errorf("uuid5(%q) = %s, want %s", name, got, want)
		}
	}
	// RFC 8785 string form.
	for in, want := range map[string]string{"a\"b\\c": `"a\"b\\c"`, "\n\x01é€": `"\n\u0001é€"`, "\xff": "\"\uFFFD\"", "</>": `"</>"`} {
		if got := stixJCS(in); got != want {
			t.Errorf("stixJCS(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSTIXTLP(t *testing.T) {
	cases := []struct{ flag, id, name string }{
		{"", "", ""},
		{"white", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"},
		{"TLP:CLEAR", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"},
		{"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"},
		{"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"},
		{"amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT"},
		{"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"},
	}
	for _, c := range cases {
		t.Run(c.flag, func(t *testing.T) {
			doc := sampleDoc()
			var err error
			if doc.TLP, err = finding.ParseTLP(c.flag); err != nil {
				t.Fatal(err)
			}
			objs, _ := stixObjects(t, doc)
			marks := byType(objs)["marking-definition"]
			if c.id == "" {
				if len(marks) != 0 {
					t.Fatalf("no --tlp, but %d marking(s)", len(marks))
				}
				return
			}
			if len(marks) != 1 || marks[0]["id"] != c.id || marks[0]["name"] != c.name {
				t.Fatalf("marking %v, want %s %s", marks, c.id, c.name)
			}
			if strings.Contains(c.name, "CLEAR") || strings.Contains(c.name, "STRICT") {
				ext, _ := marks[0]["extensions"].(map[string]any)
				e, _ := ext["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"].(map[string]any)
				if e["extension_type"] != "property-extension" || e["tlp_2_0"] != doc.TLP {
					t.Errorf("TLP 2.0 extension %v", marks[0]["extensions"])
				}
			} else if def, _ := marks[0]["definition"].(map[string]any); marks[0]["definition_type"] != "tlp" || def["tlp"] != doc.TLP {
				t.Errorf("TLP 1.0 definition %v", marks[0])
			}
			for _, o := range objs {
				if o["type"] == "marking-definition" {
					continue
				}
				if m := strs(o["object_marking_refs"]); len(m) != 1 || m[0] != c.id {
					t.Errorf("%s marked %v", o["id"], m)
				}
			}
		})
	}
	doc := sampleDoc()
	doc.TLP = "purple"
	if err := STIX(&bytes.Buffer{}, doc, Options{}); err == nil {
		t.Error("unknown TLP accepted")
	}
}

// addrDoc is a document whose findings name the given client_ip values
// at the exploit stage.
func addrDoc(ips ...string) *finding.Document {
	doc := sampleDoc()
	doc.Findings = nil
	doc.Hosts[0].Verdict = nil
	t0 := time.Date(2021, 3, 3, 1, 2, 3, 0, time.UTC)
	for i, ip := range ips {
		doc.Findings = append(doc.Findings, finding.Finding{
			Advisory: finding.Advisory{ID: "EXH-PL-02", Title: "ProxyLogon SSRF reached the back end", Severity: finding.High, Stage: finding.StageExploit, Techniques: []string{"T1190"}},
			Time:     t0.Add(time.Duration(i) * time.Minute), Host: "ex01",
			Evidence: finding.Evidence{Path: "D/Logging/HttpProxy/Ecp/HttpProxy_2021030301-1.LOG", Line: int64(10 + i), Source: "httpproxy",
				Fields: map[string]string{"client_ip": ip, "method": "POST", "uri": "/ecp/y.js?a='b'\\", "user_agent": `ExchangeServicesClient/0.0.0.0 "x"`}},
		})
	}
	return doc
}

func TestSTIXPrivateAddressesNeverIndicators(t *testing.T) {
	private := []string{"10.1.2.3", "172.16.0.9", "192.168.1.1", "127.0.0.1", "::1", "fe80::1%eth0", "169.254.7.7", "fd12::1", "100.64.0.1", "0.0.0.0", "::ffff:192.168.0.1"}
	public := []string{"203.0.113.9", "2001:db8::7", "[2001:db8::8]:443", "45.77.1.2:51234", "86.105.18.116 10.0.0.1"}
	objs, _ := stixObjects(t, addrDoc(append(private, public...)...))
	types := byType(objs)

	var patterns []string
	for _, ind := range types["indicator"] {
		patterns = append(patterns, ind["pattern"].(string))
	}
	sort.Strings(patterns)
	want := []string{"[ipv4-addr:value = '203.0.113.9']", "[ipv4-addr:value = '45.77.1.2']", "[ipv4-addr:value = '86.105.18.116']",
		"[ipv6-addr:value = '2001:db8::7']", "[ipv6-addr:value = '2001:db8::8']"}
	if strings.Join(patterns, "\n") != strings.Join(want, "\n") {
		t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(patterns, "\n"), strings.Join(want, "\n"))
	}
	// Private addresses are still observed.
	var values []string
	for _, typ := range []string{"ipv4-addr", "ipv6-addr"} {
		for _, o := range types[typ] {
			values = append(values, o["value"].(string))
		}
	}
	for _, v := range []string{"10.1.2.3", "fe80::1", "192.168.0.1", "100.64.0.1"} {
		if !contains(values, v) {
			t.Errorf("private %s not in the observed data (%v)", v, values)
		}
	}
	if n := len(types["observed-data"]); n != len(private)+len(public) {
		t.Errorf("%d observed-data, want %d", n, len(private)+len(public))
	}
	if n := len(types["sighting"]); n != len(public) {
		t.Errorf("%d sightings, want one per public address", n)
	}
	// The request line rides on network-traffic, the agent in a note.
	nt := types["network-traffic"]
	if len(nt) == 0 {
		t.Fatal("no network-traffic")
	}
	ext := nt[0]["extensions"].(map[string]any)["http-request-ext"].(map[string]any)
	if ext["request_method"] != "post" || ext["request_value"] != "/ecp/y.js?a='b'\\" {
		t.Errorf("http-request-ext %v", ext)
	}
	if n := types["note"]; len(n) == 0 || !strings.Contains(n[0]["content"].(string), `ExchangeServicesClient/0.0.0.0 "x"`) {
		t.Errorf("user agent note %v", n)
	}
}

func TestSTIXTimelineAddresses(t *testing.T) {
	doc := addrDoc()
	v := sampleVerdict(time.Date(2021, 2, 27, 19, 53, 36, 0, time.UTC))
	v.Timeline = append(v.Timeline,
		finding.TimelineEntry{Step: "shell-used", Title: "web shell used", Stage: finding.StageExecution, Severity: finding.Critical, Count: 3,
			Time: time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC), SourceIPs: []string{"5.254.43.18"}, UserAgents: []string{"antSword/v2.1"}, Techniques: []string{"T1505.003"}})
	doc.Hosts[0].Verdict = v
	objs, _ := stixObjects(t, doc)
	var patterns []string
	for _, ind := range byType(objs)["indicator"] {
		patterns = append(patterns, ind["pattern"].(string))
	}
	sort.Strings(patterns)
	// The scanner (recon, low) is left out; the ssrf and shell-used
	// entries' addresses are indicators.
	if got := strings.Join(patterns, " "); got != "[ipv4-addr:value = '167.99.168.251'] [ipv4-addr:value = '5.254.43.18']" {
		t.Errorf("indicators from the timeline: %s", got)
	}
	for _, od := range byType(objs)["observed-data"] {
		if od["number_observed"] == 3.0 && od["first_observed"] != "2021-03-04T00:00:00.000Z" {
			t.Errorf("timeline window: %v", od)
		}
	}
}

// TestSTIXBackgroundNotShared: the low-severity background of failed mass
// exploitation and the timeline's background lane are not indicators; a
// medium-severity attempt is.
func TestSTIXBackgroundNotShared(t *testing.T) {
	doc := addrDoc("203.0.113.50", "203.0.113.60")
	doc.Findings[0].Severity, doc.Findings[0].Stage = finding.Low, finding.StageAttempt    // background probe
	doc.Findings[1].Severity, doc.Findings[1].Stage = finding.Medium, finding.StageAttempt // targeted attempt
	v := sampleVerdict(time.Date(2021, 2, 27, 19, 53, 36, 0, time.UTC))
	v.Timeline = []finding.TimelineEntry{{Step: "ssrf", Title: "Internet background: exploitation probes that got nowhere", Stage: finding.StageExploit, Severity: finding.Low,
		Count: 40, Background: true, Time: time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC), SourceIPs: []string{"198.51.100.77"}, Techniques: []string{"T1190"}}}
	doc.Hosts[0].Verdict = v
	objs, _ := stixObjects(t, doc)
	var patterns []string
	for _, ind := range byType(objs)["indicator"] {
		patterns = append(patterns, ind["pattern"].(string))
	}
	if got := strings.Join(patterns, " "); got != "[ipv4-addr:value = '203.0.113.60']" {
		t.Errorf("indicators: %s", got)
	}
}

func TestSTIXEmptyDocument(t *testing.T) {
	docs := map[string]*finding.Document{
		"no hosts": {Tool: finding.Tool{Name: "exhunt", Version: "test"}, Finished: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TLP: "red"},
		"clean host": {Tool: finding.Tool{Name: "exhunt", Version: "test"}, Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Hosts: []finding.HostSummary{{Host: "ex02", Verdict: &finding.Verdict{State: finding.StateNoEvidence, Likelihood: finding.RemoteChance, Score: 2, Summary: "No evidence of compromise."}}}},
		"zero document": {},
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			objs, data := stixObjects(t, doc)
			types := byType(objs)
			if len(types["report"]) != 1 || len(types["identity"]) != 1+len(doc.Hosts) {
				t.Errorf("objects %v", types)
			}
			if _, err := stix2.FromJSON(data); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSTIXHostileStrings(t *testing.T) {
	for _, s := range []string{`'`, `\`, `\'`, `'] OR [file:name = 'x`, "a\\'b'c\\\\", "", "é'\x00"} {
		lit := stixLiteral(s)
		got, rest, err := readLiteral(lit)
		if err != nil || rest != "" || got != s {
			t.Errorf("stixLiteral(%q) = %s reads back as %q rest %q err %v", s, lit, got, rest, err)
		}
	}

	doc := addrDoc(`1.2.3.4' OR '1'='1`, `\' ]`, "", "not an address", "8.8.8.8']")
	hostile := doc.Findings[0]
	hostile.Advisory = finding.Advisory{ID: "EXH-FILE-01", Title: `shell "x" \ 'y'`, Severity: finding.Critical, Stage: finding.StageWrite, Techniques: []string{"T1505.003", "t1505' OR 1", "T9999.999"}}
	hostile.Evidence = finding.Evidence{Path: `D/owa/auth/we'ird"sh\ell.aspx`, Source: "file", SHA256: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}
	bad := hostile
	bad.Evidence = finding.Evidence{Path: "D/x.aspx", Source: "file", SHA256: "9f86d0'] OR [file:name = 'x"}
	wer := hostile
	wer.Advisory = finding.Advisory{ID: "EXH-FILE-08", Title: "Windows Error Report of a worker crash", Severity: finding.Medium, Stage: finding.StageAttempt}
	wer.Evidence = finding.Evidence{Path: "C/ProgramData/Microsoft/Windows/WER/ReportArchive/x/Report.wer", Source: "file", SHA256: strings.Repeat("ab", 32)}
	doc.Findings = append(doc.Findings, hostile, bad, wer)

	objs, data := stixObjects(t, doc) // checkSTIX parses every pattern
	types := byType(objs)
	if n := len(types["indicator"]); n != 1 {
		t.Errorf("%d indicators, want only the valid hash (no address, no crash report)", n)
	}
	if p := types["indicator"][0]["pattern"]; p != "[file:hashes.'SHA-256' = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']" {
		t.Errorf("pattern %v", p)
	}
	if f := types["file"]; len(f) != 1 || f[0]["name"] != `we'ird"sh\ell.aspx` {
		t.Errorf("file %v", f)
	}
	var aps []string
	for _, ap := range types["attack-pattern"] {
		aps = append(aps, ap["name"].(string))
	}
	if strings.Join(aps, ",") != "Exploit Public-Facing Application,Server Software Component: Web Shell,T9999.999" {
		t.Errorf("attack patterns %v", aps)
	}
	if _, err := stix2.FromJSON(data); err != nil {
		t.Error(err)
	}
}
