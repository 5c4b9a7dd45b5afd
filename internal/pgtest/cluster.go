package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinEnv names a folder holding initdb and postgres, to use instead of
// the newest /usr/lib/postgresql/<version>/bin.
const BinEnv = "WHARF_POSTGRES_BIN"

const (
	dirPrefix    = "wharf-pgtest-"
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	portTries    = 5
)

type binaries struct{ initdb, postgres string }

// findBinaries looks in $WHARF_POSTGRES_BIN, then Debian's
// /usr/lib/postgresql/<version>/bin (newest version first), then PATH.
func findBinaries() (binaries, error) {
	var dirs []string
	if d := os.Getenv(BinEnv); d != "" {
		dirs = append(dirs, d)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) })
	dirs = append(dirs, found...)
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		b := binaries{filepath.Join(d, "initdb"), filepath.Join(d, "postgres")}
		if executable(b.initdb) && executable(b.postgres) {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf("%w in $%s, /usr/lib/postgresql/*/bin or PATH (apt-get install postgresql)", ErrNotInstalled, BinEnv)
}

// version is the <version> of /usr/lib/postgresql/<version>/bin, 0 if none.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// cluster is a running postmaster and its folder.
type cluster struct {
	dir, data string
	port      int
	durable   bool // fsync and full-page writes on
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the postmaster exits
}

// clusterOptions shape startClusterWith.
type clusterOptions struct {
	parent  string // folder to make the cluster's folder in; "" is os.TempDir
	durable bool   // fsync and full-page writes on (a benchmark of durable commits)
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// startCluster runs initdb into a new temporary folder and starts a
// postmaster on it: loopback TCP on a free port, the unix socket in the
// folder, fsync off (a test cluster need not survive a power cut).
func startCluster(bin binaries) (*cluster, error) {
	return startClusterWith(bin, clusterOptions{})
}

// startClusterWith is startCluster in o.parent, durable if o.durable.
func startClusterWith(bin binaries, o clusterOptions) (*cluster, error) {
	removeStale()
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	if cred != nil && o.parent != "" {
		if err := searchable(o.parent); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(o.parent, dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, data: filepath.Join(dir, "data"), durable: o.durable}
	fail := func(err error) (*cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	// Who made the folder, for removeStale.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fail(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	initLog := filepath.Join(dir, "initdb.log")
	if err := run(cred, initLog, bin.initdb, "-D", c.data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, tail(initLog)))
	}
	for try := 1; ; try++ {
		err := c.startPostmaster(bin, cred)
		if err == nil {
			return c, nil
		}
		if try == portTries || !strings.Contains(tail(c.logPath()), "could not bind") {
			return fail(err)
		}
		// Another process took the port between our probe and the bind.
	}
}

func (c *cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

func (c *cluster) startPostmaster(bin binaries, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logf, err := os.Create(c.logPath())
	if err != nil {
		return err
	}
	defer logf.Close()
	sync := "off"
	if c.durable {
		sync = "on"
	}
	cmd := exec.Command(bin.postgres, "-D", c.data, "-k", c.dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync="+sync, "-c", "full_page_writes="+sync,
		"-c", "max_connections=300",
		// Databases live for one test: nothing to vacuum, and the
		// launcher's rounds only slow CREATE DATABASE down.
		"-c", "autovacuum=off",
		"-c", "log_min_messages=warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT (immediate shutdown) if this test binary dies without
	// stopping it: no postmaster outlives its test run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()
	if err := c.waitReady(); err != nil {
		c.halt()
		return fmt.Errorf("postgres: %w\n%s", err, tail(c.logPath()))
	}
	return nil
}

// waitReady polls until the server accepts a connection.
func (c *cluster) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("exited while starting: %v", c.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %v", startTimeout, last)
}

// stop stops the postmaster and removes the folder.
func (c *cluster) stop() error {
	err := c.halt()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// halt shuts the postmaster down: fast shutdown, then SIGKILL after
// stopTimeout.
func (c *cluster) halt() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
		return nil
	case <-time.After(stopTimeout):
		c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("postgres did not stop within %s: killed", stopTimeout)
	}
}

// searchable checks that the postgres user (who runs the cluster when
// this runs as root) can reach a folder in dir: every folder from the
// root down must be searchable by others. os.MkdirTemp makes 0700
// folders, which it cannot enter.
func searchable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgtest: cluster folder: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgtest: cluster folder %s: %s (mode %v) is not searchable by the postgres user the cluster runs as; use a folder under /tmp or \"\"", dir, d, fi.Mode().Perm())
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// runAs is the postgres user's credential when running as root (initdb
// and postgres refuse root), nil otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to run the cluster as (Debian's postgresql package makes one): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// run runs a command as cred, its output to logPath.
func run(cred *syscall.Credential, logPath, name string, args ...string) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// removeStale removes the folders of earlier test binaries that died
// without cleaning up (their postmaster got SIGQUIT and exited). A folder
// whose owner process still runs is another test binary's, and is left.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue // not ours, or still being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) || alive(postmasterPID(d)) {
			continue
		}
		os.RemoveAll(d)
	}
}

// postmasterPID is the pid in a cluster folder's postmaster.pid, 0 if none.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
