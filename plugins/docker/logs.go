package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

const (
	defaultLogLimit = 2000
	maxLogLimit     = 10000
	// lagWindow bounds how far back a follow call looks again. Logs of
	// several tasks travel through swarm separately, so a line of one task
	// may arrive after later lines of another: the next call asks from the
	// last line returned of the task and stream furthest behind (lines
	// already returned are recognised by the cursor and dropped), but never
	// from further back than lagWindow before the newest line, so that a
	// task that went quiet does not make every call re-read its gap.
	lagWindow = 2 * time.Second
	taskIDKey = "com.docker.swarm.task.id"
)

// httpDate is the form of an HTTP Date header (net/http's TimeFormat;
// net/http itself is not imported, to keep the plugin small).
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// logBodyBytes caps one logs answer (a variable so that tests can lower it).
var logBodyBytes = 8 << 20

// rawLine is one line of the log stream before parsing.
type rawLine struct {
	stream byte // 1 stdout, 2 stderr, 3 system error; 0 for a TTY
	text   string
}

// demux splits a multiplexed stream (8-byte headers: stream byte, three
// zeros, big-endian length) into lines. A frame may hold several lines and
// a line may span frames; the unfinished line of each stream waits for the
// next frame of that stream. When the body was truncated, an incomplete
// last frame and unfinished lines are dropped.
func demux(body []byte, truncated bool) []rawLine {
	out := make([]rawLine, 0, len(body)/64)
	type pending struct {
		stream byte
		buf    []byte
	}
	var partial []pending // per stream, in the order streams first appear
	for len(body) >= 8 {
		stream := body[0]
		n := int(binary.BigEndian.Uint32(body[4:8]))
		if len(body) < 8+n {
			break
		}
		payload := body[8 : 8+n]
		body = body[8+n:]
		var p *pending
		for i := range partial {
			if partial[i].stream == stream {
				p = &partial[i]
			}
		}
		if p == nil {
			partial = append(partial, pending{stream: stream})
			p = &partial[len(partial)-1]
		}
		data := payload // read in place unless a line from an earlier frame waits
		if len(p.buf) > 0 {
			p.buf = append(p.buf, payload...)
			data = p.buf
		}
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			out = append(out, rawLine{stream: stream, text: string(data[:i])})
			data = data[i+1:]
		}
		p.buf = append(p.buf[:0], data...)
	}
	if !truncated {
		for _, p := range partial {
			if len(p.buf) > 0 {
				out = append(out, rawLine{stream: p.stream, text: string(p.buf)})
			}
		}
	}
	return out
}

// splitRaw splits a TTY stream on newlines, dropping the terminal's \r.
func splitRaw(body []byte, truncated bool) []rawLine {
	var out []rawLine
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			if !truncated {
				out = append(out, rawLine{text: strings.TrimSuffix(string(body), "\r")})
			}
			break
		}
		out = append(out, rawLine{text: strings.TrimSuffix(string(body[:i]), "\r")})
		body = body[i+1:]
	}
	return out
}

// entry is a parsed line with what the cursor needs.
type entry struct {
	pluginapi.LogEntry
	at  time.Time
	key string // task/stream: lines of one key arrive in order
}

// parseLine reads "<timestamp> <details> <message>" (we always ask for both).
func parseLine(l rawLine) entry {
	var e entry
	text := l.text
	switch l.stream {
	case 1, 0:
		e.Stream = "stdout"
	case 2:
		e.Stream = "stderr"
	}
	if ts, rest, ok := strings.Cut(text, " "); ok {
		if t, ok := parseTimestamp(ts); ok {
			e.at = t
			tt := t
			e.Time = &tt
			text = rest
		}
	}
	if e.Time != nil {
		attrs, msg, _ := strings.Cut(text, " ")
		if attrs == "" || strings.Contains(attrs, "=") {
			e.Details = parseDetails(attrs)
			text = msg
		}
	}
	e.Message = text
	e.Instance = e.Details[taskIDKey]
	e.key = e.Instance + "/" + strconv.Itoa(int(l.stream))
	return e
}

// parseDetails reads "k=v,k=v" with query-escaped keys and values.
func parseDetails(s string) map[string]string {
	if s == "" {
		return nil
	}
	out := make(map[string]string, 3) // the engine sends node, service and task ids
	for {
		kv, rest, more := strings.Cut(s, ",")
		k, v, _ := strings.Cut(kv, "=")
		out[unescapeQuery(k)] = unescapeQuery(v)
		if !more {
			return out
		}
		s = rest
	}
}

