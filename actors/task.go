package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// Messages from a task's own goroutines and timers to its actor. Each carries
// the generation of the process it concerns: the actor's PID outlives its
// processes, so news of an older one must be recognised and dropped.
type (
	processExited struct {
		gen  int
		exit proc.Exit
	}
	notified struct {
		gen int
		msg notify.Message
	}
	stopDeadline struct{ gen int }
	// stopForShutdown is the supervisor's order to stop during a shutdown.
	stopForShutdown struct{ kill bool }
)

// stopIntent is why the current process is being stopped.
type stopIntent uint8

const (
	stopNone stopIntent = iota
	stopCancel
	stopKill
	stopRestart
	stopShutdown
)

// taskActor owns one task: one process generation at a time, its state and its
// events. Its Receive never blocks: starting a process is a fork/exec, and
// everything that waits (exit, output, notify, timers) runs on proc's
// goroutines or the scheduler and comes back as a message.
type taskActor struct {
	env    *runtimeEnv
	id     int
	spec   TaskSpec
	output *proc.Output

	gen       int
	proc      *proc.Process
	ev        TaskEvent // the latest published state
	stop      stopIntent
	sigkilled bool   // SIGKILL was sent to the current generation
	cancelTmr func() // cancels the pending stop deadline
}

func newTaskActor(env *runtimeEnv, id int, spec TaskSpec, output *proc.Output) *taskActor {
	return &taskActor{
		env: env, id: id, spec: spec, output: output,
		ev: TaskEvent{ID: id, Name: spec.Name, Group: spec.Group, ExitCode: -1},
	}
}

// Receive implements actor.Actor.
func (a *taskActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.launch(ctx, "")
	case Cancel:
		a.respond(ctx, a.cancel(ctx))
	case Kill:
		a.respond(ctx, a.kill(ctx))
	case Restart:
		a.respond(ctx, a.restart(ctx))
	case stopForShutdown:
		a.shutdown(ctx, m.kill)
	case processExited:
		if m.gen == a.gen && a.proc != nil {
			a.exited(ctx, m.exit)
		}
	case notified:
		if m.gen == a.gen && a.proc != nil {
			a.notified(ctx, m.msg)
		}
	case stopDeadline:
		if m.gen == a.gen && a.proc != nil && a.ev.State == StateStopping && !a.sigkilled {
			a.escalate(ctx)
		}
	case *actor.Stopping:
		// The supervisor stops task actors only once their processes have
		// ended; this is the last line of defence if that ever changes.
		if a.proc != nil {
			_ = a.proc.Kill()
		}
		a.stopTimer()
	}
}

func (a *taskActor) respond(ctx actor.Context, err error) {
	respond(ctx, Reply{ID: a.id, Err: err})
}

// launch starts a new process generation.
func (a *taskActor) launch(ctx actor.Context, why string) {
	a.gen++
	a.stop, a.sigkilled = stopNone, false
	a.ev.Generation = a.gen
	a.ev.PID, a.ev.Step, a.ev.Steps, a.ev.Progress, a.ev.Status = 0, 0, 0, 0, ""
	a.ev.ExitCode, a.ev.Signal, a.ev.Deadline, a.ev.Started = -1, 0, time.Time{}, time.Time{}
	a.ev.NotifyDropped = 0
	if why == "" {
		a.set(ctx, StateStarting, "Starting", "")
	} else {
		a.set(ctx, StateStarting, fmt.Sprintf("Restarting (restart %d)", a.ev.Restarts), why)
	}

	self, root, gen := ctx.Self(), ctx.ActorSystem().Root, a.gen
	// Shutdown waits until every started process's goroutines have ended.
	a.env.procs.Add(1)
	p, err := proc.Start(proc.Spec{
		Name:      fmt.Sprintf("task %d (%s)", a.id, a.spec.Name),
		Argv:      a.spec.Argv,
		Shell:     a.spec.Command,
		Dir:       a.spec.Dir,
		Env:       a.spec.envList(),
		Output:    a.output,
		NotifyDir: a.env.notifyDir,
		OnNotify:  func(m notify.Message) { root.Send(self, notified{gen: gen, msg: m}) },
		OnExit:    func(e proc.Exit) { root.Send(self, processExited{gen: gen, exit: e}) },
		OnDone:    a.env.procs.Done,
	})
	if err != nil {
		a.env.procs.Done()
		// The event names the task already; the message gives the cause.
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		a.set(ctx, StateFailed, "Task failed to start: "+cause.Error(), err.Error())
		return
	}
	a.proc = p
	a.ev.PID = p.Pid()
	a.ev.Started = a.env.clock.Now()
	a.set(ctx, StateRunning, fmt.Sprintf("Started (pid %d)", p.Pid()), "")
}

func (a *taskActor) cancel(ctx actor.Context) error {
	switch a.ev.State {
	case StateRunning, StateStalled:
		a.stop = stopCancel
		a.beginStop(ctx, "cancel requested")
		return nil
	}
	return &StateError{Op: "cancel", ID: a.id, State: a.ev.State}
}

func (a *taskActor) kill(ctx actor.Context) error {
	if !a.ev.State.hasProcess() {
		return &StateError{Op: "kill", ID: a.id, State: a.ev.State}
	}
	if a.stop != stopShutdown {
		a.stop = stopKill
	}
	a.sigkill(ctx, "Killing: SIGKILL sent", "kill requested")
	return nil
}

