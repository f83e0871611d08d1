package probe

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"testing"
	"time"

	"github.com/exhunt/exhunt/exchange"
)

// FuzzObserve feeds hostile answers (any status, headers, body) through
// the fingerprinting and the verdict: nothing may panic, every family gets
// a status, and a build read from the answer is one the table parses.
func FuzzObserve(f *testing.F) {
	f.Add(302, "X-OWA-Version: 15.2.858.2\r\nX-FEServer: EX01\r\nLocation: https://sts.example/adfs/ls\r\n", []byte(""), "/owa/")
	f.Add(200, "Content-Type: text/html\r\n", []byte(`<!-- OwaPage = ASP.auth_logon_aspx --><link href="/owa/auth/15.1.2106/themes/resources/favicon.ico"><title>Outlook</title>`), "/owa/auth/logon.aspx")
	f.Add(200, "", []byte(`<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.1.2176.14" />`), pathExport)
	f.Add(401, "WWW-Authenticate: Negotiate\r\nX-OWA-Version: 99999999.1.2.3\r\n", []byte("x"), pathEWS)
	f.Add(500, "X-CalculatedBETarget: localhost\r\nX-ServerApplication: Exchange/15.02.0858.002\r\n", []byte("NegotiateSecurityContext failed"), pathXJS)
	f.Add(200, "X-OWA-Version: 15.20.5000.1\r\nX-FEServer: CY4PR02CA0010\r\n", []byte("/owa/14.3.123.4/"), "/owa/")
	f.Fuzz(func(t *testing.T, status int, headers string, body []byte, path string) {
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader([]byte(headers + "\r\n\r\n"))))
		mh, _ := tp.ReadMIMEHeader()
		ev := &evidence{target: "127.0.0.1:443"}
		r := &response{Path: path, Status: status, Header: http.Header(mh), Body: body}
		ev.observe("https://127.0.0.1:443", r)
		res := &Result{}
		assess(res, ev, false, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		for _, fam := range exchange.Families {
			if res.Families[fam].Status == "" {
				t.Fatalf("family %s without a status: %+v", fam, res)
			}
		}
		if res.Build != "" {
			if _, err := exchange.ParseBuild(res.Build); err != nil {
				t.Fatalf("build %q does not parse: %v", res.Build, err)
			}
		}
	})
}
