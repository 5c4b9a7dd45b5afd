package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// svcLsOptions are the inputs of "wharf svc ls".
type svcLsOptions struct {
	app  *app
	cmd  *cobra.Command
	Conn string // empty with --all
	All  bool
	// Filters are plugin filters key=value, for one connection.
	Filters []string
	// Name is a filter on one connection, a substring with --all.
	Name                     string
	Statuses, Plugins, Conns []string
	PageSize                 int
	PageToken                string
}

func newSvcLsCmd(a *app, runF func(*svcLsOptions) error) *cobra.Command {
	o := &svcLsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "ls (CONNECTION | --all)",
		Short: "List services of a connection, or of every connection with --all",
		Args:  cobra.MaximumNArgs(1),
		Example: `  wharf svc ls prod
  wharf svc ls prod --filter label=team=search --filter status=running
  wharf svc ls --all --name web --status running`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd = cmd
			if len(args) == 1 {
				o.Conn = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return svcLsRun(o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", false, "list every connection's services")
	fl.StringArrayVar(&o.Filters, "filter", nil, "plugin filter key=value (repeatable)")
	fl.StringVar(&o.Name, "name", "", "name (with --all: substring)")
	fl.StringArrayVar(&o.Statuses, "status", nil, "normalized status (repeatable)")
	fl.StringArrayVar(&o.Plugins, "plugin", nil, "with --all: only this plugin (repeatable)")
	fl.StringArrayVar(&o.Conns, "connection", nil, "with --all: only this connection (repeatable)")
	fl.IntVar(&o.PageSize, "page-size", 0, "page size")
	fl.StringVar(&o.PageToken, "page-token", "", "continue from a previous page")
	return cmd
}

func svcLsRun(o *svcLsOptions) error {
	a, ctx := o.app, o.cmd.Context()
	if o.All || o.Conn == "" {
		if !o.All {
			return pluginapi.Invalid("", "name a connection, or use --all")
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		opts := ops.ListAllOptions{Name: o.Name, Plugins: o.Plugins, Connections: o.Conns, PageSize: o.PageSize, PageToken: o.PageToken}
		for _, st := range o.Statuses {
			opts.Statuses = append(opts.Statuses, pluginapi.Status(st))
		}
		var raw []byte
		page, err := c.Services.ListAll(ctx, opts, client.RawJSON(&raw))
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
	filters, err := filterPairs("filter", o.Filters)
	if err != nil {
		return err
	}
	if o.Name != "" || len(o.Statuses) > 0 {
		if filters == nil {
			filters = map[string][]string{}
		}
		if o.Name != "" {
			filters["name"] = append(filters["name"], o.Name)
		}
		filters["status"] = append(filters["status"], o.Statuses...)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var raw []byte
	page, err := c.Services.List(ctx, o.Conn, ops.ListOptions{Filters: filters, PageSize: o.PageSize, PageToken: o.PageToken}, client.RawJSON(&raw))
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
}
