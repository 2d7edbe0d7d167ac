package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// Clock is the time source of the runtime's timing rules: stop deadlines,
// backoff, restart windows, start timeouts and the watchdog. Tests replace it to run those rules
// deterministically.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// SendOnce sends msg to pid after d unless cancel is called first. The
	// message may still arrive after cancel when the two race: receivers tag
	// timed messages (with a generation) and drop stale ones.
	SendOnce(d time.Duration, pid *actor.PID, msg any) (cancel func())
}

// realClock is the wall clock, with timed messages from protoactor's scheduler.
type realClock struct {
	sched *scheduler.TimerScheduler
}

func newRealClock(system *actor.ActorSystem) Clock {
	return realClock{sched: scheduler.NewTimerScheduler(system.Root)}
}

// Now is time.Now.
func (realClock) Now() time.Time { return time.Now() }

// SendOnce is protoactor's scheduler.SendOnce from the root context.
func (c realClock) SendOnce(d time.Duration, pid *actor.PID, msg any) func() {
	return c.sched.SendOnce(d, pid, msg)
}
