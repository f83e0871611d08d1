package hunt

import (
	"bytes"
	"encoding/binary"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/evidence"
	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/finding"
)

// Build sightings: the places where the evidence names the Exchange build
// (HostSummary.Builds). The assess stage turns the best of them into the
// host's exposure. Sources:
//
//	httpproxy, rps-http  MajorVersion..RevisionVersion columns of every row (four parts)
//	iis-owa-path         /owa/auth/<a.b.c>/… (2013+) and /owa/<14.x.y.z>/… (2010) request paths
//	owa-folder           FrontEnd/HttpProxy/owa/auth/<a.b.c>/ folders on disk
//	exsetup              the FileVersion of Bin/ExSetup.exe
const (
	SightHTTPProxy = "httpproxy"
	SightRps       = "rps-http"
	SightIISPath   = "iis-owa-path"
	SightFolder    = "owa-folder"
	SightExSetup   = "exsetup"
)

// buildTracker collects the sightings of one log file. It sits on the
// per-line path, so it is cheap: for the CSV logs it remembers the raw
// bytes of the last build's four columns and only splits a row whose raw
// text does not carry them; for IIS it looks for "/owa/" in the raw line
// before it touches any field.
type buildTracker struct {
	src    event.Source
	cols   [4]int // schema positions of the version columns (CSV logs)
	schema *event.Schema
	adj    bool   // the four columns are adjacent: key is usable
	key    []byte // ",15,1,2106,2," of the current sighting
	cur    int    // index of the current sighting, -1 before the first
	out    []finding.BuildSighting
}

func newBuildTracker(src event.Source) *buildTracker {
	switch src {
	case event.HTTPProxy, event.RpsHTTP, event.IIS:
		return &buildTracker{src: src, cur: -1}
	}
	return nil
}

var versionCols = [4]string{"MajorVersion", "MinorVersion", "BuildVersion", "RevisionVersion"}

func (b *buildTracker) observe(ev *event.Event) {
	if b == nil || ev.Schema == nil {
		return
	}
	if b.src == event.IIS {
		b.observeIIS(ev)
		return
	}
	if ev.Schema != b.schema {
		b.schema, b.key = ev.Schema, nil
		b.adj = true
		for i, n := range versionCols {
			j, ok := ev.Schema.Index(n)
			if !ok {
				b.cols[0] = -1
				return
			}
			b.cols[i] = j
			if i > 0 && j != b.cols[i-1]+1 {
				b.adj = false
			}
		}
	}
	if b.cols[0] < 0 {
		return
	}
	if b.key != nil && bytes.Contains(ev.Raw, b.key) {
		b.out[b.cur].Count++
		return
	}
	v := ev.Values()
	var parts [4]string
	for i, c := range b.cols {
		if c >= len(v) {
			return
		}
		parts[i] = v[c]
	}
	s := strings.Join(parts[:], ".")
	bl, err := exchange.ParseBuild(s)
	if err != nil || bl.Major < 8 {
		return
	}
	name := SightHTTPProxy
	if b.src == event.RpsHTTP {
		name = SightRps
	}
	b.add(bl.String(), name, ev)
	if b.adj {
		b.key = []byte("," + strings.Join(parts[:], ",") + ",")
	}
}

// add counts a sighting, starting a new one when the build or source
// changes (rare: an upgrade inside one hourly file).
func (b *buildTracker) add(build, source string, ev *event.Event) {
	t, _ := ev.Time()
	for i := range b.out {
		s := &b.out[i]
		if s.Build == build && s.Source == source {
			s.Count++
			b.cur = i
			if !t.IsZero() {
				if s.First.IsZero() || t.Before(s.First) {
					s.First = t
				}
				if t.After(s.Last) {
					s.Last = t
				}
			}
			return
		}
	}
	b.out = append(b.out, finding.BuildSighting{Build: build, Source: source, Count: 1, First: t, Last: t,
		Evidence: finding.Evidence{Path: ev.Loc.Path, Line: ev.Loc.Line, Source: ev.Source.String(), Excerpt: ev.Excerpt()}})
	b.cur = len(b.out) - 1
}

