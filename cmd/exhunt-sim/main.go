// Command exhunt-sim serves a fleet of simulated Exchange servers on
// loopback, each on its own 127.x.y.z address, with a ground-truth file
// (docs/sim.md):
//
//	exhunt-sim -n 30000 -seed 1 -scenario 2021-03-02 -tarpit 0.01 -truth fleet.jsonl -targets targets.txt
//
// It prints "ready <n> hosts" when every listener is up and serves until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/exhunt/exhunt/internal/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := sim.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
