package actors_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// listed returns the IDs that List returns.
func (h *harness) listed() []int {
	h.t.Helper()
	tasks, err := h.rt.List(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]int, 0, len(tasks))
	for _, ev := range tasks {
		ids = append(ids, ev.ID)
	}
	return ids
}

// waitListed waits until List returns exactly want: tasks are forgotten
// after their last event, by the runtime supervisor.
func (h *harness) waitListed(want ...int) {
	h.t.Helper()
	var got []int
	eventually(h.t, "List to return the tasks kept", func() bool {
		got = h.listed()
		return slices.Equal(got, want)
	})
}

// actorCount counts the actors of the system.
func actorCount(system *actor.ActorSystem) int {
	n := 0
	for _, m := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
		n += m.Count()
	}
	return n
}

// With KeepEnded 2, the third ended task makes the runtime forget the
// oldest: List no longer has it, commands for it answer ErrUnknownTask, and
// its actor has stopped.
func TestEndedTasksOverKeepEndedAreForgotten(t *testing.T) {
	system := probe.NewSystem(t)
	h := newHarnessWith(t, system, actors.Config{KeepEnded: 2})
	for i := 1; i <= 5; i++ {
		h.expect(h.startSpec(shell("short", "exit 0")), actors.StateCompleted)
	}
	h.waitListed(4, 5)

	if _, err := h.rt.Output(h.ctx(), 1); !errors.Is(err, actors.ErrUnknownTask) {
		t.Errorf("Output of a forgotten task: %v, want ErrUnknownTask", err)
	}
	if err := h.rt.Restart(h.ctx(), 1); !errors.Is(err, actors.ErrUnknownTask) {
		t.Errorf("Restart of a forgotten task: %v, want ErrUnknownTask", err)
	}
	w := probe.New(t, system)
	first := actor.NewPID(system.Address(), actors.DefaultName+"/task-1")
	w.Watch(first)
	w.ExpectTerminated(first, wait)
	// A kept task can still be restarted.
	if err := h.rt.Restart(h.ctx(), 5); err != nil {
		t.Errorf("Restart of a kept task: %v", err)
	}
	h.expectWhere(5, func(ev actors.TaskEvent) bool { return ev.State == actors.StateCompleted && ev.Generation == 2 })
}

// A task restarted by command is not forgotten while it runs again; the
// next oldest ended one is.
func TestRestartedTaskIsNotForgotten(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{KeepEnded: 1})
	flag := filepath.Join(t.TempDir(), "ran")
	// Completes the first time, runs until stopped the second.
	once := h.startSpec(shell("once", "test -e "+flag+" && exec sleep 60; touch "+flag))
	h.expect(once, actors.StateCompleted)
	if err := h.rt.Restart(h.ctx(), once); err != nil {
		t.Fatal(err)
	}
	h.expectWhere(once, func(ev actors.TaskEvent) bool { return ev.State == actors.StateRunning && ev.Generation == 2 })
	b := h.startSpec(shell("b", "exit 0"))
	h.expect(b, actors.StateCompleted)
	c := h.startSpec(shell("c", "exit 0"))
	h.expect(c, actors.StateCompleted)
	h.waitListed(once, c)
}

// A task in backoff is kept until it gives up; tasks in groups are kept
// whatever the limit; a negative KeepEnded keeps everything.
func TestWhatKeepEndedKeeps(t *testing.T) {
	t.Run("backoff then gave-up", func(t *testing.T) {
		system := probe.NewSystem(t)
		clock := probe.NewClock(system)
		m := &manual{harness: newHarnessWith(t, system, actors.Config{KeepEnded: 1, Clock: clock}), clock: clock}
		b := m.startSpec(shell("b", "exit 0"))
		m.expect(b, actors.StateCompleted)
		flaky := shell("flaky", "exit 1")
		flaky.Restart, flaky.MaxRestarts = actors.RestartOnFailure, 1
		a := m.startSpec(flaky)
		m.expect(a, actors.StateBackoff)
		// a failed, but waits to start again: b is not forgotten for it.
		if got := m.listed(); !slices.Equal(got, []int{b, a}) {
			t.Fatalf("while a is in backoff List has %v, want [%d %d]", got, b, a)
		}
		m.advance(actors.DefaultBackoffInitial)
		m.expect(a, actors.StateGaveUp)
		m.waitListed(a) // now two have ended: b, the older, is forgotten
	})
	t.Run("groups", func(t *testing.T) {
		h := newHarnessWith(t, probe.NewSystem(t), actors.Config{KeepEnded: 1, Groups: []actors.GroupSpec{{Name: "g"}}})
		for i := 1; i <= 3; i++ {
			spec := shell("in-g", "exit 0")
			spec.Group = "g"
			h.expect(h.startSpec(spec), actors.StateCompleted)
		}
		top := h.startSpec(shell("top", "exit 0"))
		h.expect(top, actors.StateCompleted)
		h.expect(h.startSpec(shell("top2", "exit 0")), actors.StateCompleted)
		h.waitListed(1, 2, 3, 5)
	})
	t.Run("negative keeps all", func(t *testing.T) {
		h := newHarnessWith(t, probe.NewSystem(t), actors.Config{KeepEnded: -1})
		for i := 1; i <= 4; i++ {
			h.expect(h.startSpec(shell("short", "exit 0")), actors.StateCompleted)
		}
		h.waitListed(1, 2, 3, 4)
	})
}

