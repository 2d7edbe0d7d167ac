package actors_test

import (
	"strings"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// A chain a -> b -> c on completed runs in order when each completes.
func TestDependencyChainRunsInOrder(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{})
	dir := t.TempDir()
	c := h.startSpec(actors.TaskSpec{Name: "c", Command: "test -f " + dir + "/b && touch " + dir + "/c", After: []string{"b"}})
	b := h.startSpec(actors.TaskSpec{Name: "b", Command: "test -f " + dir + "/a && touch " + dir + "/b", After: []string{"a"}})
	ev := h.expect(c, actors.StateWaiting)
	if ev.Message != "Waiting for b (not started yet) to complete" && ev.Message != "Waiting for b (task 2) to complete" {
		t.Errorf("c waits: %q", ev.Message)
	}
	a := h.startSpec(actors.TaskSpec{Name: "a", Command: "sleep 0.2; touch " + dir + "/a"})
	for _, id := range []int{a, b, c} {
		if ev, err := h.rt.Wait(h.ctx(), id); err != nil || ev.State != actors.StateCompleted {
			t.Fatalf("task %d: %v %s, %v", id, ev.State, ev.Reason, err)
		}
	}
}

// a fails and gives up: b and c, waiting for it to complete, end skipped
// with the reason, without a process.
func TestFailedDependencySkips(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{})
	a := h.startSpec(actors.TaskSpec{Name: "a", Command: "sleep 0.2; exit 3", Restart: actors.RestartOnFailure,
		MaxRestarts: 1, Backoff: actors.Backoff{Initial: 10e6}})
	b := h.startSpec(actors.TaskSpec{Name: "b", Command: "true", After: []string{"a:completed"}})
	c := h.startSpec(actors.TaskSpec{Name: "c", Command: "true", After: []string{"b"}})
	ev, err := h.rt.Wait(h.ctx(), b)
	if err != nil || ev.State != actors.StateSkipped || ev.PID != 0 {
		t.Fatalf("b: %v pid %d, %v", ev.State, ev.PID, err)
	}
	if want := "a (task 1) ended gave-up: it will not complete"; ev.Reason != want {
		t.Errorf("b's reason %q, want %q", ev.Reason, want)
	}
	ev, err = h.rt.Wait(h.ctx(), c)
	if err != nil || ev.State != actors.StateSkipped || !strings.Contains(ev.Reason, "b (task 2) ended skipped") {
		t.Fatalf("c: %v %q, %v", ev.State, ev.Reason, err)
	}
	if ev, _ := h.rt.Wait(h.ctx(), a); ev.State != actors.StateGaveUp {
		t.Errorf("a: %s", ev.State)
	}
}

// started and ready conditions, an id as a reference, and a task waiting
// for its dependencies that is cancelled ends without a process.
func TestDependencyConditions(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{})
	server := h.startSpec(actors.TaskSpec{Name: "server", Command: "exec sleep 60"})
	h.waitState(server, actors.StateRunning)
	onStart := h.startSpec(actors.TaskSpec{Name: "client", Command: "exec sleep 60", After: []string{"1:started"}})
	h.waitState(onStart, actors.StateRunning)
	onEnd := h.startSpec(actors.TaskSpec{Name: "cleanup", Command: "true", After: []string{"server:ended"}})
	h.waitState(onEnd, actors.StateWaiting)
	cancelled := h.startSpec(actors.TaskSpec{Name: "never", Command: "true", After: []string{"server"}})
	h.waitState(cancelled, actors.StateWaiting)
	if err := h.rt.Restart(h.ctx(), cancelled); err == nil {
		t.Error("restart of a waiting task was accepted")
	}
	if err := h.rt.Cancel(h.ctx(), cancelled); err != nil {
		t.Fatal(err)
	}
	if ev, _ := h.rt.Wait(h.ctx(), cancelled); ev.State != actors.StateCancelled || ev.PID != 0 ||
		ev.Message != "Task cancelled while waiting for its dependencies" {
		t.Errorf("cancelled while waiting: %s %q pid %d", ev.State, ev.Message, ev.PID)
	}
	if err := h.rt.Kill(h.ctx(), server); err != nil {
		t.Fatal(err)
	}
	if ev, _ := h.rt.Wait(h.ctx(), onEnd); ev.State != actors.StateCompleted {
		t.Errorf("cleanup after the server ended: %s %q", ev.State, ev.Reason)
	}
	if _, err := h.rt.StartSpec(h.ctx(), actors.TaskSpec{Name: "x", Command: "true", After: []string{"build:finished"}}); err == nil {
		t.Error("an unknown condition was accepted")
	}
	ev := h.startSpec(actors.TaskSpec{Name: "y", Command: "true", After: []string{"99"}})
	if ev, _ := h.rt.Wait(h.ctx(), ev); ev.State != actors.StateSkipped || ev.Reason != "after 99: no task 99" {
		t.Errorf("after an unknown id: %s %q", ev.State, ev.Reason)
	}
}

// Two tasks started waiting for each other are not left waiting for ever:
// the second closes a cycle and is skipped, and so the first.
func TestDependencyCycleAtRunTime(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{})
	a := h.startSpec(actors.TaskSpec{Name: "a", Command: "true", After: []string{"b"}})
	h.waitState(a, actors.StateWaiting)
	b := h.startSpec(actors.TaskSpec{Name: "b", Command: "true", After: []string{"a"}})
	ev, _ := h.rt.Wait(h.ctx(), b)
	if ev.State != actors.StateSkipped || !strings.Contains(ev.Reason, "dependency cycle") {
		t.Errorf("b: %s %q", ev.State, ev.Reason)
	}
	if ev, _ := h.rt.Wait(h.ctx(), a); ev.State != actors.StateSkipped {
		t.Errorf("a: %s %q", ev.State, ev.Reason)
	}
}
