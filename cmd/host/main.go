// Command wharf is the Wharf host and its command-line client.
//
//	wharf serve                      run the host: REST API, web portal, plugins
//	wharf plugin verify x.wasm       check a plugin locally
//	wharf svc ls my-conn             talk to a running host over its REST API
//
// Build it with: go build -o wharf ./cmd/host
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

// run executes one command line; tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
