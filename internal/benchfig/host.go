package benchfig

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"
)

// Host is a whole Wharf host run in this process (host/server with the
// REST API and the portal mounted), served on loopback.
type Host struct {
	Server *server.Server
	Ops    *ops.Host
	URL    string // http://127.0.0.1:port
	API    string // URL + "/api/v1"
	served *Served
}

// Conn is a connection to create at start: a plugin and a config map.
type Conn struct {
	Name, Plugin string
	Config       map[string]any
}

// Caller is the caller every in-process figure uses: the host runs in open
// mode, where every caller is an owner.
var Caller = ops.Caller{Actor: "bench", Role: ops.RoleAdmin, ClientAddr: "127.0.0.1", RequestID: "bench"}

// StartHost runs a host with the named provider plugins and conns, with
// the compilation cache in the env's scratch folder (warm after the first
// host) and the same limits as `wharf serve`'s defaults except where a
// figure needs otherwise.
func (e *Env) StartHost(ctx context.Context, plugins []string, conns []Conn) (*Host, error) {
	pdir, err := e.PluginsDir(plugins...)
	if err != nil {
		return nil, err
	}
	return e.StartHostDir(ctx, pdir, conns)
}

// StartHostDir is StartHost with the plugins of the folder pdir.
func (e *Env) StartHostDir(ctx context.Context, pdir string, conns []Conn) (*Host, error) {
	data, err := os.MkdirTemp(e.Scratch, "data-")
	if err != nil {
		return nil, err
	}
	var cs []connstore.Connection
	for _, c := range conns {
		b, err := json.Marshal(c.Config)
		if err != nil {
			return nil, err
		}
		cs = append(cs, connstore.Connection{Name: c.Name, Plugin: c.Plugin, Config: b})
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := server.New(ctx, server.Config{
		DataDir:     data,
		PluginsDir:  pdir,
		Runtime:     runtime.Config{CacheDir: filepath.Join(e.Scratch, "cache")},
		Egress:      egress.Options{DefaultTimeout: 10 * time.Second},
		Connections: cs,
		Faces:       []server.Face{api.Face(api.Options{Logger: quiet}), web.Face(web.Options{Logger: quiet})},
		Logger:      quiet,
	})
	if err != nil {
		return nil, err
	}
	if len(srv.LoadErrors) > 0 {
		_ = srv.Close(ctx)
		return nil, fmt.Errorf("plugins failed to load: %v", srv.LoadErrors)
	}
	s, err := Serve(srv.Handler())
	if err != nil {
		_ = srv.Close(ctx)
		return nil, err
	}
	return &Host{Server: srv, Ops: srv.Host, URL: s.URL, API: s.URL + api.Prefix, served: s}, nil
}

// Close stops serving and closes the host.
func (h *Host) Close() error {
	_ = h.served.Close()
	return h.Server.Close(context.Background())
}
