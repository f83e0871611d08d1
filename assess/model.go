package assess

import (
	"fmt"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// Rule is one row of the model: an evidence condition over one host, the
// percentage points it adds (Weight, negative lowers), the score it
// guarantees (Floor) or allows at most (Cap), and the state it implies.
// docs/assess.md prints this table; assess_test.go tests every row on its
// evidence and on a near miss.
type Rule struct {
	ID     string
	Weight int
	Floor  int
	Cap    int
	State  finding.State // "" when the row does not decide the state
	Short  string        // the reason in a few words, for the verdict line
	When   string        // the evidence condition, in words
	// match returns the findings behind the row, or nil when it does not
	// fire (an empty, non-nil slice fires without findings).
	match func(h *host) []*finding.Finding
	text  func(h *host, fs []*finding.Finding) string
}

// Detector sets behind the rows. IDs are the hunt's (exhunt rules list).
var (
	idsChain      = set("EXH-PL-04", "EXH-PL-05", "EXH-PL-08", "EXH-PL-94", "EXH-PL-95")
	idsVDirWrite  = set("EXH-PL-09", "EXH-PL-10", "EXH-EV-15", "EXH-EV-16", "EXH-EV-17", "EXH-FILE-02")
	idsRCE        = set("EXH-PS-02", "EXH-PNS-01", "EXH-OWA-01", "EXH-EV-04")
	idsChild      = set("EXH-EV-06", "EXH-EV-07", "EXH-EV-08", "EXH-EV-09", "EXH-HF-09")
	idsLSASS      = set("EXH-EV-10", "EXH-EV-11", "EXH-EV-12", "EXH-EV-13", "EXH-FILE-05", "EXH-HF-07")
	idsBypass     = set("EXH-PL-02", "EXH-PL-03", "EXH-PL-06", "EXH-PL-92", "EXH-PL-93", "EXH-PT-01", "EXH-PNS-02", "EXH-OWA-03", "EXH-OWA-05")
	idsShellReq   = set("EXH-WS-01", "EXH-WS-02", "EXH-WS-04", "EXH-HF-05")
	idsShellFile  = set("EXH-FILE-00", "EXH-FILE-01", "EXH-FILE-02", "EXH-FILE-03", "EXH-FILE-04", "EXH-YARA-01", "EXH-YARA-02", "EXH-YARA-03", "EXH-YARA-04", "EXH-YARA-05", "EXH-YARA-06", "EXH-YARA-07", "EXH-YARA-08", "EXH-YARA-09", "EXH-YARA-10", "EXH-YARA-11")
	idsCompiled   = set("EXH-FILE-04")
	idsPostEx     = set("EXH-EV-14", "EXH-EV-18", "EXH-EV-19", "EXH-EV-20", "EXH-EV-21", "EXH-EV-22", "EXH-EV-23", "EXH-EV-24", "EXH-HF-06", "EXH-HF-08", "EXH-FILE-06")
	idsBackground = set("EXH-PL-01", "EXH-PL-07", "EXH-PL-11", "EXH-PL-91", "EXH-PL-96", "EXH-PS-03", "EXH-HF-01", "EXH-HF-02", "EXH-HF-04", "EXH-HF-10", "EXH-HF-11", "EXH-FILE-06")
)

// Rules is the model, in table order (docs/assess.md).
var Rules = []*Rule{
	{ID: "A-SSRF-CHAIN", Short: "the full ProxyLogon SSRF chain ran to the virtual-directory write", Weight: 40, Floor: 95, State: finding.StateCompromised,
		When:  "the ProxyLogon SSRF chain reached the OAB virtual directory change or reset that writes the shell (EXH-PL-04/05/08, chain EXH-PL-94/95)",
		match: ids(idsChain),
		text: func(h *host, fs []*finding.Finding) string {
			return "the full ProxyLogon SSRF chain ran to the virtual-directory write that plants a web shell: " + describe(fs)
		}},
	{ID: "A-SHELL-USED", Short: "a web shell is on disk and web-shell requests were answered", Weight: 40, Floor: 95, State: finding.StateCompromised,
		When: "a web shell on disk (file finding of high severity, or ASP.NET's compiled copy of a page) and requests to a web shell answered in the IIS log (EXH-WS-01/02/04, EXH-HF-05)",
		match: func(h *host) []*finding.Finding {
			disk := h.where(func(f *finding.Finding) bool {
				return idsShellFile[f.ID] && f.Evidence.Source == "file" && f.Severity >= finding.High
			})
			used := h.where(func(f *finding.Finding) bool { return idsShellReq[f.ID] && f.Severity >= finding.High })
			if len(disk) == 0 || len(used) == 0 {
				return nil
			}
			return append(disk, used...)
		},
		text: func(h *host, fs []*finding.Finding) string {
			var disk, used []*finding.Finding
			for _, f := range fs {
				if f.Evidence.Source == "file" {
					disk = append(disk, f)
				} else {
					used = append(used, f)
				}
			}
			return fmt.Sprintf("a web shell is on disk (%s) and web-shell requests were answered (%s)", fileList(disk), describe(used))
		}},
	{ID: "A-VDIR-WRITE", Short: "Exchange was made to write attacker content to disk", Weight: 30, Floor: 90, State: finding.StateCompromised,
		When:  "a file write through Exchange: OAB download outside the OAB folder, script in a virtual-directory URL, mailbox export or certificate request to a web folder (EXH-PL-09/10, EXH-EV-15/16/17, EXH-FILE-02)",
		match: ids(idsVDirWrite),
		text: func(h *host, fs []*finding.Finding) string {
			return "Exchange was made to write attacker content to disk: " + describe(fs)
		}},
	{ID: "A-RCE", Short: "remote code execution through Exchange succeeded", Weight: 30, Floor: 90, State: finding.StateCompromised,
		When:  "ProxyShell, ProxyNotShell or OWASSRF reached PowerShell, or a deserialization gadget in a UM error (EXH-PS-02, EXH-PNS-01, EXH-OWA-01, EXH-EV-04)",
		match: ids(idsRCE),
		text: func(h *host, fs []*finding.Finding) string {
			return "remote code execution succeeded: " + describe(fs)
		}},
	{ID: "A-PROC-CHILD", Short: "an Exchange worker process ran attacker commands", Weight: 30, Floor: 90, State: finding.StateCompromised,
		When:  "w3wp or UMWorkerProcess started a shell or tool, wrote a script, a China Chopper command line, a PowerCat reverse shell (EXH-EV-06/07/08/09, EXH-HF-09)",
		match: ids(idsChild),
		text: func(h *host, fs []*finding.Finding) string {
			return "an Exchange web or UM worker ran attacker commands: " + describe(fs)
		}},
	{ID: "A-LSASS-EXCH", Short: "LSASS was dumped next to Exchange exploitation", Weight: 20, Floor: 90, State: finding.StateCompromised,
		When: "an LSASS dump (command, file or access) on a host that also shows Exchange exploitation of medium severity or more",
		match: func(h *host) []*finding.Finding {
			l := h.where(func(f *finding.Finding) bool { return idsLSASS[f.ID] })
			if len(l) == 0 || len(h.exchangeEvidence()) == 0 {
				return nil
			}
			return l
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "LSASS memory was dumped on a host with Exchange exploitation evidence: " + describe(fs)
		}},
	{ID: "A-LSASS", Short: "LSASS was dumped", Weight: 20, Floor: 80, State: finding.StateCompromised,
		When: "an LSASS dump with no Exchange exploitation evidence next to it",
		match: func(h *host) []*finding.Finding {
			l := h.where(func(f *finding.Finding) bool { return idsLSASS[f.ID] })
			if len(l) == 0 || len(h.exchangeEvidence()) > 0 {
				return nil
			}
			return l
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "LSASS memory was dumped (credential theft), with no Exchange exploitation seen next to it: " + describe(fs)
		}},
	{ID: "A-FILE-HIGH", Short: "attacker files are on disk", Weight: 20, Floor: 80, State: finding.StateCompromised,
		When: "any file finding (web shell, dump, tool, rogue IIS folder, known-bad hash) of high severity or more",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool { return f.Evidence.Source == "file" && f.Severity >= finding.High })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "attacker files are on disk: " + fileList(fs)
		}},
	{ID: "A-BYPASS", Short: "the authentication bypass worked", Weight: 20, Floor: 80, State: finding.StateCompromised,
		When:  "an SSRF or authentication bypass reached an Exchange back end (EXH-PL-02/03/06, chain EXH-PL-92/93, EXH-PT-01, EXH-PNS-02, EXH-OWA-03/05)",
		match: ids(idsBypass),
		text: func(h *host, fs []*finding.Finding) string {
			return "the authentication bypass worked: " + describe(fs)
		}},
	{ID: "A-SHELL-REQ", Short: "web-shell requests were answered", Weight: 20, Floor: 75, State: finding.StateCompromised,
		When: "requests to a web shell answered in the IIS log (EXH-WS-01/02/04, EXH-HF-05), high severity",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool { return idsShellReq[f.ID] && f.Severity >= finding.High })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "web-shell requests were answered: " + describe(fs)
		}},
	{ID: "B-POSTEX", Short: "post-exploitation traces", Weight: 10,
		When: "post-exploitation traces: mailbox export commands, role or group changes, cleared logs, clean-up commands, staging archives of medium severity or more (EXH-EV-14, EXH-EV-18..24, EXH-HF-06/08, EXH-FILE-06)",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool { return idsPostEx[f.ID] && f.Severity >= finding.Medium })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "post-exploitation traces support it: " + describe(fs)
		}},
	{ID: "B-ATTEMPT-HIGH", Short: "targeted exploitation was attempted, success not shown", Weight: 30, Floor: 40, State: finding.StateAttempted,
		When: "an exploitation attempt of high severity (stage attempt), or a medium exploit or execution trace, not shown to succeed",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool {
				if h.claimed(f) {
					return false
				}
				return f.Stage == finding.StageAttempt && f.Severity >= finding.High ||
					(f.Stage == finding.StageExploit || f.Stage == finding.StageExecution) && f.Severity == finding.Medium && f.Evidence.Source != "file"
			})
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "targeted exploitation was attempted, success not shown: " + describe(fs)
		}},
	{ID: "B-FILE-MEDIUM", Short: "a suspicious file is on disk", Weight: 30, Floor: 40, State: finding.StateAttempted,
		When: "a file finding of medium severity at the write stage or later (a page where Exchange ships none, a file-manager or upload page), not a known shell",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool {
				return f.Evidence.Source == "file" && f.Severity == finding.Medium && f.Stage >= finding.StageWrite && !h.claimed(f) && !idsPostEx[f.ID]
			})
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "a suspicious file is on disk, not shown to be a working shell: " + fileList(fs)
		}},
	{ID: "B-ATTEMPT", Short: "exploitation was attempted and failed", Weight: 27, State: finding.StateAttempted,
		When: "an exploitation attempt of medium severity that failed or is not shown to succeed (EXH-PS-01, EXH-OWA-02/06, EXH-PL-12, EXH-EV-05, a crash report of an Exchange worker EXH-FILE-08, …)",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool {
				return !h.claimed(f) && f.Stage <= finding.StageAttempt && f.Severity == finding.Medium
			})
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "exploitation was attempted and failed or is not shown to succeed: " + describe(fs)
		}},
	{ID: "B-OTHER", Short: "other findings of medium severity or more", Weight: 15, State: finding.StateAttempted,
		When: "any other finding of medium severity or more that no row above counted (for example a Sigma or YARA rule added with --sigma or --yara)",
		match: func(h *host) []*finding.Finding {
			return h.where(func(f *finding.Finding) bool { return f.Severity >= finding.Medium && !h.claimed(f) })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "other findings of medium severity or more: " + describe(fs)
		}},
	{ID: "S-SCAN", Short: "the server was scanned or probed, nothing got further", Weight: 12, Cap: 20, State: finding.StateScanned,
		When: "low-severity scans and failed probes of a kind other than the mass-scanning background, and nothing of medium severity or more",
		match: func(h *host) []*finding.Finding {
			if h.worst() >= finding.Medium {
				return nil
			}
			return h.where(func(f *finding.Finding) bool { return f.Severity == finding.Low && !idsBackground[f.ID] })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "the server was scanned or probed, nothing shows a probe got further: " + describe(fs)
		}},
	{ID: "N-BACKGROUND", Short: "only the internet background of mass scanning was seen", Weight: 0, Cap: 20,
		When: "lowers: the only findings are the mass-scanning background every internet-facing Exchange server received from March 2021 (localhost SSRF probes, autodiscover-only SSRF, fake static-file POSTs, Nessus @test.com, IOC addresses and user agents as context), all low or info",
		match: func(h *host) []*finding.Finding {
			if len(h.findings) == 0 || h.worst() >= finding.Medium {
				return nil
			}
			fs := h.where(func(f *finding.Finding) bool { return f.Severity >= finding.Low })
			for _, f := range fs {
				if !idsBackground[f.ID] {
					return nil
				}
			}
			if len(fs) == 0 {
				return nil
			}
			return fs
		},
		text: func(h *host, fs []*finding.Finding) string {
			first := fs[0]
			for _, f := range fs[1:] {
				if earlier(f, first) {
					first = f
				}
			}
			return fmt.Sprintf("only internet background noise: %d low-severity scans and failed probes of the kind every exposed Exchange server received (%s, first at %s); none got further", len(fs), idList(fs), location(first.Evidence))
		}},
	{ID: "N-CONTEXT", Short: "only context findings (indicator matches) were seen", Weight: 0, Cap: 20,
		When: "lowers: the only findings are context (info severity: an address or user agent on an IOC list), no attack stage",
		match: func(h *host) []*finding.Finding {
			if len(h.findings) == 0 || h.worst() > finding.Info {
				return nil
			}
			return h.where(func(*finding.Finding) bool { return true })
		},
		text: func(h *host, fs []*finding.Finding) string {
			return "only context: " + describe(fs) + "; an indicator match alone is not an attack"
		}},
	{ID: "C-SHORT", Short: "the logs do not cover every campaign window", Weight: 0, Floor: 25,
		When: "a campaign window the build was (or may have been) exposed to is not fully covered by the IIS or HttpProxy logs: cannot rule out (one reason naming every short window)",
		match: func(h *host) []*finding.Finding {
			if len(h.short()) == 0 {
				return nil
			}
			return []*finding.Finding{}
		},
		text: func(h *host, _ []*finding.Finding) string {
			var names []string
			for _, w := range h.short() {
				names = append(names, w.campaign.Name)
			}
			return "the web logs do not cover the whole window of " + joinAnd(names) + ": exploitation then cannot be ruled out"
		}},
	{ID: "C-FULL", Short: "the logs cover every campaign window", Weight: 0,
		When: "lowers: the IIS or HttpProxy logs cover every campaign window the build was exposed to",
		match: func(h *host) []*finding.Finding {
			if !h.webLogs() || len(h.short()) > 0 {
				return nil
			}
			return []*finding.Finding{}
		},
		text: func(h *host, _ []*finding.Finding) string {
			return "the web logs cover every campaign window the build was exposed to"
		}},
	{ID: "X-PATCHED", Short: "the build was patched for some campaigns", Weight: 0,
		When: "lowers: the build in force during a campaign window was not vulnerable to that family (its window needs no coverage)",
		match: func(h *host) []*finding.Finding {
			if len(h.patched()) == 0 {
				return nil
			}
			return []*finding.Finding{}
		},
		text: func(h *host, _ []*finding.Finding) string {
			var parts []string
			for _, w := range h.patched() {
				parts = append(parts, fmt.Sprintf("%s (build %s)", w.campaign.Name, w.build))
			}
			return "the build in force was not vulnerable to " + joinAnd(parts)
		}},
	{ID: "K-NOTHING-READ", Short: "no log was read", State: finding.StateCannot,
		When: "no log or event log of the host was read (files only, or nothing), and no finding of medium severity or more",
		match: func(h *host) []*finding.Finding {
			if h.logsRead() || h.worst() >= finding.Medium {
				return nil
			}
			return []*finding.Finding{}
		},
		text: func(h *host, _ []*finding.Finding) string {
			return "no IIS, Exchange or Windows event log of this host was read: nothing can be said about exploitation"
		}},
}

