package main

import (
	"encoding/base64"
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
)

// Paging back. Entries are ordered by (time, stream key, place in the
// stream); a backward position is an entry of that order: everything
// older than the event at millisecond Ms of stream Key that is K-th newest
// there (the K newest events at Ms in Key are not older). It is exact
// however many events share a millisecond, and CloudWatch's endTime and
// backward tokens reach it.

// maxBackPages bounds the backward pages read per stream in one call.
const maxBackPages = 20

type backPos struct {
	Ms  int64  `json:"t"`
	Key string `json:"s,omitempty"`
	K   int    `json:"k,omitempty"`
}

func (p *backPos) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeBackPos(s string) (*backPos, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	p := &backPos{}
	if err != nil || json.Unmarshal(b, p) != nil || p.Ms <= 0 {
		return nil, pluginapi.Invalid("/before", "before is not a cursor_backward this plugin returned")
	}
	return p, nil
}

// at is the position just before evs[0] (sorted, non-empty); carried
// counts the events at the same millisecond and stream already returned
// newer than evs (a previous page's K).
func at(evs []event, carried int) *backPos {
	p := &backPos{Ms: evs[0].ms, Key: evs[0].key, K: carried}
	for _, ev := range evs {
		if ev.ms == p.Ms && ev.key == p.Key {
			p.K++
		}
	}
	return p
}

// firstBackPos is the cursor back of a first (cursorless) answer. A tail
// holds the newest entries, so what is older than its first one is exactly
// what it left out. A read from since left out only what is before since:
// a stream its budget did not reach continues through the forward cursor.
// A read from the beginning left nothing out.
func firstBackPos(got []event, sinceMs int64, tail bool) string {
	switch {
	case tail && len(got) > 0:
		return at(got, 0).encode()
	case sinceMs > 0:
		return (&backPos{Ms: sinceMs}).encode()
	}
	return ""
}

// older reports whether an event at ms in stream key, rank-th newest of
// its millisecond there (from 1), is older than p.
func (p *backPos) older(ms int64, key string, rank int) bool {
	switch {
	case ms != p.Ms:
		return ms < p.Ms
	case key != p.Key:
		return key < p.Key
	}
	return rank > p.K
}

// logsBefore answers the at most limit entries just before p.
func (c *client) logsBefore(streams []streamRef, p *backPos, limit int, details bool) (*pluginapi.LogsResponse, error) {
	var all []event
	for _, st := range streams {
		evs, err := c.olderEvents(st, p, limit+1, details)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
	}
	sortEvents(all)
	resp := &pluginapi.LogsResponse{}
	if len(all) > limit {
		all = all[len(all)-limit:]
		carried := 0
		if all[0].ms == p.Ms && all[0].key == p.Key {
			carried = p.K
		}
		resp.CursorBackward = at(all, carried).encode()
	}
	resp.Entries = entriesOf(all)
	return resp, nil
}

// olderEvents reads st backwards from p until it has want events older
// than p or reaches the stream's beginning; oldest first.
func (c *client) olderEvents(st streamRef, p *backPos, want int, details bool) ([]event, error) {
	key := st.key()
	var pages [][]event // newest page first
	kept, rankAtMs := 0, 0
	token := ""
	for range maxBackPages {
		n := min(10000, want-kept+p.K)
		in := map[string]any{"logGroupName": st.group, "logStreamName": st.name, "limit": n,
			"startFromHead": false, "endTime": p.Ms + 1}
		if token != "" {
			in["nextToken"] = token
		}
		out, err := c.getLogEvents(in)
		if pluginapi.CodeOf(err) == pluginapi.CodeNotFound {
			return nil, nil // the task never logged
		}
		if err != nil {
			return nil, err
		}
		var page []event
		for i := len(out.Events) - 1; i >= 0; i-- { // newest first, to rank events at p.Ms
			ev := out.Events[i]
			if ev.Timestamp > p.Ms {
				continue // a platform that ignored endTime
			}
			if ev.Timestamp == p.Ms {
				rankAtMs++
			}
			if p.older(ev.Timestamp, key, rankAtMs) {
				page = append(page, event{ms: ev.Timestamp, key: key, entry: st.entry(ev, details)})
			}
		}
		pages = append(pages, page)
		kept += len(page)
		if kept >= want || len(out.Events) < n || out.NextBackwardToken == "" || out.NextBackwardToken == token {
			break
		}
		token = out.NextBackwardToken
	}
	// Oldest first; seq orders events of the stream.
	var evs []event
	for i := len(pages) - 1; i >= 0; i-- {
		for j := len(pages[i]) - 1; j >= 0; j-- {
			ev := pages[i][j]
			ev.seq = len(evs)
			evs = append(evs, ev)
		}
	}
	return evs, nil
}
