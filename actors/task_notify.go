package actors

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// A task's sd_notify datagrams: progress, readiness, the watchdog's
// keep-alives, and the stall they end or that their silence starts.

// drainNotify has what the task's notify socket and gate hold delivered,
// then the watchdog's message m sent back to this actor, behind the
// datagrams: the watchdog's deadline may have passed while taskvisor itself
// was stopped or starved, with the task's progress waiting to be read. Only
// a task that is still silent once they are applied is stalled (or acted
// on). The flush waits for a read in progress, so it runs on a goroutine of
// its own, not in Receive; it ends with the flush (a closed socket flushes
// nothing).
func (a *taskActor) drainNotify(ctx actor.Context, m any) {
	p, gate, self, root := a.proc, a.gate, ctx.Self(), ctx.ActorSystem().Root
	go func() {
		p.FlushNotify()
		gate.flush()
		root.Send(self, m)
	}()
}

// stalled marks the task stalled, as its supervisor's watchdog found.
func (a *taskActor) stalled(ctx actor.Context, m stallNotice) {
	if a.ev.State != StateRunning && a.ev.State != StateStarting {
		return
	}
	if now := a.env.clock.Now(); now.Sub(a.ev.LastActivity) < m.timeout {
		// Progress crossed the notice: tell the watchdog, which un-stalls.
		ctx.Send(ctx.Parent(), taskActivity{id: a.id, gen: a.gen, at: a.ev.LastActivity})
		return
	}
	a.stalledAt = a.env.clock.Now()
	a.ev.Deadline = m.actAt
	silent := roundForHumans(a.stalledAt.Sub(a.ev.LastActivity))
	msg := fmt.Sprintf("Stalled: no progress for %s", silent)
	if !a.ready {
		msg = fmt.Sprintf("Stalled: no READY=1 within %s", silent)
	}
	action := a.spec.stallAction()
	if action != StallWarn {
		msg += fmt.Sprintf("; %s in %s", action, a.spec.stallGrace())
	}
	a.set(ctx, StateStalled, msg, fmt.Sprintf("watchdog: stall timeout %s", m.timeout))
	if action != StallWarn && a.spec.stallGrace() == 0 {
		a.applyStallAction(ctx, "no progress for "+silent.String()+", no stall grace")
	}
}

// applyStallAction does what the stall action says, now.
func (a *taskActor) applyStallAction(ctx actor.Context, why string) {
	why = "watchdog: " + why
	switch a.spec.stallAction() {
	case StallWarn:
		if a.ev.State != StateStalled {
			a.stalledAt = a.env.clock.Now()
			a.set(ctx, StateStalled, "Stalled: the task triggered its watchdog", why)
		}
	case StallCancel:
		a.stop = stopWatchdog
		a.beginStop(ctx, why)
		a.ev.Message = "Watchdog: " + a.ev.Message
	case StallKill:
		a.stop = stopWatchdog
		a.sigkill(ctx, "Watchdog: SIGKILL sent", why)
	case StallRestart:
		a.stop = stopWatchdogRestart
		a.sigkill(ctx, "Watchdog: restarting, SIGKILL sent", why)
	}
}

// notified applies one sd_notify datagram of the current generation.
func (a *taskActor) notified(ctx actor.Context, m notify.Message) {
	if a.ev.State == StateStopping {
		a.applyProgress(m) // shown with the next event; a stopping task is not watched
		return
	}
	now := a.env.clock.Now()
	active := m.HasStatus || m.Progress != nil || m.Ready || m.Watchdog
	if a.spec.activity() == ActivityOutput {
		active = m.Ready // only output is progress; READY=1 is still readiness
	}
	if active {
		a.ev.LastActivity = now
		a.reportActivity(ctx, m.ExtendTimeout)
	} else if m.ExtendTimeout > 0 {
		a.reportActivity(ctx, m.ExtendTimeout)
	}
	changed := a.applyProgress(m)

	if m.Ready && !a.ready {
		a.ready = true
		a.stalledAt = time.Time{}
		a.ev.Deadline = time.Time{}
		a.set(ctx, StateRunning, "Ready", "READY=1")
		a.groupStarted(ctx)
		changed = false
	}
	if a.ev.State == StateStalled && active {
		silent := roundForHumans(now.Sub(a.stalledAt))
		a.stalledAt, a.ev.Deadline = time.Time{}, time.Time{}
		state := StateRunning
		if !a.ready {
			state = StateStarting
		}
		a.set(ctx, state, fmt.Sprintf("Stall cleared: %s (stalled for %s)", a.progressMessage(), silent), "progress resumed")
		changed = false
	}
	if m.WatchdogTrigger {
		a.applyStallAction(ctx, "WATCHDOG=trigger")
		return
	}
	if changed {
		a.ev.NotifyDropped = dropped(a.proc)
		a.set(ctx, a.ev.State, a.progressMessage(), a.ev.Reason)
	}
}

