package evidence

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// Kind tells log items from file items.
type Kind uint8

const (
	// KindLog is a log file: Family names the parser that reads it.
	KindLog Kind = iota
	// KindFile is a file to scan by content and hash (web shells, dumps,
	// dropped tools, IIS configuration). Family is Unknown.
	KindFile
)

func (k Kind) String() string {
	if k == KindFile {
		return "file"
	}
	return "log"
}

// Place is where a file sits, read from the structure of its path (any
// case, any drive or install root): the places web shells and loot land.
type Place string

const (
	PlaceAspnetClient Place = "aspnet_client" // inetpub/wwwroot/aspnet_client and below
	PlaceWWWRoot      Place = "wwwroot"       // inetpub/wwwroot, outside aspnet_client
	PlaceOWAAuth      Place = "owa_auth"      // FrontEnd/HttpProxy/owa/auth (Current, version folders)
	PlaceECPAuth      Place = "ecp_auth"      // FrontEnd/HttpProxy/ecp/auth
	PlaceOAB          Place = "oab"           // FrontEnd/HttpProxy/OAB, ClientAccess/OAB
	PlaceTempASPNET   Place = "temp_aspnet"   // Temporary ASP.NET Files (App_Web_*.dll)
	PlaceProgramData  Place = "programdata"   // ProgramData (and Users/All Users)
	PlaceWindowsTemp  Place = "windows_temp"  // Windows/Temp
	PlaceRoot         Place = "root"          // <drive>:\root
	PlaceUsersPublic  Place = "users_public"  // Users/Public
	PlaceWER          Place = "wer"           // Windows Error Reporting ReportArchive/ReportQueue
	PlaceIISConfig    Place = "iis_config"    // applicationHost.config
	PlaceOther        Place = "other"
)

