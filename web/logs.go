package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

const (
	// wireLineMax cuts lines on the wire; the page cuts them further for
	// display (with a way to see the wire's whole line). The download has
	// every byte.
	wireLineMax = 64 << 10
	// wireBatchMax bounds one websocket message, and so the bytes one log
	// viewer holds on the server besides its subscription buffer.
	wireBatchMax = 256 << 10
	maxTail      = 5000
	defaultTail  = 200
)

// logStats counts what log viewers hold, so a test can prove it bounded.
type logStats struct {
	active    atomic.Int64 // open websocket viewers
	queued    atomic.Int64 // encoded bytes waiting to be written, all viewers
	maxQueued atomic.Int64 // high-water mark of queued
	dropped   atomic.Int64 // viewers closed because a write timed out
	skipped   atomic.Int64 // entries reported skipped to viewers
}

func (s *logStats) hold(n int64) {
	v := s.queued.Add(n)
	for {
		m := s.maxQueued.Load()
		if v <= m || s.maxQueued.CompareAndSwap(m, v) {
			return
		}
	}
}

// LogsView is the logs page's model.
type LogsView struct {
	Conn      string
	Service   *pluginapi.Service
	Instances []pluginapi.Instance
	Caps      pluginapi.LogsCapabilities
	Tail      int
	// Until is the until field as typed, to show it again.
	Until string
	// History, when set, is a page read back (view=history): drawn by the
	// server, so that paging into the past works without JavaScript.
	History *LogsHistory
}

// LogsHistory is one page of lines read back and the link to the page before.
type LogsHistory struct {
	Entries []pluginapi.LogEntry
	// Older is the URL of the page before; empty at the beginning of the log.
	Older string
}

// logsPage draws the log viewer; lines arrive over the websocket.
func (p *portal) logsPage(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, caller, conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	pl, err := p.pluginOf(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	if !pl.Describe.Supports(pluginapi.OpLogs) {
		return p.renderError(c, pluginapi.Unsupported("%s does not offer logs", pl.Describe.Title))
	}
	v := LogsView{Conn: conn, Service: svc, Tail: defaultTail}
	if pl.Describe.Logs != nil {
		v.Caps = *pl.Describe.Logs
	}
	if pl.Describe.Supports(pluginapi.OpInstances) {
		v.Instances, _ = p.host.ListInstances(ctx, caller, conn, svc.ID)
	}
	v.Until = c.QueryParam("until")
	if c.QueryParam("view") == "history" {
		if v.History, err = p.logsHistory(c, conn, svc.ID); err != nil {
			return p.renderError(c, err)
		}
	}
	return render(c, http.StatusOK, LogsPage(p.pageInfo(c, "Logs · "+svc.Name, "services"), v))
}

// logsHistory reads the page the query names: the last tail lines (up to
// until), or with before the page before that cursor.
func (p *portal) logsHistory(c echo.Context, conn, id string) (*LogsHistory, error) {
	tail, _, stdout, stderr, instance := logOptions(c)
	until, err := untilOption(c)
	if err != nil {
		return nil, err
	}
	o := ops.LogsOptions{Tail: tail, Until: until, Stdout: stdout, Stderr: stderr, Instance: instance}
	if before := c.QueryParam("before"); before != "" {
		o = ops.LogsOptions{Before: before, Limit: max(tail, 1), Stdout: stdout, Stderr: stderr, Instance: instance}
	}
	page, err := p.host.Logs(c.Request().Context(), callerOf(c), conn, id, o)
	if err != nil {
		return nil, err
	}
	h := &LogsHistory{Entries: page.Entries}
	if page.CursorBackward != "" {
		q := url.Values{"view": {"history"}, "tail": {strconv.Itoa(tail)}, "before": {page.CursorBackward}}
		for k, v := range map[string]string{"stream": c.QueryParam("stream"), "instance": instance} {
			if v != "" {
				q.Set(k, v)
			}
		}
		h.Older = servicePath(conn, id) + "/logs?" + q.Encode()
	}
	return h, nil
}

// untilOption reads until (RFC 3339, or a date and time taken as UTC); a
// value that is neither is refused naming the field.
func untilOption(c echo.Context) (*time.Time, error) {
	s := strings.TrimSpace(c.QueryParam("until"))
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t, nil
		}
	}
	return nil, pluginapi.Invalid("/until", "until %q: write a time such as 2026-01-02T15:04:05Z (UTC)", s)
}

