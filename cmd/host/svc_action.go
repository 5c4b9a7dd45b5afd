package main

import (
	"context"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// svcActionOptions are the inputs of "wharf svc action".
type svcActionOptions struct {
	app              *app
	cmd              *cobra.Command
	Conn, ID, Action string
	// Replicas is sent as {"replicas": N} when HasReplicas (--replicas given).
	Replicas    int
	HasReplicas bool
	Params      string // the params as JSON; wins over --replicas
}

func newSvcActionCmd(a *app, runF func(*svcActionOptions) error) *cobra.Command {
	o := &svcActionOptions{app: a}
	cmd := &cobra.Command{
		Use: "action CONNECTION ID ACTION [--replicas N] [--params JSON]", Short: "Run a lifecycle action (start, stop, restart, scale, rollback ...)",
		Args: cobra.ExactArgs(3),
		Example: `  wharf svc action prod web restart
  wharf svc action prod web scale --replicas 5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn, o.ID, o.Action = cmd, args[0], args[1], args[2]
			o.HasReplicas = cmd.Flags().Changed("replicas")
			if runF != nil {
				return runF(o)
			}
			return svcActionRun(o)
		},
	}
	cmd.Flags().IntVar(&o.Replicas, "replicas", 0, "replicas, for scale")
	cmd.Flags().StringVar(&o.Params, "params", "", "the action's params as JSON")
	return cmd
}

func svcActionRun(o *svcActionOptions) error {
	var body json.RawMessage
	switch {
	case o.Params != "":
		if !json.Valid([]byte(o.Params)) {
			return pluginapi.Invalid("", "--params is not valid JSON")
		}
		body = []byte(o.Params)
	case o.HasReplicas:
		body, _ = json.Marshal(pluginapi.ScaleParams{Replicas: o.Replicas})
	}
	return o.app.serviceChange(o.cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (*ops.ServiceResult, error) {
		return c.Services.RunAction(ctx, o.Conn, o.ID, o.Action, body, raw)
	})
}