// PlaceOf returns the place of a file from its path (relative or absolute,
// either slash). "root" is recognised only as the first component or right
// below a drive-letter component, so that a Unix /root/ home never counts.
func PlaceOf(p string) Place {
	lp := "/" + strings.ToLower(strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/"))
	dir := path.Dir(lp) + "/"
	base := path.Base(lp)
	has := func(s string) bool { return strings.Contains(dir, s) }
	switch {
	case base == "applicationhost.config":
		return PlaceIISConfig
	case has("/aspnet_client/"):
		return PlaceAspnetClient
	case has("/frontend/httpproxy/owa/auth/"):
		return PlaceOWAAuth
	case has("/frontend/httpproxy/ecp/auth/"):
		return PlaceECPAuth
	case has("/frontend/httpproxy/oab/"), has("/clientaccess/oab/"):
		return PlaceOAB
	case has("/temporary asp.net files/"):
		return PlaceTempASPNET
	case has("/microsoft/windows/wer/reportarchive/"), has("/microsoft/windows/wer/reportqueue/"):
		return PlaceWER
	case has("/inetpub/wwwroot/"):
		return PlaceWWWRoot
	case has("/programdata/"), has("/users/all users/"):
		return PlaceProgramData
	case has("/windows/temp/"):
		return PlaceWindowsTemp
	case has("/users/public/"):
		return PlaceUsersPublic
	}
	comps := strings.Split(strings.TrimPrefix(path.Dir(lp), "/"), "/")
	for i, c := range comps {
		if c != "root" {
			continue
		}
		if i == 0 {
			return PlaceRoot
		}
		if _, ok := driveLetterName(comps[i-1]); ok {
			return PlaceRoot
		}
	}
	return PlaceOther
}

// placeFor is PlaceOf of the path relative to the root, falling back to
// the path the rules look at (absolute, so that a root pointed at a copied
// aspnet_client folder still knows where it is); "root" is only taken from
// the relative path.
func placeFor(rel, rule string) Place {
	if p := PlaceOf(rel); p != PlaceOther {
		return p
	}
	if p := PlaceOf(rule); p != PlaceRoot {
		return p
	}
	return PlaceOther
}

// webDirs are the Exchange web folders scanned whole (besides the places):
// shells are dropped next to Exchange's own pages.
var webDirs = []string{
	"/frontend/httpproxy/owa/", "/frontend/httpproxy/ecp/", "/frontend/httpproxy/oab/",
	"/clientaccess/owa/", "/clientaccess/ecp/", "/clientaccess/oab/",
}

// eseLog reports whether a base name (lower case) is an ESE transaction
// log, checkpoint or reserve log (E00.log, E0000001A2B.log, E00.chk,
// E00res00001.jrs, E00tmp.log): mailbox database files.
func eseLog(base string) bool {
	ext := path.Ext(base)
	if ext != ".log" && ext != ".chk" && ext != ".jrs" {
		return false
	}
	s := strings.TrimSuffix(base, ext)
	if len(s) < 3 || s[0] != 'e' || !isHex(s[1:3]) {
		return false
	}
	rest := s[3:]
	switch {
	case rest == "", rest == "tmp":
		return true
	case len(rest) == 8 && isHex(rest):
		return true
	case strings.HasPrefix(rest, "res") && allDigits(rest[3:]):
		return true
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// storeFile reports whether a file belongs to a store exhunt never reads
// as a file: mailbox databases and their logs, the transport queue,
// Exchange's Logging folder (the log hunt reads it), memory files.
func storeFile(p string) bool {
	lp := "/" + strings.ToLower(strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/"))
	base := path.Base(lp)
	dir := path.Dir(lp) + "/"
	switch path.Ext(base) {
	case ".edb", ".stm":
		return true
	}
	switch base {
	case "pagefile.sys", "hiberfil.sys", "swapfile.sys":
		return true
	}
	if eseLog(base) {
		return true
	}
	for _, s := range []string{"/exchange server/v15/mailbox/", "/transportroles/data/queue/", "/exchange server/v15/logging/", "/system volume information/"} {
		if strings.Contains(dir, s) {
			return true
		}
	}
	return false
}

// inFileScope decides, for a targeted walk (a system root, or a system-like
// folder inside a copied tree), whether a file is scanned: the places, and
// the Exchange web folders. ProgramData's Microsoft and Package Cache trees
// are left out (Windows Error Reports excepted), and in Temporary ASP.NET
// Files only the compiled pages (App_Web_*, *.compiled) are read.
func inFileScope(p string) bool {
	lp := "/" + strings.ToLower(strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/"))
	switch PlaceOf(p) {
	case PlaceOther:
		dir := path.Dir(lp) + "/"
		if path.Base(lp) == "exsetup.exe" && strings.HasSuffix(dir, "/bin/") {
			return true // its version resource names the installed build (hunt reads it)
		}
		for _, w := range webDirs {
			if strings.Contains(dir, w) {
				return true
			}
		}
		return false
	case PlaceTempASPNET:
		base := path.Base(lp)
		return strings.HasPrefix(base, "app_web_") || strings.HasSuffix(base, ".compiled")
	case PlaceProgramData:
		dir := path.Dir(lp) + "/"
		return !strings.Contains(dir, "/programdata/microsoft/") && !strings.Contains(dir, "/programdata/package cache/")
	}
	return true
}

// Probing bounds for system-like folders inside a copied tree.
const systemProbeDepth = 5

// systemLike reports whether a directory is a Windows system drive (it
// holds Windows/System32) or an Exchange install (a Logging folder plus
// "exchange" in its path or the install's other folders): inside such a
// folder only the file places are scanned, unless the walk is full.
func systemLike(dir, rel string) bool {
	if p, ok := resolveCI(dir, "Windows", "System32"); ok {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return true
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	names := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() && e.Type()&fs.ModeIrregular == 0 {
			names[strings.ToLower(e.Name())] = true
		}
	}
	return installLike(names, rel)
}

// installLike applies the Exchange install markers to a folder's
// sub-folder names (lower case).
func installLike(subdirs map[string]bool, rel string) bool {
	if !subdirs["logging"] {
		return false
	}
	if strings.Contains(strings.ToLower(rel), "exchange") {
		return true
	}
	for _, m := range strings.Fields(exchangeMarkers) {
		if subdirs[m] {
			return true
		}
	}
	return false
}

// systemName reports folder names that are always system areas, whatever
// holds them (an Exchange install under a copied "Program Files").
func systemName(lower string) bool {
	switch lower {
	case "program files", "program files (x86)", "windows", "$windows.~bt", "$windows.~ws", "windows.old":
		return true
	}
	return false
}

// excluder skips the user's own rule and indicator folders and files.
type excluder struct{ paths []string }

func newExcluder(paths []string) excluder {
	var ex excluder
	for _, p := range paths {
		if p == "" {
			continue
		}
		a, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			a = r
		}
		ex.paths = append(ex.paths, filepath.Clean(a))
	}
	return ex
}

// excluded reports whether p (a real path as walked) is one of the
// excluded paths.
func (ex excluder) excluded(p string) bool {
	for _, x := range ex.paths {
		if p == x || runtime.GOOS == "windows" && strings.EqualFold(p, x) {
			return true
		}
	}
	return false
}

// fileTargets lists the folders of a system root where shells and loot
// land, and the web folders of each Exchange install found.
func (w *walker) fileTargets(real string, installs []string) []target {
	var out []target
	add := func(dir string, prune func(string) bool) {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return
		}
		rp, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return
		}
		w.log.Info("evidence: file folder", "dir", dir)
		out = append(out, target{dir: dir, real: rp, prune: prune, files: true})
	}
	for _, segs := range [][]string{
		{"inetpub", "wwwroot"},
		{"Windows", "Temp"},
		{"root"},
		{"Users", "Public"},
		{"ProgramData", "Microsoft", "Windows", "WER"},
		{"Windows", "System32", "config", "systemprofile", "AppData", "Local", "Microsoft", "Windows", "WER"},
		{"Windows", "SysWOW64", "config", "systemprofile", "AppData", "Local", "Microsoft", "Windows", "WER"},
		{"Windows", "ServiceProfiles", "LocalService", "AppData", "Local", "Microsoft", "Windows", "WER"},
		{"Windows", "ServiceProfiles", "NetworkService", "AppData", "Local", "Microsoft", "Windows", "WER"},
	} {
		if p, ok := resolveCI(real, segs...); ok {
			add(p, nil)
		}
	}
	if p, ok := resolveCI(real, "ProgramData"); ok {
		rel, _ := within(real, p)
		rel = strings.ToLower(rel)
		add(p, func(r string) bool { return r == rel+"/microsoft" || r == rel+"/package cache" })
	}
	if p, ok := resolveCI(real, "Windows", "System32", "inetsrv", "config"); ok {
		add(p, nil)
	}
	if net, ok := resolveCI(real, "Windows", "Microsoft.NET"); ok {
		for _, fw := range []string{"Framework", "Framework64"} {
			fp, ok := resolveCI(net, fw)
			if !ok {
				continue
			}
			vers, _ := os.ReadDir(fp)
			for _, v := range vers {
				if !v.IsDir() {
					continue
				}
				if p, ok := resolveCI(filepath.Join(fp, v.Name()), "Temporary ASP.NET Files"); ok {
					add(p, nil)
				}
			}
		}
	}
	for _, inst := range installs {
		for _, segs := range [][]string{
			{"FrontEnd", "HttpProxy", "owa"}, {"FrontEnd", "HttpProxy", "ecp"}, {"FrontEnd", "HttpProxy", "OAB"},
			{"ClientAccess", "owa"}, {"ClientAccess", "ecp"}, {"ClientAccess", "OAB"},
		} {
			if p, ok := resolveCI(inst, segs...); ok {
				add(p, nil)
			}
		}
	}
	return out
}
