// Package plugindir follows a plugins folder: it tells its owner which
// plugin file changed, once the writes to it have settled.
//
// It watches the folder with fsnotify (inotify on Linux). A burst of
// events for one file (a copy writes many times; an editor renames a
// temporary file into place) becomes one notice, Debounce after the last
// event. A change of a plugin's manifest (NAME.json) or signature
// (NAME.wasm.minisig) is a notice for NAME.wasm with Force set: the module
// may be the same bytes, what is allowed of it is not. Hidden files are
// ignored (uploads and editors stage there). When the kernel's queue
// overflowed, and every Interval in case the folder is on a file system
// that sends no events (some network and container mounts), the whole
// folder is rescanned.
package plugindir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults of Config.
const (
	DefaultDebounce = 300 * time.Millisecond
	DefaultInterval = time.Minute
	// maxPending bounds the files waiting out their debounce; past it the
	// folder is rescanned instead (a flood of names is a rescan's work).
	maxPending = 256
)

// Config says what to watch and whom to tell.
type Config struct {
	Dir string
	// File is told that the plugin file at path (a *.wasm of Dir, which
	// may have been removed) changed. Notices come one at a time.
	File func(ctx context.Context, path string, force bool)
	// Rescan is told to look at every file of Dir.
	Rescan func(ctx context.Context)
	// Debounce is the quiet time after a file's last event; 0 means
	// DefaultDebounce.
	Debounce time.Duration
	// Interval is the time between rescans; 0 means DefaultInterval,
	// negative means none (events only).
	Interval time.Duration
	Logger   *slog.Logger
}

// Watcher follows one folder until Close.
type Watcher struct {
	cfg    Config
	fs     *fsnotify.Watcher
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	pending map[string]*notice // by .wasm path
	rescan  bool
	wake    chan struct{} // something is due
}

type notice struct {
	due   time.Time
	force bool
}

// Watch starts following cfg.Dir.
func Watch(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" || cfg.File == nil || cfg.Rescan == nil {
		return nil, errors.New("plugindir: Dir, File and Rescan are required")
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("plugindir: %w", err)
	}
	if err := fw.Add(cfg.Dir); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("plugindir: watch %s: %w", cfg.Dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{cfg: cfg, fs: fw, cancel: cancel, done: make(chan struct{}),
		pending: map[string]*notice{}, wake: make(chan struct{}, 1),
		rescan: true} // what changed before the watch began
	go w.listen()
	go w.run(ctx)
	return w, nil
}

// Close stops watching and waits for the notice being handled, if any.
func (w *Watcher) Close() {
	w.cancel()
	_ = w.fs.Close()
	<-w.done
}

// listen turns fsnotify events into pending notices.
func (w *Watcher) listen() {
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if path, force, ok := pluginOf(w.cfg.Dir, ev.Name); ok {
				w.note(path, force)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			// Typically the kernel's queue overflowed: events were lost.
			w.cfg.Logger.Warn("plugins folder: watch error, rescanning", "dir", w.cfg.Dir, "err", err)
			w.mu.Lock()
			w.rescan = true
			w.mu.Unlock()
			w.poke()
		}
	}
}

// pluginOf maps a file of dir to the plugin file it concerns.
func pluginOf(dir, name string) (path string, force, ok bool) {
	if filepath.Dir(name) != filepath.Clean(dir) {
		return "", false, false
	}
	base := filepath.Base(name)
	if strings.HasPrefix(base, ".") {
		return "", false, false
	}
	switch {
	case strings.HasSuffix(base, ".wasm.minisig"):
		return strings.TrimSuffix(name, ".minisig"), true, len(base) > len(".wasm.minisig")
	case strings.HasSuffix(base, ".wasm"):
		return name, false, len(base) > len(".wasm")
	case strings.HasSuffix(base, ".json"):
		return strings.TrimSuffix(name, ".json") + ".wasm", true, len(base) > len(".json")
	}
	return "", false, false
}

func (w *Watcher) note(path string, force bool) {
	w.mu.Lock()
	n := w.pending[path]
	switch {
	case n != nil:
		n.due = time.Now().Add(w.cfg.Debounce)
		n.force = n.force || force
	case len(w.pending) >= maxPending:
		w.rescan = true
	default:
		w.pending[path] = &notice{due: time.Now().Add(w.cfg.Debounce), force: force}
	}
	w.mu.Unlock()
	w.poke()
}

func (w *Watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run hands out the notices that are due, one at a time.
func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	var tick <-chan time.Time
	if w.cfg.Interval > 0 {
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		next, due, force, rescan := w.takeDue()
		switch {
		case rescan:
			w.cfg.Rescan(ctx)
			continue
		case due != "":
			w.cfg.File(ctx, due, force)
			continue
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		case <-tick:
			w.mu.Lock()
			w.rescan = true
			w.mu.Unlock()
		}
	}
}

// takeDue returns a rescan or a file whose quiet time is over, else when
// the next one will be.
func (w *Watcher) takeDue() (next time.Time, path string, force, rescan bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rescan {
		w.rescan = false
		return time.Time{}, "", false, true
	}
	now := time.Now()
	for p, n := range w.pending {
		if !n.due.After(now) {
			delete(w.pending, p)
			return time.Time{}, p, n.force, false
		}
		if next.IsZero() || n.due.Before(next) {
			next = n.due
		}
	}
	return next, "", false, false
}
