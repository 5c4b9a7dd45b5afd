package main

import (
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
)

// svcGetOptions are the inputs of "wharf svc get".
type svcGetOptions struct {
	app      *app
	cmd      *cobra.Command
	Conn, ID string
	// InsertDefaults asks for the platform's defaults filled in.
	InsertDefaults bool
}

func newSvcGetCmd(a *app, runF func(*svcGetOptions) error) *cobra.Command {
	o := &svcGetOptions{app: a}
	cmd := &cobra.Command{
		Use: "get CONNECTION ID [--insert-defaults]", Short: "Show a service", Args: cobra.ExactArgs(2),
		Example: "  wharf svc get prod web\n  wharf svc get prod web -o json\n  wharf svc get prod web --insert-defaults -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID = cmd, args[0], args[1]
			if runF != nil {
				return runF(o)
			}
			return svcGetRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.InsertDefaults, "insert-defaults", false, "show the platform's defaults filled in (plugins that offer it, such as docker)")
	return cmd
}

func svcGetRun(o *svcGetOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	var raw []byte
	s, err := c.Services.GetWith(o.cmd.Context(), o.Conn, o.ID, ops.GetOptions{InsertDefaults: o.InsertDefaults}, client.RawJSON(&raw))
	if err != nil {
		return err
	}
	return o.app.show(raw, func(w *tabwriter.Writer) { printService(w, s) })
}
