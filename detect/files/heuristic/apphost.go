package heuristic

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// appHostMaxSize bounds the applicationHost.config we parse.
const appHostMaxSize = 16 << 20

// vdir is one IIS virtual directory.
type vdir struct {
	Site, App, Path, Physical string
}

// readAppHostVDirs lists the virtual directories of an
// applicationHost.config: each <virtualDirectory> of each <application>
// of each <site> (site name, application path, virtual directory path,
// physicalPath as written). Malformed XML ends the read; what was found
// so far is returned with the error.
func readAppHostVDirs(data []byte) ([]vdir, error) {
	if len(data) > appHostMaxSize {
		data = data[:appHostMaxSize]
	}
	data = bytes.TrimPrefix(data, []byte{0xef, 0xbb, 0xbf})
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	var out []vdir
	var stack []string
	var site, app string
	attr := func(t xml.StartElement, name string) string {
		for _, a := range t.Attr {
			if strings.EqualFold(a.Name.Local, name) {
				return a.Value
			}
		}
		return ""
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			switch {
			case name == "site" && parent == "sites":
				site, app = attr(t, "name"), ""
			case name == "application" && parent == "site":
				app = attr(t, "path")
			case name == "virtualdirectory" && (parent == "application" || parent == "virtualdirectorydefaults"):
				if p := attr(t, "physicalPath"); p != "" {
					out = append(out, vdir{Site: site, App: app, Path: attr(t, "path"), Physical: p})
				}
			}
			stack = append(stack, name)
			if len(stack) > 256 {
				return out, errNesting
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNesting = constErr("applicationHost.config nested deeper than 256 elements")

// reservedNames are the Windows device names a folder cannot normally
// have (CON, PRN, AUX, NUL, COM1-9, LPT1-9): ProxyShell actors created
// such folders under ProgramData to hide web roots.
func reservedName(seg string) bool {
	s := strings.ToUpper(strings.TrimRight(seg, " ."))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) && s[3] >= '1' && s[3] <= '9' {
		return true
	}
	return false
}

// suspiciousPhysical says why a virtual directory's physical path is a
// ProxyShell-style rogue web root: inside ProgramData (or its alias
// Users\All Users), or through a folder with a reserved device name.
func suspiciousPhysical(p string) (why string, ok bool) {
	lp := strings.ToLower(strings.ReplaceAll(p, "/", `\`))
	var reasons []string
	if strings.Contains(lp, `%programdata%`) || strings.Contains(lp, `:\programdata\`) || strings.HasSuffix(lp, `:\programdata`) ||
		strings.Contains(lp, `\users\all users\`) || strings.Contains(lp, `%allusersprofile%`) {
		reasons = append(reasons, "inside ProgramData")
	}
	for _, seg := range strings.Split(lp, `\`) {
		if reservedName(seg) {
			reasons = append(reasons, "through a folder with the reserved device name "+strings.ToUpper(seg))
			break
		}
	}
	return strings.Join(reasons, ", "), len(reasons) > 0
}
