package dockeremu

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types"
)

// Stream bytes of the multiplexed log format.
const (
	streamStdout = 1
	streamStderr = 2
)

// timestampLayout is the engine's RFC3339 with nine fixed fraction digits.
const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

type logOptions struct {
	stdout, stderr, timestamps, details, follow bool
	since                                       time.Time
	tail                                        int // -1 means all
}

// parseLogOptions reads the query. "until" is ignored, as a real engine
// (seen on 20.10) ignores it on /services/{id}/logs: swarm's log
// subscriptions have no end time; only container logs honour it.
func parseLogOptions(r *http.Request) (logOptions, error) {
	o := logOptions{stdout: boolValue(r, "stdout"), stderr: boolValue(r, "stderr"), timestamps: boolValue(r, "timestamps"),
		details: boolValue(r, "details"), follow: boolValue(r, "follow"), tail: -1}
	if !o.stdout && !o.stderr {
		// Engines before 23.0 answered this with a 500; newer ones with 400.
		return o, &apiError{http.StatusBadRequest, "Bad parameters: you must choose at least one stream"}
	}
	if v := r.URL.Query().Get("since"); v != "" && v != "0" {
		t, err := parseUnixTimestamp(v)
		if err != nil {
			return o, &apiError{http.StatusBadRequest, fmt.Sprintf("invalid value for since: %q: %v", v, err)}
		}
		o.since = t
	}
	if v := r.URL.Query().Get("tail"); v != "" && v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, &apiError{http.StatusBadRequest, `tail value must be a positive integer or "all"`}
		}
		if n >= 0 {
			o.tail = n
		}
	}
	return o, nil
}