// logOptions reads tail, since, stream and instance from the query.
func logOptions(c echo.Context) (tail int, since *time.Time, stdout, stderr bool, instance string) {
	tail = defaultTail
	if s := c.QueryParam("tail"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			tail = min(n, maxTail)
		}
	}
	if s := c.QueryParam("since"); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			since = &t
		}
	}
	switch c.QueryParam("stream") {
	case "stdout":
		stdout = true
	case "stderr":
		stderr = true
	}
	return tail, since, stdout, stderr, c.QueryParam("instance")
}

// wireItem is one element of a websocket message: a line, a skip marker or
// an error of the upstream follower.
type wireItem struct {
	Time     string `json:"t,omitempty"`
	Stream   string `json:"s,omitempty"`
	Instance string `json:"i,omitempty"`
	Message  string `json:"m,omitempty"`
	// Len is the line's full length when Message was cut.
	Len     int    `json:"n,omitempty"`
	Skipped int    `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

type wireMsg struct {
	Items []wireItem `json:"items,omitempty"`
	// End says the stream ended for good (with why); the page stops.
	End string `json:"end,omitempty"`
}

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 16 << 10}

// wsConnHook, set by tests, sees each log viewer's connection (to shrink
// its socket buffers, as a slow network would).
var wsConnHook func(*websocket.Conn)

// logsSocket streams a service's logs to one viewer. All viewers of a
// service share one upstream follower (host.FollowLogs); each has a bounded
// buffer there, and here holds at most one encoded message. Writes have a
// deadline and the client is pinged: a dead or stalled client is dropped.
func (p *portal) logsSocket(c echo.Context) error {
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	tail, since, stdout, stderr, instance := logOptions(c)
	if since != nil { // a reconnect resumes after the last line seen
		tail = 0
	}
	client := c.RealIP()
	if !p.viewers.take(client) {
		p.log.Warn("web: log viewer refused: too many from one client", "client", client, "max", p.opts.ViewersPerClient)
		return p.renderMessage(c, http.StatusTooManyRequests, "Too many log viewers",
			fmt.Sprintf("Your address has %d live log viewers open already; close some and try again.", p.opts.ViewersPerClient))
	}
	defer p.viewers.give(client)
	// The websocket clears the server's read and write deadlines (the log
	// stream outlives any request timeout); it sets its own below.
	ws, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	defer ws.Close()
	if wsConnHook != nil {
		wsConnHook(ws)
	}
	p.logs.active.Add(1)
	defer p.logs.active.Add(-1)

	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request().Context()))
	defer cancel()
	wait := 2 * p.opts.WSPingInterval
	ws.SetReadLimit(4096)
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(wait)) })
	go func() { // reads only control frames; ends the stream when the client goes
		defer cancel()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() { // no pong in time: a dead or stalled client
					p.logs.dropped.Add(1)
					p.log.Info("web: log viewer dropped: no pong", "connection", conn, "service", id)
				}
				return
			}
		}
	}()

	write := func(m wireMsg) bool {
		b, _ := json.Marshal(m)
		n := int64(len(b))
		p.logs.hold(n)
		defer p.logs.queued.Add(-n)
		_ = ws.SetWriteDeadline(time.Now().Add(p.opts.WSWriteTimeout))
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			p.logs.dropped.Add(1)
			p.log.Info("web: log viewer dropped", "connection", conn, "service", id, "err", err)
			return false
		}
		return true
	}

	until, err := untilOption(c)
	if err != nil {
		write(wireMsg{End: pluginapi.AsError(err).Message})
		return nil
	}
	sub, err := p.host.FollowLogs(ctx, caller, conn, id, logfanout.Options{Tail: tail, Since: since, Until: until,
		Stdout: stdout, Stderr: stderr, Instance: instance, Buffer: p.opts.LogBuffer})
	if err != nil {
		pe := p.userErrorQuiet(err)
		write(wireMsg{End: pe.Message})
		return nil
	}
	defer sub.Close()
	ping := time.NewTicker(p.opts.WSPingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(p.opts.WSWriteTimeout)); err != nil {
				return nil
			}
		case batch, ok := <-sub.C:
			if !ok {
				why := "The log stream ended."
				if err := sub.Err(); err != nil {
					why = p.userErrorQuiet(err).Message
				}
				write(wireMsg{End: why})
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				return nil
			}
			for _, m := range p.encodeBatch(batch) {
				if !write(m) {
					return nil
				}
			}
		}
	}
}

// userErrorQuiet is userError without an echo context.
func (p *portal) userErrorQuiet(err error) *pluginapi.Error {
	pe := pluginapi.AsError(err)
	if pe.Code == pluginapi.CodeInternal || pe.Code == "" {
		p.log.Error("web: internal error", "err", err)
		return &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "Something went wrong on our side; the details were logged."}
	}
	return pe
}

// encodeBatch turns a subscription batch into messages of bounded size.
func (p *portal) encodeBatch(batch []logfanout.Item) []wireMsg {
	var out []wireMsg
	var cur wireMsg
	size := 0
	for _, it := range batch {
		var w wireItem
		switch {
		case it.Entry != nil:
			e := it.Entry
			w = wireItem{Stream: e.Stream, Instance: e.Instance, Message: e.Message}
			if e.Time != nil {
				w.Time = e.Time.UTC().Format(time.RFC3339Nano)
			}
			if len(w.Message) > wireLineMax {
				w.Len = len(w.Message)
				w.Message = strings.ToValidUTF8(w.Message[:wireLineMax], "")
			}
		case it.Skipped > 0:
			w = wireItem{Skipped: it.Skipped}
			p.logs.skipped.Add(int64(it.Skipped))
		case it.Error != nil:
			w = wireItem{Error: p.userErrorQuiet(it.Error).Message}
		default:
			continue
		}
		n := len(w.Message) + len(w.Instance) + 64
		if size+n > wireBatchMax && len(cur.Items) > 0 {
			out = append(out, cur)
			cur, size = wireMsg{}, 0
		}
		cur.Items = append(cur.Items, w)
		size += n
	}
	if len(cur.Items) > 0 {
		out = append(out, cur)
	}
	return out
}

// logsDownload streams logs as text/plain, page by page from one-shot reads,
// so the server never assembles the whole file.
func (p *portal) logsDownload(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	tail, since, stdout, stderr, instance := logOptions(c)
	if c.QueryParam("tail") == "" {
		tail = 0 // everything the platform keeps
	}
	until, err := untilOption(c)
	if err != nil {
		return p.renderError(c, err)
	}
	opts := ops.LogsOptions{Tail: tail, Since: since, Until: until, Stdout: stdout, Stderr: stderr, Instance: instance, Limit: 1000}
	page, err := p.host.Logs(ctx, caller, conn, id, opts)
	if err != nil {
		return p.renderError(c, err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/plain; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", safeFile(id)+"-logs.txt"))
	c.Response().WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(c.Response(), 32<<10)
	for pages := 0; ; pages++ {
		for _, e := range page.Entries {
			if e.Time != nil {
				w.WriteString(e.Time.UTC().Format(time.RFC3339Nano))
				w.WriteByte(' ')
			}
			if e.Instance != "" {
				w.WriteString(e.Instance)
				w.WriteByte(' ')
			}
			if e.Stream == "stderr" {
				w.WriteString("[stderr] ")
			}
			w.WriteString(e.Message)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			return nil // the client went away
		}
		c.Response().Flush()
		if !page.More || page.End || page.Cursor == "" || pages > 10000 || ctx.Err() != nil {
			return nil
		}
		cursor := page.Cursor
		page, err = p.host.Logs(ctx, caller, conn, id, ops.LogsOptions{Cursor: cursor, Until: until, Stdout: stdout, Stderr: stderr, Instance: instance, Limit: 1000})
		if err != nil {
			p.log.Warn("web: log download cut short", "connection", conn, "service", id, "err", err)
			fmt.Fprintf(w, "\n[wharf: download cut short: %s]\n", p.userErrorQuiet(err).Message)
			w.Flush()
			return nil
		}
		if page.Cursor == cursor && len(page.Entries) == 0 {
			return nil
		}
	}
}

func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}
