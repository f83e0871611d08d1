package evidence

import (
	"bytes"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/event"
)

// FuzzClassify: Classify never panics, returns a known family, and never
// claims a file whose extension a log does not have.
func FuzzClassify(f *testing.F) {
	f.Add("Logging/HttpProxy/Owa/HttpProxy_2021030312-1.LOG", []byte(proxyLog))
	f.Add("W3SVC1/u_ex210303.log", []byte(iisLog))
	f.Add("row.txt", []byte(headerlessProxyRow))
	f.Add("a.log", []byte(utf16le(iisLog)))
	f.Add("x", []byte(garbage))
	f.Add("Windows/System32/winevt/Logs/Security.evtx", []byte(evtxHead))
	f.Add("export/ps.json", []byte(utf16le(psJSON)))
	f.Add("siem/x.ndjson", []byte(beatJSON))
	f.Fuzz(func(t *testing.T, p string, head []byte) {
		s := Classify(p, head)
		if s != event.Unknown && s.String() == "unknown" {
			t.Fatalf("out-of-range family %d", s)
		}
		if !candidateName(p) && s != event.Unknown {
			t.Fatalf("%q classified %v despite its extension", p, s)
		}
		// Only the first SniffSize bytes matter.
		if len(head) > SniffSize && Classify(p, head[:SniffSize]) != s {
			t.Fatalf("bytes past SniffSize changed the family")
		}
	})
}

// FuzzAppHostLogDirs: the applicationHost.config reader never panics, and
// the offline mapper never escapes through "..".
func FuzzAppHostLogDirs(f *testing.F) {
	f.Add([]byte(appHostMoved))
	f.Add([]byte(`<configuration><sites><siteDefaults><logFile directory="%SystemDrive%\inetpub\logs\LogFiles"/></siteDefaults></sites></configuration>`))
	f.Add([]byte(`<site><logFile directory="D:\..\..\x"/></site>`))
	m := mapper{root: f.TempDir(), letter: "C"}
	f.Fuzz(func(t *testing.T, data []byte) {
		dirs, _ := readAppHostLogDirs(bytes.NewReader(data))
		for _, d := range dirs {
			if strings.TrimSpace(d) == "" {
				t.Fatalf("empty directory returned")
			}
			if p, ok := m.mapDir(d); ok {
				if _, in := within(m.root, p); !in {
					t.Fatalf("%q mapped outside the image: %q", d, p)
				}
			}
		}
	})
}
