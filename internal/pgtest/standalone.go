package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Standalone is a throwaway cluster for a program outside go test (the
// benchmark suite): like the tests' cluster — initdb into a new folder,
// loopback TCP on a free port, trust authentication for the superuser
// "postgres" — but durable (fsync and full-page writes on, so a commit
// it acknowledges has reached the disk) and owned by the caller, who
// stops it with Stop.
type Standalone struct {
	c     *cluster
	admin *sql.DB
	seq   atomic.Int64
}

// StartStandalone starts a durable cluster in a new folder in dir ("" is
// the system's temporary folder; when running as root, every folder on
// the way must be searchable by the postgres user). Without PostgreSQL
// installed its error wraps ErrNotInstalled. If the program dies without
// Stop, the postmaster gets SIGQUIT and a later start removes the folder
// when dir is "".
func StartStandalone(dir string) (*Standalone, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c, err := startClusterWith(bin, clusterOptions{parent: dir, durable: true})
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(c.url("postgres"))
	if err != nil {
		c.stop()
		return nil, err
	}
	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(2)
	return &Standalone{c: c, admin: admin}, nil
}

// NewDatabase creates a new, empty UTF-8 database and returns its URL
// and a func that drops it (closing any connection still on it).
func (s *Standalone) NewDatabase(ctx context.Context) (dsn string, drop func() error, err error) {
	name := fmt.Sprintf("bench_%d", s.seq.Add(1))
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		return "", nil, fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.ExecContext(ctx, `DROP DATABASE "`+name+`" WITH (FORCE)`); err != nil {
			return fmt.Errorf("pgtest: drop database %s: %w", name, err)
		}
		return nil
	}
	return s.c.url(name), drop, nil
}

// Setting is the value of one server setting (SHOW name), for reports.
func (s *Standalone) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.admin.QueryRowContext(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

// Stop shuts the cluster down and removes its folder.
func (s *Standalone) Stop() error {
	s.admin.Close()
	return s.c.stop()
}
