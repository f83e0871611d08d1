package files

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/detect/yara"
	"github.com/exhunt/exhunt/finding"
)

// Content bounds.
const (
	DefaultHeadSize    = 1 << 20  // bytes of a file the heuristics and excerpts see from its start
	DefaultTailSize    = 64 << 10 // bytes they see from its end
	DefaultYaraMaxScan = 64 << 20 // bytes YARA reads from one file
	chunkSize          = 256 << 10
)

// Config sets up an Engine. The zero value checks nothing.
type Config struct {
	Detectors []*Detector // heuristics (detect/files/heuristic.All)
	Yara      *YaraRules  // nil: no YARA
	IOCs      *IOCSet     // hash indicators; nil: none
	KnownGood *IOCSet     // files that get no finding at all; nil: none

	HeadSize, TailSize int   // defaults above
	YaraMaxScan        int64 // default above
}

// Engine is the compiled, immutable file-checking part of a run. It is
// safe for concurrent use; each goroutine scans with its own Scanner.
type Engine struct {
	cfg Config
}

// IOCAdvisory is the advisory of a hash indicator hit.
func IOCAdvisory(sev finding.Severity) finding.Advisory {
	return finding.Advisory{
		ID:          "EXH-FILE-00",
		Title:       "File matches a known-bad hash",
		Description: "The file's MD5, SHA-1 or SHA-256 is on a hash indicator list (the embedded Exchange web shell and tool list, or a --ioc file): the same bytes were seen in an intrusion.",
		Severity:    sev,
		Stage:       finding.StageWrite,
		Techniques:  []string{"T1505.003"},
		References:  []string{"https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"},
	}
}

// NewEngine validates the heuristics and returns an engine.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.HeadSize <= 0 {
		cfg.HeadSize = DefaultHeadSize
	}
	if cfg.TailSize <= 0 {
		cfg.TailSize = DefaultTailSize
	}
	if cfg.YaraMaxScan <= 0 {
		cfg.YaraMaxScan = DefaultYaraMaxScan
	}
	seen := map[string]bool{}
	var errs []error
	for _, d := range cfg.Detectors {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[d.ID] {
			errs = append(errs, fmt.Errorf("detector %s: duplicate id", d.ID))
		}
		seen[d.ID] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Engine{cfg: cfg}, nil
}

// Detectors returns the engine's heuristics.
func (e *Engine) Detectors() []*Detector { return e.cfg.Detectors }

// Yara returns the engine's YARA rules (nil when none).
func (e *Engine) Yara() *YaraRules { return e.cfg.Yara }

// File is one file to scan.
type File struct {
	Path    string // evidence path, forward slashes
	Host    string
	Place   string
	Size    int64 // as the walk saw it
	ModTime time.Time
	Open    func() (io.ReadCloser, error)
}

// Scanner scans files one at a time with reused buffers. It is not safe
// for concurrent use.
type Scanner struct {
	e      *Engine
	yara   *yara.Scanner
	md5    hash.Hash
	sha1   hash.Hash
	sha256 hash.Hash
	chunk  []byte
	head   []byte
	ring   []byte
	buf    []byte // YARA input for files that cannot be read at random
}

// NewScanner returns a scanner over the engine.
func (e *Engine) NewScanner() *Scanner {
	s := &Scanner{e: e, md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), chunk: make([]byte, chunkSize)}
	if e.cfg.Yara != nil {
		s.yara = e.cfg.Yara.Rules.NewScanner()
		s.yara.MaxScanSize = e.cfg.YaraMaxScan
	}
	return s
}

// Stat is what one scan read.
type Stat struct {
	Bytes  int64 // bytes hashed (the whole file)
	Hashes Hashes
}

// Scan reads f once to its end (hashes, head and tail), then checks it:
// hash indicators, the known-good list, the heuristics for its place and
// YARA. Findings go to emit as they are made. A file that is one of the
// loaded rule files is not checked (ErrSkipped). Errors are per file: the
// findings emitted before one stand.
func (s *Scanner) Scan(ctx context.Context, f File, emit func(finding.Finding)) (st Stat, err error) {
	rc, err := f.Open()
	if err != nil {
		return st, err
	}
	defer rc.Close()
	n, err := s.read(ctx, rc)
	st.Bytes = n
	if err != nil {
		return st, err
	}
	st.Hashes = Hashes{MD5: hex.EncodeToString(s.md5.Sum(nil)), SHA1: hex.EncodeToString(s.sha1.Sum(nil)), SHA256: hex.EncodeToString(s.sha256.Sum(nil))}
	if s.e.cfg.Yara.IsRuleSource(st.Hashes.SHA256) {
		return st, fmt.Errorf("%w: it is one of the loaded YARA rule files", ErrSkipped)
	}
	t := &Target{Path: f.Path, Name: path.Base(f.Path), Place: f.Place, Size: n, Head: s.head, Tail: s.tail(n), Hashes: st.Hashes}
	if ra, ok := rc.(io.ReaderAt); ok {
		t.At = ra
	} else if n <= int64(len(s.head)) {
		t.At = bytes.NewReader(s.head)
	}
	out := func(a finding.Advisory, h Hit) {
		emit(s.finding(f, t, a, h))
	}

	if ioc, ok := s.e.cfg.IOCs.Lookup(st.Hashes); ok {
		out(IOCAdvisory(ioc.Severity), Hit{Offset: -1, Fields: map[string]string{
			"ioc": ioc.Name, "ioc_source": ioc.Source, "ioc_hash": ioc.Kind + ":" + ioc.Hash, "md5": st.Hashes.MD5, "sha1": st.Hashes.SHA1,
		}})
	}
	if good, ok := s.e.cfg.KnownGood.Lookup(st.Hashes); ok {
		_ = good // a known-good file gets no other finding
		return st, nil
	}

	var errs []error
	for _, d := range s.e.cfg.Detectors {
		if !d.Wants(f.Place) {
			continue
		}
		if h, ok, err := safeMatch(d, t); err != nil {
			errs = append(errs, err)
		} else if ok {
			out(d.Advisory, h)
		}
	}
	if s.yara != nil {
		if err := s.scanYara(f, t, rc, out); err != nil {
			errs = append(errs, err)
		}
	}
	return st, errors.Join(errs...)
}

