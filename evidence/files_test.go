package evidence

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const shellPage = `<%@ Page Language="Jscript"%><%eval(Request.Item["x"],"unsafe");%>`

func TestPlaceOf(t *testing.T) {
	for _, tt := range []struct {
		path string
		want Place
	}{
		{"C/inetpub/wwwroot/aspnet_client/system_web/log.aspx", PlaceAspnetClient},
		{`C:\inetpub\wwwroot\aspnet_client\x.aspx`, PlaceAspnetClient},
		{"inetpub/wwwroot/iisstart.aspx", PlaceWWWRoot},
		{"D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx", PlaceOWAAuth},
		{"c:/exchange/frontend/httpproxy/OWA/AUTH/Current/themes/resources/x.aspx", PlaceOWAAuth},
		{"x/FrontEnd/HttpProxy/owa/auth/15.1.2106/scripts/premium/x.aspx", PlaceOWAAuth},
		{"FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx", PlaceECPAuth},
		{"FrontEnd/HttpProxy/OAB/log.aspx", PlaceOAB},
		{"V15/ClientAccess/OAB/guid/data.lzx", PlaceOAB},
		{"Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/a/b/App_Web_x.dll", PlaceTempASPNET},
		{"C/ProgramData/lsass.7z", PlaceProgramData},
		{"C/Users/All Users/COM1/x.aspx", PlaceProgramData},
		{"ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_1/Report.wer", PlaceWER},
		{"Windows/System32/config/systemprofile/AppData/Local/Microsoft/Windows/WER/ReportQueue/x/Report.wer", PlaceWER},
		{"Windows/Temp/xx.bat", PlaceWindowsTemp},
		{"root/lsass.dmp", PlaceRoot},
		{"C/root/lsass.dmp", PlaceRoot},
		{"c:/root/x", PlaceRoot},
		{"home/root/x", PlaceOther},
		{"/root/cases/x.aspx", PlaceRoot}, // relative first component; placeFor guards absolute paths
		{"Users/Public/opera/Opera_browser.exe", PlaceUsersPublic},
		{"C/Windows/System32/inetsrv/config/applicationHost.config", PlaceIISConfig},
		{"copies/applicationhost.config", PlaceIISConfig},
		{"D/tools/nc.exe", PlaceOther},
		{"aspnet_client", PlaceOther}, // a file named like the folder
	} {
		if got := PlaceOf(tt.path); got != tt.want {
			t.Errorf("PlaceOf(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
	if got := placeFor("cases/x.aspx", "/root/cases/x.aspx"); got != PlaceOther {
		t.Errorf("an absolute /root/ home made a %s place", got)
	}
	if got := placeFor("x.aspx", "/mnt/img/inetpub/wwwroot/aspnet_client/x.aspx"); got != PlaceAspnetClient {
		t.Errorf("place above the root not used: %s", got)
	}
}

func TestStoreFile(t *testing.T) {
	for p, want := range map[string]bool{
		"D/DB01/DB01.edb":        true,
		"D/DB01/DB01.STM":        true,
		"D/DB01/E00.log":         true,
		"D/DB01/E0000001A2B.log": true,
		"D/DB01/E00.chk":         true,
		"D/DB01/E00res00001.jrs": true,
		"D/DB01/E00tmp.log":      true,
		"D/Exchange Server/V15/Mailbox/Mailbox Database/x":  true,
		"D/Exchange Server/V15/TransportRoles/data/Queue/x": true,
		"D/Exchange Server/V15/Logging/HttpProxy/x.aspx":    true,
		"C/pagefile.sys": true,
		"C/inetpub/wwwroot/aspnet_client/E00.aspx": false,
		"C/ProgramData/e00.zip":                    false,
		"C/Windows/Temp/Exx.log":                   false,
	} {
		if got := storeFile(p); got != want {
			t.Errorf("storeFile(%q) = %v, want %v", p, got, want)
		}
	}
}

// fileTree is a copied triage tree: a system drive C (Windows/System32),
// Exchange on D, a data drive E and a loose tools folder.
func fileTree(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "EXCH01")
	mk(t, root, map[string]string{
		"C/Windows/System32/drivers/etc/hosts":                     "127.0.0.1 localhost",
		"C/Windows/System32/inetsrv/config/applicationHost.config": appHostMoved,
		"C/Windows/System32/inetsrv/config/redirection.config":     "<configuration/>",
		"C/Windows/Temp/xx.bat":                                    "whoami",
		"C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/App_Web_x4f2bdqm.dll":       "MZ",
		"C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/log.aspx.cdcab7d2.compiled": "<preserve/>",
		"C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/assembly/dl3/x/big.dll":     "MZ",
		"C/Windows/Temporary/readme.txt":                                                   "not a place",
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log":                                    iisLog,
		"C/inetpub/wwwroot/aspnet_client/system_web/log.aspx":                              shellPage,
		"C/inetpub/wwwroot/iisstart.htm":                                                   "<html/>",
		"C/ProgramData/lsass.7z":                                                           "7z\xbc\xaf\x27\x1c",
		"C/ProgramData/Microsoft/Crypto/key":                                               "x",
		"C/ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_1/Report.wer": "x",
		"C/ProgramData/Package Cache/setup.exe":                                            "MZ",
		"C/Users/bob/Desktop/notes.txt":                                                    textNote,
		"C/Users/Public/opera/Opera_browser.exe":                                           "MZ",
		"C/root/lsass.dmp":                                                                 "MDMP",
		"C/hiberfil.sys":                                                                   "x",
		"D/Exchange Server/V15/Bin/Microsoft.Exchange.Data.dll":                            "MZ",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx":                 shellPage,
		"D/Exchange Server/V15/FrontEnd/HttpProxy/owa/web.config":                          "<configuration/>",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx":             "<%@ Page %>",
		"D/Exchange Server/V15/ClientAccess/OAB/guid/oab.xml":                              "<OAB/>",
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG":           proxyLog,
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/dropped.aspx":                         shellPage,
		"D/Exchange Server/V15/Mailbox/Mailbox Database 1/db.edb":                          "x",
		"D/DB02/E00.log":    "x",
		"D/DB02/DB02.edb":   "x",
		"D/tools/nc.exe":    "MZ",
		"D/tools/notes.txt": textNote,
		"rules/my.yar":      "rule x { condition: true }",
		"iocs.txt":          "d41d8cd98f00b204e9800998ecf8427e",
	})
	return root
}

// ipf lists "Path kind family-or-place" lines.
func (g got) ipf() []string {
	var out []string
	for _, it := range g.items {
		if it.Kind == KindFile {
			out = append(out, it.Path+" file "+string(it.Place))
		} else {
			out = append(out, it.Path+" log "+it.Family.String())
		}
	}
	return out
}

func TestWalkFilesCopiedTree(t *testing.T) {
	root := fileTree(t)
	g := walk(t, []string{root}, Config{Files: true, Exclude: []string{filepath.Join(root, "rules"), filepath.Join(root, "iocs.txt")}})
	sameList(t, "items", g.ipf(), []string{
		"C/ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_1/Report.wer file wer",
		"C/ProgramData/lsass.7z file programdata",
		"C/Users/Public/opera/Opera_browser.exe file users_public",
		"C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/App_Web_x4f2bdqm.dll file temp_aspnet",
		"C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/log.aspx.cdcab7d2.compiled file temp_aspnet",
		"C/Windows/System32/inetsrv/config/applicationHost.config file iis_config",
		"C/Windows/Temp/xx.bat file windows_temp",
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log log iis",
		"C/inetpub/wwwroot/aspnet_client/system_web/log.aspx file aspnet_client",
		"C/inetpub/wwwroot/iisstart.htm file wwwroot",
		"C/root/lsass.dmp file root",
		"D/Exchange Server/V15/ClientAccess/OAB/guid/oab.xml file oab",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx file ecp_auth",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx file owa_auth",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/owa/web.config file other",
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG log httpproxy",
		"D/tools/nc.exe file other",
		"D/tools/notes.txt file other",
	})
	if len(g.fails) != 0 {
		t.Errorf("fails: %v", g.fails)
	}
	for _, it := range g.items {
		if it.Host != "EXCH01" {
			t.Errorf("%s: host %q", it.Path, it.Host)
		}
		if body, err := readItem(t, it); err != nil || int64(len(body)) != it.Size {
			t.Errorf("%s: %v, %d of %d bytes", it.Path, err, len(body), it.Size)
		}
	}

	// Without Files the walk is the log walk it always was.
	g = walk(t, []string{root}, Config{})
	sameList(t, "logs only", g.ipf(), []string{
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log log iis",
		"D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG log httpproxy",
	})

	// Full: every file but the stores and the excluded paths.
	g = walk(t, []string{root}, Config{Files: true, Full: true, Exclude: []string{filepath.Join(root, "rules"), filepath.Join(root, "iocs.txt")}})
	var paths []string
	for _, it := range g.items {
		paths = append(paths, it.Path)
	}
	joined := strings.Join(paths, "\n")
	for _, want := range []string{"C/Users/bob/Desktop/notes.txt", "D/Exchange Server/V15/Bin/Microsoft.Exchange.Data.dll", "C/ProgramData/Package Cache/setup.exe", "C/Windows/System32/drivers/etc/hosts"} {
		if !strings.Contains(joined, want) {
			t.Errorf("full walk lacks %s", want)
		}
	}
	for _, not := range []string{".edb", "E00.log", "hiberfil.sys", "dropped.aspx", "my.yar", "iocs.txt"} {
		if strings.Contains(joined, not) {
			t.Errorf("full walk lists %s", not)
		}
	}
}

func TestWalkFilesSystemRoot(t *testing.T) {
	root := filepath.Join(fileTree(t), "C")
	top := filepath.ToSlash(filepath.Dir(root))
	g := walk(t, []string{root}, Config{Files: true})
	sameList(t, "items", g.ipf(), []string{
		top + "/D/Exchange Server/V15/ClientAccess/OAB/guid/oab.xml file oab",
		top + "/D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx file ecp_auth",
		top + "/D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/OutlookJP.aspx file owa_auth",
		top + "/D/Exchange Server/V15/FrontEnd/HttpProxy/owa/web.config file other",
		top + "/D/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG log httpproxy",
		"ProgramData/Microsoft/Windows/WER/ReportArchive/AppCrash_w3wp.exe_1/Report.wer file wer",
		"ProgramData/lsass.7z file programdata",
		"Users/Public/opera/Opera_browser.exe file users_public",
		"Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/App_Web_x4f2bdqm.dll file temp_aspnet",
		"Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/root/1a/2b/log.aspx.cdcab7d2.compiled file temp_aspnet",
		"Windows/System32/inetsrv/config/applicationHost.config file iis_config",
		"Windows/Temp/xx.bat file windows_temp",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210301.log log iis",
		"inetpub/wwwroot/aspnet_client/system_web/log.aspx file aspnet_client",
		"inetpub/wwwroot/iisstart.htm file wwwroot",
		"root/lsass.dmp file root",
	})
	if len(g.fails) != 0 {
		t.Errorf("fails: %v", g.fails)
	}
}

func TestWalkFilesZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{
		{"C/Windows/System32/drivers/etc/hosts", "x"},
		{"C/Windows/Temp/cw.exe", "MZ"},
		{"C/inetpub/wwwroot/aspnet_client/shell.aspx", shellPage},
		{"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log", iisLog},
		{"C/Users/bob/ntuser.dat", "regf"},
		{"D/Exchange Server/V15/Bin/x.dll", "MZ"},
		{"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG", ecpServerLog},
		{"D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/x.aspx", shellPage},
		{"D/DB/DB.edb", "x"},
		{"loose/tool.exe", "MZ"},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.body)
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "EX01.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g := walk(t, []string{p}, Config{Files: true})
	sameList(t, "items", g.ipf(), []string{
		"C/Windows/Temp/cw.exe file windows_temp",
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log log iis",
		"C/inetpub/wwwroot/aspnet_client/shell.aspx file aspnet_client",
		"D/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/x.aspx file ecp_auth",
		"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG log ecp-server",
		"loose/tool.exe file other",
	})
	for _, it := range g.items {
		if body, err := readItem(t, it); err != nil || int64(len(body)) != it.Size {
			t.Errorf("%s: %v", it.Path, err)
		}
	}
}

func TestWalkFilesSingleFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inetpub", "wwwroot", "aspnet_client")
	mk(t, dir, map[string]string{"s.aspx": shellPage, "rule.yar": "rule x { condition: true }"})
	g := walk(t, []string{filepath.Join(dir, "s.aspx")}, Config{Files: true})
	sameList(t, "items", g.ipf(), []string{"s.aspx file aspnet_client"})
	g = walk(t, []string{filepath.Join(dir, "rule.yar")}, Config{Files: true, Exclude: []string{filepath.Join(dir, "rule.yar")}})
	if len(g.items)+len(g.fails) != 0 {
		t.Errorf("excluded single file walked: %v %v", g.ipf(), g.fails)
	}
}

