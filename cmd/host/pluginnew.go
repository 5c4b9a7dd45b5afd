package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/scaffold"
)

// pluginNewCmd is "wharf plugin new": scaffold a provider plugin module.
func (a *app) pluginNewCmd() *cobra.Command {
	var o scaffold.Options
	cmd := &cobra.Command{
		Use:   "new NAME [--dir DIR] [--module PATH] [--replace WHARF_CHECKOUT]",
		Short: "Scaffold a provider plugin in Go: the provider, a tiny emulator and a conformance test",
		Long: `Writes a Go module of its own for a new provider plugin NAME into DIR
(default ./NAME; it must not exist or be empty): go.mod (module PATH,
default example.com/wharf-NAME), provider.go built on pluginapi/plugin and
its REST client, emulator/ (a tiny stand-in for the platform's API, which
"go run ./emulator/cmd" serves), testdata/conformance.json and
provider_test.go, which builds the plugin to wasm and runs Wharf's
conformance kit against the emulator. --replace points go.mod at a Wharf
checkout, for working against Wharf from source.`,
		Example: "  wharf plugin new acme\n  wharf plugin new acme --dir ~/src/wharf-acme --module github.com/you/wharf-acme",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			files, err := scaffold.Write(&o)
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintf(a.stdout, "wrote %s\n", f)
			}
			fmt.Fprintf(a.stdout, "\nPlugin %s scaffolded in %s (module %s). Next:\n  cd %s\n  go mod tidy\n  go test ./...\n",
				o.Name, o.Dir, o.Module, o.Dir)
			if o.NeedsReplace() {
				fmt.Fprintf(a.stdout, "\nThis wharf binary knows no released version of github.com/wharfhq/wharf: point go.mod at a checkout first,\n  go mod edit -replace github.com/wharfhq/wharf=/path/to/wharf\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "folder to write (default ./NAME)")
	cmd.Flags().StringVar(&o.Module, "module", "", "module path of the new plugin (default example.com/wharf-NAME)")
	cmd.Flags().StringVar(&o.Replace, "replace", "", "a Wharf checkout for go.mod's replace directive")
	return cmd
}
