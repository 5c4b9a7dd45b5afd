package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/pluginapi"
)

// app holds what every command shares: streams and the client flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	server         string
	token          string
	output         string
	httpClient     *http.Client
}

// clientFlags adds --server, --token and --output to a client command.
func (a *app) clientFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&a.server, "server", envOr("WHARF_SERVER", "http://127.0.0.1:8080"), "URL of the Wharf host (env WHARF_SERVER)")
	f.StringVar(&a.token, "token", os.Getenv("WHARF_TOKEN"), "API token (env WHARF_TOKEN)")
	f.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// client returns a client of the host named by --server, with --token;
// it refuses a bad --output first, before anything is sent.
func (a *app) client() (*client.Client, error) {
	if a.output != "table" && a.output != "json" {
		return nil, pluginapi.Invalid("", "--output must be table or json, not %q", a.output)
	}
	opts := []client.Option{client.WithToken(a.token)}
	if a.httpClient != nil {
		opts = append(opts, client.WithHTTPClient(a.httpClient))
	}
	c, err := client.New(a.server, opts...)
	if err != nil {
		return nil, pluginapi.Invalid("", "bad server URL %q: %s", a.server, pluginapi.AsError(err).Message)
	}
	return c, nil
}

// show prints raw JSON in json mode, or calls table otherwise.
func (a *app) show(raw []byte, table func(w *tabwriter.Writer)) error {
	if a.output == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			_, err = a.stdout.Write(raw)
			return err
		}
		buf.WriteByte('\n')
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	table(w)
	return w.Flush()
}

// readInput reads a JSON document from a file ("-" is stdin).
func (a *app) readInput(path string) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(a.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, pluginapi.Invalid("", "read %s: %v", path, err)
	}
	if !json.Valid(b) {
		return nil, pluginapi.Invalid("", "%s is not valid JSON", path)
	}
	return b, nil
}

// setPairs turns --set key=value flags into a JSON object; a value that
// parses as JSON is taken as such (numbers, booleans, objects), anything
// else as a string.
func setPairs(pairs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, pluginapi.Invalid("", "--set wants key=value, not %q", p)
		}
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			out[k] = parsed
		} else {
			out[k] = v
		}
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func intOrDash(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

// timeFlag reads a time flag the way the host reads its query parameters:
// RFC 3339 or unix seconds; empty is unset.
func timeFlag(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		t := time.Unix(n, 0).UTC()
		return &t, nil
	}
	return nil, pluginapi.Invalid("", "--%s must be an RFC 3339 time or unix seconds, not %q", flag, v)
}

// filterPairs turns key=value flags into filters; flag names the flag in
// the error.
func filterPairs(flag string, pairs []string) (map[string][]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, pluginapi.Invalid("", "--%s wants key=value, not %q", flag, p)
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}
