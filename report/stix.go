package report

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/TcM1911/stix2"

	"github.com/exhunt/exhunt/finding"
)

// STIX writes the document as one STIX 2.1 bundle for sharing with a CERT
// (docs/stix.md): the reporting identity and one identity per host,
// indicators for attacker addresses and file hashes, the observed data and
// sightings behind them, attack patterns for the ATT&CK techniques, a
// report that states the host verdicts, and the TLP marking of doc.TLP on
// every object. The same document always gives the same bundle: ids are
// UUIDv5 of the content and every timestamp comes from the document.
func STIX(w io.Writer, doc *finding.Document, _ Options) error {
	b, err := stixBundle(doc)
	if err != nil {
		return fmt.Errorf("stix report: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// Caps keep a bundle readable when a scanner or an attacker hammered the
// server: the counts stay exact, the lists are cut.
const (
	stixMaxRequests = 20 // network-traffic objects per address and host
	stixMaxAgents   = 20 // user agents in the note per address and host
	stixMaxLines    = 10 // finding titles and paths in a description
)

// The TLP markings. TLP:GREEN, AMBER and RED use the marking-definition
// objects the STIX 2.1 specification predefines (TLP 1.0, §7.2.1.4), which
// every STIX 2.1 consumer knows; TLP:CLEAR and TLP:AMBER+STRICT exist only
// in TLP 2.0 and use the objects of the OASIS TLP 2.0 extension
// (cti-stix-common-objects, extension-definitions/tlp-2.0), whose ids are
// fixed like the predefined ones.
const (
	stixTLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
	stixTLP2Created   = "2022-10-01T00:00:00.000Z"
)

var stixTLP2Markings = map[string]struct{ id, name string }{
	"clear":        {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"},
	"amber+strict": {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT"},
}

// stixMarking returns the marking-definition for a TLP value of
// finding.ParseTLP as its id and its JSON; "" gives no marking.
func stixMarking(tlp string) (stix2.Identifier, json.RawMessage, error) {
	var def *stix2.MarkingDefinition
	switch tlp {
	case "":
		return "", nil, nil
	case "green":
		def = stix2.TLPGreen
	case "amber":
		def = stix2.TLPAmber
	case "red":
		def = stix2.TLPRed
	case "clear", "amber+strict":
		// The library cannot write a marking-definition without
		// definition_type, which the TLP 2.0 objects leave out (the
		// extension replaces it), so this one is written by hand.
		m := stixTLP2Markings[tlp]
		raw, err := json.Marshal(map[string]any{
			"type": "marking-definition", "spec_version": "2.1", "id": m.id,
			"created": stixTLP2Created, "name": m.name,
			"extensions": map[string]any{stixTLP2Extension: map[string]string{
				"extension_type": "property-extension", "tlp_2_0": tlp,
			}},
		})
		return stix2.Identifier(m.id), raw, err
	default:
		return "", nil, fmt.Errorf("unknown TLP %q", tlp)
	}
	raw, err := json.Marshal(def)
	return def.ID, raw, err
}

// Stage to ATT&CK tactic, for the kill_chain_phases of indicators.
var stixStageTactic = map[finding.Stage]string{
	finding.StageRecon:      "reconnaissance",
	finding.StageAttempt:    "initial-access",
	finding.StageExploit:    "initial-access",
	finding.StageWrite:      "persistence",
	finding.StageExecution:  "execution",
	finding.StageCredential: "credential-access",
	finding.StageCollection: "collection",
	finding.StageCleanup:    "defense-evasion",
}

// stixAttackNames names the ATT&CK techniques exhunt's own detectors and its
// Sigma pack report, with their tactics. A technique not listed (from a
// user's Sigma rules) is named by its id and has no phase.
var stixAttackNames = map[string]struct{ name, tactics string }{
	"T1003.001": {"OS Credential Dumping: LSASS Memory", "credential-access"},
	"T1033":     {"System Owner/User Discovery", "discovery"},
	"T1059":     {"Command and Scripting Interpreter", "execution"},
	"T1059.001": {"Command and Scripting Interpreter: PowerShell", "execution"},
	"T1059.003": {"Command and Scripting Interpreter: Windows Command Shell", "execution"},
	"T1070":     {"Indicator Removal", "defense-evasion"},
	"T1070.001": {"Indicator Removal: Clear Windows Event Logs", "defense-evasion"},
	"T1070.004": {"Indicator Removal: File Deletion", "defense-evasion"},
	"T1074.001": {"Data Staged: Local Data Staging", "collection"},
	"T1078.002": {"Valid Accounts: Domain Accounts", "initial-access persistence privilege-escalation defense-evasion"},
	"T1098":     {"Account Manipulation", "persistence privilege-escalation"},
	"T1105":     {"Ingress Tool Transfer", "command-and-control"},
	"T1114":     {"Email Collection", "collection"},
	"T1114.002": {"Email Collection: Remote Email Collection", "collection"},
	"T1114.003": {"Email Collection: Email Forwarding Rule", "collection"},
	"T1190":     {"Exploit Public-Facing Application", "initial-access"},
	"T1203":     {"Exploitation for Client Execution", "execution"},
	"T1218.011": {"System Binary Proxy Execution: Rundll32", "defense-evasion"},
	"T1505.002": {"Server Software Component: Transport Agent", "persistence"},
	"T1505.003": {"Server Software Component: Web Shell", "persistence"},
	"T1560.001": {"Archive Collected Data: Archive via Utility", "collection"},
	"T1564.001": {"Hide Artifacts: Hidden Files and Directories", "defense-evasion"},
	"T1595":     {"Active Scanning", "reconnaissance"},
	"T1595.002": {"Active Scanning: Vulnerability Scanning", "reconnaissance"},
}

var stixTechnique = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// stixAttackURL is the technique's page on attack.mitre.org.
func stixAttackURL(t string) string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t, ".", "/") + "/"
}

// stixUUID is a UUID; v5 derives UUIDv5 (RFC 9562 §5.5), written here
// because the only UUID package in reach is an indirect dependency.
type stixUUID [16]byte

func stixMustUUID(s string) stixUUID {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad UUID literal " + s) // literals of this file only
	}
	return stixUUID(b)
}

func (ns stixUUID) v5(name string) stixUUID {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u stixUUID
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func (u stixUUID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

var (
	// stixSCONamespace is the namespace STIX 2.1 §2.9 fixes for the ids of
	// cyber-observable objects, so that one address is one id everywhere.
	stixSCONamespace = stixMustUUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
	// stixNamespace roots the ids of everything else (UUIDv5 of the URL
	// namespace and the project URL).
	stixNamespace = stixMustUUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8").v5("https://github.com/exhunt/exhunt#stix")
)

// stixJCS writes s as a JSON string the way RFC 8785 (JCS) does, which
// STIX 2.1 §2.9 asks for when it derives observable ids. Invalid UTF-8
// becomes U+FFFD, as encoding/json writes it.
func stixJCS(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// stixLiteral quotes s as a string literal of the STIX patterning language
// (STIX 2.1 §9.2): single quotes, with ' and \ escaped by a backslash.
func stixLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, `'`, `\'`) + "'"
}

// stixAddr reads a client_ip field: an address, possibly the first of a
// proxy chain, possibly with a port. ok is false for anything else.
func stixAddr(v string) (netip.Addr, bool) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.Addr{}, false
	}
	s := strings.TrimSuffix(strings.TrimPrefix(f[0], "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(f[0])
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

var stixCGNAT = netip.MustParsePrefix("100.64.0.0/10")

// stixPublicAddr says whether an address may become an indicator: never a
// private (RFC 1918, RFC 4193), shared (RFC 6598), loopback, link-local,
// multicast or unspecified one, which say nothing outside the victim's
// network (a load balancer, a proxy).
func stixPublicAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() && !stixCGNAT.Contains(a)
}

var stixSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// stixSet keeps first-seen order, so that descriptions are stable.
type stixSet struct {
	list []string
	seen map[string]bool
}

func (s *stixSet) add(v string) {
	if v == "" || s.seen[v] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
	s.list = append(s.list, v)
}

// stixSpan is a time window grown by the times it is given.
type stixSpan struct{ first, last time.Time }

func (s *stixSpan) add(t time.Time) {
	if t.IsZero() {
		return
	}
	t = t.UTC()
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if s.last.IsZero() || t.After(s.last) {
		s.last = t
	}
}

// stixObs is one observable (an address or a file hash) on one host,
// gathered from the findings that name it.
type stixObs struct {
	host       string
	value      string // address or SHA-256
	addr       netip.Addr
	when       stixSpan
	count      int
	mtime      time.Time
	size       int64
	titles     stixSet // "title (ID, severity)"
	techniques stixSet
	phases     map[finding.Stage]bool
	cves       stixSet
	names      stixSet // file base names
	paths      stixSet
	requests   stixSet // "method\x00uri"
	agents     stixSet
	seen       map[string]bool // finding fingerprints already counted
	// fromFindings is set when a finding named the value; the timeline
	// then adds nothing (its entries fold the same findings).
	fromFindings bool
}

func (o *stixObs) addFinding(f finding.Finding) {
	o.fromFindings = true
	if fp := f.Fingerprint(); !o.seen[fp] {
		o.seen[fp] = true
		o.count++
	}
	o.when.add(f.Time)
	o.titles.add(fmt.Sprintf("%s (%s, %s)", f.Title, f.ID, f.Severity))
	for _, t := range f.Techniques {
		o.techniques.add(t)
	}
	for _, c := range f.CVEs {
		o.cves.add(c)
	}
	o.phases[f.Stage] = true
}

type stixBuilder struct {
	doc     *finding.Document
	ns      stixUUID
	stamp   *stix2.Timestamp // created and modified of every SDO and SRO
	hunt    stixSpan         // the hunt's own window, for what has no time
	marking []stix2.Identifier
	author  stix2.Identifier

	ips   map[string]*stixObs // host \x00 address
	files map[string]*stixObs // host \x00 sha256
}

func (b *stixBuilder) id(typ stix2.STIXType, parts ...string) stix2.Identifier {
	return stix2.Identifier(string(typ) + "--" + b.ns.v5(string(typ)+"\x00"+strings.Join(parts, "\x00")).String())
}

func stixSCOID(typ stix2.STIXType, contributing string) stix2.Identifier {
	return stix2.Identifier(string(typ) + "--" + stixSCONamespace.v5(contributing).String())
}

func (b *stixBuilder) sdo(typ stix2.STIXType, id stix2.Identifier) stix2.STIXDomainObject {
	return stix2.STIXDomainObject{Type: typ, ID: id, SpecVersion: stix2.SpecVersion21, CreatedBy: b.author,
		Created: b.stamp, Modified: b.stamp, ObjectMarking: b.marking}
}

func (b *stixBuilder) sro(typ stix2.STIXType, id stix2.Identifier) stix2.STIXRelationshipObject {
	return stix2.STIXRelationshipObject{Type: typ, ID: id, SpecVersion: stix2.SpecVersion21, CreatedBy: b.author,
		Created: b.stamp, Modified: b.stamp, ObjectMarking: b.marking}
}

func (b *stixBuilder) sco(typ stix2.STIXType, id stix2.Identifier) stix2.STIXCyberObservableObject {
	return stix2.STIXCyberObservableObject{Type: typ, ID: id, SpecVersion: stix2.SpecVersion21, ObjectMarking: b.marking}
}

func stixTS(t time.Time) *stix2.Timestamp { return &stix2.Timestamp{Time: t.UTC()} }

// window is o's time stixSpan, or the hunt's when no finding had a time
// (a file found on disk was observed while the hunt ran).
func (b *stixBuilder) window(o *stixObs) stixSpan {
	if o.when.first.IsZero() {
		return b.hunt
	}
	return o.when
}

// stixQualifies picks the findings whose addresses are attacker addresses:
// medium severity or worse, or exploitation that got somewhere. Scanning
// and the low-severity background of failed mass exploitation (every
// exposed server saw it from March 2021) are reported by the other
// formats but not shared as indicators: a CERT would drown in them.
func stixQualifies(stage finding.Stage, sev finding.Severity) bool {
	return stage >= finding.StageExploit || sev >= finding.Medium
}

func (b *stixBuilder) observe(m map[string]*stixObs, host, value string) *stixObs {
	k := host + "\x00" + value
	o := m[k]
	if o == nil {
		o = &stixObs{host: host, value: value, phases: map[finding.Stage]bool{}, seen: map[string]bool{}}
		m[k] = o
	}
	return o
}

func (b *stixBuilder) gather() {
	for _, f := range b.doc.Findings {
		ev := f.Evidence
		if stixQualifies(f.Stage, f.Severity) {
			if a, ok := stixAddr(ev.Fields["client_ip"]); ok {
				o := b.observe(b.ips, f.Host, a.String())
				o.addr = a
				o.addFinding(f)
				if m, u := strings.ToLower(ev.Fields["method"]), ev.Fields["uri"]; m != "" && u != "" {
					o.requests.add(m + "\x00" + u)
				}
				o.agents.add(ev.Fields["user_agent"])
			}
		}
		// Files from the write stage on are the attacker's (web shells,
		// dumps, archives, tools); a file found at an earlier stage is
		// the victim's record of the attack (a crash report), whose hash
		// means nothing elsewhere.
		sum := strings.ToLower(ev.SHA256)
		if f.Severity >= finding.Medium && f.Stage >= finding.StageWrite && stixSHA256.MatchString(sum) {
			o := b.observe(b.files, f.Host, sum)
			o.addFinding(f)
			o.paths.add(ev.Path)
			// One file matched by three rules is one stixObs; the
			// same file in two folders is two.
			o.count = len(o.paths.list)
			o.names.add(path.Base(ev.Path))
			if ev.Size > 0 {
				o.size = ev.Size
			}
			if !ev.ModTime.IsZero() && (o.mtime.IsZero() || ev.ModTime.Before(o.mtime)) {
				o.mtime = ev.ModTime.UTC()
			}
		}
	}
	// The verdict timeline adds the addresses no qualifying finding named
	// (its entries fold findings, so an address named by both is counted
	// once, from the findings).
	for _, h := range b.doc.Hosts {
		if h.Verdict == nil {
			continue
		}
		for _, e := range h.Verdict.Timeline {
			if e.Background || !stixQualifies(e.Stage, e.Severity) {
				continue
			}
			for _, ip := range e.SourceIPs {
				a, ok := stixAddr(ip)
				if !ok {
					continue
				}
				if o := b.ips[h.Host+"\x00"+a.String()]; o != nil && o.fromFindings {
					continue
				}
				o := b.observe(b.ips, h.Host, a.String())
				o.addr = a
				o.count += max(e.Count, 1)
				o.when.add(e.Time)
				o.when.add(e.End)
				o.titles.add(fmt.Sprintf("%s (timeline: %s, %s)", e.Title, e.Step, e.Severity))
				for _, t := range e.Techniques {
					o.techniques.add(t)
				}
				o.phases[e.Stage] = true
				if len(e.SourceIPs) == 1 {
					for _, ua := range e.UserAgents {
						o.agents.add(ua)
					}
				}
			}
		}
	}
}

// stixSortedObs orders observations by first time, then host and value.
func stixSortedObs(m map[string]*stixObs) []*stixObs {
	out := make([]*stixObs, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.when.first.Equal(b.when.first) {
			if a.when.first.IsZero() || b.when.first.IsZero() {
				return !a.when.first.IsZero()
			}
			return a.when.first.Before(b.when.first)
		}
		if a.host != b.host {
			return a.host < b.host
		}
		return a.value < b.value
	})
	return out
}

// stixIndicatorAgg is one indicator: one value over every host that saw it.
type stixIndicatorAgg struct {
	obj   *stix2.Indicator
	obs   []*stixObs
	techs stixSet
}

func stixBundle(doc *finding.Document) (*stix2.Bundle, error) {
	b := &stixBuilder{doc: doc, ips: map[string]*stixObs{}, files: map[string]*stixObs{}}
	b.hunt.add(doc.Started)
	b.hunt.add(doc.Finished)
	if b.hunt.first.IsZero() {
		b.hunt.add(time.Unix(0, 0))
	}
	b.stamp = stixTS(b.hunt.last)
	// The run's own namespace: two hunts never share an SDO id, so a
	// consumer never takes one hunt's objects for versions of another's.
	b.ns = stixNamespace.v5(strings.Join(append([]string{doc.Tool.Name, doc.Tool.Version,
		doc.Started.UTC().Format(time.RFC3339Nano), doc.Finished.UTC().Format(time.RFC3339Nano)}, doc.Roots...), "\x00"))

	markID, markJSON, err := stixMarking(doc.TLP)
	if err != nil {
		return nil, err
	}
	if markID != "" {
		b.marking = []stix2.Identifier{markID}
	}

	var (
		identities, patterns, indicators, rels []stix2.STIXObject
		scos, observed, notes, sightings       []stix2.STIXObject
		scoSeen                                = map[stix2.Identifier]bool{}
	)
	addSCO := func(o stix2.STIXObject) {
		if !scoSeen[o.GetID()] {
			scoSeen[o.GetID()] = true
			scos = append(scos, o)
		}
	}

	// Identities: exhunt, then one per host (the place of the sightings).
	b.author = b.id(stix2.TypeIdentity, "exhunt")
	me := &stix2.Identity{STIXDomainObject: b.sdo(stix2.TypeIdentity, b.author), Name: "exhunt",
		Class: stix2.IdentityClassSystem, Description: "exhunt " + doc.Tool.Version + ", a hunter for ProxyLogon-family compromise of Exchange servers"}
	me.CreatedBy = ""
	identities = append(identities, me)
	hosts := map[string]stix2.Identifier{}
	var hostOrder []string
	addHost := func(h string) {
		if _, ok := hosts[h]; ok {
			return
		}
		name := h
		if name == "" {
			name = "unknown host"
		}
		id := b.id(stix2.TypeIdentity, "host", h)
		hosts[h] = id
		hostOrder = append(hostOrder, h)
		identities = append(identities, &stix2.Identity{STIXDomainObject: b.sdo(stix2.TypeIdentity, id), Name: name,
			Class: stix2.IdentityClassSystem, Description: "Exchange server whose evidence exhunt hunted"})
	}
	for _, h := range doc.Hosts {
		addHost(h.Host)
	}
	for _, f := range doc.Findings {
		addHost(f.Host)
	}

	// Attack patterns for every technique named anywhere.
	var techSet stixSet
	for _, f := range doc.Findings {
		for _, t := range f.Techniques {
			techSet.add(t)
		}
	}
	for _, h := range doc.Hosts {
		if h.Verdict != nil {
			for _, e := range h.Verdict.Timeline {
				for _, t := range e.Techniques {
					techSet.add(t)
				}
			}
		}
	}
	techs := append([]string(nil), techSet.list...)
	sort.Strings(techs)
	apID := map[string]stix2.Identifier{}
	for _, t := range techs {
		if !stixTechnique.MatchString(t) {
			continue
		}
		id := b.id(stix2.TypeAttackPattern, t)
		apID[t] = id
		ap := &stix2.AttackPattern{STIXDomainObject: b.sdo(stix2.TypeAttackPattern, id), Name: t}
		if n, ok := stixAttackNames[t]; ok {
			ap.Name = n.name
			for _, tac := range strings.Fields(n.tactics) {
				ap.KillChainPhase = append(ap.KillChainPhase, &stix2.KillChainPhase{Name: "mitre-attack", Phase: tac})
			}
		}
		ap.ExternalReferences = []*stix2.ExternalReference{{Name: "mitre-attack", ExternalID: t, URL: stixAttackURL(t)}}
		patterns = append(patterns, ap)
	}

	b.gather()

	// Observables, observed data and, for public addresses and file
	// hashes, indicators and sightings.
	aggs := map[string]*stixIndicatorAgg{}
	var aggOrder []string
	indicate := func(key string, o *stixObs) *stixIndicatorAgg {
		a := aggs[key]
		if a == nil {
			a = &stixIndicatorAgg{}
			aggs[key] = a
			aggOrder = append(aggOrder, key)
		}
		a.obs = append(a.obs, o)
		for _, t := range o.techniques.list {
			a.techs.add(t)
		}
		return a
	}
	odID := map[*stixObs]stix2.Identifier{}

	for _, o := range stixSortedObs(b.ips) {
		typ, scoVal := stix2.TypeIPv4Addr, o.value
		if o.addr.Is6() {
			typ = stix2.TypeIPv6Addr
		}
		ipID := stixSCOID(typ, `{"value":`+stixJCS(scoVal)+`}`)
		if typ == stix2.TypeIPv4Addr {
			addSCO(&stix2.IPv4Address{STIXCyberObservableObject: b.sco(typ, ipID), Value: scoVal})
		} else {
			addSCO(&stix2.IPv6Address{STIXCyberObservableObject: b.sco(typ, ipID), Value: scoVal})
		}
		refs := []stix2.Identifier{ipID}
		for i, r := range o.requests.list {
			if i == stixMaxRequests {
				break
			}
			method, uri, _ := strings.Cut(r, "\x00")
			ext := &stix2.HTTPRequestExtension{Method: method, Value: uri}
			id := stixSCOID(stix2.TypeNetworkTraffic, `{"extensions":{"http-request-ext":{"request_method":`+stixJCS(method)+
				`,"request_value":`+stixJCS(uri)+`}},"protocols":["tcp","http"],"src_ref":`+stixJCS(string(ipID))+`}`)
			nt := &stix2.NetworkTraffic{STIXCyberObservableObject: b.sco(stix2.TypeNetworkTraffic, id), Src: ipID, Protocols: []string{"tcp", "http"}}
			nt.Extensions = stix2.Extensions{stix2.ExtHTTPRequest: ext}
			addSCO(nt)
			refs = append(refs, id)
		}
		w := b.window(o)
		od := &stix2.ObservedData{STIXDomainObject: b.sdo(stix2.TypeObservedData, b.id(stix2.TypeObservedData, o.host, string(ipID))),
			FirstObserved: stixTS(w.first), LastObserved: stixTS(w.last), NumberObserved: int64(max(o.count, 1)), ObjectRefs: refs}
		odID[o] = od.ID
		observed = append(observed, od)
		if len(o.agents.list) > 0 {
			// STIX has no user-agent object; the http-request-ext header
			// could carry one, but only with the request line, which not
			// every finding has, so the agents go into a note.
			agents := o.agents.list
			if len(agents) > stixMaxAgents {
				agents = agents[:stixMaxAgents]
			}
			n := &stix2.Note{STIXDomainObject: b.sdo(stix2.TypeNote, b.id(stix2.TypeNote, "user-agents", o.host, string(ipID))),
				Abstract: fmt.Sprintf("User agents of %s on %s", o.value, stixHostName(o.host)),
				Content:  fmt.Sprintf("HTTP user agents seen from %s on %s (%d):\n%s", o.value, stixHostName(o.host), len(o.agents.list), strings.Join(agents, "\n")),
				Objects:  []stix2.Identifier{od.ID}}
			notes = append(notes, n)
		}
		if stixPublicAddr(o.addr) {
			indicate(string(typ)+"\x00"+o.value, o)
		}
	}
	for _, o := range stixSortedObs(b.files) {
		var refs []stix2.Identifier
		for _, name := range o.names.list {
			id := stixSCOID(stix2.TypeFile, `{"hashes":{"SHA-256":`+stixJCS(o.value)+`},"name":`+stixJCS(name)+`}`)
			f := &stix2.File{STIXCyberObservableObject: b.sco(stix2.TypeFile, id), Hashes: stix2.Hashes{stix2.SHA256: o.value}, Name: name, Size: o.size}
			if !o.mtime.IsZero() {
				f.Mtime = stixTS(o.mtime)
			}
			addSCO(f)
			refs = append(refs, id)
		}
		w := b.window(o)
		od := &stix2.ObservedData{STIXDomainObject: b.sdo(stix2.TypeObservedData, b.id(stix2.TypeObservedData, o.host, "file", o.value)),
			FirstObserved: stixTS(w.first), LastObserved: stixTS(w.last), NumberObserved: int64(max(o.count, 1)), ObjectRefs: refs}
		odID[o] = od.ID
		observed = append(observed, od)
		indicate("file\x00"+o.value, o)
	}

	for _, key := range aggOrder {
		a := aggs[key]
		kind, value, _ := strings.Cut(key, "\x00")
		var valid stixSpan
		var titles, cves stixSet
		phases := map[finding.Stage]bool{}
		for _, o := range a.obs {
			valid.add(o.when.first)
			valid.add(o.mtime)
			for _, t := range o.titles.list {
				titles.add(t + " on " + stixHostName(o.host))
			}
			for _, c := range o.cves.list {
				cves.add(c)
			}
			for s := range o.phases {
				phases[s] = true
			}
		}
		if valid.first.IsZero() {
			valid = b.hunt
		}
		var pattern, name, desc string
		switch kind {
		case "file":
			var names, paths stixSet
			for _, o := range a.obs {
				for _, n := range o.names.list {
					names.add(n)
				}
				for _, p := range o.paths.list {
					paths.add(stixHostName(o.host) + ": " + p)
				}
			}
			pattern = "[file:hashes." + stixLiteral("SHA-256") + " = " + stixLiteral(value) + "]"
			name = "File from the attack: " + strings.Join(stixCap(names.list, 3), ", ")
			desc = "Found by:\n" + strings.Join(stixCap(titles.list, stixMaxLines), "\n") +
				"\nWhere:\n" + strings.Join(stixCap(paths.list, stixMaxLines), "\n")
		default:
			pattern = "[" + kind + ":value = " + stixLiteral(value) + "]"
			name = "Attacker address " + value
			desc = "Seen in:\n" + strings.Join(stixCap(titles.list, stixMaxLines), "\n")
		}
		ind := &stix2.Indicator{STIXDomainObject: b.sdo(stix2.TypeIndicator, b.id(stix2.TypeIndicator, key)),
			Name: name, Description: desc, Types: []string{stix2.IndicatorTypeMaliciousActivity},
			Pattern: pattern, PatternType: stix2.PatternTypeSTIX, PatternVersion: stix2.SpecVersion21, ValidFrom: stixTS(valid.first)}
		for _, s := range finding.Stages() {
			if tac := stixStageTactic[s]; phases[s] && tac != "" && !stixHasPhase(ind.KillChainPhase, tac) {
				ind.KillChainPhase = append(ind.KillChainPhase, &stix2.KillChainPhase{Name: "mitre-attack", Phase: tac})
			}
		}
		for _, c := range cves.list {
			if strings.HasPrefix(c, "CVE-") {
				ind.ExternalReferences = append(ind.ExternalReferences, &stix2.ExternalReference{Name: "cve", ExternalID: c})
			}
		}
		a.obj = ind
		indicators = append(indicators, ind)
		for _, t := range a.techs.list {
			if ap, ok := apID[t]; ok {
				rels = append(rels, &stix2.Relationship{STIXRelationshipObject: b.sro(stix2.TypeRelationship, b.id(stix2.TypeRelationship, "indicates", string(ind.ID), string(ap))),
					RelationshipType: stix2.RelationshipTypeIndicates, Source: ind.ID, Target: ap})
			}
		}
		for _, o := range a.obs {
			w := b.window(o)
			sightings = append(sightings, &stix2.Sighting{STIXRelationshipObject: b.sro(stix2.TypeSighting, b.id(stix2.TypeSighting, string(ind.ID), o.host)),
				SightingOf: ind.ID, ObservedData: []stix2.Identifier{odID[o]}, WhereSighted: []stix2.Identifier{hosts[o.host]},
				Count: int64(min(max(o.count, 1), 999999999)), FirstSeen: stixTS(w.first), LastSeen: stixTS(w.last)})
		}
	}

	// The report: refers to everything, says the verdicts in words.
	var all []stix2.STIXObject
	for _, g := range [][]stix2.STIXObject{identities, patterns, indicators, rels, scos, observed, notes, sightings} {
		all = append(all, g...)
	}
	refs := make([]stix2.Identifier, 0, len(all))
	for _, o := range all {
		refs = append(refs, o.GetID())
	}
	types := []string{stix2.ReportTypeThreatReport}
	if len(indicators) > 0 {
		types = append(types, stix2.ReportTypeIndicator)
	}
	if len(observed) > 0 {
		types = append(types, stix2.ReportTypeObservedData)
	}
	if len(patterns) > 0 {
		types = append(types, stix2.ReportTypeAttackPattern)
	}
	rep := &stix2.Report{STIXDomainObject: b.sdo(stix2.TypeReport, b.id(stix2.TypeReport)),
		Name: stixReportName(hostOrder), Description: stixDescription(doc), Types: types,
		Published: b.stamp, Objects: refs}
	all = append(all, rep)

	bundle := &stix2.Bundle{Type: stix2.TypeBundle, ID: b.id(stix2.TypeBundle)}
	if markJSON != nil {
		bundle.Objects = append(bundle.Objects, markJSON)
	}
	for _, o := range all {
		raw, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.GetID(), err)
		}
		bundle.Objects = append(bundle.Objects, raw)
	}
	return bundle, nil
}

