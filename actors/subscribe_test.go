package actors_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// Two runtimes in one actor system: each runtime's subscriptions see only
// its own events, and SubscribeEvents sees both, told apart by Runtime.
func TestSubscriptionsSeeOnlyTheirRuntime(t *testing.T) {
	system := probe.NewSystem(t)
	a := newHarnessWith(t, system, actors.Config{Name: "a"})
	b := newHarnessWith(t, system, actors.Config{Name: "b"})

	type seen struct{ runtime, name string }
	gotA := make(chan seen, 100)
	gotAll := make(chan seen, 100)
	stopA := a.rt.Subscribe(func(ev actors.TaskEvent) { gotA <- seen{ev.Runtime, ev.Name} })
	defer stopA()
	stopAll := actors.SubscribeEvents(system, func(ev actors.TaskEvent) { gotAll <- seen{ev.Runtime, ev.Name} })
	defer stopAll()

	idA := a.startSpec(shell("in-a", "exit 0"))
	a.expect(idA, actors.StateCompleted)
	idB := b.startSpec(shell("in-b", "exit 0"))
	b.expect(idB, actors.StateCompleted)
	stopA()
	stopAll()

	close(gotA)
	for s := range gotA {
		if s != (seen{"a", "in-a"}) {
			t.Errorf("runtime a's subscription got %+v", s)
		}
	}
	fromAll := map[seen]bool{}
	close(gotAll)
	for s := range gotAll {
		fromAll[s] = true
	}
	if !fromAll[seen{"a", "in-a"}] || !fromAll[seen{"b", "in-b"}] || len(fromAll) != 2 {
		t.Errorf("SubscribeEvents saw %v, want the tasks of a and b", fromAll)
	}
}

// Events delivers in order, and after Shutdown the channel still gives the
// final events, then closes; Events after Shutdown is closed at once.
func TestEventsChannelEndsWithShutdown(t *testing.T) {
	system := probe.NewSystem(t)
	rt, err := actors.New(actors.Config{System: system, Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	// On an early failure too; Shutdown runs once.
	t.Cleanup(func() { _, _ = rt.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	events := rt.Events(ctx)
	id, err := rt.StartSpec(ctx, shell("sleeper", "exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	var states []actors.State
	for e := range events {
		if ev, ok := e.(actors.TaskEvent); ok && ev.ID == id {
			states = append(states, ev.State)
			if ev.State == actors.StateRunning {
				break
			}
		}
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// Shutdown has returned: the rest is queued, and the channel closes
	// after it.
	for e := range events {
		if ev, ok := e.(actors.TaskEvent); ok && ev.ID == id {
			states = append(states, ev.State)
		}
	}
	want := []actors.State{actors.StateStarting, actors.StateRunning, actors.StateStopping, actors.StateCancelled}
	if !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if _, open := <-rt.Events(ctx); open {
		t.Error("Events after Shutdown gave an event, want a closed channel")
	}
}

// Cancelling the context closes the channel even though nobody reads it
// and events keep coming; no goroutine is left (TestMain checks).
func TestEventsChannelEndsWithItsContext(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	events := h.rt.Events(ctx)
	id := h.startSpec(shell("chatty", "i=0; while [ $i -lt 20 ]; do echo $i; i=$((i+1)); done"))
	h.expect(id, actors.StateCompleted)
	cancel()
	deadline := time.After(wait)
	for {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		case <-deadline:
			t.Fatal("the channel of Events did not close after its context was cancelled")
		}
	}
}

// SubscribePID puts the runtime's events into an actor's mailbox.
func TestSubscribePIDSendsEventsToAnActor(t *testing.T) {
	h := newHarness(t, nil)
	p := probe.New(t, h.rt.System())
	stop := h.rt.SubscribePID(p.PID())
	id := h.startSpec(shell("short", "exit 3"))
	probe.FishForMsg(p, func(ev actors.TaskEvent) bool { return ev.ID == id && ev.State == actors.StateFailed }, wait)
	stop()
	h.startSpec(shell("after", "exit 0"))
	h.expect(id+1, actors.StateCompleted)
	p.ExpectNoMsg(50 * time.Millisecond)
}