// Many short tasks leave a bounded number of actors behind.
func TestManyEndedTasksLeaveBoundedActors(t *testing.T) {
	system := probe.NewSystem(t)
	h := newHarnessWith(t, system, actors.Config{KeepEnded: 10})
	before := actorCount(system)
	const n = 200
	for i := 0; i < n; i++ {
		h.startSpec(shell("short", "exit 0"))
	}
	h.expect(n, actors.StateCompleted)
	eventually(t, "at most 10 tasks kept", func() bool { return len(h.listed()) <= 10 })
	// Forgotten actors stop after their mailbox is drained: count until they
	// have.
	var after int
	eventually(t, "the forgotten tasks' actors to stop", func() bool {
		after = actorCount(system)
		return after <= before+10+2
	})
	t.Logf("%d tasks ended, keep 10: %d actors before, %d after", n, before, after)
}

// A Restart that reaches the runtime supervisor between a task's ending and
// the task's word that it has ended (here sent by an EventStream handler,
// which runs while the task publishes, so the order is fixed) makes that
// word stale: the task is not counted as ended while it runs again, so it
// neither pushes an older ended task out nor is answered as ended.
func TestRestartBeforeTheEndingIsToldIsNotLost(t *testing.T) {
	system := probe.NewSystem(t)
	h := newHarnessWith(t, system, actors.Config{KeepEnded: 1})
	b := h.startSpec(shell("b", "exit 0"))
	if _, err := h.rt.Wait(h.ctx(), b); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "ran")
	var once int
	var sent atomic.Bool
	sub := system.EventStream.Subscribe(func(e any) {
		if ev, ok := e.(actors.TaskEvent); ok && ev.Name == "once" && ev.State == actors.StateCompleted && sent.CompareAndSwap(false, true) {
			system.Root.Send(h.rt.PID(), actors.Restart{ID: ev.ID})
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	// Completes the first time, runs until stopped the second.
	once = h.startSpec(shell("once", "test -e "+flag+" && exec sleep 60; touch "+flag))
	h.expectWhere(once, func(ev actors.TaskEvent) bool { return ev.State == actors.StateRunning && ev.Generation == 2 })

	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if ev, err := h.rt.Wait(short, once); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for the restarted task returned %s, %v; want it still running", ev.Outcome(), err)
	}
	// Only b has ended: it is kept.
	h.waitListed(b, once)
}

// A command routed to an ended task just before the task is forgotten is
// still answered: the actor handles what it was sent before it stops.
func TestCommandToATaskBeingForgottenIsAnswered(t *testing.T) {
	system := probe.NewSystem(t)
	h := newHarnessWith(t, system, actors.Config{KeepEnded: 1})
	a := h.startSpec(shell("a", "exit 0"))
	if _, err := h.rt.Wait(h.ctx(), a); err != nil {
		t.Fatal(err)
	}
	asker := probe.New(t, system)
	var sent atomic.Bool
	// Sent while b publishes its ending, so the Cancel for a reaches the
	// runtime supervisor before b's word that it has ended, which makes a
	// the one to forget.
	sub := system.EventStream.Subscribe(func(e any) {
		if ev, ok := e.(actors.TaskEvent); ok && ev.Name == "b" && ev.State == actors.StateCompleted && sent.CompareAndSwap(false, true) {
			asker.Request(h.rt.PID(), actors.Cancel{ID: a})
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	h.startSpec(shell("b", "exit 0"))
	r := probe.ExpectMsg[actors.Reply](asker, wait)
	if r.Op != "cancel" || r.ID != a || !errors.Is(r.Err, actors.ErrWrongState) {
		t.Errorf("reply %+v, want cancel of task %d refused: it has ended", r, a)
	}
	h.waitListed(a + 1)
}
