package main

import (
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/pluginapi"
)

// svcGetOptions are the inputs of "wharf svc get".
type svcGetOptions struct {
	app      *app
	cmd      *cobra.Command
	Conn, ID string
}

func newSvcGetCmd(a *app, runF func(*svcGetOptions) error) *cobra.Command {
	o := &svcGetOptions{app: a}
	return &cobra.Command{
		Use: "get CONNECTION ID", Short: "Show a service", Args: cobra.ExactArgs(2),
		Example: "  wharf svc get prod web\n  wharf svc get prod web -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID = cmd, args[0], args[1]
			if runF != nil {
				return runF(o)
			}
			return svcGetRun(o)
		},
	}
}

func svcGetRun(o *svcGetOptions) error {
	var s pluginapi.Service
	raw, err := o.app.call(o.cmd.Context(), "GET", svcPath(o.Conn, o.ID), nil, nil, nil, &s)
	if err != nil {
		return err
	}
	return o.app.show(raw, func(w *tabwriter.Writer) { printService(w, &s) })
}
