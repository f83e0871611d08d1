package evidence

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/event"
)

// maxDepth bounds directory nesting in a walk (a guard against reparse-point
// loops that look like plain directories).
const maxDepth = 128

// target is one directory to walk for a root.
type target struct {
	dir   string                // path as found (absolute)
	real  string                // dir with symlinks resolved: what is walked
	prune func(rel string) bool // rel to the root, lower case, forward slashes; nil prunes nothing
	logs  bool                  // list log candidates (by name)
	files bool                  // list file candidates (Config.Files)
	// scoped: within this target, folders that look like a system drive
	// or an Exchange install are scanned for files only in their places
	// (a plain walk of a copied tree); a targeted target is in scope
	// already.
	scoped bool
}

// cand is a file found by the walk, not yet sniffed.
type cand struct {
	path   string // Item.Path
	file   string // OS path to open
	disp   string // path given to fail
	rule   string // path the path rules look at
	log    bool   // a log candidate: sniffed and classified
	asFile bool   // a file candidate: yielded as a file item when it is not a log
}

func (w *walker) dirRoot(root, abs string) error {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		w.fail(root, err)
		return nil
	}
	live := isLiveRoot(abs)
	sys := isSystemRoot(real)
	host := w.hostFor(abs, live && sys)
	files := w.cfg.Files
	var targets []target
	switch {
	case !sys:
		w.log.Debug("evidence: walking tree", "root", root)
		targets = []target{{dir: real, real: real, logs: true, files: files, scoped: !w.cfg.Full}}
	case w.cfg.Full:
		w.log.Info("evidence: system root, full walk", "root", root, "live", live)
		sysT, installs := w.systemTargets(root, real, live)
		targets = append([]target{{dir: real, real: real, prune: pruneWinSxS, logs: true, files: files}}, sysT...)
		if files {
			targets = append(targets, w.fileTargets(real, installs)...)
		}
	default:
		w.log.Info("evidence: system root, targeted walk", "root", root, "live", live)
		sysT, installs := w.systemTargets(root, real, live)
		targets = sysT
		if files {
			targets = append(targets, w.fileTargets(real, installs)...)
		}
	}
	cands, err := w.collect(root, abs, real, targets)
	if err != nil {
		return err
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].path < cands[j].path })
	for _, c := range cands {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		var it Item
		if c.log {
			head, fi, err := readHead(c.file)
			if err != nil {
				w.fail(c.disp, err)
				continue
			}
			fam := classify(c.rule, head)
			if fam != event.Unknown {
				it = Item{Root: root, Path: c.path, Size: fi.Size(), ModTime: fi.ModTime(), Family: fam, Host: host, Open: fileOpener(c.file)}
			} else if !c.asFile {
				w.log.Debug("evidence: not a log", "path", c.disp)
				continue
			}
		}
		if it.Open == nil {
			fi, err := os.Stat(c.file)
			if err != nil {
				w.fail(c.disp, err)
				continue
			}
			it = Item{Root: root, Path: c.path, Size: fi.Size(), ModTime: fi.ModTime(), Host: host, Kind: KindFile, Place: placeFor(c.path, c.rule), Open: fileOpener(c.file)}
		}
		if err := w.yield(it); err != nil {
			return err
		}
	}
	return nil
}

func pruneWinSxS(rel string) bool { return rel == "windows/winsxs" }

