package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A task's restarts: its restart policy and limit after an ending, its
// backoff, and what its group decides for it (a stop or a start by the
// group's strategy, a give-up at the top).

// afterEnd applies the restart policy to a process that ended on its own (or
// by its watchdog): failed or completed after running for ran.
func (a *taskActor) afterEnd(ctx actor.Context, failed bool, ran time.Duration, why string) {
	mode := a.spec.restartMode()
	if mode == RestartNever || (mode == RestartOnFailure && !failed) {
		return
	}
	if ran >= a.spec.Backoff.resetAfter() {
		a.attempt = 0 // a stable run: the delay starts from the beginning again
	}
	if !a.limitAllows() {
		a.overLimit(ctx, why)
		return
	}
	a.attempt++
	a.delay = a.spec.Backoff.jittered(a.spec.Backoff.Delay(a.attempt), randFloat())
	a.whyWait = why
	a.wait = waitParent
	// The earliest the next start can come; a group strategy may make it
	// later (its siblings stop first).
	a.ev.Deadline = a.env.clock.Now().Add(a.delay)
	a.set(ctx, StateBackoff, fmt.Sprintf("Restarting in %s (restart %d)", a.delay, a.ev.Restarts+1),
		fmt.Sprintf("restart %s: %s", mode, why))
	ctx.Send(ctx.Parent(), childFailed{id: a.id, gen: a.gen, delay: a.delay, reason: fmt.Sprintf("task %d (%s) %s", a.id, a.spec.Name, why)})
}

// limitAllows records one more restart and reports whether the task's limit
// allows it.
func (a *taskActor) limitAllows() bool {
	return a.limit.allow(a.env.clock.Now(), a.spec.maxRestarts(), a.spec.restartWindow())
}

// overLimit ends a task that hit its restart limit: gave-up at the top level;
// in a group, the failure goes to the group's supervisor.
func (a *taskActor) overLimit(ctx actor.Context, why string) {
	limit := fmt.Sprintf("restart limit of %d within %s reached", a.spec.maxRestarts(), a.spec.restartWindow())
	if a.spec.Group == "" {
		a.set(ctx, StateGaveUp, "Gave up: "+limit, limit+"; last: "+why)
		return
	}
	a.wait, a.whyWait = waitParent, why // the group decides
	ctx.Send(ctx.Parent(), childFailed{id: a.id, gen: a.gen, escalate: true,
		reason: fmt.Sprintf("task %d (%s) hit its %s; last: %s", a.id, a.spec.Name, limit, why)})
}

// armBackoff starts the backoff timer the supervisor agreed to.
func (a *taskActor) armBackoff(ctx actor.Context) {
	a.wait = waitBackoff
	a.waitTok++
	a.stopTimer()
	a.cancelTmr = a.env.clock.SendOnce(a.delay, ctx.Self(), backoffOver{tok: a.waitTok})
	// The backoff event already went out with its deadline; the timer runs
	// from now, a mailbox hop later, which no one needs told.
}

// groupStop stops the task for a restart of its group; it answers
// groupStopped once it has no process.
func (a *taskActor) groupStop(ctx actor.Context, m groupStop) {
	a.groupTok = m.tok
	switch {
	case a.proc != nil && a.stop != stopNone:
		// Already stopping for its own reason; the group takes it from here.
		a.stop = stopGroup
	case a.proc != nil:
		a.stop = stopGroup
		a.beginStop(ctx, m.reason)
	default:
		if a.wait != waitNone || !a.ev.State.Ended() || a.ev.State == StateFailed {
			a.endWait()
			a.wait = waitGroup
			a.set(ctx, StateBackoff, fmt.Sprintf("Held by group %s; waiting to start again", a.spec.Group), m.reason)
		}
		ctx.Send(ctx.Parent(), groupStopped{id: a.id, tok: m.tok})
	}
}

// groupStart starts a task its group held; it answers groupStarted once the
// task runs (or could not start).
func (a *taskActor) groupStart(ctx actor.Context, m groupStart) {
	if a.wait != waitGroup && a.wait != waitParent && a.wait != waitBackoff {
		ctx.Send(ctx.Parent(), groupStarted{id: a.id, tok: m.tok})
		return
	}
	a.endWait()
	a.groupTok, a.startedBy = m.tok, ctx.Parent()
	if a.gen == 0 {
		a.launch(ctx, "") // its first start, in its turn
		return
	}
	// Started again by its group, as a new child: its own limit and backoff
	// start afresh, as a restarted Erlang child's would.
	a.limit, a.attempt = restartLimit{}, 0
	a.relaunch(ctx, m.reason)
}

// groupStarted tells a group waiting for this start that it is over.
func (a *taskActor) groupStarted(ctx actor.Context) {
	if a.startedBy != nil {
		ctx.Send(a.startedBy, groupStarted{id: a.id, tok: a.groupTok})
		a.startedBy = nil
	}
}

// giveUp ends the task for good: its group gave up.
func (a *taskActor) giveUp(ctx actor.Context, reason string) {
	switch {
	case a.proc != nil:
		if a.stop == stopNone || a.stop == stopGroup {
			a.stop = stopGiveUp
			a.ev.Reason = reason
			a.beginStop(ctx, reason)
		} else {
			a.stop = stopGiveUp
		}
	case a.ev.State != StateGaveUp:
		a.endWait()
		a.set(ctx, StateGaveUp, "Gave up: "+reason, reason)
	}
}
