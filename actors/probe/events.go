package probe

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// SubscribeEvents forwards to the probe every event of the system's
// EventStream for which filter returns true (a nil filter forwards all).
// Forwarded events are recorded like messages, without a sender; take them
// with ExpectEvent (or any other expectation). The subscription ends at the
// probe's cleanup; calling SubscribeEvents twice makes two subscriptions.
//
// filter runs on the publisher's goroutine, synchronously, possibly
// concurrently with itself: it must be quick and safe for concurrent use.
// The probe filters inside its handler rather than with
// SubscribeWithPredicate, whose predicate is set after the subscription is
// live (a data race in this protoactor version).
//
// A handler may still run once after Unsubscribe; by then the probe
// forwards nothing. Dead letters addressed to the probe itself are never
// forwarded: forwarding one to a stopped probe would publish another, and
// so on, on the publisher's stack.
func (p *Probe) SubscribeEvents(filter func(event any) bool) {
	p.t.Helper()
	sub := p.system.EventStream.Subscribe(func(event any) {
		if p.closed.Load() {
			return
		}
		if dl, ok := event.(*actor.DeadLetterEvent); ok && samePID(dl.PID, p.pid) {
			return
		}
		if filter != nil && !filter(event) {
			return
		}
		p.system.Root.Send(p.pid, forwardedEvent{event: event})
	})
	p.mu.Lock()
	cleanedUp := p.cleanedUp
	if !cleanedUp {
		p.subs = append(p.subs, sub)
	}
	p.mu.Unlock()
	if cleanedUp {
		p.system.EventStream.Unsubscribe(sub)
		p.t.Fatalf("probe: SubscribeEvents after the probe's cleanup")
	}
}

// ExpectEvent waits up to timeout for an event of type T for which match
// returns true (a nil match accepts any T), skipping and dropping whatever
// comes before it, events and messages alike. It is FishForMsg for events
// that arrive through SubscribeEvents.
func ExpectEvent[T any](p *Probe, match func(T) bool, timeout time.Duration) T {
	p.t.Helper()
	return fishTyped(p, "ExpectEvent["+typeName[T]()+"]", match, timeout)
}