// read hashes the whole stream and keeps its head and a ring of its tail.
func (s *Scanner) read(ctx context.Context, r io.Reader) (int64, error) {
	s.md5.Reset()
	s.sha1.Reset()
	s.sha256.Reset()
	hs, ts := s.e.cfg.HeadSize, s.e.cfg.TailSize
	if cap(s.head) < hs {
		s.head = make([]byte, 0, hs)
	}
	s.head = s.head[:0]
	if cap(s.ring) < ts {
		s.ring = make([]byte, ts)
	}
	s.ring = s.ring[:ts]
	var n int64
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		k, err := r.Read(s.chunk)
		if k > 0 {
			b := s.chunk[:k]
			s.md5.Write(b)
			s.sha1.Write(b)
			s.sha256.Write(b)
			if len(s.head) < hs {
				s.head = append(s.head, b[:min(k, hs-len(s.head))]...)
			}
			// Ring: byte i of the file lives at i % ts.
			at := n
			if len(b) > ts {
				at += int64(len(b) - ts)
				b = b[len(b)-ts:]
			}
			for len(b) > 0 {
				c := copy(s.ring[at%int64(ts):], b)
				b = b[c:]
				at += int64(c)
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// tail returns the last TailSize bytes of a file of n bytes that is larger
// than its head, in order (nil otherwise).
func (s *Scanner) tail(n int64) []byte {
	if n <= int64(len(s.head)) {
		return nil
	}
	ts := int64(len(s.ring))
	size := min(n, ts)
	out := make([]byte, 0, size)
	start := n - size
	for i := start; i < n; {
		off := i % ts
		end := min(ts, off+(n-i))
		out = append(out, s.ring[off:end]...)
		i += end - off
	}
	return out
}

func safeMatch(d *Detector, t *Target) (h Hit, ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("detector %s crashed (bug, please report): %v\n%s", d.ID, v, debug.Stack())
			ok = false
		}
	}()
	h, ok = d.Match(t)
	return h, ok, nil
}

// scanYara runs the YARA rules over the file: from the head when it holds
// the whole file, through the file's own ReaderAt, or, for a stream that
// cannot be read at random (a zip entry), from a second bounded read.
func (s *Scanner) scanYara(f File, t *Target, rc io.ReadCloser, out func(finding.Advisory, Hit)) error {
	var at io.ReaderAt
	switch {
	case t.Size <= int64(len(s.head)):
		at = bytes.NewReader(s.head)
	case t.At != nil:
		at = t.At
	default:
		r, err := f.Open()
		if err != nil {
			return err
		}
		limit := min(t.Size, s.e.cfg.YaraMaxScan)
		if int64(cap(s.buf)) < limit {
			s.buf = make([]byte, limit)
		}
		k, err := io.ReadFull(r, s.buf[:limit])
		r.Close()
		if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
		at = bytes.NewReader(s.buf[:k])
	}
	ms, err := s.yara.ScanFile(f.Path, at, t.Size, nil)
	if errors.Is(err, yara.ErrTruncated) {
		err = nil // a huge file: its head was scanned, which is the documented bound
	}
	for _, m := range ms {
		a := RuleAdvisory(m.Namespace, m.Rule, m.Tags, m.Meta)
		h := Hit{Offset: -1, Fields: map[string]string{"rule": m.Namespace + ":" + m.Rule}}
		if len(m.Strings) > 0 {
			first := m.Strings[0]
			for _, sm := range m.Strings {
				if sm.Offset < first.Offset {
					first = sm
				}
			}
			if first.Offset < int64(len(s.head)) {
				h.Offset = int(first.Offset)
			}
			h.Fields["strings"] = matchedStrings(m.Strings)
		}
		if why, ok := dataBindingOnly(m.Strings, s.head); ok && a.Severity > finding.Low {
			h.Severity = finding.Low
			h.Fields["demoted"] = why
		}
		out(a, h)
	}
	return err
}

// matchedStrings lists the distinct string ids that matched, with a short
// printable sample of each.
func matchedStrings(ms []yara.StringMatch) string {
	seen := map[string]bool{}
	var parts []string
	for _, m := range ms {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		parts = append(parts, m.ID+"="+printable(m.Data, 40))
	}
	sort.Strings(parts)
	if len(parts) > 8 {
		parts = append(parts[:8], fmt.Sprintf("… %d more", len(parts)-8))
	}
	return strings.Join(parts, " ")
}

// finding joins an advisory and a hit into the output schema.
func (s *Scanner) finding(f File, t *Target, a finding.Advisory, h Hit) finding.Finding {
	if h.Severity > finding.Info {
		a.Severity = h.Severity
	}
	fields := map[string]string{"place": f.Place}
	for k, v := range h.Fields {
		fields[k] = v
	}
	ex := h.Excerpt
	if ex == "" {
		ex = Excerpt(t.Head, h.Offset)
	}
	return finding.Finding{
		Advisory: a,
		Time:     h.Time,
		Host:     f.Host,
		Evidence: finding.Evidence{
			Path:    f.Path,
			Source:  Source,
			SHA256:  t.Hashes.SHA256,
			Size:    t.Size,
			ModTime: f.ModTime,
			Excerpt: ex,
			Fields:  fields,
		},
	}
}
