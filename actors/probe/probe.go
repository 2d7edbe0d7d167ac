package probe

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
)

// stopTimeout bounds how long the cleanup of New waits for the probe actor
// to stop. Its Receive never blocks, so it stops at once; the bound only
// turns a broken system into a test error instead of a hung test.
const stopTimeout = 5 * time.Second

// Probe is an actor that records the messages it receives, and the test's
// handle on it. Make one with New.
type Probe struct {
	t      testing.TB
	system *actor.ActorSystem
	pid    *actor.PID

	// stopped is closed when the probe actor has received *actor.Stopped.
	stopped chan struct{}
	// closed is set when the probe stops or its cleanup begins; event
	// handlers that still run (one may, after Unsubscribe) then forward
	// nothing.
	closed atomic.Bool

	mu sync.Mutex
	// queue holds the recorded messages not yet taken by an expectation,
	// oldest first. Only the actor appends; only expectations remove.
	queue []received
	// arrived is closed, and replaced, whenever a message is appended:
	// a broadcast that a waiter can select on together with its timer.
	arrived chan struct{}
	// lastSender is the sender of the message last taken by ExpectMsg,
	// FishFor, FishForMsg or ExpectEvent.
	lastSender *actor.PID
	subs       []*eventstream.Subscription
	// cleanedUp is set by cleanup: later subscriptions would never end.
	cleanedUp bool
}

// received is one recorded message and the sender it came with (nil for
// Send without sender, Terminated and events).
type received struct {
	msg    any
	sender *actor.PID
}

// New spawns a probe actor in system. t.Cleanup unsubscribes the probe from
// the event stream and stops it; failures of the probe's expectations are
// reported through t.
func New(t testing.TB, system *actor.ActorSystem) *Probe {
	t.Helper()
	p := &Probe{
		t:       t,
		system:  system,
		stopped: make(chan struct{}),
		arrived: make(chan struct{}),
	}
	p.pid = system.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor {
		return &probeActor{p: p}
	}), "probe")
	t.Cleanup(p.cleanup)
	return p
}

// PID is the probe actor's PID: the address to give the actor under test.
func (p *Probe) PID() *actor.PID { return p.pid }

// Send sends msg to target with the probe as sender, so that the target's
// ctx.Sender() is the probe and its ctx.Respond comes back to the probe.
func (p *Probe) Send(target *actor.PID, msg any) {
	p.system.Root.RequestWithCustomSender(target, msg, p.pid)
}

// Request is Send under protoactor's name for a message that expects a
// response: msg goes to target with the probe as sender. If target does
// not exist, the probe receives an *actor.DeadLetterResponse.
func (p *Probe) Request(target *actor.PID, msg any) { p.Send(target, msg) }

// LastSender is the sender of the message last returned by ExpectMsg,
// FishFor, FishForMsg or ExpectEvent; nil before the first, or if that
// message came without a sender. ExpectTerminated does not change it.
//
// Note that protoactor's ctx.Respond sends without a sender: an actor's
// response leaves LastSender nil. An actor that wants the probe to answer
// it sends with ctx.Request.
func (p *Probe) LastSender() *actor.PID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastSender
}

// Reply sends msg to LastSender, with the probe as sender. It fails the
// test if there is no last sender.
func (p *Probe) Reply(msg any) {
	p.t.Helper()
	to := p.LastSender()
	if to == nil {
		p.t.Fatalf("probe: Reply(%T %+v): the last message taken had no sender", msg, msg)
		return
	}
	p.Send(to, msg)
}

// Watch makes the probe watch pid: when pid stops, the probe receives an
// *actor.Terminated for it (see ExpectTerminated). Watch returns once the
// probe actor has sent the watch request. Watching a pid that does not
// exist, or no longer does, yields a Terminated as well, with reason
// NotFound.
func (p *Probe) Watch(pid *actor.PID) {
	p.t.Helper()
	done := make(chan struct{})
	p.system.Root.Send(p.pid, watchCommand{pid: pid, done: done})
	select {
	case <-done:
	case <-p.stopped:
		p.t.Fatalf("probe: Watch(%s): the probe has stopped", pidString(pid))
	}
}

// cleanup is registered by New: stop forwarding events, unsubscribe, stop
// the actor and wait until it has stopped, so that no goroutine survives.
func (p *Probe) cleanup() {
	p.closed.Store(true)
	p.mu.Lock()
	subs := p.subs
	p.subs = nil
	p.cleanedUp = true
	p.mu.Unlock()
	for _, sub := range subs {
		p.system.EventStream.Unsubscribe(sub)
	}
	p.system.Root.Stop(p.pid)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.stopped:
	case <-timer.C:
		p.t.Errorf("probe: %s did not stop within %v", pidString(p.pid), stopTimeout)
	}
}

// push records a message and wakes the waiters. Called by the actor only.
func (p *Probe) push(r received) {
	p.mu.Lock()
	p.queue = append(p.queue, r)
	close(p.arrived)
	p.arrived = make(chan struct{})
	p.mu.Unlock()
}

// watchCommand asks the probe actor to watch pid, from its own context.
type watchCommand struct {
	pid  *actor.PID
	done chan struct{}
}

// forwardedEvent carries an EventStream event to the probe actor. The
// wrapper keeps events that happen to be protoactor messages (a PoisonPill,
// a MessageEnvelope, a lifecycle message) from being acted on or
// unwrapped by the actor machinery on the way.
type forwardedEvent struct{ event any }

// probeActor is the probe's actor: it records and never blocks.
type probeActor struct{ p *Probe }

func (a *probeActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Restarting:
		// lifecycle: not recorded
	case *actor.Stopped:
		a.p.closed.Store(true)
		close(a.p.stopped)
	case watchCommand:
		ctx.Watch(msg.pid)
		close(msg.done)
	case forwardedEvent:
		a.p.push(received{msg: msg.event})
	default:
		a.p.push(received{msg: msg, sender: ctx.Sender()})
	}
}

// samePID reports whether a and b name the same process; nil only equals nil.
func samePID(a, b *actor.PID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

func pidString(pid *actor.PID) string {
	if pid == nil {
		return "<nil PID>"
	}
	return pid.Address + "/" + pid.Id
}

// describe renders a recorded message for a failure report.
func describe(r received) string {
	s := fmt.Sprintf("%T %+v", r.msg, r.msg)
	if r.sender != nil {
		s += " (from " + pidString(r.sender) + ")"
	}
	return s
}
