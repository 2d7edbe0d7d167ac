package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// Messages between a supervisor (a group, or the runtime supervisor at the
// top) and its children. Each is answered or tagged so that a late one is
// recognised.
type (
	// taskUpdate carries a task's latest event to its supervisors. It is
	// unexported so that nothing outside the package can forge one.
	taskUpdate struct {
		ev   TaskEvent
		gone bool // the task actor has stopped; the supervisor answers for it
		// final: the event with Final, sent again to the runtime
		// supervisor alone at the end of the Receive that decided it (see
		// taskActor.Receive); restarts counts the Restart commands the
		// task had handled then: one sent before the last Restart was
		// routed to it is stale.
		final    bool
		restarts int
	}
	// taskActivity tells the watchdog that the task's generation gen
	// reported progress at at, or asked for extend more time.
	taskActivity struct {
		id     int
		gen    int
		at     time.Time
		extend time.Duration
	}
	// childFailed: the task's process ended and its policy wants a restart
	// after delay; escalate: it hit its own restart limit instead.
	childFailed struct {
		id       int
		gen      int
		delay    time.Duration
		reason   string
		escalate bool
	}
	// groupFailed: a child group hit its limit and has stopped its children.
	groupFailed struct {
		name   string
		reason string
	}
	// backoffGo lets a failed task wait out its backoff and start again.
	backoffGo struct{ gen int }
	// groupStop stops a child for a restart by its supervisor's strategy;
	// answered by groupStopped with the same tok.
	groupStop struct {
		tok    int
		reason string
	}
	groupStopped struct {
		id   int    // a task's ID, or 0
		name string // a group's name, or ""
		tok  int
	}
	// groupStart starts a child that groupStop stopped; answered by
	// groupStarted once it runs.
	groupStart struct {
		tok    int
		reason string
	}
	groupStarted struct {
		id   int
		name string
		tok  int
	}
	// giveUp ends a child for good.
	giveUp struct{ reason string }
	// shutdownGroup stops a group's children in reverse order (all at once
	// with kill) during a shutdown.
	shutdownGroup struct{ kill bool }
	// stallNotice tells a task that the watchdog finds it stalled; its stall
	// action is due at actAt (zero for warn).
	stallNotice struct {
		gen     int
		actAt   time.Time
		timeout time.Duration
		drained bool // the task has read its waiting notify datagrams first
	}
	// stallAct tells a stalled task to apply its stall action now.
	stallAct struct {
		gen     int
		drained bool // as for stallNotice
	}
	// watchdogTick is the watchdog's timed message to its supervisor.
	watchdogTick struct{ tok int }
	// planTimer ends a delay step of a restart plan.
	planTimer struct{ tok int }
	// spawnTask asks a group to spawn a task actor for a new task.
	spawnTask struct {
		id   int
		spec TaskSpec
		out  *proc.Output
		// last is where the runtime supervisor keeps the task's latest
		// event, for a top-level task it spawns itself (the same actor);
		// nil when a group spawns it.
		last *TaskEvent
		// slot: the task holds a slot under the parallelism limits, taken
		// for it by the runtime supervisor (which keeps a task queued at
		// its Start until its slot comes, see lazy.go).
		slot bool
		// restarts is how many Restart commands were routed to the task
		// before it had an actor (taskRef.restarts), the actor's count to
		// go on from.
		restarts int
		// waitFor says what the task waits for before its first start
		// (its dependencies); empty for nothing. skip, when set, is why
		// it ends skipped at once.
		waitFor, skip string
	}
	// groupGone tells the runtime supervisor that the actors of these groups
	// have stopped.
	groupGone struct {
		groups []string
		reason string
	}
	// unwait: the Wait sent from who for task id was abandoned.
	unwait struct {
		id  int
		who *actor.PID
	}
	// guardLost: proc found the guard process dead (proc.OnGuardLoss).
	guardLost struct{ loss proc.GuardLoss }
	// toGroup carries msg down the tree to the last group of path, which
	// names the groups on the way from the top level down (runtimeEnv.path):
	// each supervisor on the way finds the next by its own depth.
	toGroup struct {
		path []string
		msg  any
	}
)
