package main

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor"
	"github.com/taskvisor/taskvisor/actors"
)

// tasks are what the operator starts: plain sh -c commands, one for each
// thing that can happen to a task.
var tasks = []taskvisor.TaskSpec{
	// Steady work; its lines are kept by taskvisor (actors.GetOutput). It
	// runs until the shutdown cancels it with SIGTERM.
	{Name: "worker", Command: `i=0; while :; do i=$((i+1)); echo "step $i"; sleep 0.2; done`},
	// Fails after a moment. taskvisor restarts it once after a short
	// backoff; the second failure is over its limit, and it gives up.
	{Name: "flaky", Command: `sleep 0.3; echo "flaky: something broke" >&2; exit 1`,
		Restart: taskvisor.RestartOnFailure, Backoff: taskvisor.Backoff{Initial: 200 * time.Millisecond}, MaxRestarts: 1},
	// Says one thing, then nothing. After 0.7s of silence its watchdog
	// marks it stalled, and 0.3s later restarts it.
	{Name: "silent", Command: `echo "working on it"; sleep 600`,
		StallTimeout: 700 * time.Millisecond, StallGrace: 300 * time.Millisecond, StallAction: taskvisor.StallRestart},
}

// operator drives taskvisor by messages only: the tasks' events arrive in its
// mailbox, its commands go to the runtime supervisor, the replies come back
// to its mailbox. Its Receive runs one message at a time, so it needs no
// locks.
type operator struct {
	rt          *taskvisor.Runtime
	unsubscribe func()
	decided     map[int]bool // the tasks it has acted on, once each
}

func newOperator(rt *taskvisor.Runtime) *operator {
	return &operator{rt: rt, decided: map[int]bool{}}
}

// Receive implements actor.Actor.
func (o *operator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		// Subscribe before starting anything, so that no event is missed.
		o.unsubscribe = o.rt.SubscribePID(ctx.Self())
		for _, spec := range tasks {
			out.Printf("[operator] start %s (%s)", spec.Name, spec.Policy())
			ctx.Request(o.rt.PID(), actors.Start{Spec: &spec})
		}
	case taskvisor.TaskEvent:
		out.Printf("[taskvisor] %s  (%s: %s)", m, m.Name, m.State)
		o.react(ctx, m)
	case taskvisor.GroupEvent, taskvisor.NoticeEvent:
		out.Printf("[taskvisor] %s", m)
	case actors.Reply:
		// Every command is answered; Op and ID say which. An accepted
		// Start's reply may come after the task's first events.
		switch {
		case m.Err != nil:
			out.Printf("[operator] taskvisor refused: %v", m.Err)
		case m.Op != actors.OpStart:
			out.Printf("[operator] taskvisor accepted %s of task %d", m.Op, m.ID)
		}
	case *actor.Stopping:
		// Events sent to a stopped actor would go to the dead letters.
		o.unsubscribe()
	}
}

// react is the operator's policy, applied to each event as it comes.
func (o *operator) react(ctx actor.Context, ev taskvisor.TaskEvent) {
	if o.decided[ev.ID] {
		return
	}
	switch {
	case ev.Name == "silent" && ev.State == taskvisor.StateStalled && ev.Generation > 1:
		// Its watchdog restarted it once; it went quiet again.
		o.decided[ev.ID] = true
		out.Printf("[operator] task %d (%s) stalled again after its watchdog restart: kill it", ev.ID, ev.Name)
		ctx.Request(o.rt.PID(), actors.Kill{ID: ev.ID})
	case ev.Name == "flaky" && ev.State == taskvisor.StateGaveUp:
		// taskvisor gave up on it; the operator gives it one more chance. A
		// restart by hand starts its policy afresh: it may be restarted
		// once more before it gives up again.
		o.decided[ev.ID] = true
		out.Printf("[operator] task %d (%s) gave up: restart it once more (its policy starts afresh)", ev.ID, ev.Name)
		ctx.Request(o.rt.PID(), actors.Restart{ID: ev.ID})
	}
}
