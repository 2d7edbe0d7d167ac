package actors

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// Messages from a task's own goroutines and timers to its actor. Each carries
// the generation of the process it concerns, or the token of the wait it
// ends: the actor's PID outlives its processes, so news of an older one must
// be recognised and dropped.
type (
	processExited struct {
		gen  int
		exit proc.Exit
	}
	notified struct {
		gen int
		msg notify.Message
	}
	// notifyDrops: generation gen's notify socket dropped datagrams.
	notifyDrops struct{ gen int }
	// timeoutDue: generation gen's run-time limit (Timeout) may be up.
	timeoutDue struct{ gen int }
	// outputSeen: generation gen wrote output since the last outputSeen
	// (the task's activity = output or both).
	outputSeen   struct{ gen int }
	stopDeadline struct{ gen int }
	// backoffOver ends the backoff wait with token tok.
	backoffOver struct{ tok int }
	// stopForShutdown is the supervisor's order to stop during a shutdown.
	stopForShutdown struct{ kill bool }
	// slotGranted: the queue's waiter w has its slot (slots.grant).
	slotGranted struct{ w *slotWaiter }
)

// stopIntent is why the current process is being stopped.
type stopIntent uint8

const (
	stopNone stopIntent = iota
	stopCancel
	stopKill
	stopRestart
	stopShutdown
	stopWatchdog        // the stall action cancel or kill
	stopWatchdogRestart // the stall action restart
	stopGroup           // the group stops it to start it again with its siblings
	stopGiveUp          // the group gave up
	stopFail            // Fail: a failure, for the restart policy
	stopTimeout         // the timeout action cancel or kill
)

// waitKind is what a task without a process waits for.
type waitKind uint8

const (
	waitNone    waitKind = iota
	waitParent           // its supervisor's decision on a restart (backoffGo)
	waitBackoff          // its backoff timer (backoffOver)
	waitGroup            // its group's order to start again (groupStart)
	waitSlot             // a slot under its parallelism limits (slotGranted)
	waitDeps             // its dependencies, before its first start (depsMet)
)

// taskActor owns one task: one process generation at a time, its state, its
// restart policy and its events. Its Receive never blocks: starting a process
// is a fork/exec, and everything that waits (exit, output, notify, timers)
// runs on proc's goroutines or the scheduler and comes back as a message.
type taskActor struct {
	env    *runtimeEnv
	id     int
	spec   TaskSpec
	output *proc.Output

	gen  int
	proc *proc.Process
	gate *notifyGate // between proc's notify socket and this actor
	// unwatchOutput ends the current process's watch of its output, for a
	// task whose output counts as activity; nil when none.
	unwatchOutput func()
	// unholdUsage ends the usage sampling held for MemoryRestart.
	unholdUsage   func()
	outputPending *atomic.Bool // an outputSeen is on its way
	ev            TaskEvent    // the latest published state
	// generation is the state of the current process; each start begins
	// it afresh.
	generation
	cancelTmr func() // cancels the pending stop deadline or backoff timer
	// The run-time limit (Timeout) of the current process: how much of it
	// is left as of runFrom (zero while paused), and its timer's cancel.
	runLeft       time.Duration
	runFrom       time.Time
	cancelTimeout func()

	// Restart policy state.
	limit     restartLimit
	attempt   int // restarts since the last stable run: the backoff exponent
	wait      waitKind
	waitTok   int           // tags backoffOver; bumped whenever a wait ends
	delay     time.Duration // the backoff delay decided at the failure
	whyWait   string        // the failure the wait follows
	groupTok  int           // the group operation in progress (groupStop/groupStart), 0 for none
	startedBy *actor.PID    // the group waiting for groupStarted
	// endedSaid: the current ending was published Final.
	endedSaid bool
	// held is the event of an ending set in this Receive, published at its
	// end (see Receive); nil when none is held.
	held *TaskEvent
	// restarts counts the Restart commands handled, for a Final event's
	// taskUpdate.
	restarts int
	// slot: the task holds a slot under its parallelism limits (slots),
	// from just before its process starts until that process has ended
	// (through an immediate restart). waiter is its place in the queue
	// while it waits for one, and queuedWhy the launch's why.
	slot      bool
	waiter    *slotWaiter
	queuedWhy string
	// waitFor says what the task waits for before its first launch (its
	// dependencies), empty once they hold; skip is why it ends skipped at
	// its start instead.
	waitFor, skip string
}

