package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/exhunt/exhunt/finding"
)

// timelineShown bounds the timeline lines of the text report (unless
// Verbose); the JSON and HTML reports carry all of them.
const timelineShown = 40

// writeVerdict opens a host in the terminal report: the verdict line,
// the reasons (strongest first, each with where to look), the coverage
// warnings, the exposure, the tradecraft overlap and the timeline.
func writeVerdict(w io.Writer, p palette, v *finding.Verdict, verbose bool) {
	head := "VERDICT  " + clip(v.Summary, 400)
	switch v.State {
	case finding.StateCompromised:
		head = p.c("1;31", head)
	case finding.StateAttempted, finding.StateCannot:
		head = p.c("1;33", head)
	}
	fmt.Fprintf(w, "  %s\n", head)
	if len(v.Reasons) > 0 {
		fmt.Fprintf(w, "  Reasons (strongest first):\n")
		for _, r := range v.Reasons {
			sign := "+"
			if r.Weight < 0 || r.Cap > 0 && r.Weight == 0 || r.Weight == 0 && r.Floor == 0 {
				sign = "-"
			}
			bound := ""
			switch {
			case r.Floor > 0:
				bound = fmt.Sprintf(", at least %d %%", r.Floor)
			case r.Cap > 0:
				bound = fmt.Sprintf(", at most %d %%", r.Cap)
			}
			fmt.Fprintf(w, "    %s %s  %s\n", sign, clip(r.Text, 300), p.c("2", fmt.Sprintf("[%s %+d%s]", r.Rule, r.Weight, bound)))
			for i, e := range r.Evidence {
				if i == 2 && !verbose {
					break
				}
				fmt.Fprintf(w, "        at %s\n", p.c("4", clip(evidenceLoc(e), 200)))
			}
		}
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintf(w, "  Coverage warnings:\n")
		for _, s := range v.Warnings {
			fmt.Fprintf(w, "    ! %s\n", clip(s, 400))
		}
	}
	if e := v.Exposure; e != nil {
		rel := e.CU
		if e.Release != "" {
			rel += " " + e.Release
		}
		eol := ""
		if e.EOL {
			eol = ", out of support"
		}
		fmt.Fprintf(w, "  Exposure: build %s (%s %s, from %d source(s)%s)\n", clip(e.Build, 40), e.Product, rel, len(e.Sources), eol)
		for _, f := range e.Families {
			fmt.Fprintf(w, "    %-14s %-23s %s\n", f.Family, f.Status, clip(f.Detail, 300))
		}
		if e.Conflict != "" {
			fmt.Fprintf(w, "    note: %s\n", clip(e.Conflict, 300))
		}
	}
	if t := v.Tradecraft; t != nil && len(t.Matches) > 0 {
		var items []string
		for i, m := range t.Matches {
			if i == 6 {
				items = append(items, fmt.Sprintf("%d more", len(t.Matches)-i))
				break
			}
			items = append(items, m.Kind+" "+clip(m.Item, 80))
		}
		fmt.Fprintf(w, "  Tradecraft overlap with %s: %s (%d %%): %s\n", t.Actor, t.Likelihood, t.Score, strings.Join(items, "; "))
		fmt.Fprintf(w, "    %s\n", t.Caveat)
	}
	if len(v.Timeline) > 0 {
		fmt.Fprintf(w, "  Timeline (%d step(s)):\n", len(v.Timeline))
		for i, e := range v.Timeline {
			if !verbose && i == timelineShown {
				fmt.Fprintf(w, "    … %d more step(s) (use -v, or --format json or html)\n", len(v.Timeline)-i)
				break
			}
			when := "time unknown       "
			if !e.Time.IsZero() {
				when = e.Time.UTC().Format("2006-01-02 15:04:05")
			}
			extra := ""
			if e.Count > 1 {
				extra = fmt.Sprintf(" ×%d", e.Count)
			}
			if len(e.SourceIPs) > 0 {
				extra += "  from " + clip(strings.Join(e.SourceIPs, ","), 80)
			}
			fmt.Fprintf(w, "    %s  %-13s %s%s  %s\n", when, e.Step, clip(e.Title, 110), extra, p.c("2", "["+strings.Join(e.Techniques, ",")+"]"))
			for j, c := range e.Commands {
				if !verbose && j == 3 {
					fmt.Fprintf(w, "%s    … %d more command(s)\n", strings.Repeat(" ", 36), len(e.Commands)-j)
					break
				}
				fmt.Fprintf(w, "%s$ %s\n", strings.Repeat(" ", 36), clip(c, 160))
			}
		}
	}
}
