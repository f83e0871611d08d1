package heuristic

import (
	"bytes"
	"strings"

	"github.com/exhunt/exhunt/evidence"
)

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
	var out []vdir
	var site, app string
	err := evidence.WalkAppHost(bytes.NewReader(data), func(e evidence.AppHostElement) {
		switch {
		case e.Name == "site" && e.Parent == "sites":
			site, app = e.Attr("name"), ""
		case e.Name == "application" && e.Parent == "site":
			app = e.Attr("path")
		case e.Name == "virtualdirectory" && (e.Parent == "application" || e.Parent == "virtualdirectorydefaults"):
			if p := e.Attr("physicalPath"); p != "" {
				out = append(out, vdir{Site: site, App: app, Path: e.Attr("path"), Physical: p})
			}
		}
	})
	return out, err
}

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