// generation is what a task actor knows of its current process, zero at
// each start.
type generation struct {
	stop       stopIntent
	failReason string    // Fail's reason, with stopFail
	sigkilled  bool      // SIGKILL was sent to it
	graceOut   bool      // ... because its stop grace ran out (not a forced shutdown)
	ready      bool      // it counts as running (READY=1 for ReadyNotify)
	stalledAt  time.Time // when the watchdog marked it stalled; zero when not
	// reported is when its activity was last reported to the watchdog (see
	// reportActivity).
	reported time.Time
}

func newTaskActor(env *runtimeEnv, id int, spec TaskSpec, output *proc.Output) *taskActor {
	return &taskActor{
		env: env, id: id, spec: spec, output: output,
		ev: spec.firstEvent(env.name, id),
	}
}

// Receive implements actor.Actor.
//
// Whether an ending is final (TaskEvent.Final: no restart pending, by the
// task's policy or its group's decision) is known only once the message
// that ended it has been handled, since an ending and the backoff after it
// are set in one Receive. So the event of an ending is published at the
// end of the Receive (its supervisors have it at once), with Final set if
// it holds then; an event set after it in the same Receive publishes it
// first, not final. A final event goes to the runtime supervisor again,
// which answers Wait and may forget the task (Config.KeepEnded).
func (a *taskActor) Receive(ctx actor.Context) {
	a.receive(ctx)
	final := a.ev.State.Ended() && a.wait == waitNone
	if !final {
		a.endedSaid = false
		a.publishHeld(ctx, false)
		return
	}
	if a.endedSaid {
		a.publishHeld(ctx, false) // final was said already: this one is not news
		return
	}
	a.endedSaid = true
	ev := a.ev // a task that became final without a new event (a wait ended) says it again
	if a.held != nil {
		ev = *a.held
	}
	ev.Final = true
	a.held = &ev
	a.publishHeld(ctx, true)
	if top := a.env.top; top != nil {
		ctx.Send(top, taskUpdate{ev: ev, final: true, restarts: a.restarts})
	}
}

// publishHeld publishes the held event of an ending, if there is one.
func (a *taskActor) publishHeld(ctx actor.Context, final bool) {
	if a.held == nil {
		return
	}
	ev := *a.held
	a.held = nil
	ev.Final = final
	ctx.ActorSystem().EventStream.Publish(ev)
}

func (a *taskActor) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case Cancel:
		a.respond(ctx, OpCancel, a.cancel(ctx))
	case Kill:
		a.respond(ctx, OpKill, a.kill(ctx))
	case Fail:
		a.respond(ctx, OpFail, a.fail(ctx, m.Reason))
	case Restart:
		a.respond(ctx, OpRestart, a.restartCommand(ctx))
	case Pause:
		a.respond(ctx, OpPause, a.pause(ctx))
	case Resume:
		a.respond(ctx, OpResume, a.resume(ctx))
	case stopForShutdown:
		a.shutdown(ctx, m.kill)
	case processExited:
		a.onExited(ctx, m)
	case notified:
		a.onNotified(ctx, m)
	case notifyDrops:
		a.onNotifyDrops(ctx, m)
	case outputSeen:
		a.onOutputSeen(ctx, m)
	case timeoutDue:
		a.onTimeoutDue(ctx, m)
	case memoryOver:
		a.onMemoryOver(ctx, m)
	case stopDeadline:
		a.onStopDeadline(ctx, m)
	case backoffGo:
		a.onBackoffGo(ctx, m)
	case backoffOver:
		a.onBackoffOver(ctx, m)
	case stallNotice:
		a.onStallNotice(ctx, m)
	case stallAct:
		a.onStallAct(ctx, m)
	case groupStop:
		a.groupStop(ctx, m)
	case groupStart:
		a.groupStart(ctx, m)
	case giveUp:
		a.giveUp(ctx, m.reason)
	case slotGranted:
		a.onSlotGranted(ctx, m)
	case depsMet:
		a.onDepsMet(ctx)
	case depsWaiting:
		a.onDepsWaiting(ctx, m)
	case depsFailed:
		a.skipTask(ctx, m.reason)
	case *actor.Stopping:
		a.stopping()
	}
}

