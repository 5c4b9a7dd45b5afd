package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Paging back. ABEJA's backward tokens lead from a page to the one before,
// but a tail or a limit ends mid-page, so a position is a time instead:
// everything older than the event at T that is K-th newest there (the K
// newest events at T are not older; K = allAtT: none at T is). ABEJA's
// end_time (rounded up) and backward tokens reach it; several instances
// logging at the same microsecond are told apart by their order in ABEJA's
// pages.

// allAtT as K excludes every event at T: a position strictly before T.
const allAtT = 1 << 30

type backPos struct {
	T time.Time `json:"t"`
	K int       `json:"k,omitempty"`
}

func (p *backPos) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeBackPos(s string) (*backPos, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	p := &backPos{}
	if err != nil || json.Unmarshal(b, p) != nil || p.T.IsZero() || p.K < 0 {
		return nil, pluginapi.Invalid("/before", "before is not a cursor_backward this plugin returned")
	}
	return p, nil
}

// at is the position just before entries[0] (oldest first, non-empty);
// carried counts events at its time already returned by newer pages.
func at(entries []pluginapi.LogEntry, carried int) string {
	if entries[0].Time == nil {
		return ""
	}
	p := &backPos{T: *entries[0].Time, K: carried}
	for _, e := range entries {
		if e.Time != nil && e.Time.Equal(p.T) {
			p.K++
		}
	}
	return p.encode()
}

// firstBackPos is the cursor back of a first (cursorless) answer: before
// its first entry when something older was left out, before since when
// only what is older than since was, none when nothing was.
func firstBackPos(entries []pluginapi.LogEntry, since *time.Time, complete bool) string {
	switch {
	case !complete && len(entries) > 0:
		return at(entries, 0)
	case since != nil:
		return (&backPos{T: since.UTC(), K: allAtT}).encode()
	}
	return ""
}

// logsBefore answers the at most limit entries just before p.
func (c *conn) logsBefore(ctx context.Context, id string, p *backPos, limit int) (*pluginapi.LogsResponse, error) {
	q := map[string][]string{"end_time": {endTime(p.T)}}
	var kept []pluginapi.LogEntry // newest first
	rank := 0                     // events at p.T met so far, newest first
	exhausted := false
	for range maxPages {
		pg, err := c.logPage(ctx, id, q)
		if err != nil {
			return nil, err
		}
		for _, ev := range pg.Events { // newest first
			t := parseTime(ev.Timestamp)
			if t == nil || t.After(p.T) {
				continue
			}
			if t.Equal(p.T) {
				if rank++; rank <= p.K {
					continue
				}
			}
			kept = append(kept, pluginapi.LogEntry{Time: t, Message: ev.Message})
		}
		if len(pg.Events) == 0 || pg.Backward == "" || pg.Backward == first(q["next_backward_token"]) {
			exhausted = true
			break
		}
		if len(kept) > limit {
			break
		}
		q["next_backward_token"] = []string{pg.Backward}
	}
	page := kept[:min(limit, len(kept))]
	slices.Reverse(page)
	resp := &pluginapi.LogsResponse{Entries: orEmpty(page)}
	if len(page) > 0 && (len(kept) > limit || !exhausted) {
		carried := 0
		if page[0].Time != nil && page[0].Time.Equal(p.T) {
			carried = p.K
		}
		resp.CursorBackward = at(page, carried)
	}
	return resp, nil
}

func first(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}
