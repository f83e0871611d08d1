package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exhunt/exhunt/finding"
)

// perDetector is how many hits of one detector the text report lists per
// stage before it summarises the rest (unless Verbose).
const perDetector = 5

// excerptWidth bounds excerpt lines in the text report.
const excerptWidth = 220

type palette struct{ on bool }

func (p palette) c(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) sev(s finding.Severity) string {
	name := strings.ToUpper(s.String())
	switch s {
	case finding.Critical:
		return p.c("1;31", name)
	case finding.High:
		return p.c("31", name)
	case finding.Medium:
		return p.c("33", name)
	case finding.Low:
		return p.c("36", name)
	}
	return p.c("2", name)
}

// Verdict is the one-line headline for a host that was not assessed (a
// document from before the assess stage): what the evidence shows and
// nothing more. Assessed hosts open with their verdict instead.
func Verdict(h finding.HostSummary) string {
	switch {
	case h.WorstSeverity >= finding.High && h.WorstStage >= finding.StageExploit:
		return fmt.Sprintf("COMPROMISE INDICATED: the evidence shows the attack reached %q.", h.WorstStage.Title())
	case h.WorstSeverity >= finding.Medium && h.WorstStage >= finding.StageAttempt:
		return fmt.Sprintf("EXPLOITATION ATTEMPTED: the evidence shows %q, but not that it succeeded.", h.WorstStage.Title())
	case h.WorstStage >= finding.StageRecon && h.WorstSeverity >= finding.Low:
		return "SCANNED OR PROBED ONLY: scanning and exploitation attempts, none shown to get past reconnaissance."
	case h.Findings > 0:
		return "NOTHING ALARMING: only context (known-bad addresses or user agents), no attack stage."
	}
	return "NOTHING FOUND in the evidence read (check below that they cover the period you care about)."
}

// Text writes the terminal report: per host the verdict, the stages
// reached and the evidence read; then the details grouped by stage with
// file:line; then the files that could not be read.
func Text(w io.Writer, doc *finding.Document, opt Options) error {
	bw := bufio.NewWriter(w)
	p := palette{opt.Color}
	var files int
	var bytes int64
	for _, inv := range doc.Inventory {
		files += inv.Files
		bytes += inv.Bytes
	}
	fmt.Fprintf(bw, "%s %d host(s), %d file(s), %s read", p.c("1", "exhunt hunt:"), len(doc.Hosts), files, humanBytes(bytes))
	if opt.Elapsed != "" {
		fmt.Fprintf(bw, " in %s", opt.Elapsed)
	}
	fmt.Fprintf(bw, "; %d finding(s), %d file error(s)\n", len(doc.Findings), len(doc.Errors))
	if len(doc.Hosts) == 0 {
		fmt.Fprintln(bw, "\nNo Exchange or IIS log was found under the given path(s). exhunt looks for IIS W3C logs and the")
		fmt.Fprintln(bw, "Exchange Logging folder (HttpProxy, ECP, OABGeneratorLog, CmdletInfra); point it at a system root,")
		fmt.Fprintln(bw, "a copied tree, a folder of logs, a single log or a .zip bundle.")
	}

	for _, h := range doc.Hosts {
		fmt.Fprintf(bw, "\n%s %s\n", p.c("1", "HOST"), p.c("1", clip(h.Host, 120)))
		if h.Verdict != nil {
			writeVerdict(bw, p, h.Verdict, opt.Verbose)
		} else {
			v := Verdict(h)
			switch {
			case strings.HasPrefix(v, "COMPROMISE"):
				v = p.c("1;31", v)
			case strings.HasPrefix(v, "EXPLOITATION"):
				v = p.c("1;33", v)
			}
			fmt.Fprintf(bw, "  %s\n", v)
		}
		if h.Findings > 0 {
			fmt.Fprintf(bw, "  Stages seen:\n")
			for _, s := range finding.Stages() {
				n := h.Stages[s]
				if n == 0 {
					continue
				}
				fmt.Fprintf(bw, "    %-36s %5d finding(s), worst %s\n", s.Title(), n, p.sev(worstIn(doc.Findings, h.Host, s)))
			}
		}
		fmt.Fprintf(bw, "  Evidence read:\n")
		any := false
		for _, inv := range doc.Inventory {
			if inv.Host != h.Host {
				continue
			}
			any = true
			fmt.Fprintf(bw, "    %-42s %4d file(s) %9s  %s\n", inv.Title, inv.Files, humanBytes(inv.Bytes), span(inv.First, inv.Last))
		}
		if !any {
			fmt.Fprintf(bw, "    (none)\n")
		}
	}

	if len(doc.Findings) > 0 {
		fmt.Fprintf(bw, "\n%s\n", p.c("1", "DETAILS BY STAGE"))
		for _, s := range reverse(finding.Stages()) {
			var in []finding.Finding
			for _, f := range doc.Findings {
				if f.Stage == s {
					in = append(in, f)
				}
			}
			if len(in) == 0 {
				continue
			}
			fmt.Fprintf(bw, "\n== %s (%d) ==\n", s.Title(), len(in))
			shown := map[string]int{}
			hidden := map[string]int{}
			for _, f := range in {
				if !opt.Verbose && shown[f.ID] >= perDetector {
					hidden[f.ID]++
					continue
				}
				shown[f.ID]++
				writeFinding(bw, p, f)
			}
			for _, id := range sortedKeys(hidden) {
				fmt.Fprintf(bw, "  … %d more %s hit(s) not shown (use -v, or --format json)\n", hidden[id], id)
			}
		}
	}
	if len(doc.Suppressed) > 0 {
		fmt.Fprintf(bw, "\nMore hits were counted than kept (bounded per detector and host):\n")
		for _, id := range sortedKeys(doc.Suppressed) {
			fmt.Fprintf(bw, "  %s: %d more\n", id, doc.Suppressed[id])
		}
	}
	if len(doc.Errors) > 0 {
		fmt.Fprintf(bw, "\n%s (%d): these files were not read in full; the findings above do not cover what was skipped.\n", p.c("1", "FILE ERRORS"), len(doc.Errors))
		for _, e := range doc.Errors {
			fmt.Fprintf(bw, "  %s: %s\n", e.Path, firstLine(e.Message))
		}
	}
	return bw.Flush()
}

