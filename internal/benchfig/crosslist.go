package benchfig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/host/ops"
)

// ListEnv is figure 8: a host with five connections, each to its own Docker
// emulator seeded with PerConn services.
type ListEnv struct {
	Host    *Host
	Dockers []*Docker
	PerConn int
	client  *http.Client
}

// ListConns is the number of connections of figure 8.
const ListConns = 5

// NewListEnv seeds ListConns emulators with perConn services each and
// starts a host connected to all of them.
func (e *Env) NewListEnv(ctx context.Context, perConn int) (*ListEnv, error) {
	l := &ListEnv{PerConn: perConn, client: NativeClient()}
	var conns []Conn
	for i := 0; i < ListConns; i++ {
		d, err := StartDocker(dockeremuOptions())
		if err != nil {
			l.Close()
			return nil, err
		}
		l.Dockers = append(l.Dockers, d)
		if err := d.CreateServices(fmt.Sprintf("svc%d", i), perConn, 1); err != nil {
			l.Close()
			return nil, err
		}
		conns = append(conns, Conn{Name: fmt.Sprintf("bench-swarm-%d", i), Plugin: "docker", Config: d.Config()})
	}
	h, err := e.StartHost(ctx, []string{"docker"}, conns)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.Host = h
	return l, nil
}

// Close stops the host and the emulators.
func (l *ListEnv) Close() {
	if l.Host != nil {
		_ = l.Host.Close()
	}
	for _, d := range l.Dockers {
		_ = d.Close()
	}
}

// OpsFirstPage is figure 8's work: the first page of the merged list
// through the operations layer; it checks the total and that no
// connection failed.
func (l *ListEnv) OpsFirstPage(ctx context.Context) error {
	p, err := l.Host.Ops.ListAllServices(ctx, Caller, ops.ListAllOptions{})
	if err != nil {
		return err
	}
	return l.check(p)
}

// APIFirstPage is the same through GET /api/v1/services.
func (l *ListEnv) APIFirstPage(context.Context) error {
	resp, err := l.client.Get(l.Host.API + "/services")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	var p ops.AllServicesPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return err
	}
	return l.check(&p)
}

func (l *ListEnv) check(p *ops.AllServicesPage) error {
	if len(p.Errors) > 0 {
		return fmt.Errorf("connection %s failed: %v", p.Errors[0].Connection, p.Errors[0].Error)
	}
	if want := ListConns * l.PerConn; p.Total != want {
		return fmt.Errorf("total %d services, want %d", p.Total, want)
	}
	if len(p.Services) == 0 {
		return fmt.Errorf("empty first page")
	}
	return nil
}

// Forget waits until the operations layer's listings are older than
// ops.ListCacheTTL, so that the next first page is a cold one.
func (l *ListEnv) Forget() { time.Sleep(ops.ListCacheTTL + 100*time.Millisecond) }