// current reports whether a message of generation gen is about the process
// the task runs now.
func (a *taskActor) current(gen int) bool { return gen == a.gen && a.proc != nil }

// started is the actor's start: the first process, unless the task waits
// for its group to start it (a step of the group's plan, so that a group
// starts its children one after the other, in order).
func (a *taskActor) started(ctx actor.Context) {
	if a.skip != "" {
		a.skipTask(ctx, a.skip)
		return
	}
	if a.wait == waitGroup {
		a.set(ctx, StateStarting, fmt.Sprintf("Waiting for group %s to start it", a.spec.Group), "")
		return
	}
	a.launch(ctx, "")
}

// restartCommand is the Restart command: counted, so that an ending said
// before it is known to be stale.
func (a *taskActor) restartCommand(ctx actor.Context) error {
	a.restarts++
	a.endedSaid = false // an ending in this Receive (a failed start) is news
	return a.restart(ctx)
}

func (a *taskActor) onExited(ctx actor.Context, m processExited) {
	if a.current(m.gen) {
		a.exited(ctx, m.exit)
	}
}

func (a *taskActor) onNotified(ctx actor.Context, m notified) {
	if a.current(m.gen) {
		a.notified(ctx, m.msg)
	}
}

// onNotifyDrops publishes the new count of dropped datagrams in an event of
// its own; a stopping task's is shown with its next event.
func (a *taskActor) onNotifyDrops(ctx actor.Context, m notifyDrops) {
	if !a.current(m.gen) || a.ev.State == StateStopping {
		return
	}
	if d := dropped(a.proc); d != a.ev.NotifyDropped {
		a.ev.NotifyDropped = d
		a.set(ctx, a.ev.State, a.ev.Message, a.ev.Reason)
	}
}

func (a *taskActor) onStopDeadline(ctx actor.Context, m stopDeadline) {
	if a.current(m.gen) && a.ev.State == StateStopping && !a.sigkilled {
		a.escalate(ctx)
	}
}

func (a *taskActor) onBackoffGo(ctx actor.Context, m backoffGo) {
	if m.gen == a.gen && a.wait == waitParent {
		a.armBackoff(ctx)
	}
}

func (a *taskActor) onBackoffOver(ctx actor.Context, m backoffOver) {
	if m.tok == a.waitTok && a.wait == waitBackoff {
		a.endWait()
		a.relaunch(ctx, fmt.Sprintf("backoff of %s over after: %s", a.delay, a.whyWait))
	}
}

// onStallNotice declares a stall, once what waits in the notify socket has
// been read (drainNotify sends the notice again, drained).
func (a *taskActor) onStallNotice(ctx actor.Context, m stallNotice) {
	if !a.current(m.gen) {
		return
	}
	if !m.drained {
		m.drained = true
		a.drainNotify(ctx, m)
		return
	}
	a.stalled(ctx, m)
}

// onStallAct applies the stall action, once what waits in the notify socket
// has been read.
func (a *taskActor) onStallAct(ctx actor.Context, m stallAct) {
	if !a.current(m.gen) || a.ev.State != StateStalled {
		return
	}
	if !m.drained {
		m.drained = true
		a.drainNotify(ctx, m)
		return
	}
	a.applyStallAction(ctx, "no progress for "+roundForHumans(a.env.clock.Now().Sub(a.ev.LastActivity)).String())
}

