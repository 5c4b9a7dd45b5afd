package audit

import (
	"context"
	"fmt"
	"time"
)

// Writers and recovery.
//
// An operation's start row is written before the plugin runs and its
// finish row after, so a start without a finish is either still running
// or was left by a process that stopped in the middle (a crash, kill -9).
// Only the second kind may be finished as "interrupted" by recovery, and on
// a database shared by replicas the two look alike unless each start row
// says who wrote it. So every start row names its writer (the Log's
// signer id, which stays the same when a replica restarts on its data
// folder) and every Log keeps a heartbeat in audit_writers. An unfinished
// start is an orphan when
//
//   - its writer is this Log, and it was written before this Log opened
//     (by this replica's previous run), or
//   - its writer is another whose heartbeat is older than WriterTimeout,
//     or who has none: a replica that stopped (a clean stop zeroes its
//     heartbeat), or a row written before writers were recorded.
//
// Nothing else is touched, however long it runs.

// heartbeats per WriterTimeout: one missed beat is not yet a timeout.
const beatsPerTimeout = 3

// WriterID is the name this Log writes on its start rows.
func (l *Log) WriterID() string { return l.writerID }

// startHeartbeat records this writer as alive and keeps it so until
// stopHeartbeat.
func (l *Log) startHeartbeat(ctx context.Context) error {
	l.writerTimeout = l.opts.WriterTimeout
	if l.writerTimeout == 0 {
		l.writerTimeout = DefaultWriterTimeout
	}
	if err := l.beat(ctx, time.Now()); err != nil {
		return fmt.Errorf("writer heartbeat: %w", err)
	}
	l.hbStop, l.hbDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.hbDone)
		t := time.NewTicker(l.writerTimeout / beatsPerTimeout)
		defer t.Stop()
		for {
			select {
			case <-l.hbStop:
				return
			case now := <-t.C:
				// A failed beat is retried at the next tick; after
				// WriterTimeout of them others may recover this
				// writer's unfinished operations, whose own finishes
				// then fail with a conflict.
				bctx, cancel := context.WithTimeout(context.Background(), l.writerTimeout/beatsPerTimeout)
				l.beat(bctx, now)
				cancel()
			}
		}
	}()
	return nil
}

func (l *Log) beat(ctx context.Context, now time.Time) error {
	_, err := l.h.ExecContext(ctx, `INSERT INTO audit_writers (writer, heartbeat_ns) VALUES (?, ?)
		ON CONFLICT (writer) DO UPDATE SET heartbeat_ns = excluded.heartbeat_ns`, l.writerID, now.UnixNano())
	return err
}

// stopHeartbeat ends the heartbeat and marks this writer stopped, so
// whatever it left unfinished can be recovered at once. It runs after the
// writer has committed everything queued.
func (l *Log) stopHeartbeat() error {
	if l.hbStop == nil {
		return nil
	}
	close(l.hbStop)
	<-l.hbDone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.h.ExecContext(ctx, `UPDATE audit_writers SET heartbeat_ns = 0 WHERE writer = ?`, l.writerID)
	return err
}

// orphanCut is the condition Orphans adds to a query.
type orphanCut struct {
	writer   string
	openHead int64
	cutoffNS int64 // heartbeats older than this are timed out
}

func (o *orphanCut) sql() (string, []any) {
	return `NOT (s.writer = ? AND s.id > ?) AND s.writer NOT IN
		(SELECT writer FROM audit_writers WHERE heartbeat_ns >= ? AND writer <> ?)`,
		[]any{o.writer, o.openHead, o.cutoffNS, o.writer}
}

// Orphans lists up to limit operations started but never finished whose
// writer can no longer finish them (see above), oldest first, without
// their requests; more reports that others are left.
func (l *Log) Orphans(ctx context.Context, limit int) (entries []Entry, more bool, err error) {
	cut := &orphanCut{writer: l.writerID, openHead: l.openHead,
		cutoffNS: time.Now().Add(-l.writerTimeout).UnixNano()}
	f := Filter{Outcome: OutcomeIncomplete, Limit: MaxLimit, orphans: cut}
	for len(entries) <= limit {
		page, err := l.Query(ctx, f)
		if err != nil {
			return nil, false, err
		}
		for _, e := range page {
			e.Request = nil
			entries = append(entries, e)
		}
		if len(page) < MaxLimit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	if more = len(entries) > limit; more {
		entries = entries[:limit]
	}
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, more, nil
}

// TimedOutWriters lists the other writers whose heartbeat is older than
// WriterTimeout: while there are any, some operations may wait for
// recovery. After their orphans are finished, ForgetWriters drops them.
func (l *Log) TimedOutWriters(ctx context.Context) ([]string, error) {
	rows, err := l.h.QueryContext(ctx, `SELECT writer FROM audit_writers WHERE heartbeat_ns < ? AND writer <> ? ORDER BY writer`,
		time.Now().Add(-l.writerTimeout).UnixNano(), l.writerID)
	if err != nil {
		return nil, fmt.Errorf("audit: writers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, fmt.Errorf("audit: writers: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ForgetWriters drops the heartbeats of writers that are still timed out
// (one that came back since keeps its own).
func (l *Log) ForgetWriters(ctx context.Context, writers []string) error {
	cutoff := time.Now().Add(-l.writerTimeout).UnixNano()
	for _, w := range writers {
		if _, err := l.h.ExecContext(ctx, `DELETE FROM audit_writers WHERE writer = ? AND heartbeat_ns < ?`, w, cutoff); err != nil {
			return fmt.Errorf("audit: writers: %w", err)
		}
	}
	return nil
}
