package hunt

import (
	"context"
	"testing"

	"github.com/exhunt/exhunt/internal/sample"
)

// BenchmarkHuntLogs hunts the generated IIS and HttpProxy benchmark tree
// (the data of bench/run.sh, 128 MB here) with every built-in detector:
// the hot path of a log hunt, for -cpuprofile.
func BenchmarkHuntLogs(b *testing.B) {
	dir := b.TempDir()
	info, err := sample.WriteBench(dir, 128<<20)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Bytes)
	for b.Loop() {
		if _, err := Run(context.Background(), Config{Roots: []string{dir}, NoFiles: true, NoSigmaPack: true}); err != nil {
			b.Fatal(err)
		}
	}
}
