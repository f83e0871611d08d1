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
	"github.com/exhunt/exhunt/hunt"
)

func rulesCmd(code *int, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, export and test the detection rules",
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the detectors with their severity, stage, CVEs and techniques",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dets := builtin.All()
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
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(advs)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tSTAGE\tCAMPAIGN\tLOGS\tTITLE")
			for _, d := range dets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Severity, d.Stage, d.Campaign, strings.Join(sourceNames(d), ","), d.Title)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "write JSON")
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
			fmt.Fprintf(stdout, "%d detectors, %d samples: %d passed, %d failed\n", len(dets), len(results), len(results)-fails, fails)
			if fails > 0 {
				*code = ExitFindings
			}
			return nil
		},
	}
	cmd.AddCommand(list, keywords, test)
	return cmd
}

func sourceNames(d *detect.Detector) []string {
	var out []string
	for _, s := range d.Sources {
		out = append(out, s.String())
	}
	return out
}
