package main

import (
	"sort"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// streamRef is one log stream of one of the service's own tasks.
type streamRef struct {
	group, name string
	task        string // task id: the stream name's last segment
}

// key names the stream in cursors and orders streams at equal times.
func (s streamRef) key() string { return s.group + "|" + s.name }

func (s streamRef) entry(ev struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}, details bool) pluginapi.LogEntry {
	t := time.UnixMilli(ev.Timestamp).UTC()
	e := pluginapi.LogEntry{Time: &t, Instance: s.task, Message: strings.TrimRight(ev.Message, "\n")}
	if details {
		e.Details = map[string]string{"log_group": s.group, "log_stream": s.name}
	}
	return e
}

// ownStreams lists the log streams of the service's own tasks, running and
// recently stopped, sorted by key. Services whose task definitions share a
// family share a log group and an awslogs prefix, so streams are chosen by
// task id (awslogs names them <prefix>/<container>/<task-id>), never by
// prefix alone. It also returns which tasks run.
func (c *client) ownStreams(svc *ecsService, instance string) ([]streamRef, map[string]bool, error) {
	sources, err := c.logSources(svc)
	if err != nil {
		return nil, nil, err
	}
	running := map[string]bool{}
	own := map[string]bool{}
	for _, desired := range []string{"RUNNING", "STOPPED"} {
		arns, err := c.listTasks(svc.ServiceName, desired)
		if err != nil {
			return nil, nil, err
		}
		for _, arn := range arns {
			id := lastSegment(arn)
			own[id] = true
			running[id] = running[id] || desired == "RUNNING"
		}
	}
	var out []streamRef
	for _, src := range sources {
		if src.direct {
			for id := range own {
				if instance == "" || id == instance {
					out = append(out, streamRef{src.group, src.streamPrefix + id, id})
				}
			}
			continue
		}
		names, err := c.streams(src)
		if err != nil {
			return nil, nil, err
		}
		for _, name := range names {
			id := lastSegment(name)
			// Without an awslogs prefix streams are named by container
			// id: nothing tells the tasks apart, so all of them are read.
			if src.streamPrefix != "" && !own[id] || instance != "" && id != instance {
				continue
			}
			out = append(out, streamRef{src.group, name, id})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out, running, nil
}

// event is an entry with what orders it: time, then stream, then its
// place in the stream. Every answer is in this order, so that positions
// (cursors back) are exact.
type event struct {
	ms    int64
	key   string
	seq   int // order within the stream, within one read
	entry pluginapi.LogEntry
}

func less(a, b *event) bool {
	if a.ms != b.ms {
		return a.ms < b.ms
	}
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}

func sortEvents(evs []event) {
	sort.Slice(evs, func(i, j int) bool { return less(&evs[i], &evs[j]) })
}

func entriesOf(evs []event) []pluginapi.LogEntry {
	out := make([]pluginapi.LogEntry, len(evs))
	for i := range evs {
		out[i] = evs[i].entry
	}
	return out
}
