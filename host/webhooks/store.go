package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

// Delivery statuses.
const (
	// StatusPending: waiting for its first attempt or a retry (or one is
	// under way). Pending deliveries are retried after a restart.
	StatusPending = "pending"
	// StatusDelivered: the receiver answered 2xx.
	StatusDelivered = "delivered"
	// StatusFailed: given up: an answer that retrying will not change
	// (a 4xx but 408 and 429, a redirect) or every attempt failed.
	StatusFailed = "failed"
	// StatusDropped: never sent: the subscription's queue or retry set
	// overflowed (the receiver is too slow or down too long).
	StatusDropped = "dropped"
)

// Delivery is one event's delivery to one subscription, as the delivery
// log keeps it.
type Delivery struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	// Attempts made so far.
	Attempts int `json:"attempts"`
	// HTTPStatus is the receiver's answer to the last attempt (0: none).
	HTTPStatus int `json:"http_status,omitempty"`
	// Error says why the last attempt failed, or why it was dropped.
	Error string `json:"error,omitempty"`
	// DurationMS is how long the last attempt took.
	DurationMS float64   `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// NextAttempt is when a pending delivery is tried again.
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
}

var migrations = []store.Step{{
	SQLite: `CREATE TABLE webhook_deliveries (
		id           TEXT PRIMARY KEY,
		subscription TEXT NOT NULL,
		event_id     TEXT NOT NULL,
		event_type   TEXT NOT NULL,
		payload      TEXT NOT NULL,
		status       TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		http_status  INTEGER NOT NULL DEFAULT 0,
		error        TEXT NOT NULL DEFAULT '',
		duration_ns  INTEGER NOT NULL DEFAULT 0,
		created_ns   INTEGER NOT NULL,
		updated_ns   INTEGER NOT NULL,
		next_ns      INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription, created_ns);
	CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status) WHERE status = 'pending';`,
	Postgres: `CREATE TABLE webhook_deliveries (
		id           TEXT PRIMARY KEY,
		subscription TEXT NOT NULL,
		event_id     TEXT NOT NULL,
		event_type   TEXT NOT NULL,
		payload      TEXT NOT NULL,
		status       TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		http_status  INTEGER NOT NULL DEFAULT 0,
		error        TEXT NOT NULL DEFAULT '',
		duration_ns  BIGINT NOT NULL DEFAULT 0,
		created_ns   BIGINT NOT NULL,
		updated_ns   BIGINT NOT NULL,
		next_ns      BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription, created_ns);
	CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status) WHERE status = 'pending';`,
}}

// dbTimeout bounds each statement of the delivery log.
const dbTimeout = 10 * time.Second

// deliveryLog is the webhook_deliveries table.
type deliveryLog struct {
	db *store.DB
}

func openLog(ctx context.Context, db *sql.DB) (*deliveryLog, error) {
	h, err := store.For(db, "webhooks")
	if err != nil {
		return nil, err
	}
	if err := h.Migrate(ctx, migrations); err != nil {
		return nil, err
	}
	return &deliveryLog{db: h}, nil
}

// pending is a delivery to be attempted: its row's key and what a retry
// needs.
type pending struct {
	id, sub       string
	eventID, typ  string
	body          []byte
	attempts      int
	created, next time.Time
	lastStatus    int
	lastErr       string
	lastTook      time.Duration
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), dbTimeout)
}

// insert records a new delivery as status (pending, or dropped with why).
func (l *deliveryLog) insert(ctx context.Context, p *pending, status, why string, now time.Time) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := l.db.ExecContext(ctx, `INSERT INTO webhook_deliveries
		(id, subscription, event_id, event_type, payload, status, attempts, error, created_ns, updated_ns, next_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.id, p.sub, p.eventID, p.typ, string(p.body), status, p.attempts, why, nanos(p.created), nanos(now), nanos(p.next))
	return err
}

