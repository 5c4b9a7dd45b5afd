package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
)

// svcCreateOptions are the inputs of "wharf svc create".
type svcCreateOptions struct {
	app  *app
	cmd  *cobra.Command
	Conn string
	File string // the spec, "-" for stdin
}

func newSvcCreateCmd(a *app, runF func(*svcCreateOptions) error) *cobra.Command {
	o := &svcCreateOptions{app: a}
	cmd := &cobra.Command{
		Use: "create CONNECTION -f spec.json", Short: "Create a service from a spec", Args: cobra.ExactArgs(1),
		Example: "  wharf svc create prod -f web.json\n  echo '{\"name\":\"web\",\"image\":\"nginx\"}' | wharf svc create local -f -",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return svcCreateRun(o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "JSON spec file (- for stdin; required)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func svcCreateRun(o *svcCreateOptions) error {
	spec, err := o.app.readInput(o.File)
	if err != nil {
		return err
	}
	return o.app.serviceChange(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (*ops.ServiceResult, error) {
		return c.Services.Create(ctx, o.Conn, spec, raw)
	})
}
