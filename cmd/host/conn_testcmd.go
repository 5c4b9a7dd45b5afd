package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
)

// connTestOptions are the inputs of "wharf conn test".
type connTestOptions struct {
	app  *app
	cmd  *cobra.Command
	Name string
}

func newConnTestCmd(a *app, runF func(*connTestOptions) error) *cobra.Command {
	o := &connTestOptions{app: a}
	return &cobra.Command{
		Use: "test NAME", Short: "Check that a connection works (a one-item list)", Args: cobra.ExactArgs(1),
		Example: "  wharf conn test prod",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Name = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return connTestRun(o)
		},
	}
}

func connTestRun(o *connTestOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	var raw []byte
	r, err := c.Connections.Test(o.cmd.Context(), o.Name, client.RawJSON(&raw))
	if err != nil {
		return err
	}
	if err := o.app.show(raw, func(w *tabwriter.Writer) {
		if r.OK {
			fmt.Fprintf(w, "ok (%d ms)\n", r.DurationMS)
		}
	}); err != nil {
		return err
	}
	if !r.OK {
		return r.Error
	}
	return nil
}
