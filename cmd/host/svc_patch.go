package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
)

// svcPatchOptions are the inputs of "wharf svc patch".
type svcPatchOptions struct {
	app      *app
	cmd      *cobra.Command
	Conn, ID string
	File     string // the merge patch, "-" for stdin
	Version  string // expected current version; empty: the one read
}

func newSvcPatchCmd(a *app, runF func(*svcPatchOptions) error) *cobra.Command {
	o := &svcPatchOptions{app: a}
	cmd := &cobra.Command{
		Use:   "patch CONNECTION ID -f patch.json",
		Short: "Change part of a service's spec (JSON merge patch)",
		Long:  "Applies an RFC 7386 merge patch to the current spec: given keys replace, null removes.",
		Args:  cobra.ExactArgs(2),
		Example: `  echo '{"replicas":3}' | wharf svc patch prod web -f -
  wharf svc patch prod web -f patch.json --version 7`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID = cmd, args[0], args[1]
			if runF != nil {
				return runF(o)
			}
			return svcPatchRun(o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "JSON merge patch file (- for stdin; required)")
	cmd.Flags().StringVar(&o.Version, "version", "", "expected current version")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func svcPatchRun(o *svcPatchOptions) error {
	body, err := o.app.readInput(o.File)
	if err != nil {
		return err
	}
	return o.app.serviceChange(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (*ops.ServiceResult, error) {
		return c.Services.Patch(ctx, o.Conn, o.ID, body, append(ifMatch(o.Version), raw)...)
	})
}
