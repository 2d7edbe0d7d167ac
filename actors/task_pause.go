package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// Pausing a task: its processes stopped (proc.Process.Pause), its watchdog
// and run-time limit waiting, until it is resumed. A paused task that is
// stopped gets its stop signal and SIGCONT, as every stop sends.

// pause stops the task's processes (Pause).
func (a *taskActor) pause(ctx actor.Context) error {
	if a.proc == nil || a.stop != stopNone || (a.ev.State != StateRunning && a.ev.State != StateStalled) {
		return &StateError{Op: OpPause, ID: a.id, State: a.ev.State}
	}
	if err := a.proc.Pause(); err != nil {
		if errors.Is(err, proc.ErrFinished) {
			return &StateError{Op: OpPause, ID: a.id, State: a.ev.State}
		}
		return fmt.Errorf("pause task %d: %w", a.id, err)
	}
	a.disarmTimeout()
	a.stalledAt, a.ev.Deadline = time.Time{}, time.Time{}
	a.set(ctx, StatePaused, "Paused: SIGSTOP sent", "pause requested")
	return nil
}

// resume continues a paused task (Resume). Its watchdog starts afresh:
// time paused is not silence.
func (a *taskActor) resume(ctx actor.Context) error {
	if a.proc == nil || a.ev.State != StatePaused {
		return &StateError{Op: OpResume, ID: a.id, State: a.ev.State}
	}
	if err := a.proc.Resume(); err != nil && !errors.Is(err, proc.ErrFinished) {
		return fmt.Errorf("resume task %d: %w", a.id, err)
	}
	a.ev.LastActivity = a.env.clock.Now()
	a.reported = time.Time{}
	if a.spec.Timeout > 0 && a.runLeft > 0 {
		a.armTimeout(ctx)
	}
	state := StateRunning
	if !a.ready {
		state = StateStarting
	}
	a.set(ctx, state, "Resumed: SIGCONT sent", "resume requested")
	return nil
}
