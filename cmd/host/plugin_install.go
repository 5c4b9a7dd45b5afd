package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/internal/wasmbin"
	"github.com/wharfhq/wharf/pluginapi"
)

// pluginInstallCmd is "wharf plugin install": upload to a running host.
func (a *app) pluginInstallCmd() *cobra.Command {
	var noSidecars bool
	cmd := &cobra.Command{
		Use:   "install FILE.wasm",
		Short: "Install or replace a plugin on a running host (owner)",
		Long: `Uploads FILE.wasm to the host named by --server, with FILE.wasm.minisig (its
signature) and FILE.json (its manifest) when they are beside it. The host checks
the module, its describe and ABI, its signature under the host's plugin_trust
policy and its schemas before it touches its plugins folder; then it writes the
files there and swaps the plugin in: calls running finish on the old version,
new calls go to the new one. Prints what changed and the hosts the plugin
declares, which each connection reaches only once an administrator approves
them (approved_hosts).`,
		Example: "  wharf plugin install dist/acme.wasm --server https://wharf.example.com --token $TOKEN",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			up, err := readUpload(args[0], !noSidecars)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			ch, err := c.Plugins.Install(cmd.Context(), up, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) { printChange(w, ch) })
		},
	}
	cmd.Flags().BoolVar(&noSidecars, "module-only", false, "send only the module, not the .minisig and .json beside it")
	a.clientFlags(cmd)
	return cmd
}

// readUpload reads FILE.wasm and, with sidecars, the signature and
// manifest beside it.
func readUpload(path string, sidecars bool) (ops.PluginUpload, error) {
	var up ops.PluginUpload
	st, err := os.Stat(path)
	if err != nil {
		return up, pluginapi.Invalid("", "%v", err)
	}
	if st.Size() > wasmbin.MaxModuleBytes {
		return up, pluginapi.Invalid("", "%s has %d bytes, more than the %d MiB a plugin may have", path, st.Size(), wasmbin.MaxModuleBytes>>20)
	}
	if up.Wasm, err = os.ReadFile(path); err != nil {
		return up, pluginapi.Invalid("", "%v", err)
	}
	if !sidecars {
		return up, nil
	}
	read := func(p string) ([]byte, error) {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, pluginapi.Invalid("", "%v", err)
		}
		if len(b) > 1<<20 {
			return nil, pluginapi.Invalid("", "%s is larger than 1 MiB", p)
		}
		return b, nil
	}
	if up.Signature, err = read(path + ".minisig"); err != nil {
		return up, err
	}
	if up.Manifest, err = read(strings.TrimSuffix(path, ".wasm") + ".json"); err != nil {
		return up, err
	}
	if len(up.Manifest) > 0 && !json.Valid(up.Manifest) {
		return up, pluginapi.Invalid("", "%s is not JSON", strings.TrimSuffix(path, ".wasm")+".json")
	}
	return up, nil
}

func printChange(w *tabwriter.Writer, ch ops.PluginChange) {
	fmt.Fprintf(w, "Plugin:\t%s (%s)\nFile:\t%s\n", ch.Plugin, ch.Change, ch.File)
	if ch.OldVersion != "" || ch.OldDigest != "" {
		fmt.Fprintf(w, "Old version:\t%s (sha256 %.12s)\n", orDash(ch.OldVersion), ch.OldDigest)
	}
	fmt.Fprintf(w, "Version:\t%s (sha256 %.12s)\n", orDash(ch.NewVersion), ch.NewDigest)
	if s := ch.Signature; s != nil {
		signer := "not trusted"
		if s.Trusted && s.Signer != nil {
			signer = "signed by " + s.Signer.KeyName
		}
		if s.Problem != "" {
			signer += ": " + s.Problem
		}
		fmt.Fprintf(w, "Signature:\t%s\n", signer)
	}
	if len(ch.Hosts) > 0 {
		fmt.Fprintf(w, "Declared hosts:\t%s (each connection reaches them only once an administrator approves them)\n", strings.Join(ch.Hosts, ", "))
	}
}
