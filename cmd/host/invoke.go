package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func (a *app) invokeCmd() *cobra.Command {
	var method, path, data, ctype string
	var headers []string
	cmd := &cobra.Command{
		Use: "invoke CONNECTION ID [--method M] [--path P] [--data BODY]", Short: "Send a request to the running service",
		Args: cobra.ExactArgs(2),
		Example: `  wharf invoke prod model --path /predict --data '{"x": [1, 2]}' --content-type application/json
  wharf invoke prod web --method GET --path /healthz`,
		RunE: func(cmd *cobra.Command, args []string) error {
			in := ops.InvokeInput{Method: method, Path: path, ContentType: ctype, Body: []byte(data)}
			if len(headers) > 0 {
				in.Headers = map[string]string{}
				for _, h := range headers {
					k, v, ok := strings.Cut(h, "=")
					if !ok {
						return pluginapi.Invalid("", "--header wants name=value, not %q", h)
					}
					in.Headers[k] = v
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			r, err := c.Services.Invoke(cmd.Context(), args[0], args[1], in, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.show(raw, nil)
			}
			fmt.Fprintf(a.stderr, "status %d (%d ms) %s\n", r.Status, r.DurationMS, r.ContentType)
			_, err = a.stdout.Write(r.Body)
			if len(r.Body) > 0 && r.Body[len(r.Body)-1] != '\n' {
				fmt.Fprintln(a.stdout)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "POST", "HTTP method")
	f.StringVar(&path, "path", "/", "request path")
	f.StringVar(&data, "data", "", "request body")
	f.StringVar(&ctype, "content-type", "", "request content type")
	f.StringArrayVar(&headers, "header", nil, "request header name=value (repeatable)")
	return cmd
}
