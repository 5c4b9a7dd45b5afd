package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// connCmd groups the connection verbs; each lives in its own conn_*.go
// file with an options struct and a run function.
func (a *app) connCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "conn", Aliases: []string{"connections"}, Short: "Manage connections (a plugin plus its config and credentials)",
		Example: "  wharf conn ls\n  wharf conn create local --plugin docker --set host=unix:///var/run/docker.sock\n  wharf conn test local"}
	cmd.AddCommand(newConnLsCmd(a, nil), newConnGetCmd(a, nil), newConnCreateCmd(a, nil), newConnUpdateCmd(a, nil),
		newConnDeleteCmd(a, nil), newConnTestCmd(a, nil))
	return cmd
}

// configFrom builds a config from a JSON file (optional) and --set pairs on top.
func (a *app) configFrom(file string, sets []string) (json.RawMessage, error) {
	cfg := map[string]any{}
	if file != "" {
		b, err := a.readInput(file)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &cfg); err != nil || cfg == nil {
			return nil, pluginapi.Invalid("", "%s must hold a JSON object", file)
		}
	}
	extra, err := setPairs(sets)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return b, nil
}

// printConnection makes a change to a connection with change and prints
// the answer.
func (a *app) printConnection(cmd *cobra.Command, change func(ctx context.Context, cl *client.Client, raw client.CallOption) (ops.Connection, error)) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	var raw []byte
	c, err := change(cmd.Context(), cl, client.RawJSON(&raw))
	if err != nil {
		return err
	}
	return a.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "connection %s (plugin %s) at version %d\n", c.Name, c.Plugin, c.Version)
	})
}
