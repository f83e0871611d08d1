package evidence

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// MaxAppHostSize bounds the applicationHost.config we read (real ones are
// well under 1 MB).
const MaxAppHostSize = 16 << 20

// AppHostElement is one start element of an applicationHost.config, with
// the lower-cased names of the element and its parent.
type AppHostElement struct {
	Name, Parent string
	El           xml.StartElement
}

// Attr returns an attribute by name, ignoring case; "" when absent.
func (e AppHostElement) Attr(name string) string {
	for _, a := range e.El.Attr {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value
		}
	}
	return ""
}

// WalkAppHost calls fn for every element of an applicationHost.config in
// document order. The file is hostile input: size (16 MB) and nesting
// (256) are bounded, the decoder is lenient (IIS itself accepts sloppy
// XML), and malformed XML ends the walk with an error after the elements
// seen so far. Shared by the log-folder discovery here and the rogue
// virtual-directory heuristic of detect/files.
func WalkAppHost(r io.Reader, fn func(AppHostElement)) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxAppHostSize+1))
	if err != nil {
		return err
	}
	if len(data) > MaxAppHostSize {
		return errors.New("applicationHost.config larger than 16 MB")
	}
	data = bytes.TrimPrefix(data, bomUTF8)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			fn(AppHostElement{Name: name, Parent: parent, El: t})
			stack = append(stack, name)
			if len(stack) > 256 {
				return errors.New("applicationHost.config nested deeper than 256 elements")
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// readAppHostLogDirs returns the IIS log directories named in an
// applicationHost.config, as written (environment variables unexpanded), in
// document order without duplicates: <siteDefaults><logFile directory>,
// each <site><logFile directory>, and <log><centralW3CLogFile directory>.
// Malformed XML ends the read; what was found so far is returned with the
// error.
func readAppHostLogDirs(r io.Reader) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	err := WalkAppHost(r, func(e AppHostElement) {
		if e.Name == "logfile" && (e.Parent == "sitedefaults" || e.Parent == "site") ||
			e.Name == "centralw3clogfile" && e.Parent == "log" {
			dir := strings.TrimSpace(e.Attr("directory"))
			if k := strings.ToLower(dir); dir != "" && !seen[k] {
				seen[k] = true
				out = append(out, dir)
			}
		}
	})
	return out, err
}

// sysDrive is the drive letter assumed for an offline image whose root is
// not named after its drive.
const sysDrive = "C"

// mapper turns directories written on the evidence host (D:\IISLogs,
// %SystemDrive%\inetpub\logs\LogFiles) into paths we can read here.
type mapper struct {
	root   string // real path of the system root
	letter string // drive letter of the root, upper case
	live   bool   // root is the running system: use absolute paths as they are
}

func newMapper(root string, live bool) mapper {
	m := mapper{root: root, letter: sysDrive, live: live}
	if v := filepath.VolumeName(root); live && len(v) == 2 && v[1] == ':' {
		m.letter = strings.ToUpper(v[:1])
	} else if l, ok := driveLetterName(filepath.Base(root)); ok {
		m.letter = l
	}
	return m
}

// driveLetterName reports whether a folder name is a drive letter as
// copied trees name them ("C", "c", "C:").
func driveLetterName(name string) (string, bool) {
	name = strings.TrimSuffix(name, ":")
	if len(name) == 1 && (name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return strings.ToUpper(name), true
	}
	return "", false
}

// expand replaces the environment variables IIS uses. Offline, only the
// ones that follow from the system drive are known.
func (m mapper) expand(dir string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.IndexByte(dir, '%')
		if i < 0 {
			b.WriteString(dir)
			return b.String(), true
		}
		j := strings.IndexByte(dir[i+1:], '%')
		if j < 0 {
			return "", false
		}
		b.WriteString(dir[:i])
		name := dir[i+1 : i+1+j]
		dir = dir[i+2+j:]
		switch strings.ToLower(name) {
		case "systemdrive":
			b.WriteString(m.letter + ":")
		case "systemroot", "windir":
			b.WriteString(m.letter + `:\Windows`)
		default:
			if !m.live {
				return "", false
			}
			v, ok := os.LookupEnv(name)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
	}
}

// mapDir maps a directory from the evidence host to a local path; ok is
// false when it cannot be read here (unknown variable, UNC share, relative,
// a drive with no copy next to the root).
func (m mapper) mapDir(dir string) (string, bool) {
	dir, ok := m.expand(strings.TrimSpace(dir))
	if !ok || dir == "" {
		return "", false
	}
	if strings.HasPrefix(dir, `\\`) || strings.HasPrefix(dir, "//") {
		return "", false // network share: never reached out to
	}
	letter, rest, drive := cutDrive(dir)
	if m.live {
		if runtime.GOOS != "windows" && !drive && filepath.IsAbs(dir) {
			return filepath.Clean(dir), true // tests of the live path on Unix
		}
		if drive {
			return filepath.Clean(letter + ":" + string(filepath.Separator) + filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/"))), true
		}
		return "", false
	}
	if !drive {
		return "", false
	}
	segs := splitWinPath(rest)
	if letter == m.letter {
		return resolveCI(m.root, segs...)
	}
	// Another drive of an image: a sibling folder named after the letter.
	sib, ok := resolveCI(filepath.Dir(m.root), letter)
	if !ok || sameFile(sib, m.root) {
		return "", false
	}
	return resolveCI(sib, segs...)
}

// cutDrive splits "D:\x\y" into "D" and `x\y`.
func cutDrive(p string) (letter, rest string, ok bool) {
	if len(p) >= 2 && p[1] == ':' {
		if l, ok := driveLetterName(p[:1]); ok {
			return l, p[2:], true
		}
	}
	return "", "", false
}

func splitWinPath(p string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(p, func(r rune) bool { return r == '\\' || r == '/' }) {
		if s != "." {
			out = append(out, s)
		}
	}
	return out
}

// resolveCI follows segs below base, matching each name case-insensitively
// (exact match first, then the first match in sorted order). It never
// follows "..".
func resolveCI(base string, segs ...string) (string, bool) {
	cur := base
	for _, s := range segs {
		if s == ".." || s == "" {
			return "", false
		}
		next := filepath.Join(cur, s)
		if _, err := os.Lstat(next); err == nil {
			cur = next
			continue
		}
		ents, err := os.ReadDir(cur)
		if err != nil {
			return "", false
		}
		found := ""
		for _, e := range ents {
			if strings.EqualFold(e.Name(), s) {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return "", false
		}
		cur = filepath.Join(cur, found)
	}
	return cur, true
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
