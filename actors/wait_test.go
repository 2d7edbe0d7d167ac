package actors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// Wait returns the task's ending, not a failure after which it is restarted,
// and the same ending at once when asked again.
func TestWaitReturnsTheEndingNotAFailureBeforeARestart(t *testing.T) {
	h := newHarness(t, nil)
	flaky := shell("flaky", "exit 3")
	flaky.Restart, flaky.MaxRestarts = actors.RestartOnFailure, 2
	flaky.Backoff.Initial = time.Millisecond
	id := h.startSpec(flaky)
	ev, err := h.rt.Wait(h.ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != id || ev.State != actors.StateGaveUp || ev.Generation != 3 {
		t.Fatalf("Wait returned %s (%s, generation %d), want gave-up after 3 runs", ev, ev.State, ev.Generation)
	}
	again, err := h.rt.Wait(context.Background(), id) // no deadline: no bound either
	if err != nil || again.State != ev.State || again.Generation != ev.Generation {
		t.Errorf("a second Wait returned %s, %v; want the same ending", again, err)
	}
	if _, err := h.rt.Wait(h.ctx(), id+100); !errors.Is(err, actors.ErrUnknownTask) {
		t.Errorf("Wait for an unknown task: %v, want ErrUnknownTask", err)
	}
}

// A task in a group that fails over its own limit leaves the decision to its
// group: Wait returns once the group's decision has ended it for good, with
// the event that is still its last after the shutdown.
func TestWaitInAGroupReturnsAfterTheGroupsDecision(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{
		Groups: []actors.GroupSpec{{Name: "g", Strategy: actors.OneForAll, MaxRestarts: 1}}})
	flaky := shell("flaky", "exit 3")
	flaky.Group, flaky.Restart, flaky.MaxRestarts = "g", actors.RestartOnFailure, 1
	flaky.Backoff.Initial = time.Millisecond
	steady := shell("steady", "exec sleep 60")
	steady.Group = "g"
	h.startSpec(steady)
	f := h.startSpec(flaky)
	ev, err := h.rt.Wait(h.ctx(), f)
	if err != nil {
		t.Fatal(err)
	}
	final, err := h.rt.Shutdown(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, last := range final {
		if last.ID == f && (last.State != ev.State || last.Generation != ev.Generation) {
			t.Errorf("Wait returned %s (generation %d), but the task's last event is %s (generation %d)",
				ev.State, ev.Generation, last.State, last.Generation)
		}
	}
	if ev.State != actors.StateGaveUp {
		t.Errorf("Wait returned %s, want gave-up (the group gave up at the top)", ev.Outcome())
	}
}

// A Wait ends with its context, and a Wait for a task that a shutdown stops
// is answered with the task's ending.
func TestWaitEndsWithItsContextOrTheShutdown(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("sleeper", "exec sleep 60"))
	h.expect(id, actors.StateRunning)
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.rt.Wait(short, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past its context's deadline: %v, want context.DeadlineExceeded", err)
	}

	// The Wait message is sent before the Shutdown, from this goroutine,
	// so the supervisor has it before the shutdown begins.
	h.p.Request(h.rt.PID(), actors.Wait{ID: id})
	if _, err := h.rt.Shutdown(h.ctx()); err != nil {
		t.Fatal(err)
	}
	r := probe.FishForMsg(h.p, func(actors.WaitReply) bool { return true }, wait)
	if r.Err != nil || r.ID != id || r.Event.State != actors.StateCancelled {
		t.Errorf("Wait during the shutdown: %s, %v; want task %d cancelled", r.Event.Outcome(), r.Err, id)
	}
	if _, err := h.rt.Wait(h.ctx(), id); !errors.Is(err, actors.ErrStopped) {
		t.Errorf("Wait after the shutdown: %v, want ErrStopped", err)
	}
}

// A Wait abandoned by its context is forgotten by the runtime: when the
// task ends, nothing is sent to the waiter that left.
func TestAbandonedWaitIsForgotten(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("sleeper", "exec sleep 60"))
	h.expect(id, actors.StateRunning)
	dead := probe.New(t, h.rt.System())
	dead.SubscribeEvents(func(e any) bool { _, ok := e.(*actor.DeadLetterEvent); return ok })
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if _, err := h.rt.Wait(short, id); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait: %v", err)
		}
		cancel()
	}
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	// Answered in the same round as any waiter before it: once this Wait
	// returns, a reply to an abandoned one would have been a dead letter.
	if ev, err := h.rt.Wait(h.ctx(), id); err != nil || ev.State != actors.StateKilled {
		t.Fatalf("Wait: %s, %v", ev.Outcome(), err)
	}
	dead.ExpectNoMsg(20 * time.Millisecond)
}
