package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const appHostMoved = `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <log>
      <centralW3CLogFile enabled="true" directory="%SystemDrive%\inetpub\logs\LogFiles" />
    </log>
    <sites>
      <site name="Default Web Site" id="1">
        <logFile directory="D:\IISLogs" />
      </site>
      <site name="Exchange Back End" id="2">
        <logFile logFormat="W3C" directory="e:\Moved\Logs" />
      </site>
      <site name="Share" id="3"><logFile directory="\\fileserver\iislogs" /></site>
      <site name="Env" id="4"><logFile directory="%LOGROOT%\iis" /></site>
      <siteDefaults>
        <logFile logFormat="W3C" directory="%SystemDrive%\inetpub\logs\LogFiles" />
      </siteDefaults>
    </sites>
  </system.applicationHost>
</configuration>
`

// systemImage is a mounted image copied as drive folders: Windows on C:,
// IIS logs moved to D: and E:, Exchange on C: and a second one on D:.
func systemImage(t *testing.T) (root, d string) {
	top := filepath.Join(t.TempDir(), "EXCH01")
	mk(t, top, map[string]string{
		"C/Windows/System32/inetsrv/config/applicationHost.config":                                             appHostMoved,
		"C/Windows/System32/LogFiles/HTTPERR/httperr1.log":                                                     "#Software: Microsoft HTTP API 2.0\r\n",
		"C/Windows/WinSxS/amd64_x/u_ex1.log":                                                                   iisLog,
		"C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log":                                                        iisLog,
		"C/Users/bob/Desktop/copy/W3SVC1/u_ex210302.log":                                                       iisLog,
		"C/Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe":                                        "MZ",
		"C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG":       proxyLog,
		"C/Program Files/Microsoft/Exchange Server/V15/Logging/MessageTracking/x.LOG":                          proxyLog,
		"C/Program Files/Microsoft/Exchange Server/V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http.LOG": rpsFieldsLog,
		"D/IISLogs/W3SVC1/u_ex210303.log":                                                                      iisLog,
		"D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG":                                     ecpServerLog,
		"D/Exchange Server/V15/Logging/oabgeneratorlog/OAB.LOG":                                                oabLog,
		"e/moved/LOGS/W3SVC2/u_ex210304.log":                                                                   iisLog,
		"F/Unrelated/W3SVC9/u_ex210305.log":                                                                    iisLog,
	})
	return filepath.Join(top, "C"), filepath.Join(top, "D")
}

func TestWalkSystemRootTargeted(t *testing.T) {
	root, _ := systemImage(t)
	top := filepath.ToSlash(filepath.Dir(root))
	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		top + "/D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG ecp-server",
		top + "/D/Exchange Server/V15/Logging/oabgeneratorlog/OAB.LOG oabgen",
		top + "/D/IISLogs/W3SVC1/u_ex210303.log iis",
		top + "/e/moved/LOGS/W3SVC2/u_ex210304.log iis",
		"Program Files/Microsoft/Exchange Server/V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http.LOG rps-http",
		"Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG httpproxy",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210301.log iis",
	})
	if len(g.fails) != 0 {
		t.Errorf("fails: %v", g.fails)
	}
	for _, it := range g.items {
		if it.Host != "EXCH01" {
			t.Errorf("host %q", it.Host)
		}
		if _, err := readItem(t, it); err != nil {
			t.Errorf("%s: %v", it.Path, err)
		}
	}
}

func TestWalkSystemRootFull(t *testing.T) {
	root, _ := systemImage(t)
	top := filepath.ToSlash(filepath.Dir(root))
	g := walk(t, []string{root}, Config{Full: true})
	sameList(t, "items", g.pf(), []string{
		top + "/D/Exchange Server/V15/Logging/ECP/Server/ECPServer20210303-1.LOG ecp-server",
		top + "/D/Exchange Server/V15/Logging/oabgeneratorlog/OAB.LOG oabgen",
		top + "/D/IISLogs/W3SVC1/u_ex210303.log iis",
		top + "/e/moved/LOGS/W3SVC2/u_ex210304.log iis",
		"Program Files/Microsoft/Exchange Server/V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http.LOG rps-http",
		"Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG httpproxy",
		// Full walk: content decides outside the targeted folders.
		"Program Files/Microsoft/Exchange Server/V15/Logging/MessageTracking/x.LOG httpproxy",
		"Users/bob/Desktop/copy/W3SVC1/u_ex210302.log iis",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210301.log iis",
	})
}

