package files

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// IOC is one hash indicator.
type IOC struct {
	Hash   string // lower-case hex
	Kind   string // md5, sha1 or sha256
	Name   string // what the file is (a shell family, a tool, a comment)
	Source string // where the indicator comes from (a report, a file:line)
	// Severity of a hit; from a score field in the list (LOKI's
	// hash;score;comment), else High.
	Severity finding.Severity
}

// IOCSet indexes hash indicators by value.
type IOCSet struct {
	byHash map[string]IOC
}

// NewIOCSet indexes iocs; for a hash listed twice the first entry wins.
func NewIOCSet(iocs ...[]IOC) *IOCSet {
	s := &IOCSet{byHash: map[string]IOC{}}
	for _, l := range iocs {
		for _, i := range l {
			if _, dup := s.byHash[i.Hash]; !dup {
				s.byHash[i.Hash] = i
			}
		}
	}
	return s
}

// Len is the number of distinct hashes.
func (s *IOCSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byHash)
}

// Lookup returns the indicator any of the file's hashes matches (SHA-256
// first, then SHA-1, then MD5).
func (s *IOCSet) Lookup(h Hashes) (IOC, bool) {
	if s == nil {
		return IOC{}, false
	}
	for _, v := range []string{h.SHA256, h.SHA1, h.MD5} {
		if v == "" {
			continue
		}
		if i, ok := s.byHash[v]; ok {
			return i, true
		}
	}
	return IOC{}, false
}

// MaxIOCLine bounds one line of an indicator file.
const MaxIOCLine = 64 << 10

// hashKind names a hex digest by its length.
func hashKind(h string) string {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	switch len(h) {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	case 64:
		return "sha256"
	}
	return ""
}

// ParseIOCs reads a hash indicator list: one indicator per line, "#"
// starts a comment (a whole line, or after blanks), blank lines are
// skipped. A line is "HASH", "HASH;comment" or LOKI's "HASH;score;comment"
// (signature-base iocs/hash-iocs.txt); MD5, SHA-1 and SHA-256 are told
// apart by length. Only hashes are read: a line that is not one (a file
// name regex, an address) is reported, not guessed at. source names the
// list in the indicators ("file:line" is added).
func ParseIOCs(r io.Reader, source string) ([]IOC, []error) {
	var out []IOC
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxIOCLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if i := commentStart(text); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		hash, rest, _ := strings.Cut(text, ";")
		hash = strings.ToLower(strings.TrimSpace(hash))
		kind := hashKind(hash)
		if kind == "" {
			errs = append(errs, fmt.Errorf("%s:%d: %q is not an MD5, SHA-1 or SHA-256 hash (exhunt reads hash indicators only, not file names, addresses or other indicators)", source, line, clipText(hash, 60)))
			continue
		}
		ioc := IOC{Hash: hash, Kind: kind, Source: fmt.Sprintf("%s:%d", source, line), Severity: finding.High}
		if score, comment, ok := strings.Cut(rest, ";"); ok && isDigits(strings.TrimSpace(score)) {
			n, _ := strconv.Atoi(strings.TrimSpace(score))
			ioc.Severity = SeverityFromScore(int64(n))
			rest = comment
		}
		ioc.Name = strings.TrimSpace(rest)
		out = append(out, ioc)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: %w", source, line+1, err))
	}
	return out, errs
}

// commentStart finds a "#" that starts a comment: at the start of the
// line or after a blank (a "#" inside a description stays).
func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

func isDigits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// LoadIOCs reads the indicator files (each must be a regular file). It
// fails only when a file cannot be read at all; lines it cannot use come
// back as problems, one per line.
func LoadIOCs(paths []string) ([]IOC, []error, error) {
	var all []IOC
	var problems []error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("--ioc %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("--ioc %s: not a regular file (give the indicator list itself)", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("--ioc %s: %w", p, err)
		}
		iocs, errs := ParseIOCs(f, p)
		f.Close()
		all = append(all, iocs...)
		problems = append(problems, errs...)
	}
	return all, problems, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
