package ops

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/wasmbin"
	"github.com/wharfhq/wharf/pluginapi"
)

// Hot plug: the plugins a host serves change while it runs. Every change
// builds a new pluginSet and swaps it in whole, so a call sees one
// consistent set; a new version is loaded, checked and compiled before it
// is swapped in, and the version it replaces finishes the calls it is
// running (runtime.Swap) while new calls go to the new one.

// pluginSet is the loaded plugins at one moment. It is never changed once
// stored in Host.plugins: a change stores a new one.
type pluginSet struct {
	byName map[string]*loadedPlugin
	names  []string // sorted
	// problems are the files that failed to load or to replace the
	// version serving, by path.
	problems map[string]PluginProblem
}

func (s *pluginSet) clone() *pluginSet {
	return &pluginSet{byName: maps.Clone(s.byName), names: s.names, problems: maps.Clone(s.problems)}
}

func (s *pluginSet) sortNames() {
	s.names = slices.Sorted(maps.Keys(s.byName))
}

// plugin is the loaded plugin called name, or nil.
func (h *Host) plugin(name string) *loadedPlugin { return h.plugins.Load().byName[name] }

// PluginProblems lists the plugin files that failed to load (a new file)
// or to replace the version serving (a changed one), by file. Any caller,
// as ListPlugins.
func (h *Host) PluginProblems(ctx context.Context, c Caller) []PluginProblem {
	set := h.plugins.Load()
	out := make([]PluginProblem, 0, len(set.problems))
	for _, f := range slices.Sorted(maps.Keys(set.problems)) {
		out = append(out, set.problems[f])
	}
	return out
}

// MissingPluginDetail is the Error.Detail key naming the plugin a
// connection needs that is not loaded.
const MissingPluginDetail = "missing_plugin"

func pluginMissing(conn, plugin string) error {
	return &pluginapi.Error{Code: pluginapi.CodeUnavailable,
		Message: fmt.Sprintf("connection %s uses plugin %s, which is not loaded (plugin missing: its file was removed or did not load)", conn, plugin),
		Detail:  map[string]any{MissingPluginDetail: plugin}}
}

// PluginMetrics, if Config.Metrics also implements it, counts plugin
// changes (installed, replaced, removed) and files that failed to load.
type PluginMetrics interface {
	PluginChanged(plugin, change string)
	PluginLoadFailed(plugin string)
}

// hotPlug is what the host knows of the files its plugins came from.
type hotPlug struct {
	mu sync.Mutex // one change at a time
	// files are the files the serving plugins were loaded from; failed
	// the files that did not load, so an unchanged one is not tried (and
	// audited) again at every rescan.
	files  map[string]fileState
	failed map[string]fileState
}

// fileState is a plugin file as last synced.
type fileState struct {
	plugin string
	size   int64
	mod    time.Time
	digest string
}

func (f fileState) sameStat(st fs.FileInfo) bool {
	return f.size == st.Size() && f.mod.Equal(st.ModTime())
}

// initHotPlug records the files the starting plugins came from.
func (h *Host) initHotPlug() {
	h.hot.files = map[string]fileState{}
	h.hot.failed = map[string]fileState{}
	for name, lp := range h.plugins.Load().byName {
		path := filepath.Clean(lp.rt.Path())
		fsx := fileState{plugin: name, digest: lp.rt.Digest()}
		if st, err := os.Stat(path); err == nil {
			fsx.size, fsx.mod = st.Size(), st.ModTime()
		}
		h.hot.files[path] = fsx
	}
	// Files that failed at start are not tried again until they change.
	for path := range h.plugins.Load().problems {
		if st, err := os.Stat(path); err == nil {
			h.hot.failed[filepath.Clean(path)] = fileState{size: st.Size(), mod: st.ModTime()}
		}
	}
}

