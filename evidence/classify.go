package evidence

import (
	"bytes"
	"path"
	"strings"

	"github.com/exhunt/exhunt/event"
)

// SniffSize is how much of a file Classify looks at.
const SniffSize = 4 << 10

// Classify returns the family of a file from its relative path and its first
// bytes (head may be nil); Unknown when it is not a log exhunt reads.
//
// Only names with the extension .log, .txt, .csv, .evtx, .json, .jsonl,
// .ndjson or none (any case) are considered. Content wins over the path when
// it is definitive (the "ElfFile" magic of an event log, a JSON export of
// Windows events, a "#Log-type:" or IIS "#Software:" header, a known
// "#Fields:" line, a header-less HttpProxy row); otherwise the path decides,
// so a file in a log folder whose content is garbage is still classified
// and the parser reports it. A .evtx name is an event log whatever its
// content; a .json file that is not an export of Windows events is not
// evidence.
func Classify(relPath string, head []byte) event.Source {
	if !candidateName(relPath) {
		return event.Unknown
	}
	return classify(relPath, head)
}

// classify is Classify without the extension gate (a single file the user
// named explicitly is sniffed whatever its name).
func classify(p string, head []byte) event.Source {
	p = strings.ReplaceAll(p, `\`, "/")
	if s, definitive := sniffEventLog(head, path.Base(p)); definitive {
		return s
	}
	if s, definitive := sniff(head, path.Base(p)); definitive {
		return s
	}
	return byPath(p)
}

// candidateName reports whether a file name has an extension a log may have.
func candidateName(name string) bool {
	name = strings.ReplaceAll(name, `\`, "/")
	switch strings.ToLower(path.Ext(path.Base(name))) {
	case ".log", ".txt", ".csv", "", ".evtx", ".json", ".jsonl", ".ndjson":
		return true
	}
	return false
}

// evtxMagic starts every Windows XML Event Log file.
var evtxMagic = []byte("ElfFile\x00")

// sniffEventLog recognises Windows event logs: .evtx files by their magic
// (renamed copies too) or their name, and JSON exports of Windows events by
// their keys. definitive is false when the file is neither and the other
// rules decide.
func sniffEventLog(head []byte, base string) (s event.Source, definitive bool) {
	if bytes.HasPrefix(head, evtxMagic) {
		return event.EVTX, true
	}
	ext := strings.ToLower(path.Ext(base))
	if ext == ".evtx" {
		return event.EVTX, true
	}
	if winJSON(head) {
		return event.WinJSON, true
	}
	switch ext {
	case ".json", ".jsonl", ".ndjson":
		return event.Unknown, true
	}
	return event.Unknown, false
}

// winJSONKeys are keys that only Windows event exports have together with
// a JSON start: Winlogbeat's winlog object (or its agent type), the System
// names of evtx_dump, Velociraptor and NXLog, Get-WinEvent's LogName.
var winJSONKeys = [][]byte{[]byte(`"EventID"`), []byte(`"EventRecordID"`), []byte(`winlog`), []byte(`"event_id"`), []byte(`"LogName"`)}

// winJSON reports whether a file's first bytes are JSON (an object or an
// array, in UTF-8 or UTF-16 with a byte-order mark) that names Windows
// event fields.
func winJSON(head []byte) bool {
	if len(head) > SniffSize {
		head = head[:SniffSize]
	}
	v := bytes.TrimLeft(asciiView(head), " \t\r\n")
	if len(v) == 0 || v[0] != '{' && v[0] != '[' {
		return false
	}
	for _, k := range winJSONKeys {
		if bytes.Contains(v, k) {
			return true
		}
	}
	return false
}

// byPath applies the path and file-name rules, case-insensitively.
func byPath(p string) event.Source {
	lp := "/" + strings.ToLower(strings.TrimLeft(p, "/"))
	base := path.Base(lp)
	dir := path.Dir(lp) + "/"
	switch {
	case strings.Contains(dir, "/logging/httpproxy/"):
		return event.HTTPProxy
	case strings.Contains(dir, "/logging/ecp/server/"):
		return event.ECPServer
	case strings.Contains(dir, "/logging/ecp/activity/"):
		return event.ECPActivity
	case strings.Contains(dir, "/logging/oabgeneratorlog/"):
		return event.OABGen
	case strings.Contains(dir, "/logging/cmdletinfra/powershell-proxy/http/"),
		strings.Contains(base, "rps_http"):
		return event.RpsHTTP
	}
	isLog := path.Ext(base) == ".log"
	if isLog && (inW3SVC(dir) || strings.Contains(dir, "/inetpub/logs/logfiles/")) {
		return event.IIS
	}
	// File-name conventions, for loose folders of renamed copies.
	switch {
	case strings.Contains(base, "httpproxy_"):
		return event.HTTPProxy
	case strings.HasPrefix(base, "ecpserver"):
		return event.ECPServer
	case strings.HasPrefix(base, "ecpactivity"):
		return event.ECPActivity
	case strings.HasPrefix(base, "oabgenerator"):
		return event.OABGen
	case isLog && strings.HasPrefix(base, "u_ex") && allDigits(strings.TrimSuffix(base[4:], ".log")):
		return event.IIS
	}
	return event.Unknown
}

// inW3SVC reports whether a lower-cased directory path has a w3svc<digits>
// component.
func inW3SVC(dir string) bool {
	for _, c := range strings.Split(dir, "/") {
		if strings.HasPrefix(c, "w3svc") && allDigits(c[5:]) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// sniff classifies by content. definitive is false when the content does
// not settle the family (no header, binary, an Exchange log type we do not
// know), and the path decides.
func sniff(head []byte, base string) (s event.Source, definitive bool) {
	if len(head) > SniffSize {
		head = head[:SniffSize]
	}
	head = asciiView(head)
	if bytes.IndexByte(head, 0) >= 0 {
		return event.Unknown, false
	}
	var software, logType, version string
	var fields string
	first := true
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimRight(line, "\r")
		if first {
			first = false
			if s, ok := headerlessHTTPProxy(line); ok {
				return s, true
			}
		}
		if len(line) == 0 {
			continue
		}
		if line[0] != '#' {
			break // header block over
		}
		key, val, ok := strings.Cut(string(line[1:]), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "software":
			software = val
		case "log-type":
			logType = val
		case "version":
			version = val
		case "fields":
			if fields == "" {
				fields = val
			}
		}
	}

	if s := event.SourceFromLogType(logType); s != event.Unknown {
		return s, true
	}
	sw := strings.ToLower(software)
	switch {
	case strings.HasPrefix(sw, "microsoft internet information services"):
		return event.IIS, true
	case strings.HasPrefix(sw, "microsoft http api"):
		// HTTPERR: W3C-shaped, but HTTP.sys errors, not IIS access rows.
		return event.Unknown, true
	}
	if fields != "" {
		if s, ok := byFields(fields, base); ok {
			return s, true
		}
		if logType == "" && version == "1.0" && !strings.Contains(fields, ",") {
			return event.IIS, true
		}
	}
	return event.Unknown, false
}

// byFields recognises a family by its column names.
func byFields(fields, base string) (event.Source, bool) {
	if strings.Contains(fields, ",") {
		cols := map[string]bool{}
		for _, c := range strings.Split(fields, ",") {
			cols[strings.ToLower(strings.TrimSpace(c))] = true
		}
		switch {
		case cols["commandname"] && cols["clientinfo"]:
			return event.RpsHTTP, true
		case cols["anchormailbox"] && cols["urlstem"]:
			return event.HTTPProxy, true
		case cols["timestamp"] && cols["eventid"] && cols["eventdata"]:
			if strings.Contains(strings.ToLower(base), "activity") {
				return event.ECPActivity, true
			}
			return event.ECPServer, true
		}
		return event.Unknown, false
	}
	cols := strings.Fields(strings.ToLower(fields))
	if len(cols) >= 2 && cols[0] == "date" && cols[1] == "time" {
		return event.IIS, true
	}
	for _, c := range cols {
		if c == "cs-uri-stem" {
			return event.IIS, true
		}
	}
	return event.Unknown, false
}

// headerlessHTTPProxy recognises a bare HttpProxy data row: an ISO-8601
// time, a GUID, and at least 60 commas (the header was cut off, as in
// copies pasted into tickets).
func headerlessHTTPProxy(line []byte) (event.Source, bool) {
	line = bytes.TrimPrefix(line, bomUTF8)
	t, rest, ok := bytes.Cut(line, []byte{','})
	if !ok || !isISOTime(t) {
		return event.Unknown, false
	}
	g, _, ok := bytes.Cut(rest, []byte{','})
	if !ok || !isGUID(g) {
		return event.Unknown, false
	}
	if bytes.Count(line, []byte{','}) < 60 {
		return event.Unknown, false
	}
	return event.HTTPProxy, true
}

// isISOTime checks the shape 2006-01-02T15:04:05 (fraction and zone free).
func isISOTime(b []byte) bool {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(shape) {
		return false
	}
	for i := 0; i < len(shape); i++ {
		c := b[i]
		switch shape[i] {
		case 'd':
			if c < '0' || c > '9' {
				return false
			}
		case 'T':
			if c != 'T' && c != 't' && c != ' ' {
				return false
			}
		default:
			if c != shape[i] {
				return false
			}
		}
	}
	return true
}

func isGUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// asciiView strips a UTF-8 BOM, and turns UTF-16 text with a BOM into its
// low bytes, which is enough to read ASCII headers.
func asciiView(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, bomUTF8):
		return b[3:]
	case bytes.HasPrefix(b, bomUTF16LE), bytes.HasPrefix(b, bomUTF16BE):
		off := 0
		if b[0] == 0xFE {
			off = 1
		}
		out := make([]byte, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			out = append(out, b[i+off])
		}
		return out
	}
	return b
}
