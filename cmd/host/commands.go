package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "wharf",
		Short: "Manage services on many platforms through WebAssembly provider plugins",
		Long: `Wharf runs services on Docker Swarm, AWS ECS, Peak, ABEJA Platform, TenxCloud and
more through provider plugins compiled to WebAssembly.

"wharf serve" runs the host (REST API, web portal, audit log). The other
commands are a client of a running host's REST API (--server, --token).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(a.serveCmd(), a.pluginVerifyCmd())

	clients := []*cobra.Command{a.pluginsCmd(), a.connCmd(), a.svcCmd(), a.logsCmd(), newInstancesCmd(a, nil),
		a.deploymentsCmd(), a.invokeCmd(), a.auditCmd(),
		a.whoamiCmd(), a.tokensCmd(), a.bindingsCmd(), a.sessionsCmd(), a.usersCmd()}
	for _, c := range clients {
		a.clientFlags(c)
		root.AddCommand(c)
	}
	return root
}

// ---- plugins

func (a *app) pluginsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugins", Short: "List and inspect the host's plugins",
		Example: "  wharf plugins ls\n  wharf plugins inspect docker"}
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List loaded plugins", Args: cobra.NoArgs,
		Example: "  wharf plugins ls\n  wharf plugins ls -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			plugins, err := c.Plugins.List(cmd.Context(), client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tVERSION\tTITLE\tOPERATIONS\tDIGEST")
				for _, p := range plugins {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.12s\n", p.Name, p.Version, p.Title, strings.Join(p.Describe.Operations, ","), p.Digest)
				}
			})
		},
	}, &cobra.Command{
		Use: "inspect NAME", Short: "Show a plugin's description, schemas and actions", Args: cobra.ExactArgs(1),
		Example: "  wharf plugins inspect docker\n  wharf plugins inspect ecs -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			p, err := c.Plugins.Get(cmd.Context(), args[0], client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				d := p.Describe
				fmt.Fprintf(w, "Name:\t%s\nTitle:\t%s\nVersion:\t%s\nABI:\t%s\nDigest:\t%s\nPath:\t%s\n", p.Name, d.Title, d.Version, d.ABIVersion, p.Digest, p.Path)
				fmt.Fprintf(w, "Operations:\t%s\nHosts:\t%s\nList filters:\t%s\n", strings.Join(d.Operations, ", "), orDash(strings.Join(p.Hosts, ", ")), orDash(strings.Join(d.ListFilters, ", ")))
				for _, act := range d.Actions {
					fmt.Fprintf(w, "Action:\t%s\t%s\n", act.Name, act.Title)
				}
				fmt.Fprintf(w, "Config schema:\t%s\nSpec schema:\t%s\n", compact(d.ConfigSchema), compact(d.SpecSchema))
			})
		},
	})
	return cmd
}

func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- audit

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read, export and verify the audit log",
		Example: "  wharf audit ls --actor alice\n  wharf audit export --format csv -O audit.csv\n  wharf audit verify"}
	var f auditFlags
	ls := &cobra.Command{
		Use: "ls", Short: "List audit entries, newest first", Args: cobra.NoArgs,
		Example: "  wharf audit ls --actor alice --since 2024-05-01T00:00:00Z\n  wharf audit ls --outcome error --limit 20",
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			out, err := c.Audit.List(cmd.Context(), filter, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tTIME\tACTOR\tOPERATION\tCONNECTION\tTARGET\tOUTCOME\tERROR")
				for _, e := range out.Entries {
					errText := "-"
					if e.ErrorCode != "" {
						errText = e.ErrorCode + ": " + e.ErrorMessage
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Time.Format(time.RFC3339), e.Actor, e.Operation,
						orDash(e.Connection), auditTarget(e), e.Outcome, errText)
				}
			})
		},
	}
	f.add(ls, true)

	var ef auditFlags
	var format, outFile string
	export := &cobra.Command{
		Use: "export --format csv|jsonl|chain [-O file]", Short: "Export audit entries", Args: cobra.NoArgs,
		Example: "  wharf audit export --format csv -O audit.csv\n  wharf audit export --format jsonl --connection prod\n  wharf audit export --format chain -O audit.chain",
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := ef.filter()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if outFile == "" {
				return c.Audit.Export(cmd.Context(), filter, format, a.stdout)
			}
			// The file is made at the first byte, so that a refused export
			// leaves an existing file as it was.
			fw := &lazyFile{path: outFile}
			defer fw.close()
			if err := c.Audit.Export(cmd.Context(), filter, format, fw); err != nil {
				return err
			}
			_, err = fw.Write(nil) // an empty export still makes its file
			return err
		},
	}
	export.Flags().StringVar(&format, "format", "jsonl", "csv, jsonl, or chain (the raw rows and newest signed checkpoint, for verify --export; no filters)")
	export.Flags().StringVarP(&outFile, "out", "O", "", "write to this file instead of stdout")
	ef.add(export, false)

	cmd.AddCommand(ls, export, a.auditVerifyCmd(), a.auditPubkeyCmd())
	return cmd
}

type auditFlags struct {
	since, until, actor, connection, target, operation, outcome string
	limit, before                                               int
}

func (f *auditFlags) add(cmd *cobra.Command, paging bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "entries at or after (RFC 3339 or unix seconds)")
	fl.StringVar(&f.until, "until", "", "entries before (RFC 3339 or unix seconds)")
	fl.StringVar(&f.actor, "actor", "", "only this actor")
	fl.StringVar(&f.connection, "connection", "", "only this connection")
	fl.StringVar(&f.target, "target", "", "only this target (service id or name)")
	fl.StringVar(&f.operation, "operation", "", "only this operation, e.g. service.create")
	fl.StringVar(&f.outcome, "outcome", "", strings.Join(audit.Outcomes, ", "))
	fl.IntVar(&f.limit, "limit", 0, "at most this many entries")
	if paging {
		fl.IntVar(&f.before, "before", 0, "entries with an id below this (paging)")
	}
}

// auditTarget shows an entry's target by name, with its id when they differ.
func auditTarget(e audit.Entry) string {
	id := e.Target
	if e.ResultTarget != "" {
		id = e.ResultTarget
	}
	if e.TargetName == "" || e.TargetName == id {
		return orDash(id)
	}
	return e.TargetName + " (" + id + ")"
}

// filter reads the flags into an audit filter, refusing a bad time.
func (f *auditFlags) filter() (audit.Filter, error) {
	fl := audit.Filter{Actor: f.actor, Connection: f.connection, Target: f.target, Operation: f.operation,
		Outcome: f.outcome, Limit: max(f.limit, 0), BeforeID: int64(max(f.before, 0))}
	since, err := timeFlag("since", f.since)
	if err != nil {
		return fl, err
	}
	until, err := timeFlag("until", f.until)
	if err != nil {
		return fl, err
	}
	if since != nil {
		fl.Since = *since
	}
	if until != nil {
		fl.Until = *until
	}
	return fl, nil
}

// lazyFile creates its file at the first write.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.Create(l.path)
		if err != nil {
			return 0, pluginapi.Invalid("", "create %s: %v", l.path, err)
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) close() {
	if l.f != nil {
		_ = l.f.Close()
	}
}
