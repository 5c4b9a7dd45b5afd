package main

import (
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// instancesOptions are the inputs of "wharf instances".
type instancesOptions struct {
	app  *app
	cmd  *cobra.Command
	Conn string
	// ID is the service; empty lists every service's instances.
	ID       string
	Instance string // one instance of ID
	// Services keep, connection-wide, these services' instances.
	Services []string
	// Filters are key=value; DesiredStates add desired_state=... ones.
	Filters, DesiredStates []string
	PageSize               int
	PageToken              string
}

func newInstancesCmd(a *app, runF func(*instancesOptions) error) *cobra.Command {
	o := &instancesOptions{app: a}
	cmd := &cobra.Command{
		Use:   "instances CONNECTION [ID [INSTANCE]]",
		Short: "List a service's instances (tasks, containers), show one, or list every service's",
		Long: `With a service ID, lists its instances (or shows INSTANCE). With the connection
alone, lists the instances of every service of the connection, or of those
named with --service, a page at a time (plugins that offer it, such as docker).
Filters the plugin does not know are refused.`,
		Args: cobra.RangeArgs(1, 3),
		Example: `  wharf instances prod web
  wharf instances prod web --desired-state shutdown
  wharf instances prod web --filter node=worker-1
  wharf instances prod web web.1.abc -o json
  wharf instances prod --service web --service api --desired-state running`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd, o.Conn = cmd, args[0]
			if len(args) > 1 {
				o.ID = args[1]
			}
			if len(args) > 2 {
				o.Instance = args[2]
			}
			if runF != nil {
				return runF(o)
			}
			return instancesRun(o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Filters, "filter", nil, "instance filter key=value (repeatable), e.g. node=worker-1")
	f.StringArrayVar(&o.DesiredStates, "desired-state", nil, "the platform's desired state, e.g. running or shutdown (repeatable)")
	f.StringArrayVar(&o.Services, "service", nil, "without ID: only this service's instances (repeatable)")
	f.IntVar(&o.PageSize, "page-size", 0, "without ID: page size")
	f.StringVar(&o.PageToken, "page-token", "", "without ID: continue from a previous page")
	return cmd
}

// query is the request's query string; it refuses flags that do not go
// with the arguments given.
func (o *instancesOptions) query() (url.Values, error) {
	q := url.Values{}
	for _, f := range o.Filters {
		if k, _, ok := cutPair(f); !ok || k == "" {
			return nil, pluginapi.Invalid("", "--filter wants key=value, not %q", f)
		}
		q.Add("filter", f)
	}
	for _, s := range o.DesiredStates {
		q.Add("filter", "desired_state="+s)
	}
	if o.ID != "" {
		if len(o.Services) > 0 || o.PageSize != 0 || o.PageToken != "" {
			return nil, pluginapi.Invalid("", "--service, --page-size and --page-token list every service's instances: give the connection alone")
		}
		if o.Instance != "" && len(q) > 0 {
			return nil, pluginapi.Invalid("", "filters select among instances: not with an INSTANCE argument")
		}
		return q, nil
	}
	q["service"] = o.Services
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	if o.PageToken != "" {
		q.Set("page_token", o.PageToken)
	}
	return q, nil
}

func instancesRun(o *instancesOptions) error {
	a, ctx := o.app, o.cmd.Context()
	q, err := o.query() // checks the flags go with the arguments
	if err != nil {
		return err
	}
	filters, err := filterPairs("filter", q["filter"])
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var list []pluginapi.Instance
	var raw []byte
	next := ""
	switch {
	case o.ID == "":
		var page *ops.InstancePage
		page, err = c.Instances.ListConnection(ctx, o.Conn, ops.ConnectionInstancesOptions{Services: o.Services, Filters: filters,
			PageSize: o.PageSize, PageToken: o.PageToken}, client.RawJSON(&raw))
		if page != nil {
			list, next = page.Instances, page.NextPageToken
		}
	case o.Instance != "":
		var one *pluginapi.Instance
		one, err = c.Instances.Get(ctx, o.Conn, o.ID, o.Instance, client.RawJSON(&raw))
		if one != nil {
			list = []pluginapi.Instance{*one}
		}
	default:
		list, err = c.Instances.ListWith(ctx, o.Conn, o.ID, ops.InstancesOptions{Filters: filters}, client.RawJSON(&raw))
	}
	if err != nil {
		return err
	}
	return a.show(raw, func(w *tabwriter.Writer) {
		if o.ID == "" {
			fmt.Fprintln(w, "SERVICE\tID\tNAME\tSTATUS\tDESIRED\tNODE\tIMAGE\tMESSAGE")
			for _, i := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(i.ServiceName), i.ID, orDash(i.Name), i.Status, orDash(i.DesiredState),
					orDash(i.Node), orDash(i.Image), orDash(i.Message))
			}
			if next != "" {
				fmt.Fprintf(w, "(next page: --page-token %s)\n", next)
			}
			return
		}
		fmt.Fprintln(w, "ID\tSTATUS\tNATIVE\tNODE\tIMAGE\tMESSAGE")
		for _, i := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Status, orDash(i.NativeStatus), orDash(i.Node), orDash(i.Image), orDash(i.Message))
		}
	})
}

// cutPair splits key=value at the first "=".
func cutPair(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
