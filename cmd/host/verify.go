package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// pluginVerifyCmd is "wharf plugin verify": a local check, no server.
func (a *app) pluginVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Work with plugin files locally",
		Example: "  wharf plugin verify dist/plugins/docker.wasm"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify FILE.wasm",
		Short: "Load a plugin locally and check its describe, ABI, exports and schemas",
		Long: `Compiles the plugin with the host's runtime, calls describe, checks the ABI
version and the exports of every declared operation, and compiles its config,
spec and action schemas. Needs no server.`,
		Example: "  wharf plugin verify dist/plugins/docker.wasm",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.verifyPlugin(cmd.Context(), args[0])
		},
	})
	return cmd
}

func (a *app) verifyPlugin(ctx context.Context, path string) error {
	rt, err := runtime.New(ctx, runtime.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(context.Background()) }()
	p, err := rt.Load(ctx, path)
	if err != nil {
		return pluginapi.Invalid("", "%v", err)
	}
	d := p.Describe()
	problems := []string{}
	check := func(what string, raw []byte) {
		if _, err := schema.Compile(raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
		}
	}
	check("config schema", d.ConfigSchema)
	check("spec schema", d.SpecSchema)
	for _, act := range d.Actions {
		if len(act.ParamsSchema) > 0 {
			check("params schema of action "+act.Name, act.ParamsSchema)
		}
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Name:\t%s\nTitle:\t%s\nVersion:\t%s\nABI:\t%s (host speaks %s)\nDigest:\t%s\n", d.Name, d.Title, d.Version, d.ABIVersion, pluginapi.ABIVersion, p.Digest())
	fmt.Fprintf(w, "Operations:\t%s\n", strings.Join(d.Operations, ", "))
	names := make([]string, 0, len(d.Actions))
	for _, act := range d.Actions {
		names = append(names, act.Name)
	}
	fmt.Fprintf(w, "Actions:\t%s\nHosts:\t%s\n", orDash(strings.Join(names, ", ")), orDash(strings.Join(d.Hosts, ", ")))
	if err := w.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return pluginapi.Invalid("", "plugin %s: %s", d.Name, strings.Join(problems, "; "))
	}
	fmt.Fprintln(a.stdout, "ok")
	return nil
}
