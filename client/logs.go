package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"

	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Logs are a service's log lines.
type Logs struct{ c *Client }

// Get reads one batch of a service's log entries, oldest first, with the
// cursors to continue or to page back.
func (l *Logs) Get(ctx context.Context, conn, id string, o ops.LogsOptions, opts ...CallOption) (*ops.LogsPage, error) {
	q := url.Values{}
	setTime(q, "since", o.Since)
	setTime(q, "until", o.Until)
	setInt(q, "tail", o.Tail)
	setInt(q, "limit", o.Limit)
	set(q, "cursor", o.Cursor)
	set(q, "before", o.Before)
	set(q, "instance", o.Instance)
	setBool(q, "stdout", o.Stdout)
	setBool(q, "stderr", o.Stderr)
	setBool(q, "details", o.Details)
	var out ops.LogsPage
	if err := l.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/logs", args: []string{conn, id}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stream follows a service's logs: the entries o asks for first (Tail,
// Since), then new ones as they come, until ctx ends, o.Until is reached
// or the host ends the stream. o.Buffer is the host's own and not sent.
// RawJSON does not apply: LogStream.Raw has each line.
func (l *Logs) Stream(ctx context.Context, conn, id string, o logfanout.Options, opts ...CallOption) (*LogStream, error) {
	q := url.Values{"follow": {"true"}}
	setTime(q, "since", o.Since)
	setTime(q, "until", o.Until)
	setInt(q, "tail", o.Tail)
	set(q, "instance", o.Instance)
	setBool(q, "stdout", o.Stdout)
	setBool(q, "stderr", o.Stderr)
	setBool(q, "details", o.Details)
	var co call
	for _, f := range opts {
		f(&co)
	}
	resp, err := l.c.send(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/logs", args: []string{conn, id}, query: q}, &co)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, min(64<<10, l.c.maxLine)), l.c.maxLine)
	return &LogStream{body: resp.Body, sc: sc, maxLine: l.c.maxLine}, nil
}

// LogStream reads a followed log, one item per line of NDJSON:
//
//	for st.Next() {
//		it := st.Item() // an entry, a count of skipped lines, or a transient error
//	}
//	err := st.Err()
//
// Close it when done. It is not safe for concurrent use.
type LogStream struct {
	body    io.ReadCloser
	sc      *bufio.Scanner
	maxLine int
	item    logfanout.Item
	raw     []byte
	err     error
}

// Next reads the next item; false at the end of the stream or on an error
// (see Err).
func (s *LogStream) Next() bool {
	if s.err != nil {
		return false
	}
	for s.sc.Scan() {
		line := bytes.TrimSpace(s.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var it logfanout.Item
		if err := json.Unmarshal(line, &it); err != nil {
			// A line cut short by a broken connection: report the break.
			if !s.sc.Scan() && s.sc.Err() != nil {
				s.err = s.broken(s.sc.Err())
			} else {
				s.err = pluginapi.Errorf(pluginapi.CodeInternal, "the log stream sent a line that is not a log item: %v", err)
			}
			return false
		}
		s.item, s.raw = it, line
		return true
	}
	if err := s.sc.Err(); err != nil {
		s.err = s.broken(err)
	}
	return false
}

func (s *LogStream) broken(err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return pluginapi.Errorf(pluginapi.CodeInternal, "the log stream sent a line longer than this client's limit of %d bytes", s.maxLine)
	}
	return pluginapi.Errorf(pluginapi.CodeUnavailable, "log stream interrupted: %v", err)
}

// Item is the item Next read: its Entry, a Skipped count (this reader fell
// behind and the host dropped lines) or a transient Error (the stream goes
// on, or it is why the stream ends).
func (s *LogStream) Item() logfanout.Item { return s.item }

// Raw is the line Next read, as the host sent it; valid until the next Next.
func (s *LogStream) Raw() []byte { return s.raw }

// Err is why the stream stopped early, or nil at its normal end. After
// the context was cancelled it is the broken read that followed.
func (s *LogStream) Err() error { return s.err }

// Close ends the stream.
func (s *LogStream) Close() error { return s.body.Close() }
