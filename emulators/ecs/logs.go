package ecsemu

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// logsHandlers are the CloudWatch Logs operations, by X-Amz-Target suffix.
var logsHandlers = map[string]handler{
	"GetLogEvents":       op((*Server).opGetLogEvents),
	"FilterLogEvents":    op((*Server).opFilterLogEvents),
	"DescribeLogStreams": op((*Server).opDescribeLogStreams),
}

// logStream is the awslogs stream of one container of one task. Its events
// are derived from time: line n (from 0) is at start + n*interval while the
// task runs.
type logStream struct {
	group, name string
	t           *task
	service     string
	start, end  time.Time // end is when output stops (now while running)
	interval    time.Duration
}

func (ls *logStream) count() int {
	if ls.end.Before(ls.start) {
		return 0
	}
	return int(ls.end.Sub(ls.start)/ls.interval) + 1
}

func (ls *logStream) tsMs(n int) int64 {
	return ls.start.Add(time.Duration(n) * ls.interval).UnixMilli()
}

func (ls *logStream) message(n int) string {
	return fmt.Sprintf("%s %s line %d", ls.service, ls.t.id, n+1)
}

// window is the index range [lo, hi) of events within [startTime, endTime) ms.
func (ls *logStream) window(startTime, endTime *int64) (lo, hi int) {
	hi = ls.count()
	if startTime != nil {
		lo = sort.Search(hi, func(n int) bool { return ls.tsMs(n) >= *startTime })
	}
	if endTime != nil {
		hi = sort.Search(hi, func(n int) bool { return ls.tsMs(n) >= *endTime })
	}
	return lo, max(lo, hi)
}

func (ls *logStream) eventID(n int) string {
	h := fnv.New32a()
	h.Write([]byte(ls.group + "/" + ls.name))
	return fmt.Sprintf("%d%010d%08d", ls.tsMs(n), h.Sum32(), n)
}

// logGroups lists every group named by a registered task definition's awslogs options.
func (s *Server) logGroupExists(group string) bool {
	for _, revs := range s.taskDefs {
		for _, td := range revs {
			for _, c := range td.containers {
				if lc := c.LogConfiguration; lc != nil && lc.LogDriver == "awslogs" && lc.Options["awslogs-group"] == group {
					return true
				}
			}
		}
	}
	return false
}