// isSystemRoot reports whether dir holds Windows/System32 (any case).
func isSystemRoot(dir string) bool {
	p, ok := resolveCI(dir, "Windows", "System32")
	if !ok {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// within returns p relative to base with forward slashes ("" for base
// itself); ok is false when p is outside base.
func within(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	if rel == "." {
		return "", true
	}
	return filepath.ToSlash(rel), true
}

func joinSlash(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasSuffix(a, "/"):
		return a + b
	}
	return a + "/" + b
}

// collect walks the targets (nested and duplicate ones dropped) and lists
// candidate files. It returns only ctx errors.
func (w *walker) collect(root, abs, real string, targets []target) ([]cand, error) {
	sort.SliceStable(targets, func(i, j int) bool { return targets[i].real < targets[j].real })
	var kept []target
	for _, t := range targets {
		nested := false
		for _, k := range kept {
			if covers(real, k, t) {
				nested = true
				break
			}
		}
		if !nested {
			kept = append(kept, t)
		}
	}

	var out []cand
	seen := map[string]int{} // file -> index in out: overlapping targets list a file once
	for _, t := range kept {
		inRel, inRoot := within(real, t.real)
		w.log.Debug("evidence: walking", "dir", t.dir)
		depth0 := strings.Count(t.real, string(filepath.Separator))
		// Folders of a scoped walk that look like a system drive or an
		// Exchange install: files below them are scanned in their places only.
		var narrowed []string
		err := filepath.WalkDir(t.real, func(p string, d fs.DirEntry, err error) error {
			if cerr := w.ctx.Err(); cerr != nil {
				return cerr
			}
			relT, _ := within(t.real, p)
			var c cand
			if inRoot {
				c.path = joinSlash(inRel, relT)
				c.disp = filepath.Join(root, filepath.FromSlash(c.path))
				c.rule = filepath.ToSlash(filepath.Join(abs, filepath.FromSlash(c.path)))
			} else {
				c.path = joinSlash(filepath.ToSlash(t.dir), relT)
				c.disp = filepath.Join(t.dir, filepath.FromSlash(relT))
				c.rule = c.path
			}
			if err != nil {
				w.fail(c.disp, err)
				return nil
			}
			if w.ex.excluded(p) {
				w.log.Debug("evidence: excluded (rule or indicator path)", "path", c.disp)
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				switch {
				case p != t.real && d.Type()&fs.ModeIrregular != 0:
					// A Windows junction or other reparse point shown as a
					// directory: not followed, like a symlink.
					w.log.Debug("evidence: not following reparse point", "path", c.disp)
					return fs.SkipDir
				case t.prune != nil && inRoot && t.prune(strings.ToLower(c.path)):
					w.log.Debug("evidence: pruned", "path", c.disp)
					return fs.SkipDir
				case strings.Count(p, string(filepath.Separator))-depth0 > maxDepth:
					w.fail(c.disp, fmt.Errorf("directory nested deeper than %d levels: not walked", maxDepth))
					return fs.SkipDir
				}
				if t.files && t.scoped && !under(p, narrowed) {
					depth := strings.Count(p, string(filepath.Separator)) - depth0
					if systemName(strings.ToLower(d.Name())) || depth <= systemProbeDepth && systemLike(p, c.rule) {
						w.log.Debug("evidence: system folder in a copied tree: files in their places only", "dir", c.disp)
						narrowed = append(narrowed, p)
					}
				}
				return nil
			}
			c.log = t.logs && candidateName(d.Name())
			c.asFile = t.files && !storeFile(c.path)
			if c.asFile && (!t.scoped || under(p, narrowed)) && !w.cfg.Full {
				c.asFile = inFileScope(c.path)
			}
			if !c.log && !c.asFile {
				return nil
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				fi, err := os.Stat(p)
				if err != nil {
					w.fail(c.disp, err) // dangling, a loop, or unreadable
					return nil
				}
				if fi.IsDir() {
					w.log.Debug("evidence: not following directory symlink", "path", c.disp)
					return nil
				}
				if !fi.Mode().IsRegular() {
					w.fail(c.disp, fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type()))
					return nil
				}
			case d.Type().IsRegular():
			case d.Type()&fs.ModeIrregular != 0:
				// A Windows reparse point that is not a directory
				// (junctions named without an extension look like
				// candidates): not evidence, not a problem.
				w.log.Debug("evidence: skipping reparse point", "path", c.disp)
				return nil
			default:
				w.fail(c.disp, fmt.Errorf("%w (%s)", ErrNotRegular, d.Type()))
				return nil
			}
			c.file = p
			if i, dup := seen[p]; dup {
				out[i].log = out[i].log || c.log
				out[i].asFile = out[i].asFile || c.asFile
				return nil
			}
			seen[p] = len(out)
			out = append(out, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// covers reports whether walking k lists everything t would: t lies
// inside k, k lists every kind t lists, k does not prune the way to t,
// and k's scoping is no narrower.
func covers(real string, k, t target) bool {
	if _, in := within(k.real, t.real); !in || (t.logs && !k.logs) || (t.files && !k.files) || (k.scoped && !t.scoped) {
		return false
	}
	if k.prune != nil {
		tr, inRoot := within(real, t.real)
		if inRoot {
			tr = strings.ToLower(tr)
			for i := 0; i <= len(tr); i++ {
				if (i == len(tr) || tr[i] == '/') && k.prune(tr[:i]) {
					return false
				}
			}
		}
	}
	return true
}

// under reports whether p is inside one of dirs.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if _, in := within(d, p); in {
			return true
		}
	}
	return false
}

// systemTargets lists the places logs live on a Windows system root: the
// default IIS log folder, the event log folder (and, on a live system, the
// folders the registry moved event logs to), the IIS log folders named in
// applicationHost.config, and the log folders of each Exchange install
// found (registry on a live system, a shallow search otherwise).
func (w *walker) systemTargets(root, real string, live bool) (targets []target, installs []string) {
	var out []target
	add := func(what, dir string) {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return
		}
		rp, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return
		}
		w.log.Info("evidence: log folder", "kind", what, "dir", dir)
		out = append(out, target{dir: dir, real: rp, logs: true})
	}

	if p, ok := resolveCI(real, "inetpub", "logs", "LogFiles"); ok {
		add("iis", p)
	}
	if p, ok := resolveCI(real, "Windows", "System32", "winevt", "Logs"); ok {
		add("eventlog", p)
	}
	if live {
		// Event logs moved with wevtutil or Group Policy (the registry
		// names each log's file).
		dirs, err := eventLogDirs()
		if err != nil {
			w.log.Debug("evidence: event log folders from the registry", "err", err)
		}
		for _, d := range dirs {
			add("eventlog", d)
		}
	}
	m := newMapper(real, live)
	if cfg, ok := resolveCI(real, "Windows", "System32", "inetsrv", "config", "applicationHost.config"); ok {
		for _, d := range w.appHostDirs(root, real, cfg) {
			p, ok := m.mapDir(d)
			if !ok {
				w.log.Info("evidence: IIS log folder not readable from here", "directory", d)
				continue
			}
			add("iis", p)
		}
	}

	if live {
		if p, err := installPath(); err == nil && p != "" {
			installs = append(installs, filepath.Clean(p))
		} else {
			w.log.Debug("evidence: no Exchange install path in the registry", "err", err)
		}
	}
	installs = append(installs, findExchangeInstalls(real)...)
	if _, ok := driveLetterName(filepath.Base(real)); ok && !live {
		for _, sib := range siblingDrives(real) {
			installs = append(installs, findExchangeInstalls(sib)...)
		}
	}
	for _, inst := range installs {
		logging, ok := resolveCI(inst, "Logging")
		if !ok {
			continue
		}
		for _, sub := range [][]string{{"HttpProxy"}, {"ECP"}, {"OABGeneratorLog"}, {"CmdletInfra", "Powershell-Proxy"}} {
			if p, ok := resolveCI(logging, sub...); ok {
				add("exchange", p)
			}
		}
	}
	return out, installs
}

