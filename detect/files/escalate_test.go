package files

import (
	"testing"

	"github.com/exhunt/exhunt/finding"
)

func TestEscalate(t *testing.T) {
	mk := func(id, host string, sev finding.Severity) finding.Finding {
		return finding.Finding{Advisory: finding.Advisory{ID: id, Severity: sev}, Host: host}
	}
	fs := []finding.Finding{
		mk("EXH-FILE-06", "A", finding.Low), mk("EXH-PL-01", "A", finding.High),
		mk("EXH-FILE-06", "B", finding.Low), mk("EXH-FILE-06", "B", finding.Medium), mk("EXH-X", "B", finding.Low),
	}
	if n := Escalate(fs, "EXH-FILE-06"); n != 1 {
		t.Errorf("raised %d", n)
	}
	if fs[0].Severity != finding.Medium || fs[0].Evidence.Fields["raised"] == "" {
		t.Errorf("host A archive not raised: %+v", fs[0])
	}
	if fs[2].Severity != finding.Low {
		t.Errorf("host B archive raised by another archive: %+v", fs[2])
	}
}
