package main

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// tickEvery is the heartbeat's period.
const tickEvery = 100 * time.Millisecond

// heartbeat stands for the host's own work: it counts the ticks of a timer it
// owns and answers a ping with the count.
type heartbeat struct {
	ticks  int
	cancel scheduler.CancelFunc // the pending tick
}

// The heartbeat's messages: a tick from its timer, a ping and its answer.
type (
	tick struct{}
	ping struct{}
	pong struct{ ticks int }
)

// Receive implements actor.Actor.
func (h *heartbeat) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		h.next(ctx)
	case tick:
		h.ticks++
		h.next(ctx)
	case ping:
		ctx.Respond(pong{h.ticks})
	case *actor.Stopping:
		h.cancel() // no timer outlives the actor
	}
}

// next arms the next tick. The timer is a chain of one-shot sends, each
// armed by the tick before, so exactly one is pending and Stopping cancels
// it (protoactor's SendRepeatedly races with its cancel: a tick can still
// come after it). It sends from the root
// context: the timer fires on a goroutine of its own, where the actor's
// context must not be used.
func (h *heartbeat) next(ctx actor.Context) {
	h.cancel = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendOnce(tickEvery, ctx.Self(), tick{})
}
