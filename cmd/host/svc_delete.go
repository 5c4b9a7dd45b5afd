package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// svcDeleteOptions are the inputs of "wharf svc delete".
type svcDeleteOptions struct {
	app      *app
	cmd      *cobra.Command
	Conn, ID string
	Force    bool
}

func newSvcDeleteCmd(a *app, runF func(*svcDeleteOptions) error) *cobra.Command {
	o := &svcDeleteOptions{app: a}
	cmd := &cobra.Command{
		Use: "delete CONNECTION ID [--force]", Short: "Delete a service", Args: cobra.ExactArgs(2),
		Example: "  wharf svc delete prod web\n  wharf svc delete prod web --force",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID = cmd, args[0], args[1]
			if runF != nil {
				return runF(o)
			}
			return svcDeleteRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "remove even while it runs")
	return cmd
}

func svcDeleteRun(o *svcDeleteOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	if _, err := c.Services.Delete(o.cmd.Context(), o.Conn, o.ID, o.Force); err != nil {
		return err
	}
	fmt.Fprintf(o.app.stdout, "service %s deleted\n", o.ID)
	return nil
}
