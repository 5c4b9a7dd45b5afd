package benchfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
)

// LiveLogsOptions shape figure 6.
type LiveLogsOptions struct {
	Viewers     int           // websocket viewers (200)
	LinesPerSec int           // lines the service writes per second (2000)
	Duration    time.Duration // measured window (30 s)
}

// LiveLogsResult is figure 6.
type LiveLogsResult struct {
	Lines       int64   // lines received, all viewers
	Skipped     int64   // lines reported skipped by explicit markers
	Unexplained int64   // lines missing without a skip marker covering them
	Viewers     int     // viewers that stayed connected to the end
	P50, P99    float64 // line latency in ms: line timestamp → receipt
	// BatchP50 and BatchP99 are the latency of the newest line of each
	// message: what the host adds beyond the wait for the next poll.
	BatchP50, BatchP99 float64
	MaxRSSMB           float64 // the host process's highest RSS
	PollIntervalMS     int
}

const histMax = 20000 // ms

type hist [histMax + 1]int64

func (h *hist) add(ms float64) {
	i := int(ms)
	if i < 0 {
		i = 0
	}
	h[min(i, histMax)]++
}

func (h *hist) quantile(q float64) float64 {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	want := int64(q * float64(n))
	var acc int64
	for i, c := range h {
		acc += c
		if acc > want {
			return float64(i) + 0.5
		}
	}
	return histMax
}

// viewer is one websocket client's tally.
type viewer struct {
	lines, skipped int64
	seen           map[int64]bool
	lineHist       hist
	batchHist      hist
	ok             bool
}

// LiveLogs runs figure 6 against the real binary: a Docker emulator whose
// one-replica service writes LinesPerSec lines, Viewers websocket clients
// on the portal's /services/:conn/:id/logs/ws, for Duration.
func (e *Env) LiveLogs(ctx context.Context, o LiveLogsOptions) (LiveLogsResult, error) {
	var r LiveLogsResult
	pdir, err := e.PluginsDir(ProviderPlugins...)
	if err != nil {
		return r, err
	}
	d, err := StartDocker(dockeremu.Options{LogEvery: time.Second / time.Duration(o.LinesPerSec)})
	if err != nil {
		return r, err
	}
	defer d.Close()
	if err := d.CreateServices("talker", 1, 1); err != nil {
		return r, err
	}
	data, err := os.MkdirTemp(e.Scratch, "logs-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(data)
	opts := ProcOptions{DataDir: data, PluginsDir: pdir, Plugins: len(ProviderPlugins),
		Conns: []Conn{{Name: "bench-swarm", Plugin: "docker", Config: d.Config()}},
		// The viewers stand for 200 people; from one loopback address they
		// would meet the per-client caps that bound a single client.
		Args: []string{"--max-conns-per-client", "1024", "--max-log-viewers-per-client", "1024"}}
	// A host that has run before: its first start compiles the five
	// plugins in the background (figure 4), some 15 s of up to ~150 MB of
	// compiler memory each that would otherwise fall in the window.
	first, err := e.StartProc(ctx, opts)
	if err != nil {
		return r, err
	}
	err = first.WaitCompiled(ctx, len(ProviderPlugins), 2*time.Minute)
	first.Stop()
	if err != nil {
		return r, err
	}
	p, err := e.StartProc(ctx, opts)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	if r.PollIntervalMS, err = declaredPollInterval(p.URL, "docker"); err != nil {
		return r, err
	}

	wsURL := "ws" + strings.TrimPrefix(p.URL, "http") + "/services/bench-swarm/talker-00000/logs/ws?tail=0"
	var measuring atomic.Bool
	var connected sync.WaitGroup
	var done sync.WaitGroup
	stop := make(chan struct{})
	viewers := make([]*viewer, o.Viewers)
	errs := make(chan error, o.Viewers)
	for i := range viewers {
		v := &viewer{seen: map[int64]bool{}}
		viewers[i] = v
		connected.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
			ws, _, err := dialer.Dial(wsURL, nil)
			connected.Done()
			if err != nil {
				errs <- err
				return
			}
			defer ws.Close()
			go func() { <-stop; ws.Close() }()
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					select {
					case <-stop:
						v.ok = true
					default:
						errs <- err
					}
					return
				}
				if measuring.Load() {
					v.tally(msg, time.Now())
				}
			}
		}()
	}
	connected.Wait()
	time.Sleep(2 * time.Second) // every follower subscribed and streaming
	measuring.Store(true)
	end := time.Now().Add(o.Duration)
	for time.Now().Before(end) {
		time.Sleep(500 * time.Millisecond)
		if rss, err := p.RSS(); err == nil && rss > r.MaxRSSMB {
			r.MaxRSSMB = rss
		}
	}
	measuring.Store(false)
	close(stop)
	done.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return r, fmt.Errorf("a viewer failed: %w", err)
	}
	var lh, bh hist
	for _, v := range viewers {
		if v.ok {
			r.Viewers++
		}
		r.Lines += v.lines
		r.Skipped += v.skipped
		r.Unexplained += v.unexplained()
		for i := range lh {
			lh[i] += v.lineHist[i]
			bh[i] += v.batchHist[i]
		}
	}
	r.P50, r.P99 = lh.quantile(0.5), lh.quantile(0.99)
	r.BatchP50, r.BatchP99 = bh.quantile(0.5), bh.quantile(0.99)
	return r, nil
}

