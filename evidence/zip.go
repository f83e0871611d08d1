package evidence

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/event"
)

// Zip-bomb limits. A real log compresses 10-30:1; deflate cannot exceed
// about 1032:1, so anything past the ratio limit is a crafted header.
const (
	maxEntrySize     = 16 << 30  // declared uncompressed size cap
	maxRatio         = 1000      // uncompressed:compressed
	ratioCheckAbove  = 100 << 20 // the ratio is only checked above this size
	flagEncrypted    = 0x1
	flagStrongCrypto = 0x40
)

// zipEntry is what an Open needs to decompress an entry by itself, without
// sharing a reader with anyone.
type zipEntry struct {
	zipPath  string
	name     string // normalised entry name (Item.Path)
	raw      string // entry name as stored
	method   uint16
	offset   int64 // of the compressed data
	csize    uint64
	usize    uint64
	crc      uint32
	modified time.Time
	log      bool // a log candidate by name
	asFile   bool // yielded as a file item when it is not a log
}

// zipRoot reads a triage bundle in place: the central directory is listed,
// and each entry is decompressed on demand from the zip file itself. Nothing
// is extracted or written. Nested zips are not followed.
func (w *walker) zipRoot(root, abs string) error {
	zr, err := zip.OpenReader(abs)
	if err != nil {
		w.fail(root, fmt.Errorf("reading zip bundle: %w", err))
		return nil
	}
	host := w.hostFor(abs, false)
	var entries []zipEntry
	seen := map[string]bool{}
	var narrowed map[string]bool
	if w.cfg.Files && !w.cfg.Full {
		narrowed = zipSystemDirs(zr.File)
	}
	for _, f := range zr.File {
		disp := root + "/" + f.Name
		name, err := entryName(f.Name)
		if err != nil {
			w.fail(disp, err)
			continue
		}
		if name == "" || strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			continue
		}
		log := candidateName(name)
		asFile := w.cfg.Files && !storeFile(name)
		if asFile && zipUnder(name, narrowed) {
			asFile = inFileScope(name)
		}
		if !log && !asFile {
			w.log.Debug("evidence: zip entry skipped by name", "entry", f.Name)
			continue
		}
		if err := entrySafe(f); err != nil {
			w.fail(disp, err)
			continue
		}
		if seen[name] {
			w.fail(disp, ErrDuplicateZip)
			continue
		}
		seen[name] = true
		off, err := f.DataOffset()
		if err != nil {
			w.fail(disp, fmt.Errorf("zip entry: %w", err))
			continue
		}
		entries = append(entries, zipEntry{
			zipPath: abs, name: name, raw: f.Name, method: f.Method, offset: off,
			csize: f.CompressedSize64, usize: f.UncompressedSize64, crc: f.CRC32, modified: f.Modified,
			log: log, asFile: asFile,
		})
	}
	zr.Close()

	sort.SliceStable(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		disp := root + "/" + e.raw
		it := Item{Root: root, Path: e.name, Size: int64(e.usize), ModTime: e.modified, Host: host, Open: e.open}
		if e.log {
			head, err := e.head()
			if err != nil {
				w.fail(disp, err)
				continue
			}
			it.Family = classify(e.name, head)
		}
		if it.Family == event.Unknown {
			if !e.asFile {
				w.log.Debug("evidence: not a log", "entry", e.raw)
				continue
			}
			it.Kind, it.Place = KindFile, PlaceOf(e.name)
		}
		if err := w.yield(it); err != nil {
			return err
		}
	}
	return nil
}

