package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginkit"
	"github.com/wharfhq/wharf/pluginkit/conformance"
)

// pluginTestCmd is "wharf plugin test": the public conformance kit
// against one .wasm file, in a host of its own; no server needed.
func (a *app) pluginTestCmd() *cobra.Command {
	var o pluginTestOptions
	cmd := &cobra.Command{
		Use:   "test FILE.wasm --config CONN.json [--spec SPEC.json]",
		Short: "Run the conformance scenario against a plugin and a platform (an emulator or a real one)",
		Long: `Starts a host of its own (temporary data folder, loopback port) with FILE.wasm
as its only plugin, makes a connection with the config in CONN.json (a JSON
object, as "wharf connections create" takes it) and runs the conformance
scenario Wharf's own plugins pass: describe, connection test, create, list,
get, update, actions, logs, optional operations, delete, paging, wrong
credentials, platform down and hanging. SPEC.json is the plugin's fixture
(testdata/conformance.json: create_spec, update_spec, invalid_spec,
invalid_field, bad_credentials); without it only the steps that need no
spec run. Each step is printed with ✓ or ✗, its duration and what failed;
the command fails if any step failed. It creates and deletes real services
on the platform the config points at.`,
		Example: "  wharf plugin test acme.wasm --config emulator.json --spec testdata/conformance.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.wasm = args[0]
			return a.pluginTest(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.config, "config", "", "connection config, a JSON file (required)")
	cmd.Flags().StringVar(&o.spec, "spec", "", "the plugin's conformance fixture, a JSON file")
	cmd.Flags().DurationVar(&o.settle, "settle", 30*time.Second, "how long a service may take to settle")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Second, "bound of each platform request (the \"platform hangs\" step waits this long)")
	cmd.Flags().IntVar(&o.pageServices, "page-services", 5, "services the paging step creates")
	return cmd
}

type pluginTestOptions struct {
	wasm, config, spec string
	settle, timeout    time.Duration
	pageServices       int
}

func (a *app) pluginTest(ctx context.Context, o pluginTestOptions) error {
	if o.config == "" {
		return pluginapi.Invalid("--config", "--config is required: a JSON file with the connection config")
	}
	if o.settle <= 0 || o.settle > time.Hour {
		return pluginapi.Invalid("--settle", "--settle must be between 0 and 1h, not %s", o.settle)
	}
	if o.timeout <= 0 || o.timeout > 5*time.Minute {
		return pluginapi.Invalid("--timeout", "--timeout must be between 0 and 5m, not %s", o.timeout)
	}
	if o.pageServices < 1 || o.pageServices > 100 {
		return pluginapi.Invalid("--page-services", "--page-services must be between 1 and 100, not %d", o.pageServices)
	}
	if _, err := os.Stat(o.wasm); err != nil {
		return pluginapi.Invalid("", "%v", err)
	}
	cfg, err := readConfigObject(o.config)
	if err != nil {
		return err
	}
	var fixture conformance.Fixture
	if o.spec != "" {
		if fixture, err = conformance.ReadFixture(o.spec); err != nil {
			return pluginapi.Invalid("--spec", "%v", err)
		}
	}

	start := time.Now()
	h, err := pluginkit.StartHost(ctx, pluginkit.HostConfig{Plugins: []string{o.wasm}, EgressTimeout: o.timeout})
	if err != nil {
		fmt.Fprintf(a.stdout, "✗ load %s (%s)\n    %v\n", filepath.Base(o.wasm), since(start), err)
		return pluginapi.Invalid("", "%s did not load", o.wasm)
	}
	defer func() { _ = h.Close(context.Background()) }()
	d, err := onlyPlugin(h.API.Base)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "✓ load %s: %s %s, ABI %s (%s)\n", filepath.Base(o.wasm), d.Name, d.Version, d.ABIVersion, since(start))

	passed, failed, skipped := 0, 0, 0
	ok := conformance.RunSteps(h.API, conformance.Platform{Plugin: d.Name, Config: cfg, Fixture: fixture,
		Settle: o.settle, PageServices: o.pageServices}, func(r conformance.StepResult) {
		switch {
		case r.Skipped != "":
			skipped++
			fmt.Fprintf(a.stdout, "- %s: skipped, %s\n", r.Name, r.Skipped)
		case r.Passed:
			passed++
			fmt.Fprintf(a.stdout, "✓ %s (%s)\n", r.Name, r.Duration.Round(time.Millisecond))
		default:
			failed++
			fmt.Fprintf(a.stdout, "✗ %s (%s)\n", r.Name, r.Duration.Round(time.Millisecond))
			for _, f := range r.Failures {
				fmt.Fprintf(a.stdout, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
			}
		}
	})
	fmt.Fprintf(a.stdout, "%d passed, %d failed, %d skipped in %s\n", passed, failed, skipped, since(start))
	if !ok {
		return pluginapi.Errorf(pluginapi.CodeInvalid, "%s failed %d conformance step(s)", d.Name, failed)
	}
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// readConfigObject reads a connection config file: one JSON object.
func readConfigObject(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, pluginapi.Invalid("--config", "%v", err)
	}
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil || cfg == nil {
		return nil, pluginapi.Invalid("--config", "%s must hold one JSON object, the connection config: %v", path, err)
	}
	return cfg, nil
}

// onlyPlugin describes the one plugin of the host behind base.
func onlyPlugin(base string) (pluginapi.DescribeResponse, error) {
	var list struct {
		Plugins []struct {
			Describe pluginapi.DescribeResponse `json:"describe"`
		} `json:"plugins"`
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(base + "/plugins")
	if err != nil {
		return pluginapi.DescribeResponse{}, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Plugins) != 1 {
		return pluginapi.DescribeResponse{}, fmt.Errorf("the test host lists %d plugins (%v)", len(list.Plugins), err)
	}
	return list.Plugins[0].Describe, nil
}
