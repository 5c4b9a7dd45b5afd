package main

import (
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/pluginapi"
)

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