// streams returns the group's streams that exist at now, sorted by name.
func (s *Server) streams(group string, now time.Time) []*logStream {
	var out []*logStream
	for _, svc := range s.services {
		for _, t := range svc.tasks {
			end := t.logEnd(now)
			if end.IsZero() {
				continue
			}
			for _, c := range t.taskDef.containers {
				lc := c.LogConfiguration
				if lc == nil || lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] != group || lc.Options["awslogs-stream-prefix"] == "" {
					continue
				}
				out = append(out, &logStream{
					group: group, name: lc.Options["awslogs-stream-prefix"] + "/" + c.Name + "/" + t.id, t: t,
					service: svc.name, start: t.runningAt, end: end, interval: s.opts.LogInterval,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func groupName(name, identifier string) string {
	if name != "" {
		return name
	}
	// A log group identifier may be an ARN: arn:aws:logs:region:acct:log-group:NAME[:*]
	if _, rest, ok := strings.Cut(identifier, ":log-group:"); ok {
		return strings.TrimSuffix(rest, ":*")
	}
	return identifier
}

func (s *Server) group(name, identifier string) (string, *apiError) {
	g := groupName(name, identifier)
	if g == "" {
		return "", invalidParam("Either logGroupName or logGroupIdentifier must be specified.")
	}
	if !s.logGroupExists(g) {
		return "", errf("ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g, nil
}

func logLimit(v *int) (int, *apiError) {
	if v == nil {
		return 10000, nil
	}
	if *v < 1 || *v > 10000 {
		return 0, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", *v)
	}
	return *v, nil
}

type getLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              *int   `json:"limit"`
	StartFromHead      bool   `json:"startFromHead"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// Tokens are "f/<index>" (continue forward from index) and "b/<index>"
// (continue backward before index), zero-padded. At the end of a stream the
// token passed in comes back unchanged, as CloudWatch Logs does.
func token(dir byte, n int) string { return fmt.Sprintf("%c/%020d", dir, n) }

func parseToken(tok string) (byte, int, bool) {
	if len(tok) < 3 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(tok[2:])
	return tok[0], n, err == nil && n >= 0
}

func (s *Server) opGetLogEvents(in *getLogEventsInput, now time.Time) (any, *apiError) {
	group, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == "" {
		return nil, invalidParam("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	limit, err := logLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	var ls *logStream
	for _, st := range s.streams(group, now) {
		if st.name == in.LogStreamName {
			ls = st
		}
	}
	if ls == nil {
		return nil, errf("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	lo, hi := ls.window(in.StartTime, in.EndTime)
	var start, end int
	fwd, bwd := "", ""
	switch {
	case in.NextToken != "":
		dir, n, ok := parseToken(in.NextToken)
		if !ok {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		if dir == 'f' {
			start = max(n, lo)
			end = max(start, min(start+limit, hi))
		} else {
			end = max(lo, min(n, hi))
			start = max(lo, end-limit)
		}
		fwd, bwd = token('f', end), token('b', start)
		if start == end {
			// Nothing more in that direction: the same token comes back.
			if dir == 'f' {
				fwd = in.NextToken
			} else {
				bwd = in.NextToken
			}
		}
	case in.StartFromHead:
		start, end = lo, min(lo+limit, hi)
		fwd, bwd = token('f', end), token('b', start)
	default:
		start, end = max(lo, hi-limit), hi
		fwd, bwd = token('f', end), token('b', start)
	}
	events := []outputLogEvent{}
	for n := start; n < end; n++ {
		t := ls.tsMs(n)
		events = append(events, outputLogEvent{Timestamp: t, Message: ls.message(n), IngestionTime: t})
	}
	return map[string]any{"events": events, "nextForwardToken": fwd, "nextBackwardToken": bwd}, nil
}

type filterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               *int     `json:"limit"`
}

// filterPos is where FilterLogEvents continues: after the event (ms, stream, n).
type filterPos struct {
	Ms     int64  `json:"t"`
	Stream string `json:"s"`
	N      int    `json:"n"`
}

// matches applies a simple filter pattern: every space-separated term (or
// "quoted phrase") must appear. Undocumented here: CloudWatch's richer JSON
// and metric patterns are not emulated.
func matches(pattern, msg string) bool {
	pattern = strings.TrimSpace(pattern)
	for pattern != "" {
		var term string
		if pattern[0] == '"' {
			end := strings.IndexByte(pattern[1:], '"')
			if end < 0 {
				term, pattern = pattern[1:], ""
			} else {
				term, pattern = pattern[1:end+1], strings.TrimSpace(pattern[end+2:])
			}
		} else {
			term, pattern, _ = strings.Cut(pattern, " ")
			pattern = strings.TrimSpace(pattern)
		}
		if !strings.Contains(msg, term) {
			return false
		}
	}
	return true
}

func (s *Server) opFilterLogEvents(in *filterLogEventsInput, now time.Time) (any, *apiError) {
	group, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive")
	}
	limit, err := logLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	var after *filterPos
	if in.NextToken != "" {
		b, derr := unbase64url(in.NextToken)
		after = new(filterPos)
		if derr != nil || jsonUnmarshal(b, after) != nil {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
	}
	type head struct {
		ls     *logStream
		n, end int
	}
	var heads []*head
	for _, ls := range s.streams(group, now) {
		if len(in.LogStreamNames) > 0 && !contains(in.LogStreamNames, ls.name) || !strings.HasPrefix(ls.name, in.LogStreamNamePrefix) {
			continue
		}
		lo, hi := ls.window(in.StartTime, in.EndTime)
		if after != nil {
			// Skip what the previous page returned: events ordered before or at the position.
			lo = max(lo, sort.Search(hi, func(n int) bool {
				t := ls.tsMs(n)
				return t > after.Ms || t == after.Ms && (ls.name > after.Stream || ls.name == after.Stream && n > after.N)
			}))
		}
		if lo < hi {
			heads = append(heads, &head{ls, lo, hi})
		}
	}
	events := []map[string]any{}
	var last *filterPos
	more := false
	for {
		var best *head
		for _, h := range heads {
			if h.n < h.end && (best == nil || h.ls.tsMs(h.n) < best.ls.tsMs(best.n) ||
				h.ls.tsMs(h.n) == best.ls.tsMs(best.n) && h.ls.name < best.ls.name) {
				best = h
			}
		}
		if best == nil {
			break
		}
		if len(events) == limit {
			more = true
			break
		}
		n := best.n
		best.n++
		msg := best.ls.message(n)
		if !matches(in.FilterPattern, msg) {
			continue
		}
		t := best.ls.tsMs(n)
		events = append(events, map[string]any{"logStreamName": best.ls.name, "timestamp": t, "message": msg,
			"ingestionTime": t, "eventId": best.ls.eventID(n)})
		last = &filterPos{Ms: t, Stream: best.ls.name, N: n}
	}
	out := map[string]any{"events": events, "searchedLogStreams": []any{}}
	if more && last != nil {
		b, _ := jsonMarshal(last)
		out["nextToken"] = base64url(b)
	}
	return out, nil
}

type describeLogStreamsInput struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               *int   `json:"limit"`
}

func (s *Server) opDescribeLogStreams(in *describeLogStreamsInput, now time.Time) (any, *apiError) {
	group, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalidParam("limit must be between 1 and 50.")
		}
		limit = *in.Limit
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalidParam("orderBy must be LogStreamName or LastEventTime.")
	}
	byKey := map[string]*logStream{}
	var keys []string
	for _, ls := range s.streams(group, now) {
		if !strings.HasPrefix(ls.name, in.LogStreamNamePrefix) {
			continue
		}
		// Keys sort in the requested order so that pageAfter can page them.
		k := ls.name
		if in.OrderBy == "LastEventTime" {
			k = fmt.Sprintf("%020d/%s", ls.tsMs(ls.count()-1), ls.name)
		}
		if in.Descending {
			k = invert(k)
		}
		byKey[k] = ls
		keys = append(keys, k)
	}
	sort.Strings(keys)
	page, next, err := pageAfter(keys, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	streams := []map[string]any{}
	for _, k := range page {
		ls := byKey[k]
		first, lastMs := ls.tsMs(0), ls.tsMs(ls.count()-1)
		streams = append(streams, map[string]any{
			"logStreamName": ls.name, "creationTime": ls.start.UnixMilli(), "firstEventTimestamp": first,
			"lastEventTimestamp": lastMs, "lastIngestionTime": lastMs, "uploadSequenceToken": "1", "storedBytes": 0,
			"arn": "arn:aws:logs:" + s.opts.Region + ":" + s.opts.AccountID + ":log-group:" + group + ":log-stream:" + ls.name,
		})
	}
	out := map[string]any{"logStreams": streams}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// invert maps a string to one that sorts in the opposite order (for the
// printable ASCII of stream names and digits).
func invert(k string) string {
	b := []byte(k)
	for i, c := range b {
		b[i] = 0x7f - c + 0x20
	}
	return string(b) + "\x7f"
}