// claim takes a pending delivery for its next attempt: the attempt count
// moves on only if nobody (another replica) took this one already, and
// the next attempt time becomes a lease, so that a replica that dies in
// the middle leaves the delivery to be retried at the next start.
func (l *deliveryLog) claim(ctx context.Context, p *pending, now, lease time.Time) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	res, err := l.db.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, updated_ns = ?, next_ns = ?
		WHERE id = ? AND attempts = ? AND status = 'pending'`, nanos(now), nanos(lease), p.id, p.attempts)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// finish records the outcome of an attempt.
func (l *deliveryLog) finish(ctx context.Context, p *pending, status string, now time.Time) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := l.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, http_status = ?, error = ?, duration_ns = ?,
		updated_ns = ?, next_ns = ? WHERE id = ?`,
		status, p.lastStatus, p.lastErr, int64(p.lastTook), nanos(now), nanos(p.next), p.id)
	return err
}

// drop marks a pending delivery dropped.
func (l *deliveryLog) drop(ctx context.Context, id, why string, now time.Time) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := l.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'dropped', error = ?, updated_ns = ?, next_ns = 0
		WHERE id = ? AND status = 'pending'`, why, nanos(now), id)
	return err
}

// trim keeps the newest keep deliveries of a subscription that are done
// (pending ones are kept whatever their age).
func (l *deliveryLog) trim(ctx context.Context, sub string, keep int) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := l.db.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE subscription = ? AND status <> 'pending'
		AND created_ns < (SELECT created_ns FROM webhook_deliveries WHERE subscription = ?
			ORDER BY created_ns DESC LIMIT 1 OFFSET ?)`, sub, sub, keep-1)
	return err
}

// forgetOthers removes the deliveries of subscriptions no longer
// configured; it returns how many.
func (l *deliveryLog) forgetOthers(ctx context.Context, names []string) (int64, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	q := `DELETE FROM webhook_deliveries`
	args := make([]any, len(names))
	if len(names) > 0 {
		q += ` WHERE subscription NOT IN (?` + repeat(", ?", len(names)-1) + `)`
		for i, n := range names {
			args[i] = n
		}
	}
	res, err := l.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// pendingOf returns up to limit pending deliveries of sub, oldest first,
// and how many more there are.
func (l *deliveryLog) pendingOf(ctx context.Context, sub string, limit int) ([]*pending, int, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	rows, err := l.db.QueryContext(ctx, `SELECT id, event_id, event_type, payload, attempts, created_ns, next_ns
		FROM webhook_deliveries WHERE status = 'pending' AND subscription = ? ORDER BY created_ns, id`, sub)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*pending
	more := 0
	for rows.Next() {
		if len(out) >= limit {
			more++
			continue
		}
		p := &pending{sub: sub}
		var body string
		var created, next int64
		if err := rows.Scan(&p.id, &p.eventID, &p.typ, &body, &p.attempts, &created, &next); err != nil {
			return nil, 0, err
		}
		p.body, p.created, p.next = []byte(body), fromNanos(created), fromNanos(next)
		out = append(out, p)
	}
	return out, more, rows.Err()
}

const deliveryColumns = `id, event_id, event_type, status, attempts, http_status, error, duration_ns,
	created_ns, updated_ns, next_ns`

func scanDelivery(r interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var took, created, updated, next int64
	if err := r.Scan(&d.ID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.HTTPStatus, &d.Error, &took,
		&created, &updated, &next); err != nil {
		return Delivery{}, err
	}
	d.DurationMS = float64(took) / 1e6
	d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(updated)
	if next != 0 && d.Status == StatusPending {
		t := fromNanos(next)
		d.NextAttempt = &t
	}
	return d, nil
}

// latest returns a subscription's newest deliveries, newest first.
func (l *deliveryLog) latest(ctx context.Context, sub string, limit int) ([]Delivery, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	rows, err := l.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE subscription = ? ORDER BY created_ns DESC, id DESC LIMIT ?`, sub, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// errNoDelivery: the delivery is not (or no longer) in the log.
var errNoDelivery = errors.New("not in the delivery log")

// one returns a delivery of sub by id.
func (l *deliveryLog) one(ctx context.Context, sub, id string) (Delivery, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	d, err := scanDelivery(l.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE subscription = ? AND id = ?`, sub, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("delivery %s: %w", id, errNoDelivery)
	}
	return d, err
}
