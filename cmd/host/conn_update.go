package main

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// connUpdateOptions are the inputs of "wharf conn update".
type connUpdateOptions struct {
	app  *app
	cmd  *cobra.Command
	Name string
	File string   // the full config; empty: merge Sets into the stored one
	Sets []string // key=value config properties
	// Version is the expected current version; 0: any.
	Version int64
}

func newConnUpdateCmd(a *app, runF func(*connUpdateOptions) error) *cobra.Command {
	o := &connUpdateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "update NAME (-f config.json | --set key=value ...)",
		Short: "Change a connection's config",
		Long: `With -f, replaces the whole config (secrets left out or sent as ******** keep
their stored values). With --set only, merges the given properties into the
stored config.`,
		Args: cobra.ExactArgs(1),
		Example: `  wharf conn update prod --set region=eu-west-1
  wharf conn update prod -f prod-config.json --version 3`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Name = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return connUpdateRun(o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "JSON file with the full config (- for stdin)")
	cmd.Flags().StringArrayVar(&o.Sets, "set", nil, "config property key=value (repeatable)")
	cmd.Flags().Int64Var(&o.Version, "version", 0, "expected current version (conflict if it changed)")
	return cmd
}

func connUpdateRun(o *connUpdateOptions) error {
	var opts []client.CallOption
	if o.Version > 0 {
		opts = append(opts, client.IfMatch(strconv.FormatInt(o.Version, 10)))
	}
	if o.File == "" {
		if len(o.Sets) == 0 {
			return pluginapi.Invalid("", "give -f config.json or --set key=value")
		}
		patch, err := setPairs(o.Sets)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(patch)
		return o.app.printConnection(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (ops.Connection, error) {
			return c.Connections.Patch(ctx, o.Name, body, append(opts, raw)...)
		})
	}
	cfg, err := o.app.configFrom(o.File, o.Sets)
	if err != nil {
		return err
	}
	in := ops.ConnectionInput{Config: cfg}
	return o.app.printConnection(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (ops.Connection, error) {
		return c.Connections.Update(ctx, o.Name, in, append(opts, raw)...)
	})
}