// stopping is the actor's end. The supervisor stops task actors only once
// their processes have ended; this is the last line of defence if that
// ever changes.
func (a *taskActor) stopping() {
	if a.proc != nil {
		_ = a.proc.Kill()
	}
	a.stopOutputWatch()
	a.disarmTimeout()
	a.env.live.drop(a.id, a.gen)
	a.releaseUsage()
	a.endWait()
	a.releaseSlot()
}

func (a *taskActor) respond(ctx actor.Context, op Op, err error) {
	respond(ctx, Reply{Op: op, ID: a.id, Err: err})
}

// launch starts a new process generation; why is empty for the first start.
// Once a shutdown has begun it starts none: the task ends cancelled, though
// the shutdown's order to stop it may still be on its way.
func (a *taskActor) launch(ctx actor.Context, why string) {
	if a.env.shuttingDown.Load() {
		a.endWait()
		a.releaseSlot()
		msg := "Task cancelled before it started"
		if a.gen > 0 {
			msg = "Task cancelled before its restart"
		}
		a.set(ctx, StateCancelled, msg, "taskvisor is shutting down")
		a.groupStarted(ctx)
		return
	}
	if a.gen == 0 && a.waitFor != "" {
		a.wait = waitDeps
		a.waitTok++
		a.whyWait = a.waitFor
		a.set(ctx, StateWaiting, a.waitFor, "after: "+strings.Join(a.spec.After, ", "))
		a.groupStarted(ctx)
		return
	}
	if !a.slot && !a.acquireSlot(ctx, why) {
		return // queued
	}
	a.gen++
	a.generation = generation{}
	a.ev.newGeneration(a.gen)
	if why == "" {
		a.set(ctx, StateStarting, "Starting", "")
	} else {
		a.set(ctx, StateStarting, fmt.Sprintf("Restarting (restart %d)", a.ev.Restarts), why)
	}

	self, root, gen := ctx.Self(), ctx.ActorSystem().Root, a.gen
	argv, shell, env := a.spec.Argv, a.spec.Command, a.spec.envList()
	if a.spec.StallTimeout > 0 {
		argv, shell, env = withWatchdogEnv(argv, shell, env, a.spec.StallTimeout)
	}
	// Progress-only datagrams reach the actor at most once per
	// progressWindow; the gate delivers what it holds before the exit.
	gate := newNotifyGate(a.env.progress, func(m notify.Message) { root.Send(self, notified{gen: gen, msg: m}) },
		func() { root.Send(self, notifyDrops{gen: gen}) })
	a.gate = gate
	// Shutdown waits until every started process's goroutines have ended.
	a.env.procs.Add(1)
	p, err := proc.Start(proc.Spec{
		Name:         fmt.Sprintf("task %d (%s)", a.id, a.spec.Name),
		Argv:         argv,
		Shell:        shell,
		Dir:          a.spec.Dir,
		Env:          env,
		Output:       a.output,
		NotifyDir:    a.env.notifyDir,
		OnNotify:     gate.handle,
		OnNotifyDrop: gate.dropped,
		OnExit: func(e proc.Exit) {
			gate.flush()
			root.Send(self, processExited{gen: gen, exit: e})
		},
		OnDone: a.env.procs.Done,
		Limits: a.limits(),
	})
	if err != nil {
		a.env.procs.Done()
		a.releaseSlot()
		// The event names the task already; the message gives the cause.
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		a.setErr(ctx, StateFailed, "Task failed to start: "+cause.Error(), err.Error(),
			&StartError{ID: a.id, Name: a.spec.Name, Err: err})
		a.groupStarted(ctx)
		a.afterEnd(ctx, true, 0, err.Error())
		return
	}
	a.proc = p
	a.env.live.set(liveProc{id: a.id, gen: a.gen, p: p, pid: ctx.Self(), memRestart: a.spec.MemoryRestart})
	if a.spec.MemoryRestart > 0 && a.env.usage != nil {
		// Its samples are needed whether anyone looks or not.
		a.unholdUsage = a.env.usage.subscribe(func(UsageEvent) {}, false)
	}
	a.watchOutput(ctx)
	now := a.env.clock.Now()
	a.ev.PID, a.ev.Started, a.ev.LastActivity = p.Pid(), now, now
	if a.spec.Timeout > 0 {
		a.runLeft = a.spec.Timeout
		a.armTimeout(ctx)
	}
	if a.spec.Ready == ReadyNotify {
		a.set(ctx, StateStarting, fmt.Sprintf("Started (pid %d), waiting for READY=1", p.Pid()), "")
		return
	}
	a.ready = true
	a.set(ctx, StateRunning, fmt.Sprintf("Started (pid %d)", p.Pid()), "")
	a.groupStarted(ctx)
}