// claimed reports findings a row earlier in the table already counted,
// so that the generic rows do not count them twice.
func (h *host) claimed(f *finding.Finding) bool { return h.covered[f] }

// exchangeEvidence is Exchange exploitation of medium severity or more
// outside credential access itself.
func (h *host) exchangeEvidence() []*finding.Finding {
	return h.where(func(f *finding.Finding) bool {
		return !idsLSASS[f.ID] && f.Severity >= finding.Medium && f.Stage >= finding.StageAttempt && f.Stage <= finding.StageExecution
	})
}

func (h *host) where(keep func(*finding.Finding) bool) []*finding.Finding {
	var out []*finding.Finding
	for i := range h.findings {
		if keep(&h.findings[i]) {
			out = append(out, &h.findings[i])
		}
	}
	return out
}

func (h *host) worst() finding.Severity {
	w := finding.Info
	for i := range h.findings {
		if h.findings[i].Severity > w {
			w = h.findings[i].Severity
		}
	}
	return w
}

// logsRead reports whether any log or event log family of the host has
// readable records.
func (h *host) logsRead() bool {
	for _, inv := range h.inventory {
		if inv.Family != filesFamily && inv.Records > 0 {
			return true
		}
	}
	return false
}

func ids(s map[string]bool) func(h *host) []*finding.Finding {
	return func(h *host) []*finding.Finding {
		return h.where(func(f *finding.Finding) bool { return s[f.ID] })
	}
}

