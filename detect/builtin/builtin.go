// Package builtin holds exhunt's own detectors for the Exchange campaigns
// (ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF, ProxyToken), written as
// field-aware rules over the parsed log families. They are plain values,
// listed explicitly in All.
//
// IDs are EXH-<FAMILY>-<NN>: PL ProxyLogon, PS ProxyShell, PNS
// ProxyNotShell, OWA OWASSRF, PT ProxyToken, WS web shell, HF HAFNIUM
// tradecraft and IOC context. One ID has one meaning and one title.
package builtin

import (
	"github.com/exhunt/exhunt/detect"
)

// All returns the default detector pack, in a stable order.
func All() []*detect.Detector {
	var out []*detect.Detector
	out = append(out, proxyLogonDetectors()...)
	out = append(out, sg05Detector(), oabDetector(), ecpMarkupDetector(), ssrfEntryDetector(), rpcArtefactDetector())
	out = append(out, webShellDetectors()...)
	out = append(out, iisCookieDetector(), aspnetClientGetDetector())
	out = append(out, hafniumDetectors()...)
	out = append(out, proxyShellDetectors()...)
	out = append(out, owassrfDetectors()...)
	return out
}

// Correlators returns the run-level correlators (the SSRF chain).
func Correlators() []*detect.Correlator {
	return []*detect.Correlator{chainCorrelator()}
}
