package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
)

// connGetOptions are the inputs of "wharf conn get".
type connGetOptions struct {
	app  *app
	cmd  *cobra.Command
	Name string
}

func newConnGetCmd(a *app, runF func(*connGetOptions) error) *cobra.Command {
	o := &connGetOptions{app: a}
	return &cobra.Command{
		Use: "get NAME", Short: "Show a connection (secrets redacted)", Args: cobra.ExactArgs(1), Example: "  wharf conn get prod-ecs -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Name = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return connGetRun(o)
		},
	}
}

func connGetRun(o *connGetOptions) error {
	cl, err := o.app.client()
	if err != nil {
		return err
	}
	var raw []byte
	c, err := cl.Connections.Get(o.cmd.Context(), o.Name, client.RawJSON(&raw))
	if err != nil {
		return err
	}
	return o.app.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "Name:\t%s\nPlugin:\t%s\nVersion:\t%d\nSecrets set:\t%s\nConfig:\t%s\n", c.Name, c.Plugin, c.Version, orDash(strings.Join(c.SecretsSet, ", ")), compact(c.Config))
		if c.Problem != "" {
			fmt.Fprintf(w, "Problem:\t%s\n", c.Problem)
		}
	})
}
