package hunt

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/detect/files/heuristic"
	"github.com/exhunt/exhunt/evidence"
	"github.com/exhunt/exhunt/finding"
)

// FilesFamily is the inventory family of scanned files.
const FilesFamily = "files"

// filesTitle names the family in the terminal report.
const filesTitle = "Files scanned (web shells, dumps, tools)"

// FileRules is the file part of a run's rule set: hash indicators (the
// embedded list plus --ioc files), the known-good list, YARA (the embedded
// pack plus --yara folders) and the heuristics, compiled once.
type FileRules struct {
	Engine *files.Engine
	// Problems are the indicator lines and YARA rules that did not load
	// (the run reports them and goes on).
	Problems []finding.FileError
	// IOCs is the number of distinct hash indicators.
	IOCs int
}

// LoadFileRules compiles the file rules. It fails when a path cannot be
// read or the embedded rules do not load; rules and lines it cannot use
// are listed in Problems.
func LoadFileRules(yaraPaths []string, noYaraPack bool, iocPaths []string) (*FileRules, error) {
	y, err := files.LoadYara(yaraPaths, noYaraPack)
	if err != nil {
		return nil, err
	}
	user, problems, err := files.LoadIOCs(iocPaths)
	if err != nil {
		return nil, err
	}
	iocs := files.NewIOCSet(files.Embedded(), user)
	e, err := files.NewEngine(files.Config{
		Detectors: heuristic.All(),
		Yara:      y,
		IOCs:      iocs,
		KnownGood: files.NewIOCSet(files.KnownGood()),
	})
	if err != nil {
		return nil, err
	}
	fr := &FileRules{Engine: e, IOCs: iocs.Len()}
	for _, p := range problems {
		path, msg, _ := strings.Cut(p.Error(), ": ")
		fr.Problems = append(fr.Problems, finding.FileError{Path: path, Message: "indicator not loaded: " + msg})
	}
	for _, f := range y.Report.Files {
		if f.Err != "" {
			fr.Problems = append(fr.Problems, finding.FileError{Path: f.Name, Message: "YARA rule file not loaded: " + f.Err})
		}
		for _, r := range f.Rules {
			if !r.Loaded {
				fr.Problems = append(fr.Problems, finding.FileError{Path: f.Name, Message: "YARA rule not loaded: " + r.Rule + ": " + r.Reason})
			}
		}
	}
	return fr, nil
}

// scannerPool hands each worker goroutine a scanner of its own (scanners
// keep buffers and are not safe for concurrent use).
type scannerPool struct {
	e    *files.Engine
	free chan *files.Scanner
}

func newScannerPool(e *files.Engine, n int) *scannerPool {
	return &scannerPool{e: e, free: make(chan *files.Scanner, n)}
}

func (p *scannerPool) get() *files.Scanner {
	select {
	case s := <-p.free:
		return s
	default:
		return p.e.NewScanner()
	}
}

func (p *scannerPool) put(s *files.Scanner) {
	select {
	case p.free <- s:
	default:
	}
}

// huntFileItem scans one file item; its findings go to the collector like
// log findings. A panic becomes a file error.
func huntFileItem(ctx context.Context, it evidence.Item, pool *scannerPool, out chan<- hit, done *atomic.Int64) (st FileStat, ferr *finding.FileError) {
	st = FileStat{Path: it.Path, Host: it.Host, Family: FilesFamily, Bytes: it.Size}
	defer func() {
		if v := recover(); v != nil {
			ferr = &finding.FileError{Path: it.Path, Message: fmt.Sprintf("file scan crashed (bug, please report): %v\n%s", v, debug.Stack())}
		}
	}()
	sc := pool.get()
	defer pool.put(sc)
	s, err := sc.Scan(ctx, files.File{Path: it.Path, Host: it.Host, Place: string(it.Place), Size: it.Size, ModTime: it.ModTime, Open: it.Open},
		func(f finding.Finding) { out <- hit{f: f} })
	done.Add(s.Bytes)
	st.Bytes = s.Bytes
	switch {
	case err == nil, ctx.Err() != nil:
		return st, nil
	case errors.Is(err, files.ErrSkipped):
		st.Bytes = 0
		return st, nil
	}
	return st, &finding.FileError{Path: it.Path, Message: err.Error()}
}