// SyncPluginFile brings the plugin of the file at path in line with the
// file: a new file is loaded, a changed one replaces the version it had,
// a removed one unloads its plugin (its connections then show "plugin
// missing"). A file whose size, time and digest did not change is left
// alone unless force (a manifest or signature beside it changed). A file
// that fails any check leaves the previous version serving; the problem is
// kept for ListPlugins and PluginProblems, logged and counted. Owner;
// audited as plugin.install, plugin.replace or plugin.remove with the old
// and new versions and digests (failed attempts too).
func (h *Host) SyncPluginFile(ctx context.Context, c Caller, path string, force bool) (PluginChange, error) {
	if err := requireOwner(c, "changing plugins"); err != nil {
		ev := &auditEvent{op: "plugin.install", target: filepath.Base(path)}
		h.auditRefusal(ctx, c, ev, &err)
		return PluginChange{}, err
	}
	if h.cfg.Runtime == nil {
		return PluginChange{}, pluginapi.Unsupported("this host does not change its plugins while it runs")
	}
	h.hot.mu.Lock()
	defer h.hot.mu.Unlock()
	return h.syncLocked(ctx, c, filepath.Clean(path), force)
}

// SyncPluginDir syncs every .wasm file of the plugins folder and every
// file a serving plugin came from (SyncPluginFile, without force): what a
// watcher does when it may have missed events. It returns what changed.
func (h *Host) SyncPluginDir(ctx context.Context, c Caller) ([]PluginChange, error) {
	if err := requireOwner(c, "changing plugins"); err != nil {
		return nil, err
	}
	if h.cfg.Runtime == nil || h.cfg.PluginsDir == "" {
		return nil, pluginapi.Unsupported("this host has no plugins folder to follow")
	}
	h.hot.mu.Lock()
	defer h.hot.mu.Unlock()
	paths := map[string]bool{}
	entries, err := os.ReadDir(h.cfg.PluginsDir)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "read the plugins folder: %v", err)
	}
	for _, e := range entries {
		if PluginFileName(e.Name()) && !e.IsDir() {
			paths[filepath.Join(h.cfg.PluginsDir, e.Name())] = true
		}
	}
	for p := range h.hot.files {
		if inDir(h.cfg.PluginsDir, p) {
			paths[p] = true
		}
	}
	for p := range h.hot.failed {
		paths[p] = true
	}
	var out []PluginChange
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		ch, err := h.syncLocked(ctx, c, p, false)
		if err == nil && ch.Change != "unchanged" {
			out = append(out, ch)
		}
	}
	return out, nil
}

// PluginFileName reports whether a file of the plugins folder called name
// is a plugin: *.wasm, not hidden (uploads and editors write hidden
// temporary files first).
func PluginFileName(name string) bool {
	return strings.HasSuffix(name, ".wasm") && !strings.HasPrefix(name, ".") && len(name) > len(".wasm")
}

func inDir(dir, path string) bool {
	return dir != "" && filepath.Dir(path) == filepath.Clean(dir)
}

// syncLocked is SyncPluginFile with hot.mu held.
func (h *Host) syncLocked(ctx context.Context, c Caller, path string, force bool) (PluginChange, error) {
	prev, known := h.hot.files[path]
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		delete(h.hot.failed, path)
		h.dropProblem(path)
		if !known {
			return PluginChange{Change: "unchanged", File: path}, nil
		}
		return h.removeLocked(ctx, c, path, prev)
	}
	if err != nil {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugin file %s: %v", path, err)
	}
	if !force {
		if known && prev.sameStat(st) {
			return PluginChange{Change: "unchanged", Plugin: prev.plugin, File: path}, nil
		}
		if f, ok := h.hot.failed[path]; ok && f.sameStat(st) {
			return PluginChange{Change: "unchanged", File: path}, nil
		}
	}
	digest, err := fileDigest(path)
	if err != nil {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugin file %s: %v", path, err)
	}
	now := fileState{plugin: prev.plugin, size: st.Size(), mod: st.ModTime(), digest: digest}
	if known && digest == prev.digest && !force {
		h.hot.files[path] = now // touched, not changed
		return PluginChange{Change: "unchanged", Plugin: prev.plugin, File: path}, nil
	}
	return h.loadLocked(ctx, c, path, prev, known, now)
}

