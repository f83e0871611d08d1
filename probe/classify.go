package probe

import (
	"fmt"
	"strings"
	"time"

	"github.com/exhunt/exhunt/exchange"
	"github.com/exhunt/exhunt/finding"
)

// assess turns the evidence of one host into the verdict fields of its
// result: detection, build, the families by exchange.Classify (§3.3), the
// active check's override (rule 5: upwards only), mitigations and findings.
func assess(res *Result, ev *evidence, active bool, now time.Time) {
	res.FEServer = ev.fe
	res.FrontEndPool = len(ev.fe) > 1
	res.Markers = ev.markers
	res.Sources = ev.readings
	res.SourcesDisagree = ev.disagree()
	if ev.fedTo != "" {
		res.Federated, res.FederatedTo = true, ev.fedTo
	}
	res.Mitigations = Mitigations{EOMT2021: MitUnknown, PNSMitigation: MitUnknown, EEMS: MitUnknown}
	res.BuildPrecision = PrecisionNone

	switch {
	case !ev.answered:
		res.Exchange = ExchangeUnknown
	case len(ev.readings) > 0 || has(ev.markers, "owa-logon-page", "owa-title", "ecp-title"):
		res.Exchange = ExchangeYes
	case len(ev.fe) > 0 || has(ev.markers, "ews-401", "owa-redirect-logon", "owa-redirect-external"):
		res.Exchange = ExchangeLikely
	default:
		res.Exchange = ExchangeNo
	}

	why := "no build could be read"
	if !ev.answered {
		why = "the host did not answer"
	} else if res.Exchange == ExchangeNo {
		why = "not Exchange"
	}
	res.Families = unknownFamilies(why)

	best, b, ok := ev.best()
	cloudFE := false
	for _, n := range ev.fe {
		cloudFE = cloudFE || isCloudFE(n)
	}
	if ok {
		a := exchange.Classify(b)
		res.Build = b.String()
		res.BuildSource = best.Source
		res.Product = string(a.Product)
		res.CU = a.CU
		res.Release = a.Release
		res.BuildPrecision = PrecisionCU
		if b.Parts == 4 {
			res.BuildPrecision = PrecisionBuild
		}
		res.EOL = a.EOLAt(now)
		conf := ConfidenceCU
		if b.Parts == 4 {
			conf = ConfidenceVersion
		}
		for _, v := range a.Families {
			c := conf
			if v.Status == exchange.Unknown {
				c = ConfidenceNone
			}
			res.Families[v.Family] = FamilyResult{Status: v.Status, Confidence: c, Detail: v.Detail}
		}
	}
	if res.Exchange != ExchangeNo && res.Exchange != ExchangeUnknown && (res.Product == string(exchange.ExOnline) || cloudFE && !(ok && knownCU(b))) {
		// Exchange Online answers with 15.20 builds or builds in no
		// on-premises table, through cloud front ends: not an on-premises
		// server, no verdict (exposure.md §1.1).
		res.Online = true
		res.Product = string(exchange.ExOnline)
		res.CU, res.Release, res.EOL = "", "", false
		res.Families = unknownFamilies("Exchange Online (Microsoft 365): not an on-premises server, out of scope")
	}
	if active && ev.xjs != nil {
		applyActive(res, ev)
	}
	if active && ev.pns != nil {
		switch {
		case ev.pns.aborted:
			res.Mitigations.PNSMitigation = MitPresent
		case ev.pns.status != 0:
			res.Mitigations.PNSMitigation = MitAbsent
		}
		if res.Active != nil {
			res.Active.PNSStatus = ev.pns.status
		}
	}
	res.Findings = findings(res, now)
}

func knownCU(b exchange.Build) bool { return exchange.Classify(b).Known }

