// Package files finds compromise evidence in files: web shells, dropped
// tools, credential dumps, rogue IIS configuration and crash reports.
//
// An Engine holds what a run checks files against, compiled once: hash
// indicators (the embedded list of detections.md 4.1 plus --ioc files), a
// known-good list, YARA rules (the embedded pack plus --yara folders) and
// the hand-written heuristics (Detector values, listed in
// detect/files/heuristic). Each worker scans with its own Scanner: one
// streaming pass hashes the whole file (MD5, SHA-1, SHA-256) and keeps a
// bounded head and tail for the content checks; YARA reads at most
// Config.YaraMaxScan bytes.
package files

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// Source is the Evidence.Source of every file finding.
const Source = "file"

// Hashes are a file's digests, lower-case hex.
type Hashes struct {
	MD5, SHA1, SHA256 string
}

// Target is one file as a heuristic sees it.
type Target struct {
	Path  string // evidence path, forward slashes
	Name  string // base name
	Place string // where it sits (evidence.Place): aspnet_client, owa_auth, ...
	Size  int64
	// Head is the first HeadSize bytes (the whole file when it is smaller);
	// Tail the last TailSize bytes of a file larger than its head (else nil).
	Head, Tail []byte
	// At reads anywhere in the file; nil when the file cannot be read at
	// random (a zip entry larger than its head): Head and Tail are all
	// there is.
	At     io.ReaderAt
	Hashes Hashes
}

// Ext returns the lower-case extension of the name, with its dot.
func (t *Target) Ext() string {
	if i := strings.LastIndexByte(t.Name, '.'); i >= 0 {
		return strings.ToLower(t.Name[i:])
	}
	return ""
}

// Hit is what a heuristic returns for one file.
type Hit struct {
	// Severity, when above Info, replaces the advisory's for this hit (a
	// page that also looks like code execution is worse than a stray one).
	Severity finding.Severity
	Time     time.Time // when the evidence says it happened (a crash report's event time); zero if unknown
	// Offset into Head where the evidence starts, for the excerpt; -1
	// means the file's first line. Excerpt, when set, is used as is.
	Offset  int
	Excerpt string
	Fields  map[string]string
}

// Detector is one hand-written file heuristic: a value carrying its
// metadata, the places it looks at, a match function and its own samples.
type Detector struct {
	finding.Advisory
	// Places limits the detector to files in these places; empty: any.
	Places []string
	// Match decides; it must not retain t or its buffers, and must not
	// read more than it needs through t.At.
	Match   func(t *Target) (Hit, bool)
	Samples []Sample
}

// Sample is one test case of a heuristic: a file (path, place, bytes) and
// whether the detector must fire on it.
type Sample struct {
	Path  string
	Place string
	Data  []byte
	Match bool
	Note  string
}

// Validate checks the static parts of a detector.
func (d *Detector) Validate() error {
	errs := d.Advisory.Problems()
	if !strings.HasPrefix(d.ID, "EXH-FILE-") {
		errs = append(errs, "id must be EXH-FILE-NN")
	}
	if d.Match == nil {
		errs = append(errs, "no match function")
	}
	if len(d.References) == 0 {
		errs = append(errs, "no reference")
	}
	var pos, neg bool
	for _, s := range d.Samples {
		if s.Match {
			pos = true
		} else {
			neg = true
		}
	}
	if !pos || !neg {
		errs = append(errs, "needs at least one positive and one negative sample")
	}
	if len(errs) > 0 {
		return fmt.Errorf("detector %s: %s", d.ID, strings.Join(errs, "; "))
	}
	return nil
}

// Wants reports whether the detector looks at files in place p.
func (d *Detector) Wants(p string) bool {
	if len(d.Places) == 0 {
		return true
	}
	for _, x := range d.Places {
		if x == p {
			return true
		}
	}
	return false
}

// ErrSkipped marks a file that was deliberately not checked (one of the
// loaded rule files); Scan returns it wrapped with the reason.
var ErrSkipped = errors.New("file not checked")
