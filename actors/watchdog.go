package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// watch is a supervisor's watchdog record of one task's current process.
type watch struct {
	active    bool      // the process runs and is watched
	gen       int       // the generation watched
	ready     bool      // it counts as running (READY=1 for ReadyNotify)
	last      time.Time // its last activity
	extended  time.Time // EXTEND_TIMEOUT_USEC pushed the deadline to here
	stalled   bool
	stalledAt time.Time
	acted     bool // the stall action has been ordered
}

// timeout is the silence the watch allows: the start timeout until a
// ReadyNotify task is ready, then the stall timeout; 0 for none.
func (w *watch) timeout(spec TaskSpec) time.Duration {
	if !w.ready {
		if spec.Ready == ReadyNotify {
			return spec.startTimeout()
		}
		return 0
	}
	return spec.StallTimeout
}

// deadline is when the watchdog must look at the task next; zero for never.
func (w *watch) deadline(spec TaskSpec) time.Time {
	if !w.active {
		return time.Time{}
	}
	if w.stalled {
		if w.acted || spec.stallAction() == StallWarn {
			return time.Time{}
		}
		return w.stalledAt.Add(spec.stallGrace())
	}
	t := w.timeout(spec)
	if t <= 0 {
		return time.Time{}
	}
	d := w.last.Add(t)
	if w.extended.After(d) {
		d = w.extended
	}
	return d
}

// watchUpdate follows a task's states: a new generation starts a new watch,
// an ending stops it, READY and a cleared stall restart its timer.
func (s *supervision) watchUpdate(ctx actor.Context, c *child) {
	ev, spec := c.last, c.spec
	if spec.StallTimeout <= 0 && spec.Ready != ReadyNotify {
		return
	}
	w := &c.wd
	switch ev.State {
	case StateStarting, StateRunning:
		if ev.PID == 0 {
			return // the process has not started yet
		}
		if !w.active || w.gen != ev.Generation {
			*w = watch{active: true, gen: ev.Generation}
		}
		w.ready = ev.State == StateRunning
		w.last = ev.LastActivity
		w.stalled, w.acted = false, false
	case StateStalled:
		// The notice came from here; nothing changes.
	default:
		*w = watch{}
	}
	if w.active {
		s.watched[c] = true
	} else {
		delete(s.watched, c)
	}
	// Only this task's deadline changed: no need to look at the others.
	s.armAt(ctx, w.deadline(spec))
}

// activity records a report of progress from a watched task.
func (s *supervision) activity(ctx actor.Context, c *child, m taskActivity) {
	w := &c.wd
	if !w.active {
		return
	}
	if m.at.After(w.last) {
		w.last = m.at
	}
	if m.extend > 0 {
		w.extended = s.env.clock.Now().Add(m.extend)
	}
	if w.stalled && c.last.State != StateStalled {
		// The task refused a notice that crossed its progress.
		w.stalled, w.acted = false, false
		s.armWatchdog(ctx)
	}
	// Otherwise a stall clears with the task's own event (watchUpdate), and
	// the deadline only moves later, so the armed tick needs no change.
}

// armWatchdog arms one timed message for the earliest deadline among the
// tasks, unless one at least as early is armed already.
func (s *supervision) armWatchdog(ctx actor.Context) {
	var next time.Time
	for c := range s.watched {
		if d := c.wd.deadline(c.spec); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	s.armAt(ctx, next)
}

// armAt arms the watchdog's tick for next, unless a tick at least as early
// is armed already; a zero next arms nothing (a tick still armed finds
// nothing due and arms no other).
func (s *supervision) armAt(ctx actor.Context, next time.Time) {
	if next.IsZero() || (!s.wdArmed.IsZero() && !s.wdArmed.After(next)) {
		return
	}
	if s.wdCancel != nil {
		s.wdCancel()
	}
	s.wdTok++
	s.wdArmed = next
	s.wdCancel = s.env.clock.SendOnce(max(next.Sub(s.env.clock.Now()), 0), ctx.Self(), watchdogTick{tok: s.wdTok})
}

// watchdogTick checks every watched task against its deadline: one silent
// for its timeout is stalled; one stalled for its grace gets its action.
func (s *supervision) watchdogTick(ctx actor.Context) {
	now := s.env.clock.Now()
	for c := range s.watched {
		w := &c.wd
		d := w.deadline(c.spec)
		if d.IsZero() || now.Before(d) {
			continue
		}
		if !w.stalled {
			w.stalled, w.stalledAt = true, now
			var actAt time.Time
			if c.spec.stallAction() != StallWarn {
				actAt = now.Add(c.spec.stallGrace())
				// With no grace the task acts as it takes the notice.
				w.acted = c.spec.stallGrace() == 0
			}
			ctx.Send(c.pid, stallNotice{gen: w.gen, actAt: actAt, timeout: w.timeout(c.spec)})
			continue
		}
		w.acted = true
		ctx.Send(c.pid, stallAct{gen: w.gen})
	}
	s.armWatchdog(ctx)
}
