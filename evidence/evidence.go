// Package evidence finds the log files exhunt reads, wherever they are: a
// live system root, a mounted image or copied tree, a folder of loose logs,
// a single file, or a .zip triage bundle read in place. With Config.Files
// it also yields the files to scan by content: the places web shells,
// dumps and tools land (Place), or, with Config.Full, every file.
//
// Evidence is found by the structure of relative paths and by content
// (Classify), never by absolute default paths alone. Nothing is ever
// modified, moved, deleted or extracted: files are opened read-only and zip
// entries are decompressed in memory through a bounded reader.
//
// The package is silent: it logs only through Config.Logger, and reports
// per-file problems through the fail callback of Walk.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
)

// Item is one file of evidence: a log (Kind KindLog, Family set) or a file
// to scan by content (Kind KindFile, Place set).
type Item struct {
	Root    string                        // the PATH argument as the user gave it
	Path    string                        // relative to Root, forward slashes (for a single-file root: its base name; for a zip root: the entry name; for evidence found outside Root, e.g. an Exchange install on another drive of a live system: the absolute path with forward slashes)
	Size    int64                         // at walk time (for a zip entry: the declared size)
	ModTime time.Time                     // at walk time
	Family  event.Source                  // log family, classified by path structure and content (Unknown for file items)
	Kind    Kind                          // log or file
	Place   Place                         // file items: where the file sits, by path structure
	Host    string                        // Config.Host, else os.Hostname() for a live system root, else the base name of the root (zip name without .zip)
	Open    func() (io.ReadCloser, error) // opens read-only; for zip entries, a bounded decompressing reader
}

// Config tunes a walk. The zero value is ready to use.
type Config struct {
	Host string // override the host name
	Full bool   // on a system root, walk the whole tree instead of the targeted locations
	// Files also yields file items: every file that is not a log, in the
	// places where shells and loot land (in a copied tree: every file
	// outside system drives and Exchange installs, and their places inside
	// them; with Full: every file). Mailbox databases, the transport queue,
	// Exchange's Logging folder and memory files are never file items.
	Files bool
	// Exclude lists files and folders never opened (the user's rule and
	// indicator files, which would match themselves).
	Exclude []string
	Logger  *slog.Logger // nil = silent
}

// Errors given to the fail callback (wrapped with detail).
var (
	ErrNotLog       = errors.New("not a log file exhunt reads")
	ErrNotRegular   = errors.New("not a regular file")
	ErrUnsafeName   = errors.New("unsafe zip entry name (absolute, drive letter or '..'): skipped")
	ErrEncrypted    = errors.New("encrypted zip entry: skipped")
	ErrZipBomb      = errors.New("zip entry refused: declared size or compression ratio too large")
	ErrBeyondSize   = errors.New("zip entry decompresses beyond its declared size")
	ErrZipMethod    = errors.New("unsupported zip compression method")
	ErrDuplicateZip = errors.New("duplicate zip entry name: skipped")
)

