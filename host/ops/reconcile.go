package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

// ReconcileOptions bound ReconcileAudit; zero fields take the defaults.
type ReconcileOptions struct {
	// GetTimeout bounds each look at the platform (default 5 s).
	GetTimeout time.Duration
	// Budget bounds the looks at the platform in total (default 30 s);
	// once spent, the rest are marked interrupted without a look.
	Budget time.Duration
	// Max caps the entries reconciled in one run (default 10000); any
	// beyond are left for the next start.
	Max int
}

// Reconcile defaults.
const (
	DefaultReconcileGetTimeout = 5 * time.Second
	DefaultReconcileBudget     = 30 * time.Second
	DefaultReconcileMax        = 10000
	reconcileWorkers           = 4
)

// ReconcileReport says what ReconcileAudit did.
type ReconcileReport struct {
	Interrupted int // entries marked interrupted
	Checked     int // of which the platform was asked about
	Failed      int // entries whose finish could not be written
	// Taken: entries another replica finished first (both recovered the
	// same dead replica's operations).
	Taken int
	More  bool
}

// ReconcileAudit finishes every operation the audit log shows as started
// but never finished by a writer that is gone (audit.Log.Orphans: this
// replica's previous run, a replica whose heartbeat timed out or that
// stopped): the host stopped in the middle of it (a crash, kill -9). Each
// gets the outcome "interrupted" at the time of recovery, with a note of
// the platform's state now where the plugin can tell (a get of the
// target: its status, or that it does not exist). Operations other
// replicas are running are left alone. It is bounded in time and never
// fails: problems are logged and noted. Run it at start, before serving;
// on a shared database RecoverReplicas runs it again when a replica dies.
func (h *Host) ReconcileAudit(ctx context.Context, o ReconcileOptions) ReconcileReport {
	if o.GetTimeout <= 0 {
		o.GetTimeout = DefaultReconcileGetTimeout
	}
	if o.Budget <= 0 {
		o.Budget = DefaultReconcileBudget
	}
	if o.Max <= 0 {
		o.Max = DefaultReconcileMax
	}
	var rep ReconcileReport
	todo, more, err := h.cfg.Audit.Orphans(ctx, o.Max)
	if err != nil {
		h.log.Error("audit reconcile: cannot list incomplete operations", "err", err)
		return rep
	}
	rep.More = more
	if len(todo) == 0 {
		return rep
	}
	lookCtx, cancel := context.WithTimeout(ctx, o.Budget)
	defer cancel()
	jobs := make(chan audit.Entry)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(reconcileWorkers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				note, asked := h.platformState(lookCtx, e, o)
				// Written even if ctx is done: the finish is the point.
				err := h.cfg.Audit.Finish(context.WithoutCancel(ctx), e.ID, audit.Outcome{Interrupted: true, Note: note})
				mu.Lock()
				switch {
				case pluginapi.CodeOf(err) == pluginapi.CodeConflict:
					rep.Taken++
				case err != nil:
					rep.Failed++
					h.log.Error("audit reconcile: finish failed", "audit_id", e.ID, "err", err)
				default:
					rep.Interrupted++
					if asked {
						rep.Checked++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range todo {
		jobs <- e
	}
	close(jobs)
	wg.Wait()
	h.log.Warn("audit: operations interrupted by a stopped host marked as such",
		"interrupted", rep.Interrupted, "platform_checked", rep.Checked, "failed", rep.Failed, "taken", rep.Taken, "more_left", rep.More)
	return rep
}

// platformState describes what the platform says now about e's target,
// and whether it was asked. Only normalized fields go into the note, never
// free text from the plugin (which could carry anything into the
// append-only log).
func (h *Host) platformState(ctx context.Context, e audit.Entry, o ReconcileOptions) (string, bool) {
	const prefix = "the host stopped before this operation finished; at recovery "
	if strings.HasPrefix(e.Operation, "connection.") && e.Connection != "" {
		c, err := h.cfg.Connections.Get(ctx, e.Connection)
		switch {
		case err == nil:
			return fmt.Sprintf(prefix+"connection %s exists (version %d, plugin %s)", c.Name, c.Version, c.Plugin), true
		case pluginapi.CodeOf(err) == pluginapi.CodeNotFound:
			return fmt.Sprintf(prefix+"connection %s does not exist", e.Connection), true
		default:
			return prefix + "the connection store could not be read", false
		}
	}
	if !strings.HasPrefix(e.Operation, "service.") || e.Connection == "" || e.Target == "" {
		return prefix + "there was no service to look at", false
	}
	if ctx.Err() != nil {
		return prefix + "the platform was not asked: the recovery time budget was spent", false
	}
	t, err := h.resolve(ctx, e.Connection)
	if err != nil {
		return fmt.Sprintf(prefix+"the platform could not be asked: connection %s: %s", e.Connection, pluginapi.CodeOf(err)), false
	}
	gctx, cancel := context.WithTimeout(ctx, o.GetTimeout)
	defer cancel()
	svc, err := h.get(gctx, t, e.Target)
	switch {
	case err == nil:
		return prefix + "the platform reports " + serviceState(e.Target, svc), true
	case pluginapi.CodeOf(err) == pluginapi.CodeNotFound:
		return fmt.Sprintf(prefix+"the platform reports no service %s (not found)", e.Target), true
	case ctx.Err() != nil:
		return fmt.Sprintf(prefix+"the platform did not answer before the recovery time budget (%s) ran out", o.Budget), true
	case errors.Is(gctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf(prefix+"the platform did not answer within %s", o.GetTimeout), true
	default:
		return fmt.Sprintf(prefix+"the platform could not be asked (%s)", pluginapi.CodeOf(err)), true
	}
}

// serviceState is the normalized part of s: a status from the fixed list
// and the instance counts.
func serviceState(target string, s *pluginapi.Service) string {
	status := pluginapi.StatusUnknown
	if slices.Contains(pluginapi.Statuses, s.Status) {
		status = s.Status
	}
	out := fmt.Sprintf("service %s status %s", target, status)
	if s.Running != nil || s.Desired != nil {
		count := func(p *int) string {
			if p == nil {
				return "?"
			}
			return strconv.Itoa(*p)
		}
		out += fmt.Sprintf(", %s of %s running", count(s.Running), count(s.Desired))
	}
	return out
}

// RecoverReplicas watches, every interval, for replicas of a shared audit
// log whose heartbeat timed out, and recovers what they left unfinished
// (ReconcileAudit); a replica that never comes back is not waited for.
// Once nothing of theirs is left it forgets them. It returns a function
// that stops it.
func (h *Host) RecoverReplicas(interval time.Duration, o ReconcileOptions) (stop func()) {
	return every(interval, false, func(ctx context.Context) { h.recoverReplicas(ctx, o) })
}

func (h *Host) recoverReplicas(ctx context.Context, o ReconcileOptions) {
	gone, err := h.cfg.Audit.TimedOutWriters(ctx)
	if err != nil {
		h.log.Error("audit recovery: cannot list replicas", "err", err)
		return
	}
	if len(gone) == 0 {
		return
	}
	h.log.Warn("audit recovery: replicas stopped beating", "writers", gone)
	rep := h.ReconcileAudit(ctx, o)
	if rep.Failed == 0 && !rep.More && ctx.Err() == nil {
		if err := h.cfg.Audit.ForgetWriters(ctx, gone); err != nil {
			h.log.Error("audit recovery: cannot forget replicas", "err", err)
		}
	}
}
