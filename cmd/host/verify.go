package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// pluginVerifyCmd is "wharf plugin verify": a local check, no server.
func (a *app) pluginVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Work with plugin files locally",
		Example: "  wharf plugin verify dist/plugins/docker.wasm\n  wharf plugin sign acme.wasm --key acme.key"}
	var pubkeys []string
	verify := &cobra.Command{
		Use:   "verify FILE.wasm [--pubkey KEY]...",
		Short: "Load a plugin locally and check its describe, ABI, exports, schemas and signature",
		Long: `Compiles the plugin with the host's runtime, calls describe, checks the ABI
version and the exports of every declared operation, and compiles its config,
spec and action schemas. With --pubkey (a .pub file or the key itself, "RW…";
repeatable) it also requires FILE.wasm.minisig to be a valid signature by one
of those keys, as a host with plugin_trust policy require does. Needs no server.`,
		Example: "  wharf plugin verify dist/plugins/docker.wasm\n  wharf plugin verify acme.wasm --pubkey acme.pub",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.verifyPlugin(cmd.Context(), args[0], pubkeys)
		},
	}
	verify.Flags().StringArrayVar(&pubkeys, "pubkey", nil, "require a signature by this public key (a .pub file or \"RW…\"; repeatable)")
	cmd.AddCommand(verify)
	cmd.AddCommand(a.pluginSignCmds()...)
	cmd.AddCommand(a.pluginTestCmd(), a.pluginNewCmd(), a.pluginInstallCmd())
	return cmd
}

func (a *app) verifyPlugin(ctx context.Context, path string, pubkeys []string) error {
	keys, err := trustedKeysFromFlags(pubkeys)
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return pluginapi.Invalid("", "%v", err)
	}
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
	sum := sha256.Sum256(wasm)
	if hex.EncodeToString(sum[:]) != p.Digest() {
		return pluginapi.Invalid("", "%s changed while it was being checked", path)
	}
	trust := plugintrust.Trust{Policy: plugintrust.PolicyRequire, Keys: keys}
	v := trust.Verify(path, wasm)
	switch {
	case v.Trusted:
		fmt.Fprintf(w, "Signer:\t%s (key %s) %q\n", v.Signer.KeyName, v.Signer.KeyID, v.Signer.Comment)
	case v.Signer != nil && len(keys) == 0:
		fmt.Fprintf(w, "Signature:\tby key %s, not checked (give --pubkey)\n", v.Signer.KeyID)
	case len(keys) == 0:
		if _, err := os.Stat(path + plugintrust.SignatureSuffix); err != nil {
			fmt.Fprintf(w, "Signature:\tnone\n")
		} else {
			fmt.Fprintf(w, "Signature:\tunusable: %s\n", v.Problem)
		}
	default:
		problems = append(problems, v.Problem)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return pluginapi.Invalid("", "plugin %s: %s", d.Name, strings.Join(problems, "; "))
	}
	fmt.Fprintln(a.stdout, "ok")
	return nil
}