// observeIIS reads the build from OWA resource paths. Most lines never
// contain "/owa/"; those that do are checked against the URL stem, so a
// query string or referer cannot plant a build.
func (b *buildTracker) observeIIS(ev *event.Event) {
	raw := ev.Raw
	// One scan for the lower-case form browsers request (Exchange's own
	// pages link the resources in lower case); an upper-case /OWA/AUTH/…
	// resource path is not looked for.
	i := bytes.Index(raw, owaMarker)
	if i < 0 {
		return
	}
	rest := raw[i+5:]
	if len(rest) > 5 && (rest[0] == 'a' || rest[0] == 'A') && bytes.EqualFold(rest[:5], []byte("auth/")) {
		rest = rest[5:]
	}
	if len(rest) == 0 || rest[0] < '0' || rest[0] > '9' {
		return
	}
	bl, ok := owaPathBuild(ev.F(event.FStem))
	if !ok {
		return
	}
	b.add(bl.String(), SightIISPath, ev)
	// Later lines of the same file take the slow path again; the per-file
	// count stays exact because add merges by build.
}

var owaMarker = []byte("/owa/")

// owaPathBuild reads /owa/auth/15.1.2106/… (three parts, Exchange
// 2013 and later) or /owa/14.3.123.4/… (Exchange 2010) from a URL stem.
func owaPathBuild(stem string) (exchange.Build, bool) {
	l := strings.ToLower(stem)
	var v string
	switch {
	case strings.HasPrefix(l, "/owa/auth/"):
		v = l[len("/owa/auth/"):]
	case strings.HasPrefix(l, "/owa/"):
		v = l[len("/owa/"):]
	default:
		return exchange.Build{}, false
	}
	j := strings.IndexByte(v, '/')
	if j <= 0 {
		return exchange.Build{}, false
	}
	bl, err := exchange.ParseBuild(v[:j])
	if err != nil || bl.Major < 14 {
		return exchange.Build{}, false
	}
	if bl.Major == 14 && bl.Parts != 4 || bl.Major >= 15 && bl.Parts != 3 {
		return exchange.Build{}, false
	}
	return bl, true
}

// folderBuild reads a version folder from a file path on disk:
// …/FrontEnd/HttpProxy/owa/auth/15.1.2106/….
func folderBuild(p string) (exchange.Build, bool) {
	l := strings.ToLower(p)
	const marker = "/frontend/httpproxy/owa/auth/"
	i := strings.Index(l, marker)
	if i < 0 {
		return exchange.Build{}, false
	}
	v := l[i+len(marker):]
	j := strings.IndexByte(v, '/')
	if j <= 0 {
		return exchange.Build{}, false
	}
	bl, err := exchange.ParseBuild(v[:j])
	if err != nil || bl.Major < 15 || bl.Parts != 3 {
		return exchange.Build{}, false
	}
	return bl, true
}

// isExSetup reports whether a file item is Exchange's Bin/ExSetup.exe.
func isExSetup(p string) bool {
	l := strings.ToLower(p)
	return path.Base(l) == "exsetup.exe" && strings.HasSuffix(path.Dir(l), "/bin")
}

// maxExSetup bounds what is read of ExSetup.exe (the real one is well
// under 1 MB; its version resource is near the end).
const maxExSetup = 8 << 20

// exSetupVersion reads the FileVersion of a PE's VS_VERSIONINFO: the
// UTF-16 key "VS_VERSION_INFO" followed, 32-bit aligned, by the
// VS_FIXEDFILEINFO whose signature is 0xFEEF04BD. Reading the fixed part
// by its key and signature avoids walking the resource directory of a
// possibly hostile file; every offset is bounds-checked.
func exSetupVersion(r io.Reader) (exchange.Build, bool) {
	data, err := io.ReadAll(io.LimitReader(r, maxExSetup))
	if err != nil && len(data) == 0 {
		return exchange.Build{}, false
	}
	key := utf16le("VS_VERSION_INFO")
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], key)
		if i < 0 {
			return exchange.Build{}, false
		}
		p := off + i + len(key) + 2 // key and its NUL
		p = (p + 3) &^ 3
		if p+16 <= len(data) && binary.LittleEndian.Uint32(data[p:]) == 0xFEEF04BD {
			ms := binary.LittleEndian.Uint32(data[p+8:])
			ls := binary.LittleEndian.Uint32(data[p+12:])
			bl := exchange.Build{Major: int(ms >> 16), Minor: int(ms & 0xffff), Build: int(ls >> 16), Rev: int(ls & 0xffff), Parts: 4}
			if bl.Major >= 8 && bl.Major <= 99 {
				return bl, true
			}
		}
		off += i + len(key)
	}
	return exchange.Build{}, false
}

