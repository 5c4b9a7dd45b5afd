package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
)

// connCreateOptions are the inputs of "wharf conn create".
type connCreateOptions struct {
	app    *app
	cmd    *cobra.Command
	Name   string
	Plugin string
	File   string   // config JSON, "-" for stdin; optional
	Sets   []string // key=value config properties on top of File
}

func newConnCreateCmd(a *app, runF func(*connCreateOptions) error) *cobra.Command {
	o := &connCreateOptions{app: a}
	cmd := &cobra.Command{
		Use: "create NAME --plugin PLUGIN [-f config.json] [--set key=value ...]", Short: "Create a connection",
		Args: cobra.ExactArgs(1),
		Example: `  wharf conn create local --plugin docker --set host=unix:///var/run/docker.sock
  wharf conn create prod --plugin ecs -f prod-config.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Name = cmd, args[0]
			if runF != nil {
				return runF(o)
			}
			return connCreateRun(o)
		},
	}
	cmd.Flags().StringVar(&o.Plugin, "plugin", "", "the plugin serving this connection (required)")
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "JSON file with the config (- for stdin)")
	cmd.Flags().StringArrayVar(&o.Sets, "set", nil, "config property key=value (repeatable; JSON values allowed)")
	_ = cmd.MarkFlagRequired("plugin")
	return cmd
}

func connCreateRun(o *connCreateOptions) error {
	cfg, err := o.app.configFrom(o.File, o.Sets)
	if err != nil {
		return err
	}
	in := ops.ConnectionInput{Name: o.Name, Plugin: o.Plugin, Config: cfg}
	return o.app.printConnection(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (ops.Connection, error) {
		return c.Connections.Create(ctx, in, raw)
	})
}