func set(ids ...string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// describe names findings for a reason: the distinct titles (up to
// three), the detector ids, the client addresses, the first time and the
// first place to look.
func describe(fs []*finding.Finding) string {
	if len(fs) == 0 {
		return ""
	}
	first := fs[0]
	for _, f := range fs[1:] {
		if earlier(f, first) {
			first = f
		}
	}
	var titles []string
	seenT := map[string]bool{}
	for _, f := range fs {
		if !seenT[f.Title] {
			seenT[f.Title] = true
			titles = append(titles, f.Title)
		}
	}
	more := ""
	if len(titles) > 3 {
		more = fmt.Sprintf(" and %d more", len(titles)-3)
		titles = titles[:3]
	}
	var b strings.Builder
	b.WriteString(strings.Join(titles, "; ") + more)
	fmt.Fprintf(&b, " [%s]", idList(fs))
	if ips := fieldValues(fs, "client_ip", 3); len(ips) > 0 {
		b.WriteString(" from " + strings.Join(ips, ", "))
	}
	if !first.Time.IsZero() {
		b.WriteString(", first " + first.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	b.WriteString(" at " + location(first.Evidence))
	return b.String()
}

// fileList names file findings by path.
func fileList(fs []*finding.Finding) string {
	var paths []string
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Evidence.Path] {
			seen[f.Evidence.Path] = true
			paths = append(paths, f.Evidence.Path)
		}
	}
	more := ""
	if len(paths) > 3 {
		more = fmt.Sprintf(" and %d more", len(paths)-3)
		paths = paths[:3]
	}
	return strings.Join(paths, ", ") + more + " [" + idList(fs) + "]"
}

func idList(fs []*finding.Finding) string {
	n := map[string]int{}
	for _, f := range fs {
		n[f.ID]++
	}
	var keys []string
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if n[k] > 1 {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
		} else {
			parts = append(parts, k)
		}
	}
	return strings.Join(parts, ", ")
}

func fieldValues(fs []*finding.Finding, key string, max int) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		v := f.Evidence.Fields[key]
		if key == "client_ip" {
			v = clientIP(f)
		}
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		if len(out) == max {
			out = append(out, "…")
			break
		}
		out = append(out, clip(v, 120))
	}
	return out
}

// earlier orders findings by time, untimed last, then by place.
func earlier(a, b *finding.Finding) bool {
	ta, tb := a.Time, b.Time
	switch {
	case ta.IsZero() != tb.IsZero():
		return !ta.IsZero()
	case !ta.Equal(tb):
		return ta.Before(tb)
	case a.Evidence.Path != b.Evidence.Path:
		return a.Evidence.Path < b.Evidence.Path
	}
	return a.Evidence.Line < b.Evidence.Line
}

// location is "path:line", "path record N" or the path of a file.
func location(e finding.Evidence) string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Record > 0 {
		loc = fmt.Sprintf("%s record %d", loc, e.Record)
	}
	return loc
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
