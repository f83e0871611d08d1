// Command exhunt hunts Exchange servers' evidence for the ProxyLogon chain
// and its successors. All logic lives in internal/cli and the library.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/exhunt/exhunt/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
