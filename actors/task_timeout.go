package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
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

// limitsHit is the reason of a failed ending, with the limits the run hit:
// "killed by the kernel's OOM killer at its memory_max of 512MiB (peak
// 511.9MiB); killed by SIGKILL".
func (a *taskActor) limitsHit(e proc.Exit, status string) string {
	why := status
	if e.OOMKilled {
		oom := "killed by the kernel's OOM killer"
		if a.spec.MemoryMax > 0 {
			oom += " at its memory_max of " + proc.FormatBytes(a.spec.MemoryMax)
		}
		if e.MemoryPeak > 0 {
			oom += " (peak " + proc.FormatBytes(e.MemoryPeak) + ")"
		}
		why = oom + "; " + status
	}
	if e.PidsLimited && a.spec.PidsMax > 0 {
		why += fmt.Sprintf("; it hit its pids_max of %d (a fork failed)", a.spec.PidsMax)
	}
	return why
}

// limits is the task's resource limits with those of its groups,
// outermost first.
func (a *taskActor) limits() proc.Limits {
	l := a.spec.limits()
	for _, name := range a.env.path(a.spec.Group) {
		g := a.env.groupSpecs[name]
		if g.MemoryMax > 0 || g.CPUMax > 0 || g.PidsMax > 0 {
			l.Groups = append(l.Groups, proc.GroupLimits{Name: name, MemoryMax: g.MemoryMax, CPUMax: g.CPUMax, PidsMax: g.PidsMax})
		}
	}
	return l
}

// onMemoryOver restarts the task gracefully (MemoryRestart): its stop
// signal, its grace, SIGKILL, and a new process, counted by its restart
// limit as a watchdog restart is.
func (a *taskActor) onMemoryOver(ctx actor.Context, m memoryOver) {
	if !a.current(m.gen) || a.stop != stopNone || (a.ev.State != StateRunning && a.ev.State != StateStalled) {
		return
	}
	a.stop = stopWatchdogRestart
	a.beginStop(ctx, fmt.Sprintf("memory %s stayed above its memory_restart of %s for 2 samples",
		proc.FormatBytes(m.memory), proc.FormatBytes(a.spec.MemoryRestart)))
}

// releaseUsage ends the sampling held for the task's MemoryRestart.
func (a *taskActor) releaseUsage() {
	if a.unholdUsage != nil {
		a.unholdUsage()
		a.unholdUsage = nil
	}
}
