package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exhunt/exhunt/detect"
	"github.com/exhunt/exhunt/detect/builtin"
	"github.com/exhunt/exhunt/detect/files"
	"github.com/exhunt/exhunt/detect/files/heuristic"
	"github.com/exhunt/exhunt/finding"
	"github.com/exhunt/exhunt/hunt"
)

func rulesCmd(code *int, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, export and test the detection rules",
	}
	var asJSON bool
	var listSigma []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the detectors, Sigma rules, file heuristics and YARA pack rules with their severity, stage, CVEs and techniques",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dets := builtin.All()
			sig, err := hunt.LoadSigma(listSigma, false)
			if err != nil {
				return usageError{err}
			}
			yaraPack, err := files.PackAdvisories()
			if err != nil {
				return err
			}
			fileDets := heuristic.All()
			if asJSON {
				var advs []any
				for _, d := range dets {
					advs = append(advs, struct {
						detect.Detector
						Sources  []string `json:"sources"`
						Keywords []string `json:"keywords"`
						Match    any      `json:"-"`
						Samples  any      `json:"-"`
					}{Detector: *d, Sources: sourceNames(d), Keywords: d.Keywords})
				}
				for _, r := range sig.Engine.Rules() {
					advs = append(advs, struct {
						finding.Advisory
						Engine string   `json:"engine"`
						Routes []string `json:"routes"`
					}{sig.Advisory(r), "sigma", r.Routes()})
				}
				for _, d := range fileDets {
					advs = append(advs, struct {
						finding.Advisory
						Engine string   `json:"engine"`
						Places []string `json:"places"`
					}{d.Advisory, "file", d.Places})
				}
				for _, a := range yaraPack {
					advs = append(advs, struct {
						finding.Advisory
						Engine string `json:"engine"`
					}{a, "yara"})
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(advs)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tSTAGE\tCAMPAIGN\tLOGS\tTITLE")
			for _, d := range dets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Severity, d.Stage, d.Campaign, strings.Join(sourceNames(d), ","), d.Title)
			}
			for _, r := range sig.Engine.Rules() {
				a := sig.Advisory(r)
				logs := "sigma:" + r.Logsource.String()
				if !r.Routed() {
					logs += " (no evidence source)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, a.Stage, a.Campaign, logs, a.Title)
			}
			for _, d := range fileDets {
				where := "files"
				if len(d.Places) > 0 {
					where = "files:" + strings.Join(d.Places, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Severity, d.Stage, d.Campaign, where, d.Title)
			}
			for _, a := range yaraPack {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, a.Stage, a.Campaign, "files:yara", a.Title)
			}
			ioc := files.IOCAdvisory(finding.Critical)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s (%d embedded hashes, plus --ioc)\n", ioc.ID, "high+", ioc.Stage, "", "files:hash", ioc.Title, len(files.Embedded()))
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "write JSON")
	list.Flags().StringArrayVar(&listSigma, "sigma", nil, "also list the Sigma rules in this folder or file (repeatable)")
	keywords := &cobra.Command{
		Use:   "keywords",
		Short: "Print every prefilter keyword, one per line (the literals the rules need)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			r, err := detect.NewRunner(builtin.All())
			if err != nil {
				return err
			}
			for _, k := range r.Keywords() {
				fmt.Fprintln(stdout, k)
			}
			return nil
		},
	}
	test := &cobra.Command{
		Use:   "test",
		Short: "Run every detector's own positive and negative samples",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dets := builtin.All()
			fails := 0
			for _, d := range dets {
				if err := d.Validate(); err != nil {
					fmt.Fprintf(stdout, "FAIL %s\n", err)
					fails++
				}
			}
			results := hunt.CheckSamples(c.Context(), dets)
			for _, r := range results {
				if r.OK() {
					continue
				}
				fails++
				want := "fire"
				if !r.Sample.Match {
					want = "stay silent"
				}
				msg := fmt.Sprintf("should %s", want)
				if r.Err != nil {
					msg = r.Err.Error()
				}
				fmt.Fprintf(stdout, "FAIL %s sample %d (%s): %s\n", r.Detector, r.Index, r.Sample.Note, msg)
			}
			nSamples := len(results)
			sres, err := hunt.CheckSigmaSamples()
			if err != nil {
				fmt.Fprintf(stdout, "FAIL %v\n", err)
				fails++
			}
			for _, r := range sres {
				nSamples += r.Samples
				for _, e := range r.Errs {
					fmt.Fprintf(stdout, "FAIL %s: %v\n", r.Rule, e)
					fails++
				}
			}
			fileDets := heuristic.All()
			if _, err := files.NewEngine(files.Config{Detectors: fileDets}); err != nil {
				fmt.Fprintf(stdout, "FAIL %v\n", err)
				fails++
			}
			fres := files.CheckSamples(c.Context(), fileDets)
			pres, err := files.CheckPackSamples(c.Context())
			if err != nil {
				fmt.Fprintf(stdout, "FAIL embedded YARA pack: %v\n", err)
				fails++
			}
			for _, r := range append(fres, pres...) {
				nSamples++
				if r.OK() {
					continue
				}
				fails++
				msg := "should fire"
				if !r.Match {
					msg = "should stay silent"
				}
				if r.Err != nil {
					msg = r.Err.Error()
				}
				fmt.Fprintf(stdout, "FAIL %s sample %s %s: %s\n", r.Rule, r.Name, r.Note, msg)
			}
			packAdvs, err := files.PackAdvisories()
			if err != nil {
				fmt.Fprintf(stdout, "FAIL embedded YARA pack: %v\n", err)
				fails++
			}
			nPack := len(packAdvs)
			fmt.Fprintf(stdout, "%d detectors, %d Sigma pack rules, %d file heuristics and %d YARA pack rules, %d samples: %d passed, %d failed\n", len(dets), len(sres), len(fileDets), nPack, nSamples, nSamples-fails, fails)
			if fails > 0 {
				*code = ExitFindings
			}
			return nil
		},
	}
	cmd.AddCommand(list, keywords, test, validateCmd(code, stdout))
	return cmd
}