// CheckRoots returns an error if any root is missing or unreadable (the CLI
// exits 2 on it). It opens nothing for writing and reads at most one
// directory entry per root.
func CheckRoots(roots []string) error {
	if len(roots) == 0 {
		return errors.New("no evidence path given")
	}
	var errs []error
	for _, r := range roots {
		if err := checkRoot(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkRoot(root string) error {
	if root == "" {
		return errors.New("empty evidence path")
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("evidence path: %w", err)
	}
	switch {
	case fi.IsDir():
		f, err := os.Open(root)
		if err != nil {
			return fmt.Errorf("evidence path: %w", err)
		}
		defer f.Close()
		if _, err := f.ReadDir(1); err != nil && err != io.EOF {
			return fmt.Errorf("evidence path %s: %w", root, err)
		}
	case fi.Mode().IsRegular():
		f, err := openFile(root)
		if err != nil {
			return fmt.Errorf("evidence path: %w", err)
		}
		f.Close()
	default:
		return fmt.Errorf("evidence path %s: %w (%s)", root, ErrNotRegular, fi.Mode().Type())
	}
	return nil
}

// Walk finds evidence under each root and calls yield for each log file
// found, in a deterministic order (sorted by path within a root; roots in
// the order given). fail is called for per-file problems (path + error):
// the path is the root joined with the file's path, or for a zip entry the
// root, "/" and the raw entry name. The walk goes on. Walk returns only ctx
// errors or errors from yield.
//
// Item.Open stays valid after Walk returns; it reopens the file (or the
// zip) each time, so Items may be opened concurrently.
func Walk(ctx context.Context, roots []string, cfg Config, yield func(Item) error, fail func(path string, err error)) error {
	w := &walker{ctx: ctx, cfg: cfg, yield: yield, fail: fail, log: cfg.Logger, ex: newExcluder(cfg.Exclude)}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.fail == nil {
		w.fail = func(string, error) {}
	}
	for _, root := range roots {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.root(root); err != nil {
			return err
		}
	}
	return nil
}

type walker struct {
	ctx   context.Context
	cfg   Config
	yield func(Item) error
	fail  func(string, error)
	log   *slog.Logger
	ex    excluder
}

// Hooks replaced by tests to exercise the live-system path off Windows.
var (
	isLiveRoot   = liveRoot
	installPath  = registryInstallPath
	eventLogDirs = registryEventLogDirs
	hostname     = os.Hostname
)

// liveRoot reports whether abs is the system drive of the running Windows.
func liveRoot(abs string) bool {
	if runtime.GOOS != "windows" {
		return false
	}
	sd := os.Getenv("SystemDrive")
	if sd == "" {
		sd = "C:"
	}
	vol := filepath.VolumeName(abs)
	return strings.EqualFold(vol, sd) && filepath.Clean(abs) == vol+`\`
}

func (w *walker) root(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		w.fail(root, err)
		return nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		w.fail(root, err)
		return nil
	}
	switch {
	case fi.IsDir():
		return w.dirRoot(root, abs)
	case fi.Mode().IsRegular():
		return w.fileRoot(root, abs)
	default:
		w.fail(root, fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type()))
		return nil
	}
}

// hostFor names the host the evidence of a root belongs to.
func (w *walker) hostFor(abs string, live bool) string {
	if w.cfg.Host != "" {
		return w.cfg.Host
	}
	if live {
		if h, err := hostname(); err == nil && h != "" {
			return h
		}
	}
	base := filepath.Base(abs)
	if v := filepath.VolumeName(abs); v != "" && filepath.Clean(abs) == v+string(filepath.Separator) {
		base = v // "C:\" -> "C:"
	}
	if len(base) > 4 && strings.EqualFold(base[len(base)-4:], ".zip") {
		return base[:len(base)-4]
	}
	// A copied drive (".../EXCH01/C"): the host is the folder above it.
	if _, ok := driveLetterName(base); ok {
		dir := filepath.Dir(abs)
		parent := filepath.Base(dir)
		isTop := dir == abs || filepath.VolumeName(dir)+string(filepath.Separator) == dir || dir == string(filepath.Separator)
		if !isTop && parent != "." {
			return parent
		}
	}
	return base
}

// fileRoot handles a single file: a zip bundle, one log, or (with
// Config.Files) one file to scan.
func (w *walker) fileRoot(root, abs string) error {
	if real, err := filepath.EvalSymlinks(abs); err == nil && w.ex.excluded(real) {
		w.log.Info("evidence: excluded (rule or indicator path)", "path", root)
		return nil
	}
	head, fi, err := readHead(abs)
	if err != nil {
		w.fail(root, err)
		return nil
	}
	if isZip(abs, head) {
		return w.zipRoot(root, abs)
	}
	it := Item{
		Root:    root,
		Path:    filepath.Base(abs),
		Size:    fi.Size(),
		ModTime: fi.ModTime(),
		Family:  classify(abs, head),
		Host:    w.hostFor(abs, false),
		Open:    fileOpener(abs),
	}
	if it.Family == event.Unknown {
		if !w.cfg.Files {
			w.fail(root, ErrNotLog)
			return nil
		}
		// Named explicitly: scanned whatever its place.
		it.Kind, it.Place = KindFile, placeFor(it.Path, filepath.ToSlash(abs))
	}
	return w.yield(it)
}

// openFile opens a regular file read-only; anything else (a FIFO, a device,
// a directory) is refused without blocking.
func openFile(name string) (*os.File, error) {
	f, err := openRaw(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	return f, nil
}

func fileOpener(name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return openFile(name) }
}

// readHead returns the first SniffSize bytes of a regular file.
func readHead(name string) ([]byte, os.FileInfo, error) {
	f, err := openFile(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	head, err := readUpTo(f, SniffSize)
	if err != nil {
		return nil, nil, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return head, fi, nil
}

func readUpTo(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:k], err
}

// isZip reports whether a single-file root is a zip bundle.
func isZip(name string, head []byte) bool {
	return strings.EqualFold(filepath.Ext(name), ".zip") ||
		strings.HasPrefix(string(head), "PK\x03\x04") || strings.HasPrefix(string(head), "PK\x05\x06")
}