// applyProgress records STATUS and X_PROGRESS; it reports a change.
func (a *taskActor) applyProgress(m notify.Message) bool {
	changed := false
	if m.HasStatus && m.Status != a.ev.Status {
		a.ev.Status, changed = m.Status, true
	}
	if p := m.Progress; p != nil {
		if p.Step != a.ev.Step || p.Steps != a.ev.Steps || p.Fraction != a.ev.Progress {
			a.ev.Step, a.ev.Steps, a.ev.Progress, changed = p.Step, p.Steps, p.Fraction, true
		}
	}
	return changed
}

// watched reports whether the supervisor's watchdog watches the task.
func (a *taskActor) watched() bool {
	return a.spec.StallTimeout > 0 || a.spec.Ready == ReadyNotify
}

// reportActivity tells the watchdog of the task's latest activity, at most
// once per tenth of the timeout it watches, and whenever the task asks for
// more time or is stalled. Activity only pushes the deadline later, so a
// report skipped costs at most a tenth of the timeout's precision: if the
// watchdog's notice then comes early, stalled refuses it with the latest
// activity. A task reporting progress a hundred times a second sends a
// message to its supervisor once a second rather than a hundred times.
func (a *taskActor) reportActivity(ctx actor.Context, extend time.Duration) {
	if !a.watched() {
		return
	}
	now := a.env.clock.Now()
	timeout := a.spec.StallTimeout
	if !a.ready && a.spec.Ready == ReadyNotify {
		timeout = a.spec.startTimeout()
	}
	if extend == 0 && a.ev.State != StateStalled && !a.reported.IsZero() && now.Sub(a.reported) < timeout/10 {
		return
	}
	a.reported = now
	ctx.Send(ctx.Parent(), taskActivity{id: a.id, gen: a.gen, at: a.ev.LastActivity, extend: extend})
}

// progressMessage is "Processing step 3/7 (43%)" from STATUS and X_PROGRESS.
func (a *taskActor) progressMessage() string {
	text := a.ev.Status
	if text == "" && a.ev.Steps > 0 {
		text = fmt.Sprintf("Step %d/%d", a.ev.Step, a.ev.Steps)
	} else if text == "" {
		text = "Progress"
	}
	if a.ev.Steps > 0 || a.ev.Progress > 0 {
		text += fmt.Sprintf(" (%d%%)", int(a.ev.Progress*100+0.5))
	}
	return text
}

// watchOutput makes the new process's output lines count as activity, if
// the task's activity mode says so and it is watched. The buffer's Notify
// runs on the output reader: it sends outputSeen only when none is on its
// way, so a task that writes a million lines sends its actor a message per
// mailbox turn, not per line.
func (a *taskActor) watchOutput(ctx actor.Context) {
	if !a.watched() || a.spec.activity() == ActivityNotify {
		return
	}
	self, root, gen := ctx.Self(), ctx.ActorSystem().Root, a.gen
	pending := &atomic.Bool{}
	a.outputPending = pending
	a.unwatchOutput = a.output.Notify(func() {
		if pending.CompareAndSwap(false, true) {
			root.Send(self, outputSeen{gen: gen})
		}
	})
}

func (a *taskActor) stopOutputWatch() {
	if a.unwatchOutput != nil {
		a.unwatchOutput()
		a.unwatchOutput, a.outputPending = nil, nil
	}
}

// onOutputSeen counts the current process's output as activity: it clears
// a stall as progress does.
func (a *taskActor) onOutputSeen(ctx actor.Context, m outputSeen) {
	if !a.current(m.gen) || a.outputPending == nil {
		return
	}
	a.outputPending.Store(false)
	if a.ev.State == StateStopping {
		return
	}
	now := a.env.clock.Now()
	a.ev.LastActivity = now
	a.reportActivity(ctx, 0)
	if a.ev.State == StateStalled {
		silent := roundForHumans(now.Sub(a.stalledAt))
		a.stalledAt, a.ev.Deadline = time.Time{}, time.Time{}
		state := StateRunning
		if !a.ready {
			state = StateStarting
		}
		a.set(ctx, state, fmt.Sprintf("Stall cleared: output resumed (stalled for %s)", silent), "output resumed")
	}
}
