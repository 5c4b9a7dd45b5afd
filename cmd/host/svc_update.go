package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
)

// svcUpdateOptions are the inputs of "wharf svc update".
type svcUpdateOptions struct {
	app      *app
	cmd      *cobra.Command
	Conn, ID string
	File     string // the complete spec, "-" for stdin
	Version  string // expected current version; empty: any
}

func newSvcUpdateCmd(a *app, runF func(*svcUpdateOptions) error) *cobra.Command {
	o := &svcUpdateOptions{app: a}
	cmd := &cobra.Command{
		Use: "update CONNECTION ID -f spec.json", Short: "Replace a service's spec", Args: cobra.ExactArgs(2),
		Example: "  wharf svc update prod web -f web.json --version 7",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID = cmd, args[0], args[1]
			if runF != nil {
				return runF(o)
			}
			return svcUpdateRun(o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "JSON spec file (- for stdin; required)")
	cmd.Flags().StringVar(&o.Version, "version", "", "expected current version (conflict if it changed)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func svcUpdateRun(o *svcUpdateOptions) error {
	spec, err := o.app.readInput(o.File)
	if err != nil {
		return err
	}
	return o.app.serviceChange(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (*ops.ServiceResult, error) {
		return c.Services.Update(ctx, o.Conn, o.ID, spec, append(ifMatch(o.Version), raw)...)
	})
}