// appHostDirs reads the IIS log folders from applicationHost.config.
func (w *walker) appHostDirs(root, real, cfg string) []string {
	disp := cfg
	if rel, ok := within(real, cfg); ok {
		disp = filepath.Join(root, filepath.FromSlash(rel))
	}
	f, err := openFile(cfg)
	if err != nil {
		w.fail(disp, err)
		return nil
	}
	defer f.Close()
	dirs, err := readAppHostLogDirs(f)
	if err != nil {
		w.fail(disp, fmt.Errorf("reading IIS log folders: %w", err))
	}
	return dirs
}

// siblingDrives lists the folders next to a copied drive that are named
// like drives too (an image copied as C/, D/, E/).
func siblingDrives(real string) []string {
	parent := filepath.Dir(real)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if _, ok := driveLetterName(e.Name()); !ok || !e.IsDir() {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if !sameFile(p, real) {
			out = append(out, p)
		}
	}
	return out
}

// Shallow-search bounds: an Exchange install sits at most four levels
// down (Program Files/Microsoft/Exchange Server/V15).
const (
	installDepth    = 4
	maxShallowDirs  = 20000
	exchangeMarkers = "bin clientaccess frontend mailbox transportroles"
)

// findExchangeInstalls searches base a few levels deep for folders that
// look like an Exchange install: a Logging folder, and either "exchange" in
// the path or the install's other folders (Bin, ClientAccess, FrontEnd...).
// Windows/ is skipped; symlinks are not followed.
func findExchangeInstalls(base string) []string {
	type node struct {
		dir, rel string
		depth    int
	}
	var out []string
	queue := []node{{dir: base}}
	for visited := 0; len(queue) > 0 && visited < maxShallowDirs; visited++ {
		n := queue[0]
		queue = queue[1:]
		ents, err := os.ReadDir(n.dir)
		if err != nil {
			continue
		}
		dirs := map[string]bool{}
		for _, e := range ents {
			if e.IsDir() && e.Type()&fs.ModeIrregular == 0 {
				dirs[strings.ToLower(e.Name())] = true
			}
		}
		if dirs["logging"] {
			marked := strings.Contains(strings.ToLower(n.rel), "exchange")
			for _, m := range strings.Fields(exchangeMarkers) {
				marked = marked || dirs[m]
			}
			if marked {
				out = append(out, n.dir)
				continue
			}
		}
		if n.depth >= installDepth {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || e.Type()&fs.ModeIrregular != 0 {
				continue
			}
			if n.depth == 0 && strings.EqualFold(e.Name(), "Windows") {
				continue
			}
			queue = append(queue, node{dir: filepath.Join(n.dir, e.Name()), rel: joinSlash(n.rel, e.Name()), depth: n.depth + 1})
		}
	}
	return out
}
