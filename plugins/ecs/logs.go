package main

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
)

// logSource is where one container's awslogs output goes.
type logSource struct {
	group        string
	streamPrefix string // "<prefix>/<container>/", "<prefix>/" or ""
	// direct: streamPrefix names the container, so a task's stream is
	// streamPrefix + task id and need not be listed.
	direct bool
}

// logCursor is the state of a follow, carried by the host between calls.
type logCursor struct {
	// Streams maps "group|stream" to the forward token to continue with.
	Streams map[string]*streamPos `json:"s"`
	// Since (ms) applies to streams first seen in a later call.
	Since int64 `json:"t,omitempty"`
}

type streamPos struct {
	Token string `json:"k"`
	// Done marks the stream of a stopped task read to its end (the same
	// token came back): it is not asked again.
	Done bool `json:"d,omitempty"`
	// Past marks a stream known to hold an event after the request's
	// until: nothing at or before it can still come (awslogs sends a
	// stream's events in order).
	Past bool `json:"p,omitempty"`
}

func decodeCursor(s string) (*logCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	c := &logCursor{}
	if err != nil || json.Unmarshal(b, c) != nil || c.Streams == nil {
		return nil, pluginapi.Invalid("/cursor", "cursor is not one this plugin returned")
	}
	return c, nil
}

