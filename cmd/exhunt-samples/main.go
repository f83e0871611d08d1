// Command exhunt-samples writes the generated evidence trees.
//
//	go run ./cmd/exhunt-samples -out samples              # the committed sample trees
//	go run ./cmd/exhunt-samples -bench-size 1GiB -out DIR # the benchmark tree
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/exhunt/exhunt/internal/sample"
)

func main() {
	out := flag.String("out", "samples", "output directory")
	benchSize := flag.String("bench-size", "", "generate the benchmark tree of about this size (e.g. 1GiB, 500MB) instead of the samples")
	flag.Parse()
	if err := run(*out, *benchSize); err != nil {
		fmt.Fprintln(os.Stderr, "exhunt-samples:", err)
		os.Exit(1)
	}
}

func run(out, benchSize string) error {
	if benchSize != "" {
		size, err := sample.ParseSize(benchSize)
		if err != nil {
			return err
		}
		start := time.Now()
		info, err := sample.WriteBench(out, size)
		if err != nil {
			return err
		}
		el := time.Since(start)
		planted := strings.TrimRight(out, `/\`) + ".planted.tsv"
		if err := os.WriteFile(planted, info.TruthTSV(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %d bytes in %d files to %s in %.1fs (%.0f MB/s); %d planted hits listed in %s\n",
			info.Bytes, info.Files, out, el.Seconds(), float64(info.Bytes)/1e6/el.Seconds(), len(info.Marks), planted)
		return nil
	}
	for _, name := range sample.Names() {
		t, err := sample.Generate(name)
		if err != nil {
			return err
		}
		if err := t.Write(out); err != nil {
			return err
		}
		var n int
		for _, f := range t.Files {
			n += len(f.Data)
		}
		fmt.Fprintf(os.Stderr, "%s: %d files, %d bytes, %d planted lines\n", name, len(t.Files), n, len(t.Marks))
	}
	return nil
}
