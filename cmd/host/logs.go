package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

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
			sinceT, err := timeFlag("since", since)
			if err != nil {
				return err
			}
			untilT, err := timeFlag("until", until)
			if err != nil {
				return err
			}
			if follow {
				// Following has no batches to continue or page through.
				for _, f := range []struct {
					name string
					set  bool
				}{{"--cursor", cursor != ""}, {"--before", before != ""}, {"--limit", limit > 0}} {
					if f.set {
						return pluginapi.Invalid("", "%s cannot be combined with -f; use --tail or --since", f.name)
					}
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if !follow {
				var raw []byte
				page, err := c.Logs.Get(ctx, args[0], args[1], ops.LogsOptions{Since: sinceT, Until: untilT, Tail: max(tail, 0),
					Cursor: cursor, Stdout: stdout, Stderr: stderr, Details: details, Instance: instance, Limit: max(limit, 0), Before: before},
					client.RawJSON(&raw))
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
			st, err := c.Logs.Stream(ctx, args[0], args[1], logfanout.Options{Tail: max(tail, 0), Since: sinceT, Until: untilT,
				Stdout: stdout, Stderr: stderr, Details: details, Instance: instance})
			if err != nil {
				return err
			}
			defer st.Close()
			for st.Next() {
				if a.output == "json" {
					fmt.Fprintln(a.stdout, string(st.Raw()))
					continue
				}
				switch it := st.Item(); {
				case it.Entry != nil:
					a.printEntry(it.Entry)
				case it.Skipped > 0:
					fmt.Fprintf(a.stdout, "... skipped %d lines (this client fell behind) ...\n", it.Skipped)
				case it.Error != nil:
					fmt.Fprintf(a.stderr, "log follower: %v\n", it.Error)
				}
			}
			if ctx.Err() != nil {
				return nil // interrupted: a normal way to stop following
			}
			return st.Err()
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
