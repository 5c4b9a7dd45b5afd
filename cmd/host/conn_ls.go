package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
)

// connLsOptions are the inputs of "wharf conn ls".
type connLsOptions struct {
	app *app
	cmd *cobra.Command
}

func newConnLsCmd(a *app, runF func(*connLsOptions) error) *cobra.Command {
	o := &connLsOptions{app: a}
	return &cobra.Command{
		Use: "ls", Short: "List connections", Args: cobra.NoArgs, Example: "  wharf conn ls",
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.cmd = cmd
			if runF != nil {
				return runF(o)
			}
			return connLsRun(o)
		},
	}
}

func connLsRun(o *connLsOptions) error {
	cl, err := o.app.client()
	if err != nil {
		return err
	}
	var raw []byte
	conns, err := cl.Connections.List(o.cmd.Context(), client.RawJSON(&raw))
	if err != nil {
		return err
	}
	return o.app.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "NAME\tPLUGIN\tVERSION\tSECRETS SET\tUPDATED")
		for _, c := range conns {
			plugin := c.Plugin
			if f := c.Failing; f != nil { // the failure policy fences it
				plugin += " (failing until " + f.RetryAt.UTC().Format(time.RFC3339) + ")"
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", c.Name, plugin, c.Version, orDash(strings.Join(c.SecretsSet, ",")), c.UpdatedAt.Format(time.RFC3339))
		}
	})
}
