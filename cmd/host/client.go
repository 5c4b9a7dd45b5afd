package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/api"
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

// request sends one API request and returns the response, already checked:
// an error answer becomes its *pluginapi.Error.
func (a *app) request(ctx context.Context, method, path string, query url.Values, body []byte, headers map[string]string) (*http.Response, error) {
	if a.output != "table" && a.output != "json" {
		return nil, pluginapi.Invalid("", "--output must be table or json, not %q", a.output)
	}
	u := strings.TrimSuffix(a.server, "/") + api.Prefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, pluginapi.Invalid("", "bad server URL %q: %v", a.server, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	hc := a.httpClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: %v", a.server, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb api.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
			return nil, eb.Error
		}
		return nil, &pluginapi.Error{Code: codeForStatus(resp.StatusCode), Message: fmt.Sprintf("%s answered %s", a.server, resp.Status)}
	}
	return resp, nil
}

// codeForStatus classifies an error answer that carries no structured
// error (a proxy in between, or not a Wharf server).
func codeForStatus(status int) pluginapi.Code {
	for _, c := range pluginapi.Codes {
		if api.StatusOf(c) == status {
			return c
		}
	}
	if status < 500 {
		return pluginapi.CodeInvalid
	}
	return pluginapi.CodeInternal
}

// call sends a request and decodes the JSON answer into out (if not nil),
// returning the raw body too.
func (a *app) call(ctx context.Context, method, path string, query url.Values, body []byte, headers map[string]string, out any) ([]byte, error) {
	resp, err := a.request(ctx, method, path, query, body, headers)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "reading the answer: %v", err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "the server answered something that is not the expected JSON: %v", err)
		}
	}
	return b, nil
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
