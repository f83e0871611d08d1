package heuristic

import (
	"context"
	"testing"

	"github.com/exhunt/exhunt/detect/files"
)

// TestSamples runs every heuristic's own samples through the real
// scanner, and checks each detector's metadata.
func TestSamples(t *testing.T) {
	dets := All()
	if _, err := files.NewEngine(files.Config{Detectors: dets}); err != nil {
		t.Fatal(err)
	}
	for _, r := range files.CheckSamples(context.Background(), dets) {
		if !r.OK() {
			t.Errorf("%s %s (%s): want fire=%v, got %v, err %v", r.Rule, r.Name, r.Note, r.Match, r.Got, r.Err)
		}
	}
}