// parseUnixTimestamp reads "seconds[.nanoseconds]" as the engine does.
func parseUnixTimestamp(v string) (time.Time, error) {
	secStr, nanoStr, hasNano := strings.Cut(v, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var nanos int64
	if hasNano {
		if len(nanoStr) > 9 {
			nanoStr = nanoStr[:9]
		}
		nanoStr += strings.Repeat("0", 9-len(nanoStr))
		if nanos, err = strconv.ParseInt(nanoStr, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(sec, nanos), nil
}

// logLine is one generated line.
type logLine struct {
	at     time.Time
	stream byte
	text   string
	t      *task
}

// lines returns the task's lines with index in [from, to].
func (s *Server) taskLines(t *task, o logOptions, now time.Time) []logLine {
	if t.crash {
		return nil // a crashing image fails before writing anything
	}
	start := t.runAt(s)
	end := now
	if e, ok := t.endAt(s); ok && e.Before(end) {
		end = e
	}
	if end.Before(start) {
		return nil
	}
	every := s.opts.LogEvery
	last := int64(end.Sub(start) / every)
	first := int64(1)
	if !o.since.IsZero() && o.since.After(start) {
		first = max(first, int64(math.Ceil(float64(o.since.Sub(start))/float64(every))))
		// guard float rounding: step until the line is at or after since
		for first > 1 && !start.Add(time.Duration(first-1)*every).Before(o.since) {
			first--
		}
		for start.Add(time.Duration(first) * every).Before(o.since) {
			first++
		}
	}
	if o.tail >= 0 && last-int64(o.tail)+1 > first {
		first = last - int64(o.tail) + 1
	}
	label := s.services[t.serviceID].spec.Name + "." + strconv.Itoa(t.slot)
	if t.slot == 0 {
		label = s.services[t.serviceID].spec.Name + "." + nodeHostname
	}
	var out []logLine
	for n := first; n <= last; n++ {
		l := logLine{at: start.Add(time.Duration(n) * every), stream: streamStdout, text: fmt.Sprintf("%s line %d", label, n), t: t}
		if n%4 == 0 {
			l.stream = streamStderr
		}
		out = append(out, l)
	}
	return out
}

func (s *Server) serviceLogs(w http.ResponseWriter, r *http.Request, m []string) {
	s.writeLogs(w, r, func() ([]*task, bool, error) {
		svc, err := s.lookup(m[1])
		if err != nil {
			return nil, false, err
		}
		tty := svc.spec.TaskTemplate.ContainerSpec != nil && svc.spec.TaskTemplate.ContainerSpec.TTY
		return s.serviceTasks(svc.id), tty, nil
	})
}

func (s *Server) taskLogs(w http.ResponseWriter, r *http.Request, m []string) {
	s.writeLogs(w, r, func() ([]*task, bool, error) {
		t, err := s.lookupTask(m[1])
		if err != nil {
			return nil, false, err
		}
		return []*task{t}, t.spec.ContainerSpec != nil && t.spec.ContainerSpec.TTY, nil
	})
}

// writeLogs answers a logs request: the lines of the tasks found, one task
// after the other like the engine, multiplexed unless the service has a TTY.
// With follow=1 it keeps writing new lines until the client goes away.
func (s *Server) writeLogs(w http.ResponseWriter, r *http.Request, find func() ([]*task, bool, error)) {
	o, err := parseLogOptions(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	now := s.opts.Now()
	s.advance(now)
	tasks, tty, err := find()
	if err != nil {
		s.mu.Unlock()
		writeAPIError(w, err)
		return
	}
	var lines []logLine
	for _, t := range tasks {
		lines = append(lines, s.taskLines(t, o, now)...)
	}
	s.mu.Unlock()

	contentType := types.MediaTypeRawStream
	if !tty && compareVersions(r.Header.Get("X-Emu-Api-Version"), "1.42") >= 0 {
		contentType = types.MediaTypeMultiplexedStream
	}
	w.Header().Set("Content-Type", contentType)
	// The engine's answers are dated by its own clock; here that is the
	// emulator's (net/http would use the machine's). Clients such as the
	// docker plugin read it to tell that a time has passed on the engine.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	fw := &frameWriter{w: w, tty: tty, max: s.opts.MaxFrameSize}
	fw.lines(lines, o)
	fw.flush()
	if !o.follow {
		return
	}
	// Follow: poll the lazily computed lines until the client leaves.
	o.tail = -1
	for {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		s.mu.Lock()
		next := s.opts.Now()
		var more []logLine
		for _, t := range tasks {
			for _, l := range s.taskLines(t, logOptions{since: now, tail: -1}, next) {
				if l.at.After(now) {
					more = append(more, l)
				}
			}
		}
		s.mu.Unlock()
		now = next
		fw.lines(more, o)
		fw.flush()
	}
}

// frameWriter writes lines raw (TTY) or as multiplexed frames. With max > 0
// it packs consecutive output of one stream and cuts it every max bytes,
// so frames hold several lines and lines span frames.
type frameWriter struct {
	w       http.ResponseWriter
	tty     bool
	max     int
	pending []byte
	stream  byte
}

func (f *frameWriter) lines(lines []logLine, o logOptions) {
	for _, l := range lines {
		if (l.stream == streamStdout && !o.stdout) || (l.stream == streamStderr && !o.stderr) {
			continue
		}
		var b strings.Builder
		if o.timestamps {
			b.WriteString(l.at.UTC().Format(timestampLayout))
			b.WriteByte(' ')
		}
		if o.details {
			fmt.Fprintf(&b, "com.docker.swarm.node.id=%s,com.docker.swarm.service.id=%s,com.docker.swarm.task.id=%s ", nodeID, l.t.serviceID, l.t.id)
		}
		b.WriteString(l.text)
		if f.tty {
			b.WriteString("\r\n")
			_, _ = f.w.Write([]byte(b.String()))
			continue
		}
		b.WriteByte('\n')
		if f.max <= 0 {
			f.frame(l.stream, []byte(b.String()))
			continue
		}
		if l.stream != f.stream {
			f.flush()
			f.stream = l.stream
		}
		f.pending = append(f.pending, b.String()...)
		for len(f.pending) >= f.max {
			f.frame(f.stream, f.pending[:f.max])
			f.pending = f.pending[f.max:]
		}
	}
}

func (f *frameWriter) flush() {
	if len(f.pending) > 0 {
		f.frame(f.stream, f.pending)
		f.pending = nil
	}
}

func (f *frameWriter) frame(stream byte, payload []byte) {
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	_, _ = f.w.Write(hdr[:])
	_, _ = f.w.Write(payload)
}
