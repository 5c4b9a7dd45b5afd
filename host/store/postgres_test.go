package store

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pgtest"
)

func TestIsPostgresURL(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://db/wharf":      true,
		"postgresql://u@db/wharf":  true,
		"POSTGRES://db/wharf":      true,
		"/var/lib/wharf/wharf.db":  false,
		"wharf.db":                 false,
		"postgres.db":              false,
		"./postgres://x":           false,
		"sqlite:/data/wharf.db":    false,
		"file:///data/wharf.db?x=": false,
	} {
		if got := IsPostgresURL(dsn); got != want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://wharf:hunter2@db:5432/wharf?sslmode=require": "postgres://wharf:xxxxx@db:5432/wharf?sslmode=require",
		"postgres://db/wharf?password=hunter2&sslmode=disable":   "postgres://db/wharf?password=xxxxx&sslmode=disable",
		"postgres://wharf@db/wharf":                              "postgres://wharf@db/wharf",
		"postgres://wharf:hunter2@db:port/wharf":                 "postgres://(unparsable URL)",
		"/data/wharf.db":                                         "/data/wharf.db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenPostgresSessionSettings(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	db := open(t, dsn)
	if s := db.Stats(); s.MaxOpenConnections != MaxOpenConns {
		t.Errorf("pool bound %d, want %d", s.MaxOpenConnections, MaxOpenConns)
	}
	// Every connection of the pool has the lock timeout, not just one.
	for i := range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var got string
		if err := c.QueryRowContext(ctx, `SHOW lock_timeout`).Scan(&got); err != nil || got != "10s" {
			t.Errorf("conn %d: lock_timeout %q (%v), want 10s (BusyTimeout)", i, got, err)
		}
	}
	// The URL's own setting wins.
	var got string
	if err := open(t, dsn+"&lock_timeout=2500").QueryRow(`SHOW lock_timeout`).Scan(&got); err != nil || got != "2500ms" {
		t.Errorf("lock_timeout from the URL: %q (%v), want 2500ms", got, err)
	}
	// The scheme's case does not matter.
	if _, err := Open("POSTGRES" + strings.TrimPrefix(dsn, "postgres")); err != nil {
		t.Errorf("upper-case scheme: %v", err)
	}
}

func TestOpenPostgresRefusals(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	// Nobody listens: the error names the server without the password.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, bad := range []string{
		"postgres://wharf:hunter2@" + closed + "/wharf?sslmode=disable",
		"postgres://wharf:hunter2@db:notaport/wharf",
		"postgres://wharf@" + closed + "/wharf?sslmode=disable&password=hunter2",
	} {
		db, err := Open(bad)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%s) succeeded", bad)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}

	// A database that does not keep text in UTF-8 is refused.
	db := open(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE DATABASE ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.ExecContext(ctx, `DROP DATABASE ascii WITH (FORCE)`) })
	u.Path = "/ascii"
	if adb, err := Open(u.String()); err == nil || !strings.Contains(err.Error(), "want UTF8") {
		if err == nil {
			adb.Close()
		}
		t.Errorf("a SQL_ASCII database: %v, want a refusal naming UTF8", err)
	}
}