// loadLocked loads the file at path (its state now) and swaps it in.
func (h *Host) loadLocked(ctx context.Context, c Caller, path string, prev fileState, known bool, now fileState) (PluginChange, error) {
	set := h.plugins.Load()
	change := PluginChange{Change: "installed", File: path, NewDigest: now.digest}
	var old *loadedPlugin
	if known {
		if old = set.byName[prev.plugin]; old != nil {
			change.Change, change.OldVersion, change.OldDigest = "replaced", old.desc.Version, old.rt.Digest()
		}
	}
	ev := &auditEvent{op: "plugin.install", plugin: prev.plugin, target: cmp.Or(prev.plugin, filepath.Base(path))}
	if old != nil {
		ev.op = "plugin.replace"
	}

	p, err := h.cfg.Runtime.Prepare(ctx, path)
	var lp *loadedPlugin
	if err == nil {
		if lp, err = compilePlugin(p); err != nil {
			err = fmt.Errorf("load %s: %w", path, err)
		}
	}
	if err == nil {
		if cur := set.byName[p.Name()]; cur != nil && filepath.Clean(cur.rt.Path()) != path {
			err = pluginapi.Errorf(pluginapi.CodeConflict, "load %s: plugin name %q is already served by %s; remove that file first", path, p.Name(), cur.rt.Path())
		}
	}
	if err == nil {
		// Compile now, so that the first call of the new version does not
		// wait for the compiler.
		if err = p.Warm(ctx); err != nil {
			err = fmt.Errorf("load %s: %w", path, err)
		}
	}
	if err != nil {
		if p != nil {
			_ = p.Close(ctx)
		}
		return change, h.loadFailed(ctx, c, ev, change, now, err)
	}

	name := p.Name()
	change.Plugin, change.NewVersion = name, lp.desc.Version
	change.Hosts = append([]string{}, lp.desc.Hosts...)
	verdict := p.Trust()
	change.Signature = &verdict
	ev.plugin, ev.target, ev.targetName = name, name, name
	ev.request = change
	swapped := false
	err = h.audited(ctx, c, ev, func() (string, error) {
		next := set.clone()
		if old != nil && prev.plugin != name {
			delete(next.byName, prev.plugin) // the file now holds another plugin
		}
		next.byName[name] = lp
		delete(next.problems, path)
		next.sortNames()
		// New calls go to the new version from here; the old one, swapped
		// out of the runtime next, finishes what it runs.
		h.plugins.Store(next)
		if _, err := h.cfg.Runtime.Swap(p); err != nil {
			h.plugins.Store(set)
			return "", pluginapi.Errorf(pluginapi.CodeUnavailable, "%v", err)
		}
		swapped = true
		if old != nil && prev.plugin != name {
			h.cfg.Runtime.Retire(old.rt)
		}
		return name, nil
	})
	if !swapped {
		_ = p.Close(ctx)
		return change, err
	}
	now.plugin = name
	h.hot.files[path] = now
	delete(h.hot.failed, path)
	h.connectionChanged("") // cached listings and scrubbers were the old version's
	// A new version deserves a chance at once, not at the end of the
	// window its predecessor earned.
	for _, st := range h.breakers.ForgetPlugin(name) {
		h.log.Info("failing connection given another chance: its plugin changed", "connection", st.Connection, "plugin", name)
	}
	h.log.Info("plugin "+change.Change, "plugin", name, "version", change.NewVersion, "old_version", change.OldVersion,
		"file", path, "sha256", change.NewDigest, "old_sha256", change.OldDigest, "signed", verdict.Trusted, "actor", c.Actor)
	if m, ok := h.cfg.Metrics.(PluginMetrics); ok {
		m.PluginChanged(name, change.Change)
	}
	return change, nil
}

