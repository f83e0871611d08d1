package heuristic

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/exhunt/exhunt/internal/filegen"
)

// FuzzMinidump: the sniffer never panics, reads only inside the file and
// returns bounded module names.
func FuzzMinidump(f *testing.F) {
	f.Add(filegen.Minidump(`C:\Windows\System32\lsass.exe`, `C:\Windows\System32\lsasrv.dll`))
	f.Add(filegen.Minidump())
	f.Add([]byte("MDMP\x93\xa7\x00\x00\xff\xff\xff\xff\x20\x00\x00\x00"))
	f.Add([]byte("MDMP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, _ := readMinidump(bytes.NewReader(data), int64(len(data)))
		if md == nil {
			return
		}
		if len(md.Modules) > mdmpMaxModules {
			t.Fatalf("%d modules", len(md.Modules))
		}
		for _, m := range md.Modules {
			if len(m) > 3*mdmpMaxName {
				t.Fatalf("module name of %d bytes", len(m))
			}
		}
	})
}

// FuzzWER: the report reader never panics and keeps times plausible.
func FuzzWER(f *testing.F) {
	f.Add(filegen.WER("Version", "1", "EventType", "APPCRASH", "EventTime", "132590405951234567", "AppPath", `c:\windows\system32\inetsrv\w3wp.exe`, "Sig[0].Value", "w3wp#MSExchangeECPAppPool"))
	f.Add([]byte("Version=1\r\nEventType=CLR20r3\r\nEventTime=0\r\n"))
	f.Add([]byte("\xff\xfe=\x00\x00\xd8"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := readWER(data)
		if ts := r.eventTime(); !ts.IsZero() && (ts.Before(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) || ts.Year() > 2200) {
			t.Fatalf("implausible event time %v", ts)
		}
		_ = r.values(".Value")
	})
}

// FuzzAppHostVDirs: the virtual directory reader never panics, returns
// only entries with a physical path, and the path check never panics.
func FuzzAppHostVDirs(f *testing.F) {
	f.Add([]byte(appHostHead + appHostTail))
	f.Add([]byte(appHostHead + `<application path="/x"><virtualDirectory path="/" physicalPath="C:\ProgramData\COM1\x" /></application>` + appHostTail))
	f.Add([]byte(`<sites><site name="a"><application path="/"><virtualDirectory physicalPath="%ProgramData%\aux.txt\"/>`))
	f.Add([]byte(strings.Repeat("<a>", 300)))
	f.Fuzz(func(t *testing.T, data []byte) {
		vds, _ := readAppHostVDirs(data)
		for _, v := range vds {
			if v.Physical == "" {
				t.Fatal("empty physical path")
			}
			suspiciousPhysical(v.Physical)
		}
	})
}