func TestWalkLiveRoot(t *testing.T) {
	// The live path, exercised off Windows: registry and liveness faked.
	base := t.TempDir()
	root := filepath.Join(base, "sysroot")
	install := filepath.Join(base, "ExchangeOnOtherDrive", "V15")
	moved := filepath.Join(base, "MovedIIS")
	cfg := strings.ReplaceAll(appHostMoved, `D:\IISLogs`, moved)
	mk(t, root, map[string]string{
		"Windows/System32/inetsrv/config/applicationHost.config": cfg,
		"inetpub/logs/LogFiles/W3SVC1/u_ex210301.log":            iisLog,
	})
	mk(t, install, map[string]string{"Logging/HttpProxy/Ecp/HttpProxy_2021030312-1.LOG": proxyLog})
	mk(t, moved, map[string]string{"W3SVC1/u_ex210303.log": iisLog})

	oldLive, oldInstall, oldHost := isLiveRoot, installPath, hostname
	t.Cleanup(func() { isLiveRoot, installPath, hostname = oldLive, oldInstall, oldHost })
	isLiveRoot = func(abs string) bool { return abs == root }
	installPath = func() (string, error) { return install + string(filepath.Separator), nil }
	hostname = func() (string, error) { return "LIVEHOST", nil }

	g := walk(t, []string{root}, Config{})
	sameList(t, "items", g.pf(), []string{
		filepath.ToSlash(install) + "/Logging/HttpProxy/Ecp/HttpProxy_2021030312-1.LOG httpproxy",
		filepath.ToSlash(moved) + "/W3SVC1/u_ex210303.log iis",
		"inetpub/logs/LogFiles/W3SVC1/u_ex210301.log iis",
	})
	for _, it := range g.items {
		if it.Host != "LIVEHOST" {
			t.Errorf("host %q", it.Host)
		}
	}
	if g := walk(t, []string{root}, Config{Host: "given"}); len(g.items) == 0 || g.items[0].Host != "given" {
		t.Errorf("Config.Host not used")
	}
}

func TestReadAppHostLogDirs(t *testing.T) {
	dirs, err := readAppHostLogDirs(strings.NewReader("\uFEFF" + appHostMoved))
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "dirs", dirs, []string{
		`%SystemDrive%\inetpub\logs\LogFiles`, `D:\IISLogs`, `e:\Moved\Logs`, `\\fileserver\iislogs`, `%LOGROOT%\iis`,
	})
	// Broken XML: what was read before the break is kept.
	dirs, err = readAppHostLogDirs(strings.NewReader(`<configuration><sites><site><logFile directory="X:\a"/></site><sites></oops>`))
	if err == nil || len(dirs) != 1 {
		t.Errorf("broken: %v %v", dirs, err)
	}
	// logFile outside a site is not a log folder.
	dirs, _ = readAppHostLogDirs(strings.NewReader(`<a><logFile directory="X:\a"/></a>`))
	if len(dirs) != 0 {
		t.Errorf("stray logFile: %v", dirs)
	}
}

func TestMapDir(t *testing.T) {
	top := filepath.Join(t.TempDir(), "img")
	mk(t, top, map[string]string{
		"C/Windows/System32/x.txt":  "",
		"C/inetpub/logs/LogFiles/x": "",
		"d/IISLogs/x":               "",
	})
	root := filepath.Join(top, "C")
	m := newMapper(root, false)
	tests := []struct {
		in, want string
	}{
		{`%SystemDrive%\inetpub\logs\LogFiles`, filepath.Join(root, "inetpub", "logs", "LogFiles")},
		{`%SYSTEMDRIVE%\INETPUB\LOGS\LOGFILES`, filepath.Join(root, "inetpub", "logs", "LogFiles")},
		{`C:\inetpub\logs\LogFiles`, filepath.Join(root, "inetpub", "logs", "LogFiles")},
		{`D:\IISLogs`, filepath.Join(top, "d", "IISLogs")},
		{`D:\IISLogs\..\..\etc`, ""},
		{`Z:\IISLogs`, ""},
		{`\\server\share`, ""},
		{`%UNKNOWN%\x`, ""},
		{`relative\x`, ""},
		{`%SystemDrive`, ""},
	}
	for _, tt := range tests {
		got, ok := m.mapDir(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("mapDir(%q) = %q %v, want %q", tt.in, got, ok, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(top, "C")); err != nil {
		t.Fatal(err)
	}
}
