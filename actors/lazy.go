package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// A task started beyond a full parallelism limit waits in the queue
// without an actor: the runtime supervisor keeps its spawn message and
// says its queued state itself, and spawns its actor, holding its slot,
// once the slot is granted. Ten thousand queued tasks then cost ten
// thousand records, not ten thousand actors with their mailboxes. A task
// cancelled or killed while queued this way ends here, with no actor ever.

// startOrQueue spawns task t's actor with a slot taken for it, or queues t.
func (s *runtimeSupervisor) startOrQueue(ctx actor.Context, t *taskRef, msg spawnTask) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	w, ahead, ok := s.env.slots.acquire(msg.spec.Group, func(w *slotWaiter) { root.Send(self, slotGranted{w: w}) })
	if ok {
		msg.slot, msg.restarts = true, t.restarts
		t.spawn, t.waiter = nil, nil
		s.spawn(ctx, msg)
		return
	}
	t.spawn, t.waiter = &msg, w
	s.lazy[w.ticket] = msg.id
	ev := t.last
	ev.State, ev.QueueTicket, ev.Time, ev.Final = StateQueued, w.ticket, s.env.clock.Now(), false
	ev.Message = fmt.Sprintf("Queued: %d ahead of it", ahead)
	if ahead == 0 {
		ev.Message = "Queued: next in line"
	}
	ev.Reason = "waiting for a slot: " + s.env.slots.full(msg.spec.Group)
	s.lazyEvent(ctx, t, ev)
}

// lazyEvent records and publishes an event of a task without an actor.
func (s *runtimeSupervisor) lazyEvent(ctx actor.Context, t *taskRef, ev TaskEvent) {
	s.update(t, ev, false)
	if !ev.State.Ended() {
		s.unmarkEnded(t)
	}
	ctx.ActorSystem().EventStream.Publish(ev)
	s.depNews(ctx, ev.ID)
	if ev.State.Ended() {
		s.taskEnded(ctx, ev.ID, t.restarts)
	}
}

// lazyGranted spawns the actor of the queued task whose slot came.
func (s *runtimeSupervisor) lazyGranted(ctx actor.Context, w *slotWaiter) {
	id, ok := s.lazy[w.ticket]
	if !ok {
		return // it left the queue, and gave back the slot granted on the way
	}
	delete(s.lazy, w.ticket)
	t := s.all[id]
	msg := *t.spawn
	msg.slot, msg.restarts = true, t.restarts
	t.spawn, t.waiter = nil, nil
	t.last.QueueTicket = 0
	s.spawn(ctx, msg)
}

// leaveQueue takes a queued task without an actor out of the queue.
func (s *runtimeSupervisor) leaveQueue(t *taskRef) {
	if t.waiter == nil {
		return
	}
	delete(s.lazy, t.waiter.ticket)
	if !s.env.slots.leave(t.waiter) {
		s.env.slots.release(t.spawn.spec.Group) // granted on the way
	}
	t.waiter = nil
}

// lazyCommand answers a command for a task without an actor: cancel and
// kill end a queued one; restart starts (or queues) an ended one again.
func (s *runtimeSupervisor) lazyCommand(ctx actor.Context, t *taskRef, op Op) error {
	queued := t.waiter != nil
	switch {
	case queued && (op == OpCancel || op == OpKill):
		how, state := "cancelled", StateCancelled
		if op == OpKill {
			how, state = "killed", StateKilled
		}
		s.endLazy(ctx, t, state, "Task "+how+" while queued, before it started",
			string(op)+" requested while queued; "+t.last.Reason)
		return nil
	case !queued && op == OpRestart:
		// Its Restart was counted by restart; the task starts afresh.
		s.startOrQueue(ctx, t, *t.spawn)
		return nil
	}
	return &StateError{Op: op, ID: t.last.ID, State: t.last.State}
}

// endLazy ends a queued task without an actor.
func (s *runtimeSupervisor) endLazy(ctx actor.Context, t *taskRef, state State, message, reason string) {
	s.leaveQueue(t)
	ev := t.last
	ev.State, ev.Message, ev.Reason = state, message, reason
	ev.QueueTicket, ev.Time, ev.Final = 0, s.env.clock.Now(), true
	s.lazyEvent(ctx, t, ev)
}

// lazyShutdown ends the queued tasks without actors: none will start.
func (s *runtimeSupervisor) lazyShutdown(ctx actor.Context) {
	for _, id := range s.ids() {
		if t := s.all[id]; t.waiter != nil {
			s.endLazy(ctx, t, StateCancelled, "Task cancelled while queued, before it started", "taskvisor is shutting down")
		}
	}
}