// relaunch counts a restart and starts a new generation.
func (a *taskActor) relaunch(ctx actor.Context, why string) {
	if !a.env.shuttingDown.Load() { // else launch starts nothing to count
		a.ev.Restarts++
	}
	a.launch(ctx, why)
}

// withWatchdogEnv gives the task WATCHDOG_USEC and WATCHDOG_PID as systemd
// does. The pid of a child is known only after the fork, so WATCHDOG_PID is
// set by the process itself: a shell task's shell exports its own $$ first;
// an argv task is started by `sh -c 'WATCHDOG_PID=$$ exec "$@"'`, which execs
// the program under the same pid and passes its arguments through untouched
// (no shell parsing of them).
func withWatchdogEnv(argv []string, shell string, env []string, timeout time.Duration) ([]string, string, []string) {
	env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(timeout.Microseconds(), 10))
	if shell != "" {
		return nil, "WATCHDOG_PID=$$; export WATCHDOG_PID\n" + shell, env
	}
	wrapped := append([]string{"/bin/sh", "-c", `WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"`, "sh"}, argv...)
	return wrapped, "", env
}

func (a *taskActor) cancel(ctx actor.Context) error {
	switch {
	case a.proc != nil && a.ev.State != StateStopping:
		a.stop = stopCancel
		a.beginStop(ctx, "cancel requested")
		return nil
	case a.wait != waitNone:
		msg, why := a.endedWaiting("cancelled", "cancel requested")
		a.endWait()
		a.set(ctx, StateCancelled, msg, why)
		return nil
	}
	return &StateError{Op: OpCancel, ID: a.id, State: a.ev.State}
}

func (a *taskActor) kill(ctx actor.Context) error {
	switch {
	case a.proc != nil:
		if a.stop != stopShutdown {
			a.stop = stopKill
		}
		a.sigkill(ctx, "Killing: SIGKILL sent", "kill requested")
		return nil
	case a.wait != waitNone:
		msg, why := a.endedWaiting("killed", "kill requested")
		a.endWait()
		a.set(ctx, StateKilled, msg, why)
		return nil
	}
	return &StateError{Op: OpKill, ID: a.id, State: a.ev.State}
}

// fail ends the process as a failure for the restart policy (Fail).
func (a *taskActor) fail(ctx actor.Context, reason string) error {
	if a.proc == nil || a.stop == stopShutdown {
		return &StateError{Op: OpFail, ID: a.id, State: a.ev.State}
	}
	a.stop, a.failReason = stopFail, reason
	a.sigkill(ctx, "Failing: SIGKILL sent", "failed by the program: "+reason)
	return nil
}

func (a *taskActor) restart(ctx actor.Context) error {
	switch {
	case a.wait == waitSlot || a.wait == waitDeps:
		// In line already, or waiting for what it must not start before.
		return &StateError{Op: OpRestart, ID: a.id, State: a.ev.State}
	case a.proc != nil && a.ev.State != StateStopping:
		a.stop = stopRestart
		a.sigkill(ctx, "Restarting: SIGKILL sent", "restart requested")
		return nil
	case a.proc == nil && (a.ev.State.Ended() || a.wait != waitNone):
		a.endWait()
		a.limit, a.attempt = restartLimit{}, 0 // asked for by hand: the policy starts afresh
		a.relaunch(ctx, "restart requested")
		return nil
	}
	return &StateError{Op: OpRestart, ID: a.id, State: a.ev.State}
}

