// Package pack is exhunt's default Sigma rule pack for Exchange compromise
// (ProxyLogon/HAFNIUM, ProxyShell and what intruders do after them): Windows
// event log rules for the UM deserialization bug (CVE-2021-26857), web and
// UM worker child processes, LSASS dumping, the MSExchange Management cmdlet
// log, privileged group changes and cleared logs, plus two IIS rules that
// complement the built-in line detectors.
//
// The rules are standard Sigma YAML, readable by other Sigma tools. Each
// carries a top-level "exhunt" attribute (id EXH-EV-NN, stage, campaign,
// cves) that the engine maps into findings. Every rules/<name>.yml has a
// samples/<name>.yml with positive and hard-negative events; pack_test.go
// loads the whole pack and runs them. README.md lists the rules.
package pack

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed rules samples
var files embed.FS

// Folder names inside FS.
const (
	RulesDir   = "rules"
	SamplesDir = "samples"
)

// FS returns the pack: RulesDir/*.yml and SamplesDir/<same name>.yml.
func FS() fs.FS { return files }

// SamplesPath returns the samples file that belongs to a rule file, given
// as a path inside FS ("rules/ev01_x.yml" -> "samples/ev01_x.yml").
func SamplesPath(rulePath string) string {
	return path.Join(SamplesDir, path.Base(rulePath))
}
