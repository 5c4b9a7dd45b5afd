package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// svcCmd groups the service verbs; each lives in its own svc_*.go file
// with an options struct and a run function.
func (a *app) svcCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "svc", Aliases: []string{"services"}, Short: "Manage services",
		Example: "  wharf svc ls --all\n  wharf svc create prod -f web.json\n  wharf svc action prod web scale --replicas 3"}
	cmd.AddCommand(newSvcLsCmd(a, nil), newSvcGetCmd(a, nil), newSvcCreateCmd(a, nil), newSvcUpdateCmd(a, nil),
		newSvcPatchCmd(a, nil), newSvcDeleteCmd(a, nil), newSvcActionCmd(a, nil))
	return cmd
}

// ifMatch is the condition of --version; none when empty.
func ifMatch(version string) []client.CallOption {
	if version == "" {
		return nil
	}
	return []client.CallOption{client.IfMatch(version)}
}

// serviceChange makes a change to a service with change and prints the
// answer.
func (a *app) serviceChange(cmd *cobra.Command, change func(ctx context.Context, c *client.Client, raw client.CallOption) (*ops.ServiceResult, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	var raw []byte
	r, err := change(cmd.Context(), c, client.RawJSON(&raw))
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
