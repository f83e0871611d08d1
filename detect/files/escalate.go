package files

import "github.com/exhunt/exhunt/finding"

// Escalate raises the findings of detector id (the staging-archive
// heuristic) from low to medium on every host that has another finding
// of medium or above, logs included: an archive in ProgramData is worth a
// look on a host that shows an intrusion, and noise (a security product's
// zips, CSS-Exchange#311) on one that does not. It runs once, after all
// findings are in, and changes fs in place; it returns how many it raised.
func Escalate(fs []finding.Finding, id string) int {
	hot := map[string]bool{}
	for _, f := range fs {
		if f.ID != id && f.Severity >= finding.Medium {
			hot[f.Host] = true
		}
	}
	n := 0
	for i := range fs {
		f := &fs[i]
		if f.ID == id && f.Severity < finding.Medium && hot[f.Host] {
			f.Severity = finding.Medium
			if f.Evidence.Fields == nil {
				f.Evidence.Fields = map[string]string{}
			}
			f.Evidence.Fields["raised"] = "the host has other findings of medium or above"
			n++
		}
	}
	return n
}