func writeFinding(w io.Writer, p palette, f finding.Finding) {
	meta := f.ID
	if len(f.CVEs) > 0 {
		meta += " " + strings.Join(f.CVEs, ",")
	}
	fmt.Fprintf(w, "  %-8s %s  %s\n", p.sev(f.Severity), f.Title, p.c("2", "["+meta+"]"))
	when := "time unknown"
	if !f.Time.IsZero() {
		when = f.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	loc := evidenceLoc(f.Evidence)
	fmt.Fprintf(w, "           %s  %s  %s\n", when, f.Host, p.c("4", loc))
	if f.Evidence.SHA256 != "" {
		fmt.Fprintf(w, "           sha256=%s  size=%d\n", f.Evidence.SHA256, f.Evidence.Size)
	}
	var kv []string
	for _, k := range sortedKeys(f.Evidence.Fields) {
		if k == "chain_key" {
			continue
		}
		kv = append(kv, k+"="+clip(f.Evidence.Fields[k], 120))
	}
	if len(kv) > 0 {
		fmt.Fprintf(w, "           %s\n", strings.Join(kv, "  "))
	}
	for i, r := range f.Related {
		if i == 8 {
			fmt.Fprintf(w, "           … %d more related row(s)\n", len(f.Related)-i)
			break
		}
		fmt.Fprintf(w, "           - %s\n", evidenceLoc(r))
	}
	if f.Evidence.Excerpt != "" {
		fmt.Fprintf(w, "           %s\n", p.c("2", "> "+clip(f.Evidence.Excerpt, excerptWidth)))
	}
}

func worstIn(fs []finding.Finding, host string, s finding.Stage) finding.Severity {
	w := finding.Info
	for _, f := range fs {
		if f.Host == host && f.Stage == s && f.Severity > w {
			w = f.Severity
		}
	}
	return w
}

func reverse(s []finding.Stage) []finding.Stage {
	out := make([]finding.Stage, len(s))
	for i := range s {
		out[len(s)-1-i] = s[i]
	}
	return out
}

// clip shortens s to n runes and makes control characters visible, so that
// a hostile log line cannot drive the terminal.
func clip(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '·'
		}
		if r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
		i++
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func span(a, b time.Time) string {
	if a.IsZero() {
		return "no timestamps"
	}
	const f = "2006-01-02 15:04"
	return a.UTC().Format(f) + " → " + b.UTC().Format(f) + " UTC"
}

func humanBytes(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.2f GB", float64(n)/(k*k*k))
}

// evidenceLoc is "path:line" for log lines, "path record N" for .evtx
// records and "path:line (record N)" for exported event lines.
func evidenceLoc(e finding.Evidence) string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Record > 0 {
		if e.Line > 0 {
			loc = fmt.Sprintf("%s (record %d)", loc, e.Record)
		} else {
			loc = fmt.Sprintf("%s record %d", loc, e.Record)
		}
	}
	return loc
}
