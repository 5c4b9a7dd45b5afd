package main

import (
	"context"
	"slices"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// ABEJA's recentlogs answers a page of events, newest first, with a
// next_backward_token (older) and a next_forward_token (newer). The plugin's
// cursor is ABEJA's forward token; entries are returned oldest first.
// Until is ABEJA's end_time (whole seconds, inclusive), rounded up and cut
// again here; paging back is in logs_back.go.

// maxPages bounds how many pages one call reads walking back in time.
const maxPages = 20

// timeParam is ABEJA's time format (UTC, whole seconds).
const timeParam = "2006-01-02T15:04:05"

type logPage struct {
	Events []struct {
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
	} `json:"events"`
	Backward string `json:"next_backward_token"`
	Forward  string `json:"next_forward_token"`
}

// entries returns the page's events oldest first, without those after until.
func (p *logPage) entries(until *time.Time) []pluginapi.LogEntry {
	out := make([]pluginapi.LogEntry, 0, len(p.Events))
	for i := len(p.Events) - 1; i >= 0; i-- {
		e := p.Events[i]
		t := parseTime(e.Timestamp)
		if until != nil && t != nil && t.After(*until) {
			continue
		}
		out = append(out, pluginapi.LogEntry{Time: t, Message: e.Message})
	}
	return out
}

func (c *conn) logPage(ctx context.Context, id string, q map[string][]string) (*logPage, error) {
	var p logPage
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.path(id, "recentlogs"), Query: q}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// endTime is ABEJA's end_time for until: rounded up to the second, so that
// nothing at or before until is left out.
func endTime(until time.Time) string {
	u := until.UTC()
	if t := u.Truncate(time.Second); !t.Equal(u) {
		u = t.Add(time.Second)
	}
	return u.Format(timeParam)
}

// Logs reads recent logs. With a cursor it reads the next page forward;
// with before, the page before a position; otherwise it walks back from the
// newest page (from Since, when set) and returns the oldest of what it
// found, up to Limit, or the last Tail.
func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if req.Stdout != req.Stderr {
		return nil, pluginapi.Invalid("/stdout", "ABEJA logs do not tell stdout from stderr")
	}
	if req.Instance != "" {
		return nil, pluginapi.Invalid("/instance", "ABEJA logs cannot be read per instance")
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 1000
	}
	if req.Before != "" {
		p, err := decodeBackPos(req.Before)
		if err != nil {
			return nil, err
		}
		return c.logsBefore(ctx, req.ID, p, limit)
	}
	if req.Cursor != "" {
		q := map[string][]string{"next_forward_token": {req.Cursor}}
		if req.Until != nil {
			q["end_time"] = []string{endTime(*req.Until)}
		}
		p, err := c.logPage(ctx, req.ID, q)
		if err != nil {
			return nil, err
		}
		resp := &pluginapi.LogsResponse{Entries: p.entries(req.Until), Cursor: req.Cursor}
		if p.Forward != "" && p.Forward != req.Cursor {
			resp.Cursor = p.Forward
			resp.More = len(p.Events) > 0
		}
		return c.withEnd(ctx, req, resp)
	}

	// Walk back in time, newest page first.
	q := map[string][]string{}
	if req.Since != nil {
		q["start_time"] = []string{req.Since.UTC().Format(timeParam)}
	}
	if req.Until != nil {
		q["end_time"] = []string{endTime(*req.Until)}
	}
	var pages [][]pluginapi.LogEntry // oldest first within a page
	var forward []string             // each page's forward token
	total := 0
	reachedStart := false // nothing older than the oldest page read
	for len(pages) < maxPages {
		p, err := c.logPage(ctx, req.ID, q)
		if err != nil {
			return nil, err
		}
		if len(p.Events) == 0 && len(pages) > 0 {
			reachedStart = true
			break
		}
		en := p.entries(req.Until)
		pages, forward = append(pages, en), append(forward, p.Forward)
		total += len(en)
		if len(p.Events) == 0 || p.Backward == "" {
			reachedStart = true
			break
		}
		if req.Tail > 0 && total >= req.Tail {
			break
		}
		q["next_backward_token"] = []string{p.Backward}
	}
	newest := forward[0]
	slices.Reverse(pages) // oldest page first
	slices.Reverse(forward)

	if req.Tail > 0 {
		var all []pluginapi.LogEntry
		for _, p := range pages {
			all = append(all, p...)
		}
		if len(all) > req.Tail {
			all = all[len(all)-req.Tail:]
		}
		resp := &pluginapi.LogsResponse{Entries: orEmpty(all), Cursor: newest}
		resp.CursorBackward = firstBackPos(all, req.Since, reachedStart && len(all) == total)
		return c.withEnd(ctx, req, resp)
	}

	resp := &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{}, Cursor: newest}
	for i, p := range pages {
		if i > 0 && len(resp.Entries)+len(p) > limit {
			// Stop at a page boundary; its forward token continues from here.
			resp.Cursor, resp.More = forward[i-1], true
			break
		}
		resp.Entries = append(resp.Entries, p...)
	}
	resp.CursorBackward = firstBackPos(resp.Entries, req.Since, reachedStart)
	return c.withEnd(ctx, req, resp)
}

// withEnd sets End on an answer to a request with until that has nothing
// more now, once the log holds an event after until (ABEJA's events come
// in time order, so nothing at or before until can still come).
func (c *conn) withEnd(ctx context.Context, req *pluginapi.LogsRequest, resp *pluginapi.LogsResponse) (*pluginapi.LogsResponse, error) {
	if req.Until == nil || resp.More {
		return resp, nil
	}
	p, err := c.logPage(ctx, req.ID, map[string][]string{}) // the newest page
	if err != nil {
		return nil, err
	}
	if len(p.Events) > 0 {
		if t := parseTime(p.Events[0].Timestamp); t != nil && t.After(*req.Until) {
			resp.End = true
		}
	}
	return resp, nil
}

func orEmpty(l []pluginapi.LogEntry) []pluginapi.LogEntry {
	if l == nil {
		return []pluginapi.LogEntry{}
	}
	return l
}