// unescapeQuery query-unescapes s, or leaves it when that fails; most
// values (ids) have nothing to unescape.
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// parseTimestamp reads a log timestamp as time.Parse(time.RFC3339Nano)
// does. The engine's form, 2006-01-02T15:04:05.000000000Z, is read
// directly (time.Parse is slow compiled to wasm); any other form goes
// through time.Parse.
func parseTimestamp(s string) (time.Time, bool) {
	if t, ok := parseUTCTimestamp(s); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func parseUTCTimestamp(s string) (time.Time, bool) {
	n := len(s)
	if n < 20 || n > 30 || s[n-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		v := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day, hour, minute, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if frac := s[19 : n-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if nsec = num(20, n-1); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	if day > days {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// cursor is where a follower stands: Since is the time to ask from next;
// Seen holds, per task and stream, the last time returned and how many
// lines had exactly that time, to drop what was already returned.
type cursor struct {
	Since time.Time          `json:"s"`
	Seen  map[string]seenPos `json:"p,omitempty"`
}

type seenPos struct {
	At time.Time `json:"t"`
	N  int       `json:"n"`
}

func (c *cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	c := new(cursor)
	if err != nil || json.Unmarshal(b, c) != nil {
		return nil, pluginapi.Invalid("/cursor", "the cursor is not one this plugin gave")
	}
	return c, nil
}

func unixNano(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// Logs returns log lines without waiting for new ones. The service is
// inspected first to learn whether it has a TTY (as docker-py does): its
// logs are then one raw stream instead of multiplexed frames.
func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	var cur *cursor
	if req.Cursor != "" {
		if cur, err = decodeCursor(req.Cursor); err != nil {
			return nil, err
		}
	}
	if req.Tail < 0 {
		return nil, pluginapi.Invalid("/tail", "tail must be 0 (all) or more")
	}
	limit := req.Limit
	if limit <= 0 {
		limit = defaultLogLimit
	}
	limit = min(limit, maxLogLimit)

	svc, _, err := e.inspect(req.ID, false)
	if err != nil {
		return nil, err
	}
	tty := svc.Spec.TaskTemplate.ContainerSpec != nil && svc.Spec.TaskTemplate.ContainerSpec.TTY
	path := servicePath(svc.ID) + "/logs"
	if req.Instance != "" {
		var t swarm.Task
		if _, err := e.getJSON(call{method: "GET", path: "/tasks/" + url.PathEscape(req.Instance)}, &t); err != nil {
			return nil, notFoundAs(err, "instance %q not found", req.Instance)
		}
		if t.ServiceID != svc.ID {
			return nil, pluginapi.NotFound("instance %q is not a task of service %s", req.Instance, svc.Spec.Name)
		}
		path = "/tasks/" + url.PathEscape(t.ID) + "/logs"
	}

	stdout, stderr := req.Stdout, req.Stderr
	if !stdout && !stderr {
		stdout, stderr = true, true
	}
	q := url.Values{"stdout": {boolParam(stdout)}, "stderr": {boolParam(stderr)}, "timestamps": {"1"}, "details": {"1"}}
	switch {
	case cur != nil:
		if !cur.Since.IsZero() {
			q.Set("since", unixNano(cur.Since))
		}
	default:
		if req.Since != nil {
			q.Set("since", unixNano(*req.Since))
		}
		// The engine's tail counts back from now, not from until.
		if req.Tail > 0 && req.Until == nil {
			q.Set("tail", strconv.Itoa(req.Tail)) // per task upstream; cut again below
		}
	}
	lines, truncated, err := e.logLines(path, q, logBodyBytes, tty)
	if err != nil {
		return nil, err
	}
	if cur == nil && req.Tail > 0 && req.Until != nil && truncated {
		return nil, pluginapi.Invalid("/until", "more than %d MiB of logs lie before until: the last %d lines before it cannot be found in one read; add since",
			logBodyBytes>>20, req.Tail)
	}
	entries := cur.filter(lines)
	if truncated && cur != nil && len(entries) == 0 && req.Instance == "" {
		// The capped answer held only lines already returned: ask each
		// task and stream from where it stands, so that the follower moves on.
		lines, truncated, err = e.logLinesPerStream(svc.ID, q, cur, tty, stdout, stderr)
		if err != nil {
			return nil, err
		}
		entries = cur.filter(lines)
	}
	entries = sortByTime(entries)
	// The engine has no until for services: lines after it are dropped
	// here, and passed over by the cursor once nothing before them is left.
	var after []entry
	if req.Until != nil {
		i, _ := slices.BinarySearchFunc(entries, *req.Until, func(en entry, t time.Time) int {
			if en.at.After(t) {
				return 1
			}
			return -1
		})
		entries, after = entries[:i], entries[i:]
	}
	var skipped []entry // cut by tail: never to be returned by a follow-up call
	if cur == nil && req.Tail > 0 && len(entries) > req.Tail {
		skipped, entries = entries[:len(entries)-req.Tail], entries[len(entries)-req.Tail:]
	}
	more := truncated
	if len(entries) > limit {
		entries, more, after = entries[:limit], true, nil
	}

	// Move the cursor.
	next := &cursor{Seen: map[string]seenPos{}}
	if cur != nil {
		next.Since = cur.Since
		for k, p := range cur.Seen {
			next.Seen[k] = p
		}
	} else if req.Since != nil {
		next.Since = *req.Since
	}
	var last time.Time
	for i := range len(skipped) + len(entries) + len(after) {
		var en *entry
		switch {
		case i < len(skipped):
			en = &skipped[i]
		case i < len(skipped)+len(entries):
			en = &entries[i-len(skipped)]
		default:
			en = &after[i-len(skipped)-len(entries)]
		}
		p := next.Seen[en.key]
		if en.at.Equal(p.At) {
			p.N++
		} else {
			p = seenPos{At: en.at, N: 1}
		}
		next.Seen[en.key] = p
		if en.at.After(last) {
			last = en.at
		}
	}
	if !last.IsZero() && !truncated {
		since := last // lines before a first tail were skipped on purpose
		if cur != nil || req.Tail == 0 {
			// From the key furthest behind, within lagWindow: a steady
			// single task re-reads only the lines at its last timestamp.
			floor := last.Add(-lagWindow)
			for _, p := range next.Seen {
				if p.At.Before(since) && !p.At.Before(floor) {
					since = p.At
				}
			}
		}
		if since.After(next.Since) {
			next.Since = since
		}
	}
	for k, p := range next.Seen {
		if p.At.Before(next.Since) {
			delete(next.Seen, k) // every line of this key from Since on is new
		}
	}

	out := &pluginapi.LogsResponse{Entries: make([]pluginapi.LogEntry, 0, len(entries)), Cursor: next.encode(), More: more}
	// Until has passed on the engine's clock, beyond the lag between tasks:
	// no line at or before it can still arrive.
	out.End = req.Until != nil && !more && !e.logDate.IsZero() && e.logDate.Add(-lagWindow).After(*req.Until)
	for _, en := range entries {
		le := en.LogEntry
		if !req.Details {
			le.Details = nil
		}
		out.Entries = append(out.Entries, le)
	}
	return out, nil
}

// logLines fetches one logs answer and splits it into lines.
func (e *engine) logLines(path string, q url.Values, maxBody int, tty bool) ([]rawLine, bool, error) {
	resp, err := e.do(call{method: "GET", path: path, query: q, maxBody: maxBody})
	if err != nil {
		return nil, false, err
	}
	if d, err := time.Parse(httpDate, resp.Header("Date")); err == nil && d.After(e.logDate) {
		e.logDate = d
	}
	if tty {
		return splitRaw(resp.Body, resp.Truncated), resp.Truncated, nil
	}
	return demux(resp.Body, resp.Truncated), resp.Truncated, nil
}

// logLinesPerStream asks every task's logs, one stream at a time, each
// from the cursor's position for that task and stream. Each answer is then
// in order, so even a capped one moves the follower forward.
func (e *engine) logLinesPerStream(serviceID string, q url.Values, cur *cursor, tty, stdout, stderr bool) ([]rawLine, bool, error) {
	tasks := e.tasksOf([]string{serviceID})
	type part struct {
		stream       byte
		stdout, errs bool
	}
	parts := []part{{0, true, true}}
	if !tty {
		parts = nil
		if stdout {
			parts = append(parts, part{1, true, false})
		}
		if stderr {
			parts = append(parts, part{2, false, true})
		}
	}
	maxBody := max(min(64<<10, logBodyBytes), logBodyBytes/max(1, len(tasks)*len(parts)))
	var all []rawLine
	truncated := false
	for _, t := range tasks {
		for _, p := range parts {
			pq := url.Values{}
			for k, v := range q {
				pq[k] = v
			}
			pq.Set("stdout", boolParam(p.stdout))
			pq.Set("stderr", boolParam(p.errs))
			since := cur.Since
			if pos, ok := cur.Seen[t.ID+"/"+strconv.Itoa(int(p.stream))]; ok {
				since = pos.At
			}
			pq.Del("since")
			if !since.IsZero() {
				pq.Set("since", unixNano(since))
			}
			lines, tr, err := e.logLines("/tasks/"+url.PathEscape(t.ID)+"/logs", pq, maxBody, tty)
			if err != nil {
				if pluginapi.CodeOf(err) == pluginapi.CodeNotFound {
					continue // the task went away meanwhile
				}
				return nil, false, err
			}
			all = append(all, lines...)
			truncated = truncated || tr
		}
	}
	return all, truncated, nil
}

// sortByTime sorts entries by time, stably (lines of one task keep their
// order). It moves indexes, not the entries: an entry is large and moving
// memory is slow in wasm.
func sortByTime(entries []entry) []entry {
	sorted := true
	for i := 1; i < len(entries) && sorted; i++ {
		sorted = !entries[i].at.Before(entries[i-1].at)
	}
	if sorted {
		return entries
	}
	idx := make([]int32, len(entries))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return entries[a].at.Compare(entries[b].at) })
	out := make([]entry, len(entries))
	for i, j := range idx {
		out[i] = entries[j]
	}
	return out
}

// filter parses lines and drops those the cursor says were returned.
func (c *cursor) filter(lines []rawLine) []entry {
	seenAt := map[string]int{} // lines of a key at the cursor's time met so far
	entries := make([]entry, 0, len(lines))
	for _, l := range lines {
		en := parseLine(l)
		if c != nil {
			if p, ok := c.Seen[en.key]; ok {
				if en.at.Before(p.At) {
					continue
				}
				if en.at.Equal(p.At) {
					seenAt[en.key]++
					if seenAt[en.key] <= p.N {
						continue
					}
				}
			}
		}
		entries = append(entries, en)
	}
	return entries
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
