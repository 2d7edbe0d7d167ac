package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A task's run-time limit (TaskSpec.Timeout): wall time since its process
// started, time paused not counted, then its timeout action. The event's
// TimeoutAt says when it runs out, for a countdown.

// armTimeout arms the limit's timer for what is left of it, from now.
func (a *taskActor) armTimeout(ctx actor.Context) {
	a.disarmTimeout()
	a.runFrom = a.env.clock.Now()
	a.ev.TimeoutAt = a.runFrom.Add(a.runLeft)
	a.cancelTimeout = a.env.clock.SendOnce(a.runLeft, ctx.Self(), timeoutDue{gen: a.gen})
}

// disarmTimeout stops the limit's timer, keeping what is left of the
// limit (for a pause); the event shows no countdown.
func (a *taskActor) disarmTimeout() {
	if a.cancelTimeout == nil {
		return
	}
	a.cancelTimeout()
	a.cancelTimeout = nil
	a.runLeft -= a.env.clock.Now().Sub(a.runFrom)
	a.ev.TimeoutAt = time.Time{}
}

// onTimeoutDue applies the timeout action, unless the process is stopping
// already or the timer is stale.
func (a *taskActor) onTimeoutDue(ctx actor.Context, m timeoutDue) {
	if !a.current(m.gen) || a.cancelTimeout == nil {
		return
	}
	a.cancelTimeout = nil
	a.runLeft = 0
	a.ev.TimeoutAt = time.Time{}
	if a.ev.State == StateStopping {
		return
	}
	why := fmt.Sprintf("run-time limit of %s reached", a.spec.Timeout)
	switch a.spec.timeoutAction() {
	case TimeoutKill:
		a.stop = stopTimeout
		a.sigkill(ctx, "Timeout: SIGKILL sent", why)
	case TimeoutRestart:
		a.stop = stopWatchdogRestart // a failure, counted by the restart limit
		a.sigkill(ctx, "Timeout: restarting, SIGKILL sent", why)
	default:
		a.stop = stopTimeout
		a.beginStop(ctx, why)
	}
}
