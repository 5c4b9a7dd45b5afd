package main

import (
	"context"
	"slices"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/plugins/internal/rest"
)

// ABEJA's recentlogs answers a page of events, newest first, with a
// next_backward_token (older) and a next_forward_token (newer). The plugin's
// cursor is ABEJA's forward token; entries are returned oldest first.

// maxPages bounds how many pages one call reads walking back in time.
const maxPages = 20

type logPage struct {
	Events []struct {
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
	} `json:"events"`
	Backward string `json:"next_backward_token"`
	Forward  string `json:"next_forward_token"`
}

// entries returns the page's events oldest first.
func (p *logPage) entries() []pluginapi.LogEntry {
	out := make([]pluginapi.LogEntry, 0, len(p.Events))
	for i := len(p.Events) - 1; i >= 0; i-- {
		e := p.Events[i]
		out = append(out, pluginapi.LogEntry{Time: parseTime(e.Timestamp), Message: e.Message})
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

// Logs reads recent logs. With a cursor it reads the next page forward;
// otherwise it walks back from the newest page (from Since, when set) and
// returns the oldest of what it found, up to Limit, or the last Tail.
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
	if req.Cursor != "" {
		p, err := c.logPage(ctx, req.ID, map[string][]string{"next_forward_token": {req.Cursor}})
		if err != nil {
			return nil, err
		}
		resp := &pluginapi.LogsResponse{Entries: p.entries(), Cursor: req.Cursor}
		if p.Forward != "" && p.Forward != req.Cursor {
			resp.Cursor = p.Forward
			resp.More = len(p.Events) > 0
		}
		return resp, nil
	}

	// Walk back in time, newest page first.
	q := map[string][]string{}
	if req.Since != nil {
		q["start_time"] = []string{req.Since.UTC().Format("2006-01-02T15:04:05")}
	}
	var pages []*logPage
	total := 0
	for len(pages) < maxPages {
		p, err := c.logPage(ctx, req.ID, q)
		if err != nil {
			return nil, err
		}
		if len(p.Events) == 0 && len(pages) > 0 {
			break
		}
		pages = append(pages, p)
		total += len(p.Events)
		if len(p.Events) == 0 || p.Backward == "" || (req.Tail > 0 && total >= req.Tail) {
			break
		}
		q["next_backward_token"] = []string{p.Backward}
	}
	newest := pages[0]
	slices.Reverse(pages) // oldest page first

	if req.Tail > 0 {
		var all []pluginapi.LogEntry
		for _, p := range pages {
			all = append(all, p.entries()...)
		}
		if len(all) > req.Tail {
			all = all[len(all)-req.Tail:]
		}
		return &pluginapi.LogsResponse{Entries: orEmpty(all), Cursor: newest.Forward}, nil
	}

	limit := req.Limit
	if limit <= 0 {
		limit = 1000
	}
	resp := &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{}, Cursor: newest.Forward}
	for i, p := range pages {
		if i > 0 && len(resp.Entries)+len(p.Events) > limit {
			// Stop at a page boundary; its forward token continues from here.
			resp.Cursor, resp.More = pages[i-1].Forward, true
			break
		}
		resp.Entries = append(resp.Entries, p.entries()...)
	}
	return resp, nil
}

func orEmpty(l []pluginapi.LogEntry) []pluginapi.LogEntry {
	if l == nil {
		return []pluginapi.LogEntry{}
	}
	return l
}