// applyActive applies exposure.md §3.3 rule 5 to ProxyLogon: a vulnerable
// answer confirms; a negative answer never lowers a version verdict; an
// abort is the EOMT 2021 URL-rewrite mitigation.
func applyActive(res *Result, ev *evidence) {
	x := ev.xjs
	a := &Active{Status: x.status, XCalculatedBETarget: x.betarget, Control: x.control, Error: x.err}
	res.Active = a
	pl := res.Families[exchange.ProxyLogon]
	switch {
	case x.status != 0 && strings.Contains(strings.ToLower(x.betarget), "localhost"):
		a.Result = ActiveVulnerable
		res.Mitigations.EOMT2021 = MitAbsent
		note := "confirmed by Microsoft's x.js check (X-CalculatedBETarget: localhost)"
		if pl.Status == exchange.NotVulnerable {
			note += "; the build reads as fixed: the version seen is not the one serving"
		}
		pl = FamilyResult{Status: exchange.Vulnerable, Confidence: ConfidenceConfirmed, Detail: pl.Detail, Note: note}
	case x.status != 0:
		a.Result = ActiveNotVulnerable
		res.Mitigations.EOMT2021 = MitAbsent
		switch pl.Status {
		case exchange.Vulnerable:
			pl.Note = "vulnerable-by-version, probe-negative (a WAF, federated authentication or a load balancer can hide the SSRF)"
		case exchange.Potentially, exchange.Unknown:
			pl.Note = "probe-negative; the version verdict stands (a negative check never lowers it)"
		}
	case x.aborted && x.control != 0:
		a.Result = ActiveMitigated
		res.Mitigations.EOMT2021 = MitPresent
		pl.Note = "EOMT 2021 URL-rewrite mitigation present (x.js aborted, the control request answered); verdict by version"
	default:
		a.Result = ActiveUnknown
	}
	res.Families[exchange.ProxyLogon] = pl
}

// Advisory ids of probe findings, one per family, stable across releases.
var familyIDs = map[exchange.Family]string{
	exchange.ProxyLogon:    "EXH-PROBE-PL",
	exchange.ProxyShell:    "EXH-PROBE-PS",
	exchange.ProxyNotShell: "EXH-PROBE-PNS",
	exchange.OWASSRF:       "EXH-PROBE-OWS",
}

// findings expresses vulnerable and potentially vulnerable families in the
// hunt's finding schema. The stage is recon: an exposure is no attack
// step, and recon is the lowest stage, so merging probe and hunt output
// never raises a host's worst stage above what its own evidence shows.
func findings(res *Result, now time.Time) []finding.Finding {
	var out []finding.Finding
	var path, exc string
	for _, r := range res.Sources {
		if r.Source == res.BuildSource && r.Build == res.Build {
			path, exc = r.URL, r.Excerpt
		}
	}
	for _, f := range exchange.Families {
		v := res.Families[f]
		if v.Status != exchange.Vulnerable && v.Status != exchange.Potentially {
			continue
		}
		sev, title := finding.High, fmt.Sprintf("Exchange server exposed to %s", f)
		if v.Status == exchange.Potentially {
			sev, title = finding.Medium, fmt.Sprintf("Exchange server possibly exposed to %s (security update not visible)", f)
		}
		p, e := path, exc
		if v.Confidence == ConfidenceConfirmed && res.Active != nil {
			p = res.Scheme + "://" + res.hostPort() + pathXJS
			e = "X-CalculatedBETarget: " + res.Active.XCalculatedBETarget
		}
		fields := map[string]string{"status": string(v.Status), "confidence": v.Confidence, "source": res.BuildSource, "build": res.Build}
		if res.CU != "" {
			fields["cu"] = res.CU
		}
		if v.Note != "" {
			fields["note"] = v.Note
		}
		out = append(out, finding.Finding{
			Advisory: finding.Advisory{
				ID:          familyIDs[f],
				Title:       title,
				Description: v.Detail,
				Severity:    sev,
				Stage:       finding.StageRecon,
				Campaign:    string(f),
				CVEs:        f.CVEs(),
				Techniques:  []string{"T1190"},
				References:  []string{"docs/probe.md"},
			},
			Time:     now.UTC(),
			Host:     res.hostPort(),
			Evidence: finding.Evidence{Path: p, Source: "probe", Excerpt: e, Fields: fields},
		})
	}
	return out
}

func (r *Result) hostPort() string {
	if strings.Contains(r.IP, ":") {
		return fmt.Sprintf("[%s]:%d", r.IP, r.Port)
	}
	return fmt.Sprintf("%s:%d", r.IP, r.Port)
}

func has(list []string, any ...string) bool {
	for _, x := range list {
		for _, y := range any {
			if x == y {
				return true
			}
		}
	}
	return false
}