func (a *taskActor) restart(ctx actor.Context) error {
	switch {
	case a.ev.State == StateRunning || a.ev.State == StateStalled:
		a.stop = stopRestart
		a.sigkill(ctx, "Restarting: SIGKILL sent", "restart requested")
		return nil
	case a.ev.State.Ended():
		a.ev.Restarts++
		a.launch(ctx, "restart requested")
		return nil
	}
	return &StateError{Op: "restart", ID: a.id, State: a.ev.State}
}

func (a *taskActor) shutdown(ctx actor.Context, kill bool) {
	if !a.ev.State.hasProcess() {
		return
	}
	if a.ev.State == StateStopping && !kill && a.stop != stopRestart {
		return // already on its way out, with its own escalation
	}
	a.stop = stopShutdown
	switch {
	case kill:
		a.sigkill(ctx, "Shutting down: SIGKILL sent", "taskvisor is shutting down")
	case a.ev.State == StateStopping:
		// A restart in progress: its SIGKILL is already out; let it end there.
	default:
		a.beginStop(ctx, "taskvisor is shutting down")
	}
}

// beginStop sends the stop signal and SIGCONT to the group and arms the
// deadline after which SIGKILL follows.
func (a *taskActor) beginStop(ctx actor.Context, why string) {
	sig, grace := a.spec.stopSignal(), a.spec.stopGrace()
	if err := a.proc.Terminate(sig); err != nil && !errors.Is(err, proc.ErrFinished) {
		why += "; " + err.Error()
	}
	a.stopTimer()
	a.cancelTmr = a.env.clock.SendOnce(grace, ctx.Self(), stopDeadline{gen: a.gen})
	a.ev.Deadline = a.env.clock.Now().Add(grace)
	a.set(ctx, StateStopping, fmt.Sprintf("Cancelling: %s sent, SIGKILL in %s", signalName(sig), grace), why)
}

// escalate sends SIGKILL when the grace period ran out.
func (a *taskActor) escalate(ctx actor.Context) {
	grace := a.spec.stopGrace()
	a.sigkill(ctx, fmt.Sprintf("Still running %s after %s: SIGKILL sent", grace, signalName(a.spec.stopSignal())),
		fmt.Sprintf("stop grace of %s ran out", grace))
}

func (a *taskActor) sigkill(ctx actor.Context, message, why string) {
	if err := a.proc.Kill(); err != nil && !errors.Is(err, proc.ErrFinished) {
		why += "; " + err.Error()
	}
	a.sigkilled = true
	a.stopTimer()
	a.ev.Deadline = time.Time{}
	a.set(ctx, StateStopping, message, why)
}

func (a *taskActor) stopTimer() {
	if a.cancelTmr != nil {
		a.cancelTmr()
		a.cancelTmr = nil
	}
}

// exited settles the state once the current generation's leader is reaped.
func (a *taskActor) exited(ctx actor.Context, e proc.Exit) {
	a.stopTimer()
	a.ev.NotifyDropped = dropped(a.proc)
	a.proc = nil
	a.ev.ExitCode, a.ev.Signal, a.ev.Deadline = e.Code, e.Signal, time.Time{}
	status := e.String()

	switch a.stop {
	case stopRestart:
		a.ev.Restarts++
		a.launch(ctx, "restart requested; previous process "+status)
		return
	case stopCancel, stopShutdown:
		if a.sigkilled {
			a.set(ctx, StateKilled, "Task killed after its grace period", a.ev.Reason+"; "+status)
		} else {
			a.set(ctx, StateCancelled, "Task cancelled", a.ev.Reason+"; "+status)
		}
	case stopKill:
		a.set(ctx, StateKilled, "Task forcefully killed", "kill requested; "+status)
	default:
		if e.Code == 0 && e.Signal == 0 {
			a.set(ctx, StateCompleted, "Task completed", status)
		} else {
			a.set(ctx, StateFailed, "Task failed: "+status, status)
		}
	}
}

// notified applies one sd_notify datagram of the current generation.
func (a *taskActor) notified(ctx actor.Context, m notify.Message) {
	changed := false
	if m.HasStatus && m.Status != a.ev.Status {
		a.ev.Status, changed = m.Status, true
	}
	if p := m.Progress; p != nil {
		if p.Step != a.ev.Step || p.Steps != a.ev.Steps || p.Fraction != a.ev.Progress {
			a.ev.Step, a.ev.Steps, a.ev.Progress, changed = p.Step, p.Steps, p.Fraction, true
		}
	}
	if !changed {
		return
	}
	a.ev.NotifyDropped = dropped(a.proc)
	a.set(ctx, a.ev.State, a.progressMessage(), a.ev.Reason)
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

// set records a change and publishes it.
func (a *taskActor) set(ctx actor.Context, state State, message, reason string) {
	a.ev.State, a.ev.Message, a.ev.Reason = state, message, reason
	a.ev.Time = a.env.clock.Now()
	ev := a.ev
	ctx.ActorSystem().EventStream.Publish(ev)
	// Request rather than Send, so that the supervisor can check the sender.
	if parent := ctx.Parent(); parent != nil {
		ctx.Request(parent, ev)
	}
}

func dropped(p *proc.Process) uint64 {
	if p == nil {
		return 0
	}
	s := p.NotifyStats()
	return s.Malformed + s.Foreign
}
