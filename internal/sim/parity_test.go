package sim

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exhunt/exhunt/exchange"
)

// Peer logic as exposure.md §1.3 describes it, written here from those
// descriptions, run against the fleet and held to the ground truth.

var (
	nucleiPath  = regexp.MustCompile(`/owa/auth/([0-9.]+)/`)
	nucleiTitle = regexp.MustCompile(`(?i)<title>(Exchange Log In|Microsoft Exchange - Outlook Web Access)</title>`)
	beaumontRe  = regexp.MustCompile(`/owa/(?:auth/)?(\d+)\.(\d+)\.(\d+)`)
)

// nuclei ms-exchange-server: GET /owa/auth/logon.aspx; any of the header,
// the resource path or the titles.
func nucleiMatch(a answer) (bool, string) {
	if v := a.hdr.Get("X-Owa-Version"); v != "" {
		return true, v
	}
	if m := nucleiPath.FindStringSubmatch(a.body); m != nil {
		return true, m[1]
	}
	return nucleiTitle.MatchString(a.body), ""
}

// beaumont is http-vuln-exchange.nse's decision on the third component.
func beaumont(body string) string {
	m := beaumontRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	minor, _ := strconv.Atoi(m[2])
	build, _ := strconv.Atoi(m[3])
	switch {
	case m[1] == "15" && minor == 0:
		switch {
		case build < 1497:
			return "vulnerable"
		case build == 1497:
			return "potentially"
		}
	case m[1] == "15" && minor == 1:
		switch {
		case build == 2106 || build == 2176:
			return "potentially"
		case build < 2106:
			return "vulnerable"
		}
	case m[1] == "15" && minor == 2:
		switch {
		case build == 721 || build == 792:
			return "potentially"
		case build < 720:
			return "vulnerable"
		}
	default:
		return "out of support"
	}
	return "not vulnerable"
}

func TestPeerParity(t *testing.T) {
	f := fleet(t)
	var nuclei, beau int
	for _, h := range f.Hosts() {
		if !h.Expect.Answers || !h.Expect.Decidable || h.Profile.Pathology != "" {
			continue
		}
		logon := get(h, "/owa/auth/logon.aspx", "")
		match, version := nucleiMatch(logon)
		if match && h.Expect.Exchange != "yes" {
			t.Errorf("host %d: nuclei ms-exchange-server matches, truth says exchange=%s", h.Index, h.Expect.Exchange)
		}
		if match {
			nuclei++
			if version != "" && !strings.HasPrefix(h.Expect.Build, version) && !strings.HasPrefix(version, exchange.MustBuild(h.Profile.OWAVersion).Short()) {
				t.Errorf("host %d: nuclei extracts %s, truth build %s", h.Index, version, h.Expect.Build)
			}
		}
		if h.Expect.Precision != "cu" {
			continue
		}
		// A CU-only reading: Beaumont and our rules must not contradict.
		if !match {
			t.Errorf("host %d: a CU-only Exchange host that nuclei does not see", h.Index)
		}
		ours := h.Expect.Families[exchange.ProxyLogon]
		switch b := beaumont(logon.body); b {
		case "vulnerable":
			if ours != exchange.Vulnerable && ours != exchange.Potentially {
				t.Errorf("host %d %s: Beaumont vulnerable, ours %s", h.Index, h.Expect.Build, ours)
			}
		case "potentially":
			if ours != exchange.Potentially {
				t.Errorf("host %d %s: Beaumont potentially, ours %s", h.Index, h.Expect.Build, ours)
			}
		case "not vulnerable":
			if ours != exchange.NotVulnerable {
				t.Errorf("host %d %s: Beaumont not vulnerable, ours %s", h.Index, h.Expect.Build, ours)
			}
		default:
			t.Errorf("host %d: Beaumont reads nothing from a CU-only host's logon page", h.Index)
		}
		beau++
	}
	if nuclei < 80 || beau < 5 {
		t.Errorf("only %d nuclei matches and %d CU-only hosts compared", nuclei, beau)
	}
	t.Logf("nuclei matched %d hosts, Beaumont compared on %d CU-only hosts", nuclei, beau)
}