func utf16le(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i], 0)
	}
	return out
}

// sightingOrder puts the sources in a stable order for the report.
var sightingOrder = map[string]int{SightExSetup: 0, SightHTTPProxy: 1, SightRps: 2, SightIISPath: 3, SightFolder: 4}

// mergeBuilds folds the per-file sightings into per-host ones: one per
// build and source, with summed counts, the earliest first and latest
// last time, and the evidence of the earliest file (by path, then line).
func mergeBuilds(in map[string][]finding.BuildSighting) map[string][]finding.BuildSighting {
	out := map[string][]finding.BuildSighting{}
	for host, ss := range in {
		sort.SliceStable(ss, func(i, j int) bool {
			if ss[i].Evidence.Path != ss[j].Evidence.Path {
				return ss[i].Evidence.Path < ss[j].Evidence.Path
			}
			return ss[i].Evidence.Line < ss[j].Evidence.Line
		})
		idx := map[[2]string]int{}
		var m []finding.BuildSighting
		for _, s := range ss {
			k := [2]string{s.Build, s.Source}
			i, ok := idx[k]
			if !ok {
				idx[k] = len(m)
				m = append(m, s)
				continue
			}
			d := &m[i]
			d.Count += s.Count
			if !s.First.IsZero() && (d.First.IsZero() || s.First.Before(d.First)) {
				d.First = s.First
				d.Evidence = s.Evidence
			}
			if s.Last.After(d.Last) {
				d.Last = s.Last
			}
		}
		sort.SliceStable(m, func(i, j int) bool {
			if m[i].Source != m[j].Source {
				return sightingOrder[m[i].Source] < sightingOrder[m[j].Source]
			}
			if !m[i].First.Equal(m[j].First) {
				return m[i].First.Before(m[j].First)
			}
			return buildLess(m[i].Build, m[j].Build)
		})
		out[host] = m
	}
	return out
}

func buildLess(a, b string) bool {
	x, e1 := exchange.ParseBuild(a)
	y, e2 := exchange.ParseBuild(b)
	if e1 != nil || e2 != nil {
		return a < b
	}
	for _, p := range [][2]int{{x.Major, y.Major}, {x.Minor, y.Minor}, {x.Build, y.Build}, {x.Rev, y.Rev}} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	return false
}

// fileSighting is a sighting from a file on disk (a version folder or
// ExSetup.exe): no time of its own but the file's modification time.
func fileSighting(build exchange.Build, source, p, excerpt string, mtime time.Time) finding.BuildSighting {
	return finding.BuildSighting{Build: build.String(), Source: source, Count: 1,
		Evidence: finding.Evidence{Path: p, Source: FilesFamily, ModTime: mtime, Excerpt: excerpt}}
}

// finish gives the sighting current at the end of the file the file's
// last time: rows counted on the fast path carry no time of their own.
func (b *buildTracker) finish(last time.Time) []finding.BuildSighting {
	if b == nil {
		return nil
	}
	if b.cur >= 0 && last.After(b.out[b.cur].Last) {
		b.out[b.cur].Last = last
	}
	return b.out
}

// fileItemBuilds reads the build from a file item: its version folder, or
// the version resource when it is ExSetup.exe. A file that cannot be read
// gives no sighting (the file scan reports read errors).
func fileItemBuilds(it evidence.Item) (out []finding.BuildSighting) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	if bl, ok := folderBuild("/" + it.Path); ok {
		out = append(out, fileSighting(bl, SightFolder, it.Path, "owa/auth/"+bl.String()+"/", it.ModTime))
	}
	if isExSetup("/"+it.Path) && it.Open != nil {
		rc, err := it.Open()
		if err != nil {
			return out
		}
		defer rc.Close()
		if bl, ok := exSetupVersion(rc); ok {
			out = append(out, fileSighting(bl, SightExSetup, it.Path, "ExSetup.exe FileVersion "+bl.String(), it.ModTime))
		}
	}
	return out
}
