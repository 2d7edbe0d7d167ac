package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// A task's place under the runtime's parallelism limits: the slot it takes
// before its process starts, the queue it waits in when a limit is full,
// and the slot it gives back when its process has ended (slots).

// acquireSlot takes a slot for the launch that why describes, and reports
// whether it has one; when not, the task is queued, and its launch goes on
// when the slot comes (onSlotGranted). A group starting its children in
// turn is told the task has started: its place in the queue is its turn.
func (a *taskActor) acquireSlot(ctx actor.Context, why string) bool {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	grant := func(w *slotWaiter) { root.Send(self, slotGranted{w: w}) }
	w, ahead, ok := a.env.slots.acquire(a.spec.Group, grant)
	if ok {
		a.slot = true
		return true
	}
	a.wait, a.waiter, a.queuedWhy = waitSlot, w, why
	a.waitTok++
	a.whyWait = "waiting for a slot: " + a.env.slots.full(a.spec.Group)
	a.ev.QueueTicket = w.ticket
	msg := fmt.Sprintf("Queued: %d ahead of it", ahead)
	if ahead == 0 {
		msg = "Queued: next in line"
	}
	a.set(ctx, StateQueued, msg, a.whyWait)
	a.groupStarted(ctx)
	return false
}

// onSlotGranted goes on with the launch that waited for its slot. A grant
// to a waiter the task has left is stale: the slot went back when it left.
func (a *taskActor) onSlotGranted(ctx actor.Context, m slotGranted) {
	if a.wait != waitSlot || a.waiter != m.w {
		return
	}
	a.wait, a.waiter, a.ev.QueueTicket, a.whyWait = waitNone, nil, 0, ""
	a.waitTok++
	a.slot = true
	a.launch(ctx, a.queuedWhy)
}

// releaseSlot gives the task's slot back, if it holds one.
func (a *taskActor) releaseSlot() {
	if a.slot {
		a.slot = false
		a.env.slots.release(a.spec.Group)
	}
}

// onDepsMet starts a task whose dependencies now hold, if it waits for
// them; one still waiting for its group's turn starts at that turn.
func (a *taskActor) onDepsMet(ctx actor.Context) {
	a.waitFor = ""
	if a.wait == waitDeps {
		a.wait = waitNone
		a.waitTok++
		a.whyWait = ""
		a.launch(ctx, "")
	}
}

// onDepsWaiting says anew what a waiting task still waits for.
func (a *taskActor) onDepsWaiting(ctx actor.Context, m depsWaiting) {
	if a.waitFor == "" {
		return
	}
	a.waitFor = m.message
	if a.wait == waitDeps {
		a.whyWait = m.message
		a.set(ctx, StateWaiting, m.message, a.ev.Reason)
	}
}

// skipTask ends a task that never started, because a dependency can no
// longer hold.
func (a *taskActor) skipTask(ctx actor.Context, reason string) {
	if a.gen > 0 || a.ev.State.Ended() {
		return
	}
	a.waitFor, a.skip = "", ""
	a.endWait()
	a.set(ctx, StateSkipped, "Skipped: "+reason, reason)
}
