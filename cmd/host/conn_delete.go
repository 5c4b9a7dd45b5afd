package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// connDeleteOptions are the inputs of "wharf conn delete".
type connDeleteOptions struct {
	app  *app
	cmd  *cobra.Command
	Name string
}

func newConnDeleteCmd(a *app, runF func(*connDeleteOptions) error) *cobra.Command {
	o := &connDeleteOptions{app: a}
	return &cobra.Command{
		Use: "delete NAME", Short: "Delete a connection (its services stay on the platform)", Args: cobra.ExactArgs(1),
		Example: "  wharf conn delete old-swarm",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Name = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return connDeleteRun(o)
		},
	}
}

func connDeleteRun(o *connDeleteOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	if err := c.Connections.Delete(o.cmd.Context(), o.Name); err != nil {
		return err
	}
	fmt.Fprintf(o.app.stdout, "connection %s deleted\n", o.Name)
	return nil
}
