package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/ops"
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
	var c ops.Connection
	raw, err := o.app.call(o.cmd.Context(), "GET", connPath(o.Name), nil, nil, nil, &c)
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
