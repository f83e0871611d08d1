// Command exhunt-samples writes the generated evidence trees.
//
//	go run ./cmd/exhunt-samples -out samples              # the committed sample trees
//	go run ./cmd/exhunt-samples -bench-size 1GiB -out DIR # the benchmark tree
package main

import (
	"flag"
	"fmt"
	"os"
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
		fmt.Fprintf(os.Stderr, "wrote %d bytes in %d files to %s in %.1fs (%.0f MB/s)\n",
			info.Bytes, info.Files, out, el.Seconds(), float64(info.Bytes)/1e6/el.Seconds())
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