// entryName normalises a zip entry name (backslashes to slashes, "./"
// dropped) and refuses names that would escape a folder if extracted
// (zip-slip): absolute, with a drive letter, or with a ".." component.
func entryName(raw string) (string, error) {
	n := strings.ReplaceAll(raw, `\`, "/")
	if strings.IndexByte(n, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL in name", ErrUnsafeName)
	}
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafeName, raw)
	}
	if len(n) >= 2 && n[1] == ':' {
		return "", fmt.Errorf("%w: drive letter in %q", ErrUnsafeName, raw)
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: '..' in %q", ErrUnsafeName, raw)
		}
		if strings.Contains(c, ":") {
			return "", fmt.Errorf("%w: ':' in %q", ErrUnsafeName, raw)
		}
	}
	n = path.Clean(n)
	if n == "." {
		return "", nil
	}
	return n, nil
}

// entrySafe refuses entries we would not decompress.
func entrySafe(f *zip.File) error {
	switch {
	case f.Flags&(flagEncrypted|flagStrongCrypto) != 0:
		return ErrEncrypted
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return fmt.Errorf("%w %d", ErrZipMethod, f.Method)
	case f.UncompressedSize64 > maxEntrySize:
		return fmt.Errorf("%w: declares %d bytes (limit %d)", ErrZipBomb, f.UncompressedSize64, uint64(maxEntrySize))
	case f.UncompressedSize64 > ratioCheckAbove &&
		(f.CompressedSize64 == 0 || f.UncompressedSize64/f.CompressedSize64 > maxRatio):
		return fmt.Errorf("%w: %d bytes from %d compressed (over %d:1)", ErrZipBomb, f.UncompressedSize64, f.CompressedSize64, maxRatio)
	case f.Method == zip.Store && f.CompressedSize64 != f.UncompressedSize64:
		return fmt.Errorf("zip entry: stored entry with compressed size %d != size %d", f.CompressedSize64, f.UncompressedSize64)
	}
	return nil
}

func (e zipEntry) head() ([]byte, error) {
	rc, err := e.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readUpTo(rc, SniffSize)
}

// open returns a reader of the decompressed entry that errors out when the
// data goes beyond the declared size, ends before it, or fails its CRC.
func (e zipEntry) open() (io.ReadCloser, error) {
	f, err := openFile(e.zipPath)
	if err != nil {
		return nil, err
	}
	sr := io.NewSectionReader(f, e.offset, int64(e.csize))
	br := &boundedReader{name: e.raw, file: f, limit: e.usize, crc: e.crc, hash: crc32.NewIEEE()}
	switch e.method {
	case zip.Store:
		br.r = sr
	case zip.Deflate:
		fr := flate.NewReader(sr)
		br.r, br.dec = fr, fr
	default:
		f.Close()
		return nil, fmt.Errorf("%w %d", ErrZipMethod, e.method)
	}
	return br, nil
}

// boundedReader is the decompressing reader handed out for a zip entry.
type boundedReader struct {
	name  string
	r     io.Reader
	dec   io.Closer
	file  *os.File
	limit uint64
	n     uint64
	crc   uint32
	hash  hash.Hash32
	err   error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.n >= b.limit {
		b.err = b.finish()
		return 0, b.err
	}
	if rem := b.limit - b.n; uint64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := b.r.Read(p)
	b.n += uint64(k)
	b.hash.Write(p[:k])
	switch {
	case err == io.EOF && b.n < b.limit:
		b.err = fmt.Errorf("zip entry %s: %w (ends after %d of %d declared bytes)", b.name, io.ErrUnexpectedEOF, b.n, b.limit)
	case err == io.EOF:
		b.err = b.finish()
	case err != nil:
		b.err = fmt.Errorf("zip entry %s: corrupt data: %w", b.name, err)
	}
	if b.err != nil && k > 0 {
		return k, nil // hand over the bytes; the error comes next call
	}
	return k, b.err
}

// finish runs once the declared size is reached: the stream must end here
// and match its CRC.
func (b *boundedReader) finish() error {
	var one [1]byte
	for range 16 { // a decoder may return (0, nil) a few times
		k, err := b.r.Read(one[:])
		if k > 0 {
			return fmt.Errorf("zip entry %s: %w (%d bytes)", b.name, ErrBeyondSize, b.limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("zip entry %s: corrupt data: %w", b.name, err)
		}
	}
	if b.crc != 0 && b.hash.Sum32() != b.crc {
		return fmt.Errorf("zip entry %s: %w", b.name, zip.ErrChecksum)
	}
	return io.EOF
}

func (b *boundedReader) Close() error {
	var errs []error
	if b.dec != nil {
		errs = append(errs, b.dec.Close())
	}
	errs = append(errs, b.file.Close())
	return errors.Join(errs...)
}

// zipSystemDirs lists the folders of a bundle (lower case, slash paths)
// that look like a Windows system drive or an Exchange install, by the
// names of the entries below them.
func zipSystemDirs(files []*zip.File) map[string]bool {
	subdirs := map[string]map[string]bool{} // dir -> its sub-folder names
	for _, f := range files {
		n, err := entryName(f.Name)
		if err != nil || n == "" {
			continue
		}
		dir := strings.ToLower(path.Dir(n))
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			dir = strings.ToLower(n)
		}
		for dir != "." && dir != "/" && dir != "" {
			parent := path.Dir(dir)
			if subdirs[parent] == nil {
				subdirs[parent] = map[string]bool{}
			}
			subdirs[parent][path.Base(dir)] = true
			dir = parent
		}
	}
	out := map[string]bool{}
	for dir, subs := range subdirs {
		win := "windows"
		if dir != "." {
			win = dir + "/windows"
		}
		if subs["windows"] && subdirs[win]["system32"] || installLike(subs, dir) {
			out[dir] = true // "." : the bundle itself is a system drive
		}
		for s := range subs {
			if systemName(s) {
				out[strings.TrimPrefix(dir+"/"+s, "./")] = true
			}
		}
	}
	return out
}

// zipUnder reports whether an entry lies inside one of the folders.
func zipUnder(name string, dirs map[string]bool) bool {
	if len(dirs) == 0 {
		return false
	}
	if dirs["."] {
		return true
	}
	d := strings.ToLower(path.Dir(name))
	for d != "." && d != "/" && d != "" {
		if dirs[d] {
			return true
		}
		d = path.Dir(d)
	}
	return false
}
