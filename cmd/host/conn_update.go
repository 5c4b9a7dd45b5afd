package main

import (
	"encoding/json"
	"strconv"

	"github.com/spf13/cobra"

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
	headers := map[string]string{}
	if o.Version > 0 {
		headers["If-Match"] = strconv.FormatInt(o.Version, 10)
	}
	path := connPath(o.Name)
	if o.File == "" {
		if len(o.Sets) == 0 {
			return pluginapi.Invalid("", "give -f config.json or --set key=value")
		}
		patch, err := setPairs(o.Sets)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(patch)
		return o.app.printConnection(o.cmd, "PATCH", path, body, headers)
	}
	cfg, err := o.app.configFrom(o.File, o.Sets)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"config": cfg})
	return o.app.printConnection(o.cmd, "PUT", path, body, headers)
}
