package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exhunt/exhunt/finding"
)

// states orders the verdict states for --fail-on-state.
var states = []finding.State{finding.StateNoEvidence, finding.StateScanned, finding.StateAttempted, finding.StateCannot, finding.StateCompromised}

func stateAtLeast(s, min finding.State) bool {
	rank := func(x finding.State) int {
		for i, v := range states {
			if v == x {
				return i
			}
		}
		return -1
	}
	return rank(s) >= rank(min)
}

// parseState reads a --fail-on-state value; "attempted" and "scanned"
// are accepted for the longer names.
func parseState(v string) (finding.State, error) {
	l := strings.ToLower(strings.TrimSpace(v))
	switch l {
	case "":
		return "", nil
	case "attempted":
		return finding.StateAttempted, nil
	case "scanned":
		return finding.StateScanned, nil
	case "cannot":
		return finding.StateCannot, nil
	}
	for _, s := range states {
		if string(s) == l {
			return s, nil
		}
	}
	var names []string
	for _, s := range states {
		names = append(names, string(s))
	}
	return "", fmt.Errorf("unknown state %q (want one of %s)", v, strings.Join(names, ", "))
}

func assessCmd(code *int, stdout, stderr io.Writer) *cobra.Command {
	var f huntFlags
	var failState string
	cmd := &cobra.Command{
		Use:   "assess PATH... | assess HUNT.json",
		Short: "Give each host a calibrated verdict: state, likelihood, reasons, coverage, exposure, timeline",
		Long: `Assess hunts PATH like "exhunt hunt" (same flags) and judges every host:
a state (compromised, exploitation attempted, scanned only, no evidence,
cannot assess), the likelihood of compromise in the words of the PHIA
probability yardstick, the reasons behind it with the evidence to check,
how far the logs reach back against the ProxyLogon, ProxyShell,
ProxyNotShell and OWASSRF windows ("cannot rule out" where they do not),
what the build was exposed to, one attack timeline and the overlap with
published HAFNIUM tradecraft (docs/assess.md).

Given a single JSON document written by "exhunt hunt --format json", it
re-assesses that document offline instead of reading evidence.

Exit codes: 0 nothing at or above --fail-on (and no verdict at or above
--fail-on-state), 1 otherwise, 2 the run could not start.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("assess needs at least one PATH or a hunt JSON document")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseState(failState)
			if err != nil {
				*code = ExitUsage
				return usageError{fmt.Errorf("--fail-on-state: %w", err)}
			}
			f.failState = st
			if len(args) == 1 {
				doc, ok, err := readDocument(args[0])
				if err != nil {
					*code = ExitUsage
					return usageError{err}
				}
				if ok {
					f.docIn = doc
				}
			}
			c, err := runHunt(cmd.Context(), args, f, stdout, stderr)
			*code = c
			return err
		},
	}
	addHuntFlags(cmd, &f)
	cmd.Flags().StringVar(&failState, "fail-on-state", "", "also exit 1 when a host's verdict is at or above this state (scanned, attempted, cannot, compromised)")
	return cmd
}

// maxDocument bounds a re-assessed JSON document.
const maxDocument = 1 << 30

// readDocument loads a hunt JSON document when path is a regular file
// that starts with a JSON object carrying schema_version; ok is false for
// anything else (evidence to hunt).
func readDocument(path string) (*finding.Document, bool, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, false, nil
	}
	defer file.Close()
	br := bufio.NewReader(file)
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) == 0 || head[0] != '{' || !bytes.Contains(head, []byte(`"schema_version"`)) {
		return nil, false, nil
	}
	var doc finding.Document
	dec := json.NewDecoder(io.LimitReader(br, maxDocument))
	if err := dec.Decode(&doc); err != nil {
		return nil, false, fmt.Errorf("%s: not a readable exhunt JSON document: %v", path, err)
	}
	if doc.SchemaVersion != finding.SchemaVersion {
		return nil, false, fmt.Errorf("%s: schema version %d, this exhunt reads %d", path, doc.SchemaVersion, finding.SchemaVersion)
	}
	return &doc, true, nil
}
