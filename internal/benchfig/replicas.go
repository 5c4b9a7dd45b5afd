package benchfig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

// ReplicaEnv is figure 10: real `wharf serve` processes, replicas on one
// PostgreSQL database, each with the docker plugin and the same
// connection (from one --config file) to one Docker emulator holding a
// running service "web-00000".
type ReplicaEnv struct {
	Procs  []*Proc
	Docker *Docker
	DSN    string
	Conn   string
	ID     string
	client *http.Client
	next   atomic.Uint64
	drop   func() error
}

// NewReplicaEnv starts the emulator and n replicas on a fresh database of
// the env's cluster. The replicas share what every replica must (README,
// "Running several replicas on PostgreSQL"): the connections key
// (--connections-key-file) and the audit chain key (audit-chain.key in
// each data folder); each has its own data folder. It returns once every
// replica has compiled the plugin into its cache and answers the get.
func (e *Env) NewReplicaEnv(ctx context.Context, n int) (_ *ReplicaEnv, err error) {
	pg, err := e.Postgres()
	if err != nil {
		return nil, err
	}
	r := &ReplicaEnv{Conn: "bench-swarm", ID: "web-00000", client: NativeClient()}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.DSN, r.drop, err = pg.NewDatabase(ctx); err != nil {
		return nil, err
	}
	if r.Docker, err = StartDocker(dockeremuOptions()); err != nil {
		return nil, err
	}
	if err := r.Docker.CreateServices("web", 1, 2); err != nil {
		return nil, err
	}
	pdir, err := e.PluginsDir("docker")
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(e.Scratch, fmt.Sprintf("connections-%d.key", time.Now().UnixNano()))
	if err := os.WriteFile(keyFile, []byte(randomHex()+"\n"), 0o600); err != nil {
		return nil, err
	}
	chainKey := randomHex() + "\n"
	for i := range n {
		data, err := os.MkdirTemp(e.Scratch, fmt.Sprintf("replica%d-", i))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(data, audit.ChainKeyFile), []byte(chainKey), 0o600); err != nil {
			return nil, err
		}
		// One at a time: the first creates the schema and the connection,
		// as a rolling deployment would.
		p, err := e.StartProc(ctx, ProcOptions{DataDir: data, PluginsDir: pdir, Plugins: 1,
			Conns: []Conn{{Name: r.Conn, Plugin: "docker", Config: r.Docker.Config()}},
			Args:  []string{"--database", r.DSN, "--connections-key-file", keyFile}})
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		r.Procs = append(r.Procs, p)
	}
	for i, p := range r.Procs {
		// A first start compiles the plugin in the background; wait it
		// out so the windows measure serving, not compiling.
		if err := p.WaitCompiled(ctx, 1, 2*time.Minute); err != nil {
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		if err := r.waitRunning(i); err != nil {
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
	}
	return r, nil
}

// randomHex is a fresh 32-byte key in the hex form key files take.
func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitRunning polls replica i until the service reads as running.
func (r *ReplicaEnv) waitRunning(i int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := r.Get(i)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service never read as running: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Get is one REST get of the service through replica i, its answer
// decoded; a service that is not running is an error.
func (r *ReplicaEnv) Get(i int) error {
	resp, err := r.client.Get(r.Procs[i].URL + "/api/v1/connections/" + r.Conn + "/services/" + r.ID)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("replica %d: %s: %s", i, resp.Status, b)
	}
	var svc pluginapi.Service
	if err := json.NewDecoder(resp.Body).Decode(&svc); err != nil {
		return fmt.Errorf("replica %d: %w", i, err)
	}
	if svc.Name != r.ID || svc.Status != pluginapi.StatusRunning {
		return fmt.Errorf("replica %d: got service %q, %s", i, svc.Name, svc.Status)
	}
	return nil
}

// OneGet is figure 10's single-replica side: every get through the first
// replica.
func (r *ReplicaEnv) OneGet(context.Context) error { return r.Get(0) }

// SpreadGet is figure 10's measured side: gets spread round-robin over
// every replica, one request each in turn, as a load balancer would.
func (r *ReplicaEnv) SpreadGet(context.Context) error {
	return r.Get(int(r.next.Add(1) % uint64(len(r.Procs))))
}

// Requests is how many requests the emulator has served, for a check
// that every get reached the platform.
func (r *ReplicaEnv) Requests() int64 { return r.Docker.Requests() }

// Close stops the replicas and the emulator and drops the database.
func (r *ReplicaEnv) Close() error {
	for _, p := range r.Procs {
		p.Stop()
	}
	var err error
	if r.Docker != nil {
		err = r.Docker.Close()
	}
	if r.drop != nil {
		err = errors.Join(err, r.drop())
	}
	return err
}
