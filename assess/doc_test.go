package assess

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// modelTable renders Rules as the table of docs/assess.md.
func modelTable() string {
	var b strings.Builder
	dash := func(v int) string {
		if v == 0 {
			return "–"
		}
		return fmt.Sprint(v)
	}
	for _, r := range Rules {
		st := "–"
		if r.State != "" {
			st = string(r.State)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %d | %s | %s | %s |\n", r.ID, r.When, r.Weight, dash(r.Floor), dash(r.Cap), st)
	}
	return b.String()
}

// TestDocTable keeps docs/assess.md's model table equal to Rules.
func TestDocTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/assess.md")
	if err != nil {
		t.Skip(err)
	}
	if !strings.Contains(string(doc), modelTable()) {
		t.Errorf("docs/assess.md's model table differs from assess.Rules; it should read:\n%s", modelTable())
	}
}
