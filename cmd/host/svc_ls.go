package main

import (
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

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
	q := url.Values{}
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	if o.PageToken != "" {
		q.Set("page_token", o.PageToken)
	}
	if o.All || o.Conn == "" {
		if !o.All {
			return pluginapi.Invalid("", "name a connection, or use --all")
		}
		if o.Name != "" {
			q.Set("name", o.Name)
		}
		q["status"], q["plugin"], q["connection"] = o.Statuses, o.Plugins, o.Conns
		var page ops.AllServicesPage
		raw, err := a.call(ctx, "GET", "/services", q, nil, nil, &page)
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
	q["filter"] = o.Filters
	if o.Name != "" {
		q.Add("filter", "name="+o.Name)
	}
	for _, s := range o.Statuses {
		q.Add("filter", "status="+s)
	}
	var page ops.ServicePage
	raw, err := a.call(ctx, "GET", svcPath(o.Conn, ""), q, nil, nil, &page)
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
