package probe

import (
	"testing"
	"time"
)

type tick struct{}

// A probe whose actor is gone but whose subscription still runs (the window
// between the actor's removal from the registry and its Stopped, or a
// handler that runs once after Unsubscribe) must not feed its own dead
// letters back to itself: each forward would publish a DeadLetterEvent for
// the probe, which the handler would forward again, recursing on the
// publisher's stack until it overflows.
func TestNoDeadLetterLoopToAStoppedProbe(t *testing.T) {
	system := NewSystem(t)
	p := New(t, system)
	p.SubscribeEvents(nil)

	system.Root.Stop(p.pid)
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the probe did not stop")
	}
	p.closed.Store(false) // reopen the window that closed guards
	system.EventStream.Publish(tick{})
	// Reaching here is the test: without the guard Publish never returns.
}
