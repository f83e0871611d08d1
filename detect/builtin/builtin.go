// Package builtin holds exhunt's own detectors for the Exchange campaigns
// (ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF, ProxyToken), written as
// field-aware rules over the parsed log families. They are plain values,
// listed explicitly in All.
package builtin

import (
	"github.com/exhunt/exhunt/detect"
)

// All returns the default detector pack, in a stable order.
func All() []*detect.Detector {
	return []*detect.Detector{}
}

// Correlators returns the run-level correlators (the SSRF chain).
func Correlators() []*detect.Correlator {
	return nil
}