func (a *taskActor) shutdown(ctx actor.Context, kill bool) {
	if a.proc == nil {
		if a.wait != waitNone {
			msg, _ := a.endedWaiting("cancelled", "")
			a.endWait()
			a.set(ctx, StateCancelled, msg, "taskvisor is shutting down")
		}
		return
	}
	if a.ev.State == StateStopping && !kill && a.stop != stopRestart && a.stop != stopWatchdogRestart {
		a.stop = stopShutdown // on its way out, with its own escalation
		return
	}
	restarting := a.ev.State == StateStopping
	a.stop = stopShutdown
	switch {
	case kill:
		a.sigkill(ctx, "Shutting down: SIGKILL sent", "taskvisor is shutting down")
	case restarting:
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
	a.set(ctx, StateStopping, fmt.Sprintf("Cancelling: %s sent, SIGKILL in %s", SignalName(sig), grace), why)
}

// escalate sends SIGKILL when the grace period ran out.
func (a *taskActor) escalate(ctx actor.Context) {
	grace := a.spec.stopGrace()
	a.graceOut = true
	a.sigkill(ctx, fmt.Sprintf("Still running %s after %s: SIGKILL sent", grace, SignalName(a.spec.stopSignal())),
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

// endWait ends any wait for a restart or a slot; a late timer finds a new
// token, a late grant a waiter no longer the task's (and the slot it
// brought is given back here).
func (a *taskActor) endWait() {
	a.stopTimer()
	if a.wait == waitSlot {
		if !a.env.slots.leave(a.waiter) {
			a.env.slots.release(a.spec.Group) // granted on the way: not wanted now
		}
		a.waiter, a.ev.QueueTicket = nil, 0
	}
	a.wait = waitNone
	a.waitTok++
	a.ev.Deadline = time.Time{}
}

// endedWaiting is the message and reason of a task ended (how: "cancelled",
// "killed") while it waited to start, for asked (empty: no reason).
func (a *taskActor) endedWaiting(how, asked string) (msg, why string) {
	switch {
	case a.wait == waitSlot && a.gen == 0:
		msg = "Task " + how + " while queued, before it started"
	case a.wait == waitSlot:
		msg = "Task " + how + " while queued for its restart"
	case a.wait == waitDeps:
		msg = "Task " + how + " while waiting for its dependencies"
	default:
		msg = "Task " + how + " before its restart"
	}
	if asked == "" {
		return msg, ""
	}
	why = asked + " while " + string(a.ev.State)
	if a.whyWait != "" {
		why += "; " + a.whyWait
	}
	return msg, why
}

// exited settles the state once the current generation's leader is reaped,
// and applies the restart policy to an ending the task did not ask for.
func (a *taskActor) exited(ctx actor.Context, e proc.Exit) {
	a.stopTimer()
	a.stopOutputWatch()
	a.disarmTimeout()
	a.env.live.drop(a.id, a.gen)
	a.releaseUsage()
	if a.stop != stopRestart && a.stop != stopWatchdogRestart {
		a.releaseSlot() // an immediate restart keeps it
	}
	a.ev.NotifyDropped = dropped(a.proc)
	a.proc = nil
	a.ev.ExitCode, a.ev.Signal, a.ev.Deadline = e.Code, e.Signal, time.Time{}
	status := e.String()
	// Measured on the runtime's clock, like every other timing rule.
	ran := a.env.clock.Now().Sub(a.ev.Started)

	switch a.stop {
	case stopRestart:
		a.relaunch(ctx, "restart requested; previous process "+status)
	case stopWatchdogRestart:
		why := a.ev.Reason + "; previous process " + status
		if !a.limitAllows() {
			a.releaseSlot()
			a.set(ctx, StateFailed, "Task failed: "+a.ev.Reason, why)
			a.overLimit(ctx, why)
			return
		}
		a.relaunch(ctx, why)
	case stopCancel, stopShutdown:
		switch {
		case a.sigkilled && a.graceOut:
			a.set(ctx, StateKilled, "Task killed after its grace period", a.ev.Reason+"; "+status)
		case a.sigkilled:
			// A forced shutdown (a second interrupt) cut the grace short.
			a.set(ctx, StateKilled, "Task killed before its grace period ran out", a.ev.Reason+"; "+status)
		default:
			a.set(ctx, StateCancelled, "Task cancelled", a.ev.Reason+"; "+status)
		}
	case stopKill:
		a.set(ctx, StateKilled, "Task forcefully killed", "kill requested; "+status)
	case stopFail:
		why := "failed by the program: " + a.failReason + "; " + status
		a.setErr(ctx, StateFailed, "Task failed: "+a.failReason, why, &ExitError{ID: a.id, Name: a.spec.Name, Code: e.Code, Signal: e.Signal, Status: status})
		a.afterEnd(ctx, true, ran, why)
	case stopWatchdog, stopTimeout:
		why := a.ev.Reason + "; " + status
		by := "its watchdog"
		if a.stop == stopTimeout {
			by = "its timeout"
		}
		if a.sigkilled {
			a.set(ctx, StateKilled, "Task killed by "+by, why)
		} else {
			a.set(ctx, StateCancelled, "Task cancelled by "+by, why)
		}
		// A watchdog stop is a failure for the restart policy, as under systemd.
		a.afterEnd(ctx, true, ran, why)
	case stopGroup:
		a.wait = waitGroup
		a.set(ctx, StateBackoff, fmt.Sprintf("Stopped by group %s; waiting to start again", a.spec.Group), a.ev.Reason+"; "+status)
		ctx.Send(ctx.Parent(), groupStopped{id: a.id, tok: a.groupTok})
	case stopGiveUp:
		a.set(ctx, StateGaveUp, "Gave up: "+a.ev.Reason, a.ev.Reason+"; "+status)
	default:
		if e.Success() && !e.OOMKilled {
			a.set(ctx, StateCompleted, "Task completed", status)
			a.afterEnd(ctx, false, ran, "completed: "+status)
		} else {
			why := a.limitsHit(e, status)
			msg := "Task failed: " + status
			if e.OOMKilled {
				msg = "Task failed: killed by the kernel's OOM killer"
			}
			a.setErr(ctx, StateFailed, msg, why,
				&ExitError{ID: a.id, Name: a.spec.Name, Code: e.Code, Signal: e.Signal, Status: status})
			a.afterEnd(ctx, true, ran, why)
		}
	}
}

// set records a change and publishes it: on the EventStream, and to the
// supervisors that keep the task's latest state (its parent, and the runtime
// supervisor when that is not the parent).
func (a *taskActor) set(ctx actor.Context, state State, message, reason string) {
	a.setErr(ctx, state, message, reason, nil)
}

// setErr is set with the ending's cause as an error (TaskEvent.Err).
func (a *taskActor) setErr(ctx actor.Context, state State, message, reason string, err error) {
	if state.Ended() && a.proc == nil {
		a.releaseSlot() // one taken for it, and it ended before its launch
	}
	a.ev.State, a.ev.Message, a.ev.Reason, a.ev.Err = state, message, reason, err
	a.ev.Time = a.env.clock.Now()
	ev := a.ev
	// The supervisors first: whoever sees the event and then asks for List
	// gets a state at least as new.
	upd := taskUpdate{ev: ev}
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, upd)
		if top := a.env.top; top != nil && !top.Equal(parent) {
			ctx.Send(top, upd)
		}
	}
	a.publishHeld(ctx, false) // an ending set before this one was not final
	if state.Ended() {
		a.held = &ev // published at the end of the Receive, with Final
		return
	}
	ctx.ActorSystem().EventStream.Publish(ev)
}

// roundForHumans rounds a measured duration for a message: to 0.1s under a
// minute (a tick's latency is noise), to the second above.
func roundForHumans(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

func dropped(p *proc.Process) uint64 {
	if p == nil {
		return 0
	}
	return p.NotifyStats().Dropped()
}
