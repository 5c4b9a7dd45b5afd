package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func (a *app) deploymentsCmd() *cobra.Command {
	var statuses []string
	var after, before, pageToken string
	var pageSize int
	cmd := &cobra.Command{
		Use: "deployments CONNECTION ID [DEPLOYMENT]", Short: "List a service's rollout history, or show one deployment",
		Args:    cobra.RangeArgs(2, 3),
		Example: "  wharf deployments prod web\n  wharf deployments prod web --status IN_PROGRESS --created-after 2024-05-01T00:00:00Z",
		RunE: func(cmd *cobra.Command, args []string) error {
			var o ops.DeploymentsOptions
			var err error
			if len(args) == 2 {
				if o.CreatedAfter, err = timeFlag("created-after", after); err != nil {
					return err
				}
				if o.CreatedBefore, err = timeFlag("created-before", before); err != nil {
					return err
				}
				o.Status, o.PageSize, o.PageToken = statuses, pageSize, pageToken
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []pluginapi.Deployment
			var raw []byte
			next := ""
			if len(args) == 3 {
				var one *pluginapi.Deployment
				one, err = c.Deployments.Get(cmd.Context(), args[0], args[1], args[2], client.RawJSON(&raw))
				if one != nil {
					list = []pluginapi.Deployment{*one}
				}
			} else {
				var page *ops.DeploymentPage
				page, err = c.Deployments.List(cmd.Context(), args[0], args[1], o, client.RawJSON(&raw))
				if page != nil {
					list, next = page.Deployments, page.NextPageToken
				}
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