func sourceNames(d *detect.Detector) []string {
	var out []string
	for _, s := range d.Sources {
		out = append(out, s.String())
	}
	return out
}

func validateCmd(code *int, stdout io.Writer) *cobra.Command {
	var paths, yaraPaths []string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "validate --sigma PATH... | --yara PATH...",
		Short: "Load Sigma or YARA rules and report which load and which do not, with the reason",
		Long: `Validate loads every Sigma rule file under each --sigma folder (or the file
itself), and every YARA rule file (*.yar, *.yara) under each --yara folder (or
the file itself), exactly as a hunt would, and prints the counts and the reason
for every rule that does not load. Exit code 1 when any rule is unsupported or
invalid.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if len(paths) == 0 && len(yaraPaths) == 0 {
				return usageError{fmt.Errorf("validate needs --sigma PATH or --yara PATH")}
			}
			if len(paths) > 0 {
				if err := validateSigma(code, stdout, paths, quiet); err != nil {
					return err
				}
			}
			if len(yaraPaths) > 0 {
				return validateYara(code, stdout, yaraPaths)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&paths, "sigma", nil, "Sigma rule folder or file (repeatable)")
	cmd.Flags().StringArrayVar(&yaraPaths, "yara", nil, "YARA rule folder or file (repeatable)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not list the loaded rules that have no evidence source")
	return cmd
}

func validateSigma(code *int, stdout io.Writer, paths []string, quiet bool) error {
	sig, err := hunt.LoadSigma(paths, true)
	if err != nil {
		return usageError{err}
	}
	lr := sig.Report
	routed, none := lr.Routed()
	for _, e := range lr.Invalid {
		fmt.Fprintf(stdout, "invalid      %v\n", e)
	}
	for _, e := range lr.Unsupported {
		fmt.Fprintf(stdout, "unsupported  %v\n", e)
	}
	if !quiet {
		for _, r := range lr.Loaded {
			if !r.Routed() {
				fmt.Fprintf(stdout, "no-evidence  %s: %s\n", r.Path, r.NoEvidence())
			}
		}
	}
	st := sig.Engine.Stats()
	fmt.Fprintf(stdout, "loaded       %d rules (%d read evidence exhunt parses, %d have no evidence source), %d correlations, %d filters\n", len(lr.Loaded), routed, none, len(lr.Correlations), len(lr.Filters))
	fmt.Fprintf(stdout, "unsupported  %d\n", len(lr.Unsupported))
	fmt.Fprintf(stdout, "invalid      %d\n", len(lr.Invalid))
	fmt.Fprintf(stdout, "index        %d buckets, %d needles, %d rule placements without needles\n", st.Buckets, st.Needles, st.AlwaysEval)
	if len(lr.Unsupported)+len(lr.Invalid) > 0 {
		*code = ExitFindings
	}
	return nil
}

// validateYara compiles the YARA rule files as a hunt would (without the
// embedded pack) and lists every rule, or file, that did not load.
func validateYara(code *int, stdout io.Writer, paths []string) error {
	y, err := files.LoadYara(paths, true)
	if err != nil {
		return usageError{err}
	}
	broken := 0
	for _, f := range y.Report.Files {
		if f.Err != "" {
			broken++
		}
	}
	for _, line := range y.Report.UnsupportedList() {
		fmt.Fprintf(stdout, "unsupported  %s\n", line)
	}
	fmt.Fprintf(stdout, "files        %d (%d do not parse)\n", len(y.Report.Files), broken)
	fmt.Fprintf(stdout, "loaded       %d YARA rules\n", y.Report.Loaded)
	fmt.Fprintf(stdout, "unsupported  %d\n", y.Report.Unsupported)
	if y.Report.Unsupported > 0 || broken > 0 {
		*code = ExitFindings
	}
	return nil
}