// loadFailed records a file that did not load: the previous version (if
// any) keeps serving. It returns the error for the caller: invalid (the
// file failed a check) unless err says otherwise.
func (h *Host) loadFailed(ctx context.Context, c Caller, ev *auditEvent, change PluginChange, now fileState, err error) error {
	path := change.File
	msg := err.Error()
	if pe := (*pluginapi.Error)(nil); errors.As(err, &pe) {
		msg = pe.Message
	}
	out := error(pluginapi.Invalid("/plugin", "%s", msg))
	if pe := (*pluginapi.Error)(nil); errors.As(err, &pe) {
		out = pe
	}
	// Audited, logged and counted before it is shown: whoever sees the
	// problem finds its entry and its count.
	ev.request = change
	_ = h.audited(ctx, c, ev, func() (string, error) { return "", out })
	if change.OldVersion != "" {
		h.log.Error("plugin file did not load; the previous version keeps serving", "plugin", ev.plugin, "version", change.OldVersion, "file", path, "err", msg)
	} else {
		h.log.Error("plugin file did not load", "file", path, "err", msg)
	}
	if m, ok := h.cfg.Metrics.(PluginMetrics); ok {
		m.PluginLoadFailed(cmp.Or(ev.plugin, filepath.Base(path)))
	}
	set := h.plugins.Load()
	next := set.clone()
	next.problems[path] = PluginProblem{File: path, Plugin: ev.plugin, Error: msg, At: time.Now().UTC()}
	h.plugins.Store(next)
	h.hot.failed[path] = now
	return out
}

// removeLocked unloads the plugin the removed file at path held.
func (h *Host) removeLocked(ctx context.Context, c Caller, path string, prev fileState) (PluginChange, error) {
	set := h.plugins.Load()
	lp := set.byName[prev.plugin]
	delete(h.hot.files, path)
	if lp == nil || filepath.Clean(lp.rt.Path()) != path {
		return PluginChange{Change: "unchanged", File: path}, nil
	}
	change := PluginChange{Change: "removed", Plugin: prev.plugin, File: path, OldVersion: lp.desc.Version, OldDigest: lp.rt.Digest()}
	ev := &auditEvent{op: "plugin.remove", plugin: prev.plugin, target: prev.plugin, targetName: prev.plugin, request: change}
	err := h.audited(ctx, c, ev, func() (string, error) {
		next := set.clone()
		delete(next.byName, prev.plugin)
		delete(next.problems, path)
		next.sortNames()
		h.plugins.Store(next)
		h.cfg.Runtime.Retire(lp.rt)
		return prev.plugin, nil
	})
	if err != nil && h.plugins.Load() == set {
		h.hot.files[path] = prev // not removed: the audit log refused
		return change, err
	}
	h.connectionChanged("")
	h.breakers.ForgetPlugin(prev.plugin)
	h.log.Info("plugin removed", "plugin", prev.plugin, "version", change.OldVersion, "file", path, "actor", c.Actor)
	if m, ok := h.cfg.Metrics.(PluginMetrics); ok {
		m.PluginChanged(prev.plugin, "removed")
	}
	return change, nil
}

func (h *Host) dropProblem(path string) {
	set := h.plugins.Load()
	if _, ok := set.problems[path]; !ok {
		return
	}
	next := set.clone()
	delete(next.problems, path)
	h.plugins.Store(next)
}

// PluginUpload is a plugin sent to the host: its .wasm and, optionally,
// its minisign signature (the .wasm.minisig file) and manifest (.json).
type PluginUpload struct {
	Wasm      []byte
	Signature []byte
	Manifest  []byte
}

