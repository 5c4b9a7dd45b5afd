package connstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// Channel is the PostgreSQL notification channel of connection changes.
// Each notice's payload is "<generation> <connection name>".
const Channel = "wharf_connections"

// pgChangeTrigger makes every change to a connection row, whoever makes
// it, bump the generation and send a notice in the change's own
// transaction: PostgreSQL delivers it on commit only, and the generation
// row's lock orders the commits, so generations arrive in order.
const pgChangeTrigger = `CREATE TABLE connections_generation (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	gen BIGINT NOT NULL
);
INSERT INTO connections_generation (one, gen) VALUES (1, 1);
CREATE FUNCTION wharf_connections_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	g BIGINT;
	n TEXT;
BEGIN
	UPDATE connections_generation SET gen = gen + 1 RETURNING gen INTO g;
	IF TG_OP = 'DELETE' THEN n := OLD.name; ELSE n := NEW.name; END IF;
	PERFORM pg_notify('wharf_connections', g::text || ' ' || n);
	IF TG_OP = 'UPDATE' AND OLD.name <> NEW.name THEN
		PERFORM pg_notify('wharf_connections', g::text || ' ' || OLD.name);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER connections_changed AFTER INSERT OR UPDATE OR DELETE ON connections
	FOR EACH ROW EXECUTE FUNCTION wharf_connections_changed();`

// Generation grows with every change to any connection and every Touch,
// on PostgreSQL; on SQLite (one process) it is always 0.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	if s.db.Dialect() != store.Postgres {
		return 0, nil
	}
	var g int64
	if err := s.db.QueryRowContext(ctx, `SELECT gen FROM connections_generation`).Scan(&g); err != nil {
		return 0, fmt.Errorf("connstore: generation: %w", err)
	}
	return g, nil
}

// Touch tells the other replicas that something about the connection
// called name changed outside this store (its services, on the
// platform), so they drop what they keep of it. A no-op on SQLite.
func (s *Store) Touch(ctx context.Context, name string) error {
	if s.db.Dialect() != store.Postgres {
		return nil
	}
	if !ValidName(name) {
		return pluginapi.Invalid("/name", "connection name %q is not valid", name)
	}
	_, err := s.db.ExecContext(ctx, `WITH g AS (UPDATE connections_generation SET gen = gen + 1 RETURNING gen)
		SELECT pg_notify('`+Channel+`', gen::text || ' ' || ?) FROM g`, name)
	if err != nil {
		return fmt.Errorf("connstore: touch %s: %w", name, err)
	}
	return nil
}

// Watch bounds of the listener's reconnect backoff.
const (
	watchRetryMin = 100 * time.Millisecond
	watchRetryMax = 5 * time.Second
)

// Watch calls changed with the name of each connection another replica
// (or this one) changed or touched, until ctx ends; changed("") means
// "any of them": a notice may have been missed. It returns at once on
// SQLite, where there is one process.
//
// One connection of the pool LISTENs (reconnecting with backoff when it
// breaks); beside it the generation is read every poll, and after each
// (re)connect, so a notice lost with a broken listener costs at most one
// poll interval: a change committed at time t reaches changed by
// t + poll (plus a query) while the database answers. changed runs on
// Watch's goroutines and must be quick.
func (s *Store) Watch(ctx context.Context, poll time.Duration, changed func(name string)) error {
	if s.db.Dialect() != store.Postgres {
		return nil
	}
	if poll <= 0 {
		return errors.New("connstore: watch: poll interval must be positive")
	}
	// Unreadable now, 0: the first catch-up then reports "" (harmless).
	seen, _ := s.Generation(ctx)
	w := &watcher{s: s, changed: changed, seen: seen}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.pollLoop(ctx, poll)
	}()
	retry := watchRetryMin
	for ctx.Err() == nil {
		start := time.Now()
		err := w.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(start) > watchRetryMax {
			retry = watchRetryMin // it had been working: retry soon
		}
		_ = err // not logged here: the poll keeps the bound meanwhile
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
		retry = min(2*retry, watchRetryMax)
	}
	<-done
	return nil
}

// watcher is one Watch's state: the highest generation accounted for.
type watcher struct {
	s       *Store
	changed func(string)
	mu      sync.Mutex
	seen    int64
}

// catchUp reads the generation and, if it moved past what notices told,
// reports every connection changed.
func (w *watcher) catchUp(ctx context.Context, read func(context.Context) (int64, error)) {
	g, err := read(ctx)
	if err != nil {
		return // the next poll tries again
	}
	w.mu.Lock()
	missed := g > w.seen
	if missed {
		w.seen = g
	}
	w.mu.Unlock()
	if missed {
		w.changed("")
	}
}

// notice handles one payload, "<generation> <name>".
func (w *watcher) notice(payload string) {
	gs, name, ok := strings.Cut(payload, " ")
	g, err := strconv.ParseInt(gs, 10, 64)
	if !ok || err != nil || !ValidName(name) {
		w.changed("") // not ours: be safe
		return
	}
	w.mu.Lock()
	w.seen = max(w.seen, g)
	w.mu.Unlock()
	w.changed(name)
}

func (w *watcher) pollLoop(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.catchUp(ctx, w.s.Generation)
		}
	}
}

// listen holds one listening connection until it breaks or ctx ends. The
// connection is always discarded after (driver.ErrBadConn), never given
// back to the pool still listening.
func (w *watcher) listen(ctx context.Context) error {
	conn, err := w.s.db.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connstore: watch: not a pgx connection (%T)", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
			return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
		// Listening now: whatever committed before is in the generation.
		w.catchUp(ctx, func(ctx context.Context) (int64, error) {
			var g int64
			err := pc.QueryRow(ctx, `SELECT gen FROM connections_generation`).Scan(&g)
			return g, err
		})
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
			}
			if n.Channel == Channel {
				w.notice(n.Payload)
			}
		}
	})
}
