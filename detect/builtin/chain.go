package builtin

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/finding"
)

// The ProxyLogon chain correlator: one finding per attacker address that
// says how far along the public chain (microsoft/CSS-Exchange#100) the
// address got, built from the per-row step findings EXH-PL-01..07.

// MaxChainRelated bounds the rows listed in a chain finding.
const MaxChainRelated = 20

// chainStepOrder is the 1..5 number of a step ("stage k of 5"). A back-end
// path outside the chain proves the bypass worked, like the SID leak.
var chainStepOrder = map[ssrfStep]int{stepRecon: 1, stepSID: 2, stepSession: 3, stepOAB: 4, stepReset: 5, stepOther: 2}

var chainStepTitle = [6]string{"", "autodiscover recon", "back end reached, SID leak", "ECP session", "OAB virtual directory change", "virtual directory reset"}

// chainAdvisory is the advisory of a chain that reached step k (1..5);
// each k has its own ID so that one ID always carries one title.
func chainAdvisory(k int) finding.Advisory {
	sev, st := finding.High, finding.StageExploit
	desc := "One client address drove the ProxyLogon SSRF past the authentication bypass (SID leak or ECP session): the server was exploited, but no file write through the chain is logged."
	switch {
	case k >= 4:
		sev, st = finding.Critical, finding.StageWrite
		desc = "One client address drove the ProxyLogon SSRF up to changing or resetting the OAB virtual directory, the steps that plant a China Chopper web shell. Treat the server as compromised; look for new .aspx files."
	case k <= 1:
		sev, st = finding.Low, finding.StageAttempt
		desc = "One client address only ran the autodiscover reconnaissance step of the ProxyLogon SSRF: an exploitation attempt that did not get further (no valid mailbox found). Not a compromise on its own."
	}
	return adv(fmt.Sprintf(idPLChainFmt, k),
		fmt.Sprintf("ProxyLogon SSRF chain reached stage %d of 5 (%s)", k, chainStepTitle[k]),
		desc, sev, st, cProxyLogon, cvesProxyLogonRCE, []string{tExploitPublic},
		[]string{refCSS100, "Test-ProxyLogon TPL-01/TPL-05", refTPL, refCSS312})
}

const idPLScanChain = "EXH-PL-96"

func scanChainAdvisory() finding.Advisory {
	return adv(idPLScanChain,
		"ProxyLogon vulnerability scanning from one address (localhost probes only)",
		"Every ServerInfo~ request from this address targeted localhost, the probe scanners send to test for CVE-2021-26855. The server was scanned, not exploited.",
		finding.Low, finding.StageRecon, cProxyLogon, cvesProxyLogonSSRF, []string{tVulnScan}, []string{refSB125})
}

// ChainAdvisories lists every advisory the correlator can emit, for
// documentation and the uniqueness tests.
func ChainAdvisories() []finding.Advisory {
	out := []finding.Advisory{}
	for k := 1; k <= 5; k++ {
		out = append(out, chainAdvisory(k))
	}
	return append(out, scanChainAdvisory())
}

func chainCorrelator() *detect.Correlator {
	return &detect.Correlator{
		Advisory: adv("EXH-PL-90",
			"ProxyLogon SSRF chain per attacker address",
			"Groups the ProxyLogon SSRF step findings (EXH-PL-01..07) by client address and reports, once per address, the deepest step of the chain it reached (EXH-PL-91..95), or a scan (EXH-PL-96).",
			finding.High, finding.StageExploit, cProxyLogon, cvesProxyLogonRCE, []string{tExploitPublic}, []string{refCSS100}),
		Correlate: correlateChain,
	}
}

type chainRow struct {
	f     finding.Finding
	step  ssrfStep
	order int // 1..5, 0 for a localhost probe
}

func correlateChain(fs []finding.Finding) []finding.Finding {
	groups := map[string][]chainRow{}
	var keys []string
	for _, f := range fs {
		step, ok := plStepByID[f.ID]
		if !ok {
			continue
		}
		key := firstIP(f.Evidence.Fields["client_ip"])
		if key == "" {
			key = "unknown"
		}
		if _, seen := groups[key]; !seen {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], chainRow{f: f, step: step, order: chainStepOrder[step]})
	}
	sort.Strings(keys)
	var out []finding.Finding
	for _, key := range keys {
		out = append(out, chainFinding(key, groups[key]))
	}
	return out
}

func chainFinding(key string, rows []chainRow) finding.Finding {
	sort.SliceStable(rows, func(i, j int) bool {
		ti, tj := rows[i].f.Time, rows[j].f.Time
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if rows[i].f.Evidence.Path != rows[j].f.Evidence.Path {
			return rows[i].f.Evidence.Path < rows[j].f.Evidence.Path
		}
		return rows[i].f.Evidence.Line < rows[j].f.Evidence.Line
	})
	deepest := -1
	reached := map[ssrfStep]bool{}
	var uas, hosts, names []string
	seenUA, seenHost := map[string]bool{}, map[string]bool{}
	var first, last time.Time
	for i, r := range rows {
		if deepest < 0 || r.order > rows[deepest].order {
			deepest = i
		}
		reached[r.step] = true
		if ua := r.f.Evidence.Fields["user_agent"]; ua != "" && !seenUA[ua] {
			seenUA[ua] = true
			uas = append(uas, ua)
		}
		if h := r.f.Host; h != "" && !seenHost[h] {
			seenHost[h] = true
			hosts = append(hosts, h)
		}
		if t := r.f.Time; !t.IsZero() {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	k := rows[deepest].order
	var a finding.Advisory
	if k == 0 {
		a = scanChainAdvisory()
	} else {
		a = chainAdvisory(k)
	}
	for _, st := range []ssrfStep{stepRecon, stepSID, stepOther, stepSession, stepOAB, stepReset} {
		if reached[st] {
			names = append(names, fmt.Sprintf("%d %s", chainStepOrder[st], stepNames[st]))
		}
	}
	if reached[stepLocalhost] {
		names = append(names, "localhost probe")
	}
	ev := rows[deepest].f.Evidence
	fields := make(map[string]string, len(ev.Fields)+8)
	for k, v := range ev.Fields {
		fields[k] = v
	}
	fields["client_ip"] = key
	fields["chain_key"] = key
	fields["user_agents"] = strings.Join(uas, " | ")
	fields["stages"] = strings.Join(names, ", ")
	fields["stage_reached"] = fmt.Sprint(k)
	fields["rows"] = fmt.Sprint(len(rows))
	if len(hosts) > 1 {
		fields["hosts"] = strings.Join(hosts, ", ")
	}
	if !first.IsZero() {
		fields["first_seen"] = first.UTC().Format(time.RFC3339Nano)
		fields["last_seen"] = last.UTC().Format(time.RFC3339Nano)
	}
	ev.Fields = fields
	related := make([]finding.Evidence, 0, min(len(rows), MaxChainRelated))
	for _, r := range rows {
		if len(related) == MaxChainRelated {
			break
		}
		related = append(related, r.f.Evidence)
	}
	host := rows[deepest].f.Host
	if host == "" && len(hosts) > 0 {
		host = hosts[0]
	}
	return finding.Finding{Advisory: a, Time: first, Host: host, Evidence: ev, Related: related}
}