func (c *logCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// logSources finds where a service's containers log: the awslogs options of
// its task definitions (every deployment's), overridden by the spec's
// log_group, log_stream_prefix and container_name (kept in wharf: tags), or
// <log_group_prefix><service> from the connection as a last resort.
func (c *client) logSources(svc *ecsService) ([]logSource, error) {
	group, _ := svc.tag(tagLogGroup)
	prefix, _ := svc.tag(tagLogPrefix)
	container, _ := svc.tag(tagContainerName)
	tds := []string{svc.TaskDefinition}
	for _, d := range svc.Deployments {
		if !contains(tds, d.TaskDefinition) {
			tds = append(tds, d.TaskDefinition)
		}
	}
	var sources []logSource
	add := func(g, p, name string) {
		sp := ""
		switch {
		case p != "" && name != "":
			sp = p + "/" + name + "/"
		case p != "":
			sp = p + "/"
		}
		src := logSource{g, sp, p != "" && name != ""}
		for _, s := range sources {
			if s == src {
				return
			}
		}
		sources = append(sources, src)
	}
	for _, td := range tds {
		if td == "" {
			continue
		}
		var out struct {
			TaskDefinition struct {
				ContainerDefinitions []struct {
					Name             string `json:"name"`
					LogConfiguration *struct {
						LogDriver string            `json:"logDriver"`
						Options   map[string]string `json:"options"`
					} `json:"logConfiguration"`
				} `json:"containerDefinitions"`
			} `json:"taskDefinition"`
		}
		if err := c.ecs("DescribeTaskDefinition", map[string]any{"taskDefinition": td}, &out); err != nil {
			if pluginapi.CodeOf(err) == pluginapi.CodeInvalid {
				continue // deregistered or deleted since: nothing to learn
			}
			return nil, err
		}
		for _, cd := range out.TaskDefinition.ContainerDefinitions {
			lc := cd.LogConfiguration
			if lc == nil || lc.LogDriver != "awslogs" || container != "" && cd.Name != container {
				continue
			}
			g, p := lc.Options["awslogs-group"], lc.Options["awslogs-stream-prefix"]
			if group != "" {
				g = group
			}
			if prefix != "" {
				p = prefix
			}
			if g != "" {
				add(g, p, cd.Name)
			}
		}
	}
	if len(sources) == 0 && group != "" {
		add(group, prefix, container)
	}
	if len(sources) == 0 && c.cfg.LogGroupPrefix != "" {
		add(c.cfg.LogGroupPrefix+svc.ServiceName, prefix, container)
	}
	if len(sources) == 0 {
		return nil, pluginapi.Unsupported("service %s has no awslogs log configuration: set log_group (and log_stream_prefix) in the spec, "+
			"or log_group_prefix in the connection", svc.ServiceName)
	}
	return sources, nil
}

// streams lists the log streams of a source, by name (at most 500).
func (c *client) streams(src logSource) ([]string, error) {
	var names []string
	token := ""
	for pages := 0; pages < 10; pages++ {
		in := map[string]any{"logGroupName": src.group}
		if src.streamPrefix != "" {
			in["logStreamNamePrefix"] = src.streamPrefix
		}
		if token != "" {
			in["nextToken"] = token
		}
		var out struct {
			LogStreams []struct {
				LogStreamName string `json:"logStreamName"`
			} `json:"logStreams"`
			NextToken string `json:"nextToken"`
		}
		if err := c.logs("DescribeLogStreams", in, &out); err != nil {
			if pluginapi.CodeOf(err) == pluginapi.CodeNotFound {
				return nil, nil // the group does not exist until something logs
			}
			return nil, err
		}
		for _, s := range out.LogStreams {
			names = append(names, s.LogStreamName)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	return names, nil
}

// Logs implements plugin.Provider from CloudWatch Logs: one GetLogEvents per
// stream "<prefix>/<container>/<task-id>" of the service's own tasks
// (running and recently stopped), continuing each with its forward token.
// The cursor holds those tokens; a stream whose token comes back unchanged
// has nothing new. Before pages back (logs_back.go).
func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	svc, err := c.service(req.ID)
	if err != nil {
		return nil, err
	}
	if req.Tail < 0 {
		return nil, pluginapi.Invalid("/tail", "tail must be 0 or more")
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	var back *backPos
	if req.Before != "" {
		if back, err = decodeBackPos(req.Before); err != nil {
			return nil, err
		}
	}
	first := req.Cursor == ""
	cur := &logCursor{Streams: map[string]*streamPos{}}
	if back == nil && !first {
		if cur, err = decodeCursor(req.Cursor); err != nil {
			return nil, err
		}
	} else if req.Since != nil {
		cur.Since = req.Since.UnixMilli()
	}
	streams, running, err := c.ownStreams(svc, req.Instance)
	if err != nil {
		return nil, err
	}
	if back != nil {
		return c.logsBefore(streams, back, limit, req.Details)
	}
	var until *int64
	if req.Until != nil {
		u := req.Until.UnixMilli() // events are whole milliseconds: at or before u
		until = &u
	}

	var got []event
	more := false
	budget := limit
	for _, st := range streams {
		key := st.key()
		pos := cur.Streams[key]
		if pos != nil && pos.Done {
			continue
		}
		tail := first && req.Tail > 0
		n := budget
		if tail {
			n = min(req.Tail, 10000)
		}
		if n == 0 {
			more = true
			continue
		}
		in := map[string]any{"logGroupName": st.group, "logStreamName": st.name, "limit": n, "startFromHead": !tail}
		switch {
		case pos != nil:
			in["nextToken"] = pos.Token
		case cur.Since > 0:
			in["startTime"] = cur.Since
		}
		if until != nil {
			in["endTime"] = *until + 1 // CloudWatch's endTime is exclusive
		}
		out, err := c.getLogEvents(in)
		if err != nil {
			if pluginapi.CodeOf(err) != pluginapi.CodeNotFound {
				return nil, err
			}
			if !running[st.task] {
				cur.Streams[key] = &streamPos{Done: true} // stopped without logging: nothing will come
			}
			continue // else the task has not logged yet
		}
		for i, ev := range out.Events {
			if until != nil && ev.Timestamp > *until {
				break // a platform that ignored endTime
			}
			got = append(got, event{ev.Timestamp, key, i, st.entry(ev, req.Details)})
		}
		if !tail {
			budget -= len(out.Events)
		}
		full := !tail && len(out.Events) == n
		if full {
			more = true // a full page: more may be ready now
		}
		next := &streamPos{Token: out.NextForwardToken, Past: pos != nil && pos.Past}
		if pos != nil && out.NextForwardToken == pos.Token && !running[st.task] {
			next.Done = true // the same token came back and the task is gone: nothing more will come
		}
		if until != nil && !full && !next.Past && !next.Done {
			if next.Past, err = c.hasEventAfter(st, *until); err != nil {
				return nil, err
			}
		}
		if next.Token != "" {
			cur.Streams[key] = next
		}
	}
	sortEvents(got)
	if first && req.Tail > 0 && len(got) > req.Tail {
		got = got[len(got)-req.Tail:]
	}
	resp := &pluginapi.LogsResponse{Entries: entriesOf(got), Cursor: cur.encode(), More: more}
	if first {
		resp.CursorBackward = firstBackPos(got, cur.Since, req.Tail > 0)
	}
	if until != nil && !more {
		resp.End = ended(streams, cur)
	}
	return resp, nil
}

// ended reports whether every stream has passed until or is finished; a
// running task's stream that did not pass it yet may still log before it.
func ended(streams []streamRef, cur *logCursor) bool {
	if len(streams) == 0 {
		return false // no task yet: one may start and log before until
	}
	for _, st := range streams {
		pos := cur.Streams[st.key()]
		if pos == nil || !pos.Past && !pos.Done {
			return false
		}
	}
	return true
}

// hasEventAfter reports whether st holds an event after ms.
func (c *client) hasEventAfter(st streamRef, ms int64) (bool, error) {
	out, err := c.getLogEvents(map[string]any{"logGroupName": st.group, "logStreamName": st.name,
		"startTime": ms + 1, "limit": 1, "startFromHead": true})
	if pluginapi.CodeOf(err) == pluginapi.CodeNotFound {
		return false, nil
	}
	return err == nil && len(out.Events) > 0, err
}

// logEvents is a GetLogEvents answer.
type logEvents struct {
	Events []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"events"`
	NextForwardToken  string `json:"nextForwardToken"`
	NextBackwardToken string `json:"nextBackwardToken"`
}

func (c *client) getLogEvents(in map[string]any) (*logEvents, error) {
	var out logEvents
	if err := c.logs("GetLogEvents", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