func TestWalkFilesDeterministic(t *testing.T) {
	root := fileTree(t)
	a := walk(t, []string{root}, Config{Files: true}).ipf()
	b := walk(t, []string{root}, Config{Files: true}).ipf()
	if strings.Join(a, "\n") != strings.Join(b, "\n") || !sort.StringsAreSorted(a) {
		t.Errorf("walk order not deterministic and sorted:\n%v\n%v", a, b)
	}
}

// TestWalkFilesLeavesEvidenceUntouched reads every file item to the end
// and checks that nothing under the tree changed.
func TestWalkFilesLeavesEvidenceUntouched(t *testing.T) {
	root := fileTree(t)
	before := treeHash(t, root)
	for _, cfg := range []Config{{Files: true}, {Files: true, Full: true}} {
		g := walk(t, []string{root}, cfg)
		for _, it := range g.items {
			if _, err := readItem(t, it); err != nil {
				t.Errorf("%s: %v", it.Path, err)
			}
		}
	}
	if after := treeHash(t, root); after != before {
		t.Errorf("evidence changed by the walk")
	}
}

// On a live system root the Exchange install comes from the registry, on
// whatever drive: its web folders are scanned with the system root's places.
func TestWalkFilesLiveRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "sysroot")
	install := filepath.Join(base, "ExchangeOnOtherDrive", "V15")
	mk(t, root, map[string]string{
		"Windows/System32/inetsrv/config/applicationHost.config": appHostMoved,
		"inetpub/wwwroot/aspnet_client/system_web/x.aspx":        shellPage,
		"Users/bob/AppData/Local/Temp/setup.log":                 "not a place",
	})
	mk(t, install, map[string]string{
		"FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx": "<%@ Page %>",
		"Bin/Microsoft.Exchange.Data.dll":                "MZ",
	})
	oldLive, oldInstall, oldHost := isLiveRoot, installPath, hostname
	t.Cleanup(func() { isLiveRoot, installPath, hostname = oldLive, oldInstall, oldHost })
	isLiveRoot = func(abs string) bool { return abs == root }
	installPath = func() (string, error) { return install + string(filepath.Separator), nil }
	hostname = func() (string, error) { return "LIVEHOST", nil }

	g := walk(t, []string{root}, Config{Files: true})
	sameList(t, "items", g.ipf(), []string{
		filepath.ToSlash(install) + "/FrontEnd/HttpProxy/ecp/auth/TimeoutLogoff.aspx file ecp_auth",
		"Windows/System32/inetsrv/config/applicationHost.config file iis_config",
		"inetpub/wwwroot/aspnet_client/system_web/x.aspx file aspnet_client",
	})
}
