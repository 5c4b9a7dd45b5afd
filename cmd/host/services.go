package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func svcPath(conn, id string) string {
	p := "/connections/" + url.PathEscape(conn) + "/services"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

func (a *app) svcCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "svc", Aliases: []string{"services"}, Short: "Manage services",
		Example: "  wharf svc ls --all\n  wharf svc create prod -f web.json\n  wharf svc action prod web scale --replicas 3"}

	var all bool
	var filters, statuses, plugins, conns []string
	var name, pageToken string
	var pageSize int
	ls := &cobra.Command{
		Use:   "ls (CONNECTION | --all)",
		Short: "List services of a connection, or of every connection with --all",
		Args:  cobra.MaximumNArgs(1),
		Example: `  wharf svc ls prod
  wharf svc ls prod --filter label=team=search --filter status=running
  wharf svc ls --all --name web --status running`,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if pageSize > 0 {
				q.Set("page_size", strconv.Itoa(pageSize))
			}
			if pageToken != "" {
				q.Set("page_token", pageToken)
			}
			if all || len(args) == 0 {
				if !all {
					return pluginapi.Invalid("", "name a connection, or use --all")
				}
				if name != "" {
					q.Set("name", name)
				}
				q["status"], q["plugin"], q["connection"] = statuses, plugins, conns
				var page ops.AllServicesPage
				raw, err := a.call(cmd.Context(), "GET", "/services", q, nil, nil, &page)
				if err != nil {
					return err
				}
				return a.show(raw, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "CONNECTION\tID\tNAME\tSTATUS\tRUNNING/DESIRED\tIMAGE")
					for _, s := range page.Services {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s/%s\t%s\n", s.Connection, s.ID, s.Name, s.Status, intOrDash(s.Running), intOrDash(s.Desired), orDash(s.Image))
					}
					for _, e := range page.Errors {
						fmt.Fprintf(w, "%s\t!\t%s\n", e.Connection, e.Error.Error())
					}
					if page.NextPageToken != "" {
						fmt.Fprintf(w, "(%d in all; next page: --page-token %s)\n", page.Total, page.NextPageToken)
					}
				})
			}
			q["filter"] = filters
			if name != "" {
				q.Add("filter", "name="+name)
			}
			for _, s := range statuses {
				q.Add("filter", "status="+s)
			}
			var page ops.ServicePage
			raw, err := a.call(cmd.Context(), "GET", svcPath(args[0], ""), q, nil, nil, &page)
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tSTATUS\tRUNNING/DESIRED\tIMAGE")
				for _, s := range page.Services {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s\t%s\n", s.ID, s.Name, s.Status, intOrDash(s.Running), intOrDash(s.Desired), orDash(s.Image))
				}
				if page.NextPageToken != "" {
					fmt.Fprintf(w, "(next page: --page-token %s)\n", page.NextPageToken)
				}
			})
		},
	}
	fl := ls.Flags()
	fl.BoolVar(&all, "all", false, "list every connection's services")
	fl.StringArrayVar(&filters, "filter", nil, "plugin filter key=value (repeatable)")
	fl.StringVar(&name, "name", "", "name (with --all: substring)")
	fl.StringArrayVar(&statuses, "status", nil, "normalized status (repeatable)")
	fl.StringArrayVar(&plugins, "plugin", nil, "with --all: only this plugin (repeatable)")
	fl.StringArrayVar(&conns, "connection", nil, "with --all: only this connection (repeatable)")
	fl.IntVar(&pageSize, "page-size", 0, "page size")
	fl.StringVar(&pageToken, "page-token", "", "continue from a previous page")

	get := &cobra.Command{
		Use: "get CONNECTION ID", Short: "Show a service", Args: cobra.ExactArgs(2),
		Example: "  wharf svc get prod web\n  wharf svc get prod web -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			var s pluginapi.Service
			raw, err := a.call(cmd.Context(), "GET", svcPath(args[0], args[1]), nil, nil, nil, &s)
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) { printService(w, &s) })
		},
	}

	var cfile string
	create := &cobra.Command{
		Use: "create CONNECTION -f spec.json", Short: "Create a service from a spec", Args: cobra.ExactArgs(1),
		Example: "  wharf svc create prod -f web.json\n  echo '{\"name\":\"web\",\"image\":\"nginx\"}' | wharf svc create local -f -",
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := a.readInput(cfile)
			if err != nil {
				return err
			}
			return a.serviceChange(cmd, "POST", svcPath(args[0], ""), spec, nil)
		},
	}
	create.Flags().StringVarP(&cfile, "file", "f", "", "JSON spec file (- for stdin; required)")
	_ = create.MarkFlagRequired("file")

	var ufile, uversion string
	update := &cobra.Command{
		Use: "update CONNECTION ID -f spec.json", Short: "Replace a service's spec", Args: cobra.ExactArgs(2),
		Example: "  wharf svc update prod web -f web.json --version 7",
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := a.readInput(ufile)
			if err != nil {
				return err
			}
			return a.serviceChange(cmd, "PUT", svcPath(args[0], args[1]), spec, versionHeader(uversion))
		},
	}
	update.Flags().StringVarP(&ufile, "file", "f", "", "JSON spec file (- for stdin; required)")
	update.Flags().StringVar(&uversion, "version", "", "expected current version (conflict if it changed)")
	_ = update.MarkFlagRequired("file")

	var pfile, pversion string
	patch := &cobra.Command{
		Use:   "patch CONNECTION ID -f patch.json",
		Short: "Change part of a service's spec (JSON merge patch)",
		Long:  "Applies an RFC 7386 merge patch to the current spec: given keys replace, null removes.",
		Args:  cobra.ExactArgs(2),
		Example: `  echo '{"replicas":3}' | wharf svc patch prod web -f -
  wharf svc patch prod web -f patch.json --version 7`,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := a.readInput(pfile)
			if err != nil {
				return err
			}
			return a.serviceChange(cmd, "PATCH", svcPath(args[0], args[1]), body, versionHeader(pversion))
		},
	}
	patch.Flags().StringVarP(&pfile, "file", "f", "", "JSON merge patch file (- for stdin; required)")
	patch.Flags().StringVar(&pversion, "version", "", "expected current version")
	_ = patch.MarkFlagRequired("file")

	var force bool
	del := &cobra.Command{
		Use: "delete CONNECTION ID [--force]", Short: "Delete a service", Args: cobra.ExactArgs(2),
		Example: "  wharf svc delete prod web\n  wharf svc delete prod web --force",
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if force {
				q.Set("force", "true")
			}
			if _, err := a.call(cmd.Context(), "DELETE", svcPath(args[0], args[1]), q, nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "service %s deleted\n", args[1])
			return nil
		},
	}
	del.Flags().BoolVar(&force, "force", false, "remove even while it runs")

	var replicas int
	var params string
	action := &cobra.Command{
		Use: "action CONNECTION ID ACTION [--replicas N] [--params JSON]", Short: "Run a lifecycle action (start, stop, restart, scale, rollback ...)",
		Args: cobra.ExactArgs(3),
		Example: `  wharf svc action prod web restart
  wharf svc action prod web scale --replicas 5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var body []byte
			switch {
			case params != "":
				if !json.Valid([]byte(params)) {
					return pluginapi.Invalid("", "--params is not valid JSON")
				}
				body = []byte(params)
			case cmd.Flags().Changed("replicas"):
				body, _ = json.Marshal(pluginapi.ScaleParams{Replicas: replicas})
			}
			return a.serviceChange(cmd, "POST", svcPath(args[0], args[1])+"/actions/"+url.PathEscape(args[2]), body, nil)
		},
	}
	action.Flags().IntVar(&replicas, "replicas", 0, "replicas, for scale")
	action.Flags().StringVar(&params, "params", "", "the action's params as JSON")

	cmd.AddCommand(ls, get, create, update, patch, del, action)
	return cmd
}

func versionHeader(v string) map[string]string {
	if v == "" {
		return nil
	}
	return map[string]string{"If-Match": `"` + v + `"`}
}

func (a *app) serviceChange(cmd *cobra.Command, method, path string, body []byte, headers map[string]string) error {
	var r ops.ServiceResult
	raw, err := a.call(cmd.Context(), method, path, nil, body, headers, &r)
	if err != nil {
		return err
	}
	return a.show(raw, func(w *tabwriter.Writer) {
		if r.Service != nil {
			printService(w, r.Service)
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "Warning:\t%s\n", warn)
		}
	})
}

func printService(w *tabwriter.Writer, s *pluginapi.Service) {
	fmt.Fprintf(w, "ID:\t%s\nName:\t%s\nStatus:\t%s (%s)\n", s.ID, s.Name, s.Status, orDash(s.NativeStatus))
	if s.StatusMessage != "" {
		fmt.Fprintf(w, "Message:\t%s\n", s.StatusMessage)
	}
	fmt.Fprintf(w, "Running/desired:\t%s/%s\nImage:\t%s\nVersion:\t%s\n", intOrDash(s.Running), intOrDash(s.Desired), orDash(s.Image), orDash(s.Version))
	for _, e := range s.Endpoints {
		fmt.Fprintf(w, "Endpoint:\t%s %s %d→%d\n", e.URL, e.Protocol, e.Port, e.Public)
	}
	if len(s.Spec) > 0 {
		fmt.Fprintf(w, "Spec:\t%s\n", compact(s.Spec))
	}
}

// ---- logs

func (a *app) logsCmd() *cobra.Command {
	var follow, stdout, stderr, details bool
	var tail, limit int
	var since, until, before, instance, cursor string
	cmd := &cobra.Command{
		Use: "logs CONNECTION ID [-f] [--tail N] [--since TIME] [--until TIME] [--before CURSOR]", Short: "Print or follow a service's logs",
		Args: cobra.ExactArgs(2),
		Example: `  wharf logs prod web --tail 100
  wharf logs prod web -f --since 2024-05-01T10:00:00Z
  wharf logs prod web -f --stderr
  wharf logs prod web --since 2024-05-01T10:00:00Z --until 2024-05-01T11:00:00Z
  wharf logs prod web --tail 100 --before CURSOR   (the cursor printed after "older lines:")`,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if tail > 0 {
				q.Set("tail", strconv.Itoa(tail))
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			for k, v := range map[string]string{"since": since, "until": until, "before": before, "instance": instance, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			for k, v := range map[string]bool{"stdout": stdout, "stderr": stderr, "details": details, "follow": follow} {
				if v {
					q.Set(k, "true")
				}
			}
			path := svcPath(args[0], args[1]) + "/logs"
			if !follow {
				var page ops.LogsPage
				raw, err := a.call(cmd.Context(), "GET", path, q, nil, nil, &page)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.show(raw, nil)
				}
				for i := range page.Entries {
					a.printEntry(&page.Entries[i])
				}
				if page.CursorBackward != "" {
					// On stderr, so that the lines themselves can be piped.
					fmt.Fprintf(a.stderr, "older lines: --before %s\n", page.CursorBackward)
				}
				return nil
			}
			resp, err := a.request(cmd.Context(), "GET", path, q, nil, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 4<<20)
			for sc.Scan() {
				if a.output == "json" {
					fmt.Fprintln(a.stdout, sc.Text())
					continue
				}
				var it logfanout.Item
				if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
					continue
				}
				switch {
				case it.Entry != nil:
					a.printEntry(it.Entry)
				case it.Skipped > 0:
					fmt.Fprintf(a.stdout, "... skipped %d lines (this client fell behind) ...\n", it.Skipped)
				case it.Error != nil:
					fmt.Fprintf(a.stderr, "log follower: %v\n", it.Error)
				}
			}
			if cmd.Context().Err() != nil {
				return nil // interrupted: a normal way to stop following
			}
			if err := sc.Err(); err != nil {
				return pluginapi.Errorf(pluginapi.CodeUnavailable, "log stream interrupted: %v", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	f.IntVar(&tail, "tail", 0, "only the last N lines")
	f.StringVar(&since, "since", "", "only lines at or after (RFC 3339 or unix seconds)")
	f.StringVar(&until, "until", "", "only lines at or before (RFC 3339 or unix seconds); with -f, stop there")
	f.StringVar(&before, "before", "", "the page of lines before this cursor (printed as \"older lines:\"; not with -f)")
	f.BoolVar(&stdout, "stdout", false, "stdout only")
	f.BoolVar(&stderr, "stderr", false, "stderr only")
	f.BoolVar(&details, "details", false, "show platform details")
	f.StringVar(&instance, "instance", "", "one instance only")
	f.StringVar(&cursor, "cursor", "", "continue after a previous batch (not with -f)")
	f.IntVar(&limit, "limit", 0, "at most this many lines (not with -f)")
	return cmd
}

func (a *app) printEntry(e *pluginapi.LogEntry) {
	var parts []string
	if e.Time != nil {
		parts = append(parts, e.Time.Format(time.RFC3339Nano))
	}
	if e.Instance != "" {
		parts = append(parts, e.Instance)
	}
	if e.Stream == "stderr" {
		parts = append(parts, "[stderr]")
	}
	parts = append(parts, e.Message)
	for k, v := range e.Details {
		parts = append(parts, k+"="+v)
	}
	fmt.Fprintln(a.stdout, strings.Join(parts, " "))
}

// ---- instances, deployments, invoke

func (a *app) instancesCmd() *cobra.Command {
	return &cobra.Command{
		Use: "instances CONNECTION ID [INSTANCE]", Short: "List a service's instances (tasks, containers), or show one",
		Args:    cobra.RangeArgs(2, 3),
		Example: "  wharf instances prod web\n  wharf instances prod web web.1.abc -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			path := svcPath(args[0], args[1]) + "/instances"
			var list []pluginapi.Instance
			var raw []byte
			var err error
			if len(args) == 3 {
				var one pluginapi.Instance
				raw, err = a.call(cmd.Context(), "GET", path+"/"+url.PathEscape(args[2]), nil, nil, nil, &one)
				list = []pluginapi.Instance{one}
			} else {
				var out struct{ Instances []pluginapi.Instance }
				raw, err = a.call(cmd.Context(), "GET", path, nil, nil, nil, &out)
				list = out.Instances
			}
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tSTATUS\tNATIVE\tNODE\tIMAGE\tMESSAGE")
				for _, i := range list {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Status, orDash(i.NativeStatus), orDash(i.Node), orDash(i.Image), orDash(i.Message))
				}
			})
		},
	}
}

func (a *app) deploymentsCmd() *cobra.Command {
	var statuses []string
	var after, before, pageToken string
	var pageSize int
	cmd := &cobra.Command{
		Use: "deployments CONNECTION ID [DEPLOYMENT]", Short: "List a service's rollout history, or show one deployment",
		Args:    cobra.RangeArgs(2, 3),
		Example: "  wharf deployments prod web\n  wharf deployments prod web --status IN_PROGRESS --created-after 2024-05-01T00:00:00Z",
		RunE: func(cmd *cobra.Command, args []string) error {
			path := svcPath(args[0], args[1]) + "/deployments"
			var list []pluginapi.Deployment
			var raw []byte
			var err error
			next := ""
			if len(args) == 3 {
				var one pluginapi.Deployment
				raw, err = a.call(cmd.Context(), "GET", path+"/"+url.PathEscape(args[2]), nil, nil, nil, &one)
				list = []pluginapi.Deployment{one}
			} else {
				q := url.Values{"status": statuses}
				for k, v := range map[string]string{"created_after": after, "created_before": before, "page_token": pageToken} {
					if v != "" {
						q.Set(k, v)
					}
				}
				if pageSize > 0 {
					q.Set("page_size", strconv.Itoa(pageSize))
				}
				var page ops.DeploymentPage
				raw, err = a.call(cmd.Context(), "GET", path, q, nil, nil, &page)
				list, next = page.Deployments, page.NextPageToken
			}
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tSTATUS\tTARGET\tROLLBACK\tCREATED")
				for _, d := range list {
					created := "-"
					if d.CreatedAt != nil {
						created = d.CreatedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\n", d.ID, d.Status, orDash(d.Target), d.Rollback, created)
				}
				if next != "" {
					fmt.Fprintf(w, "(next page: --page-token %s)\n", next)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&statuses, "status", nil, "platform status (repeatable)")
	f.StringVar(&after, "created-after", "", "RFC 3339 or unix seconds")
	f.StringVar(&before, "created-before", "", "RFC 3339 or unix seconds")
	f.IntVar(&pageSize, "page-size", 0, "page size")
	f.StringVar(&pageToken, "page-token", "", "continue from a previous page")
	return cmd
}

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
			body, _ := json.Marshal(in)
			var r ops.InvokeResult
			raw, err := a.call(cmd.Context(), "POST", svcPath(args[0], args[1])+"/invoke", nil, body, nil, &r)
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