var (
	keyTime    = []byte(`"t":"`)
	keySkipped = []byte(`"skipped":`)
	keyLine    = []byte(` line `)
)

// tally scans one websocket message of the portal's wire format
// ({"items":[{"t":..., "m":"<svc>.<slot> line N"}, {"skipped":N}]})
// without a full JSON decode, so that 200 clients in this process steal as
// little CPU from the host as possible.
func (v *viewer) tally(msg []byte, now time.Time) {
	var newest time.Time
	for _, item := range bytes.Split(msg, []byte(`},{`)) {
		if i := bytes.Index(item, keySkipped); i >= 0 {
			n, _ := strconv.ParseInt(string(digits(item[i+len(keySkipped):])), 10, 64)
			v.skipped += n
			continue
		}
		i := bytes.Index(item, keyTime)
		if i < 0 {
			continue
		}
		rest := item[i+len(keyTime):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
		if err != nil {
			continue
		}
		v.lines++
		v.lineHist.add(now.Sub(t).Seconds() * 1000)
		if t.After(newest) {
			newest = t
		}
		if k := bytes.Index(item, keyLine); k >= 0 {
			n, err := strconv.ParseInt(string(digits(item[k+len(keyLine):])), 10, 64)
			if err == nil {
				v.seen[n] = true
			}
		}
	}
	if !newest.IsZero() {
		v.batchHist.add(now.Sub(newest).Seconds() * 1000)
	}
}

func digits(b []byte) []byte {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return b[:n]
}

// unexplained counts the lines between the first and last one seen that
// neither arrived nor were covered by a skip marker.
func (v *viewer) unexplained() int64 {
	if len(v.seen) == 0 {
		return 0
	}
	lo, hi := int64(1<<62), int64(0)
	for n := range v.seen {
		lo, hi = min(lo, n), max(hi, n)
	}
	missing := (hi - lo + 1) - int64(len(v.seen))
	return max(0, missing-v.skipped)
}

// declaredPollInterval asks the host what poll interval a plugin declares
// for following logs.
func declaredPollInterval(hostURL, plugin string) (int, error) {
	resp, err := NativeClient().Get(hostURL + "/api/v1/plugins/" + plugin)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var info struct {
		Describe struct {
			Logs struct {
				PollIntervalMS int `json:"poll_interval_ms"`
			} `json:"logs"`
		} `json:"describe"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return 0, fmt.Errorf("describe %s: %w", plugin, err)
	}
	return info.Describe.Logs.PollIntervalMS, nil
}