// InstallPlugin writes an uploaded plugin into the plugins folder and
// loads it (SyncPluginFile): a new plugin is installed as NAME.wasm, a new
// version of a served plugin replaces its file. The upload is checked
// (wasm, describe, ABI, signature, schemas) before any file of the folder
// is touched, so a bad one changes nothing. Owner; audited.
func (h *Host) InstallPlugin(ctx context.Context, c Caller, up PluginUpload) (_ PluginChange, err error) {
	ev := &auditEvent{op: "plugin.install", target: "upload"}
	defer h.auditRefusal(ctx, c, ev, &err)
	if err := requireOwner(c, "installing a plugin"); err != nil {
		return PluginChange{}, err
	}
	if h.cfg.Runtime == nil || h.cfg.PluginsDir == "" {
		return PluginChange{}, pluginapi.Unsupported("this host has no plugins folder to install into")
	}
	if len(up.Wasm) == 0 {
		return PluginChange{}, pluginapi.Invalid("/plugin", "the upload is empty: send the plugin's .wasm file")
	}
	sum := sha256.Sum256(up.Wasm)
	digest := hex.EncodeToString(sum[:])
	ev.request = map[string]any{"new_digest": digest, "size": len(up.Wasm), "signed": len(up.Signature) > 0}

	h.hot.mu.Lock()
	defer h.hot.mu.Unlock()
	dir := filepath.Clean(h.cfg.PluginsDir)
	tmp, err := os.MkdirTemp(dir, ".upload-")
	if err != nil {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugins folder: %v", err)
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, "upload.wasm")
	files := map[string][]byte{staged: up.Wasm}
	if len(up.Signature) > 0 {
		files[staged+".minisig"] = up.Signature
	}
	if len(up.Manifest) > 0 {
		files[filepath.Join(tmp, "upload.json")] = up.Manifest
	}
	for f, b := range files {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugins folder: %v", err)
		}
	}

	// Check everything on the staged copy first.
	p, err := h.cfg.Runtime.Prepare(ctx, staged)
	if err == nil {
		_, err = compilePlugin(p)
		_ = p.Close(ctx)
	}
	if err != nil {
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "load "+staged+": "), staged, "the upload")
		bad := pluginapi.Invalid("/plugin", "the plugin was not installed: %s", msg)
		_ = h.audited(ctx, c, ev, func() (string, error) { return "", bad })
		return PluginChange{}, bad
	}
	name := p.Name()
	ev.plugin, ev.target, ev.targetName = name, name, name

	final := filepath.Join(dir, name+".wasm")
	if lp := h.plugins.Load().byName[name]; lp != nil {
		cur := filepath.Clean(lp.rt.Path())
		if !inDir(dir, cur) {
			return PluginChange{}, pluginapi.Errorf(pluginapi.CodeConflict, "plugin %s is served from %s, outside the plugins folder: replace that file instead", name, cur)
		}
		final = cur
	}
	if f, ok := h.hot.files[final]; ok && f.plugin != name {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeConflict, "%s holds plugin %s, not %s: remove it or rename the upload's plugin", final, f.plugin, name)
	}
	// Sidecars first, the module last: a watcher that looks in between
	// sees the old module (and hot.mu keeps it waiting anyway).
	sig := final + ".minisig"
	if len(up.Signature) > 0 {
		err = os.Rename(staged+".minisig", sig)
	} else if err = os.Remove(sig); errors.Is(err, fs.ErrNotExist) {
		err = nil // the old version's signature cannot be the new one's
	}
	if err == nil && len(up.Manifest) > 0 {
		err = os.Rename(filepath.Join(tmp, "upload.json"), strings.TrimSuffix(final, ".wasm")+".json")
	}
	if err == nil {
		err = os.Rename(staged, final)
	}
	if err != nil {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugins folder: %v", err)
	}
	ev.ran = true // syncLocked audits the install itself
	prev, known := h.hot.files[final]
	st, err := os.Stat(final)
	if err != nil {
		return PluginChange{}, pluginapi.Errorf(pluginapi.CodeInternal, "plugins folder: %v", err)
	}
	return h.loadLocked(ctx, c, final, prev, known, fileState{plugin: prev.plugin, size: st.Size(), mod: st.ModTime(), digest: digest})
}

// fileDigest is the sha256 (hex) of the file at path, read up to the size
// a module may have.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, io.LimitReader(f, wasmbin.MaxModuleBytes+1)); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}