func stixHasPhase(ps []*stix2.KillChainPhase, tac string) bool {
	for _, p := range ps {
		if p.Phase == tac {
			return true
		}
	}
	return false
}

func stixHostName(h string) string {
	if h == "" {
		return "unknown host"
	}
	return h
}

// stixCap cuts a list to n items and says how many more there were.
func stixCap(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(append([]string(nil), l[:n]...), fmt.Sprintf("… and %d more", len(l)-n))
}

func stixReportName(hosts []string) string {
	if len(hosts) == 0 {
		return "exhunt: Exchange compromise hunt (no host in the evidence)"
	}
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = stixHostName(h)
	}
	return "exhunt: Exchange compromise hunt of " + strings.Join(stixCap(names, 3), ", ")
}

// stixDescription states each host's verdict in words: state,
// likelihood, summary, the limits of the evidence, and the tradecraft
// overlap with its caveat (never attribution).
func stixDescription(doc *finding.Document) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s hunted the evidence of %d host(s) for ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF and ProxyToken; %d finding(s).",
		doc.Tool.Name, doc.Tool.Version, len(doc.Hosts), len(doc.Findings))
	for _, h := range doc.Hosts {
		fmt.Fprintf(&b, "\n\n%s: ", stixHostName(h.Host))
		v := h.Verdict
		switch {
		case v == nil && h.Findings == 0:
			b.WriteString("not assessed; no finding.")
			continue
		case v == nil:
			fmt.Fprintf(&b, "not assessed; %d finding(s), the worst stage the evidence shows is %q (%s).", h.Findings, h.WorstStage.Title(), h.WorstSeverity)
			continue
		}
		fmt.Fprintf(&b, "%s; likelihood of compromise: %s (%d %%). %s", v.State, v.Likelihood, v.Score, v.Summary)
		if len(v.Warnings) > 0 {
			b.WriteString("\nLimits of the evidence:")
			for _, w := range v.Warnings {
				fmt.Fprintf(&b, "\n- %s", w)
			}
		}
		if t := v.Tradecraft; t != nil {
			fmt.Fprintf(&b, "\nTradecraft: overlap with published %s tradecraft: %s (%d %%). %s", t.Actor, t.Likelihood, t.Score, t.Caveat)
		}
	}
	return b.String()
}
