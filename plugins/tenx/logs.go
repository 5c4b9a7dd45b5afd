package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// TenxCloud serves logs one day at a time (?date=2015.12.29&from=0&size=100),
// each entry only {instance_name, log}. The cursor is "<date>/<from>": the
// day being read and how many of its entries were already returned. When a
// day is exhausted and over (by the plugin's UTC clock), reading moves on
// to the next day.

const (
	dayFormat    = "2006.01.02"
	defaultLimit = 500
	maxLimit     = 1000
	// maxDaysPerCall bounds how many empty past days one call walks over.
	maxDaysPerCall = 7
)

type logCursor struct {
	day  time.Time
	from int
}

func (c logCursor) String() string { return c.day.Format(dayFormat) + "/" + strconv.Itoa(c.from) }

func parseCursor(s string) (logCursor, error) {
	d, f, ok := strings.Cut(s, "/")
	day, err := time.Parse(dayFormat, d)
	from, ferr := strconv.Atoi(f)
	if !ok || err != nil || ferr != nil || from < 0 {
		return logCursor{}, pluginapi.Invalid("/cursor", "cursor %q was not made by this plugin", s)
	}
	return logCursor{day, from}, nil
}

type logLine struct {
	InstanceName string `json:"instance_name"`
	Log          string `json:"log"`
}

func (c *conn) logPage(ctx context.Context, name string, at logCursor, size int) ([]logLine, error) {
	q := map[string][]string{"date": {at.day.Format(dayFormat)}, "from": {strconv.Itoa(at.from)}, "size": {strconv.Itoa(size)}}
	var lines []logLine
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.path(name, "logs"), Query: q}, &lines); err != nil {
		return nil, err
	}
	return lines, nil
}

// Logs reads a service's logs. Since picks the first day (TenxCloud
// entries carry no time, so it is day-grained); Tail keeps the last N
// entries of that day; a Cursor continues where the last answer stopped.
func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if req.Stdout != req.Stderr {
		return nil, pluginapi.Invalid("/stdout", "TenxCloud logs do not tell stdout from stderr")
	}
	limit := req.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	today := now().UTC().Truncate(24 * time.Hour)

	var at logCursor
	switch {
	case req.Cursor != "":
		if at, err = parseCursor(req.Cursor); err != nil {
			return nil, err
		}
	case req.Since != nil:
		at = logCursor{day: req.Since.UTC().Truncate(24 * time.Hour)}
	default:
		at = logCursor{day: today}
	}
	if req.Cursor == "" && req.Tail > 0 {
		return c.tail(ctx, req, at, limit)
	}

	resp := &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{}}
	for days := 0; ; {
		want := limit - len(resp.Entries)
		lines, err := c.logPage(ctx, req.ID, at, want)
		if err != nil {
			return nil, err
		}
		at.from += len(lines)
		resp.Entries = append(resp.Entries, entries(lines, req.Instance)...)
		if len(lines) == want {
			resp.More = true // the page was full: there may be more right now
			break
		}
		// The day is exhausted for now; a finished day will not grow, move on.
		if !at.day.Before(today) {
			break
		}
		at = logCursor{day: at.day.AddDate(0, 0, 1)}
		if days++; days >= maxDaysPerCall {
			resp.More = true
			break
		}
	}
	resp.Cursor = at.String()
	return resp, nil
}

// tail reads the whole first day and keeps its last req.Tail entries.
func (c *conn) tail(ctx context.Context, req *pluginapi.LogsRequest, at logCursor, limit int) (*pluginapi.LogsResponse, error) {
	var all []pluginapi.LogEntry
	for {
		lines, err := c.logPage(ctx, req.ID, at, maxLimit)
		if err != nil {
			return nil, err
		}
		at.from += len(lines)
		all = append(all, entries(lines, req.Instance)...)
		if len(lines) < maxLimit {
			break
		}
	}
	n := min(req.Tail, limit)
	if len(all) > n {
		all = all[len(all)-n:]
	}
	if all == nil {
		all = []pluginapi.LogEntry{}
	}
	return &pluginapi.LogsResponse{Entries: all, Cursor: at.String()}, nil
}

func entries(lines []logLine, instance string) []pluginapi.LogEntry {
	var out []pluginapi.LogEntry
	for _, l := range lines {
		if instance != "" && l.InstanceName != instance {
			continue
		}
		out = append(out, pluginapi.LogEntry{Instance: l.InstanceName, Message: strings.TrimRight(l.Log, "\n")})
	}
	return out
}
