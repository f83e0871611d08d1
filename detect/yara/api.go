package yara

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Source is one rule file: Name is its namespace (normally the file name)
// and Data its text.
type Source struct {
	Name string
	Data []byte
}

// Report says what Compile made of each source.
type Report struct {
	Files []FileReport
	// Loaded and Unsupported count rules over all files (private and
	// global rules included).
	Loaded, Unsupported int
}

// FileReport is the outcome for one source.
type FileReport struct {
	Name   string
	SHA256 string // of Data, so the walker can skip rule files
	// Err is set when the file does not parse; none of its rules load.
	Err   string
	Rules []RuleStatus
}

// RuleStatus is the outcome for one rule.
type RuleStatus struct {
	Rule   string
	Loaded bool
	// Reason says why a rule is unsupported; empty when Loaded.
	Reason string
}

// UnsupportedList lists "file: rule: reason" for every rule that did not load,
// and "file: error" for files that did not parse.
func (r Report) UnsupportedList() []string {
	var out []string
	for _, f := range r.Files {
		if f.Err != "" {
			out = append(out, f.Name+": "+f.Err)
		}
		for _, s := range f.Rules {
			if !s.Loaded {
				out = append(out, f.Name+": "+s.Rule+": "+s.Reason)
			}
		}
	}
	return out
}

// Match is one rule that matched.
type Match struct {
	Namespace string
	Rule      string
	Tags      []string
	Meta      map[string]any // string, int64 or bool; first value of a repeated key
	Strings   []StringMatch  // at most MaxReportedMatches per string; private strings omitted
}

// StringMatch is one match of one string.
type StringMatch struct {
	ID     string // "$a"
	Offset int64
	Length int    // full match length
	Data   []byte // the first MaxMatchData bytes of the match
}

// Vars are the external variables of one scan. Compile declares the ones
// signature-base uses (filename, filepath, extension, filetype, owner) as
// strings that default to ""; values may be string, int64, int, bool or
// float64 and must keep the declared type.
type Vars map[string]any

// Limits. MaxStringMatches and MaxMatchData are libyara's
// YR_MAX_STRING_MATCHES and YR_MAX_MATCH_DATA defaults.
const (
	// MaxStringMatches is the most matches one string records in one scan;
	// #s never exceeds it.
	MaxStringMatches = 1000000
	// MaxMatchData bounds StringMatch.Data.
	MaxMatchData = 512
	// MaxReportedMatches bounds how many matches per string a Match lists.
	// Offsets needed by conditions (@s[i], !s[i], "at", "in") are all kept.
	MaxReportedMatches = 1000
	// DefaultMaxScanSize is how much of a file ScanFile reads by default.
	DefaultMaxScanSize = 256 << 20
)

// ErrTruncated is returned (wrapped, with the matches) by ScanFile when the
// file is larger than the scanner's MaxScanSize: only its first MaxScanSize
// bytes were scanned, while filesize still reports the real size.
var ErrTruncated = errors.New("yara: file larger than the maximum scan size; only its head was scanned")

// SourceHashes returns the SHA-256 (hex) of every compiled source, so a
// file walker can skip the rule files themselves: the scanner would
// otherwise match its own rules' strings.
func (r *Rules) SourceHashes() []string {
	out := make([]string, len(r.hashes))
	copy(out, r.hashes)
	return out
}

// IsRuleSource reports whether data is byte-for-byte one of the compiled
// sources.
func (r *Rules) IsRuleSource(data []byte) bool {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	for _, x := range r.hashes {
		if x == h {
			return true
		}
	}
	return false
}
