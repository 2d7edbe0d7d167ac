package actors_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// maxChildren samples the test's child processes from /proc until stop is
// closed and returns the most it saw at once.
func maxChildren(stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		most := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			most = max(most, len(childProcesses()))
			select {
			case <-stop:
				out <- most
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// Twenty tasks under max_parallel 4: never more than four processes at
// once (sampled from /proc), every task queued beyond the fourth, and all
// twenty complete.
func TestMaxParallelBoundsProcesses(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{MaxParallel: 4})
	var mu sync.Mutex
	queued := map[int]bool{}
	unsubscribe := h.rt.Subscribe(func(ev actors.TaskEvent) {
		if ev.State == actors.StateQueued {
			mu.Lock()
			queued[ev.ID] = true
			mu.Unlock()
		}
	})
	defer unsubscribe()

	stop := make(chan struct{})
	most := maxChildren(stop)
	var ids []int
	for i := range 20 {
		ids = append(ids, h.startSpec(shell(fmt.Sprintf("job%d", i), "sleep 0.2")))
	}
	for _, id := range ids {
		if ev, err := h.rt.Wait(h.ctx(), id); err != nil || ev.State != actors.StateCompleted {
			t.Fatalf("task %d: %v, %v", id, ev.State, err)
		}
	}
	close(stop)
	if n := <-most; n > 4 || n < 2 {
		t.Errorf("at most %d processes at once, want 2 to 4 (4 allowed)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queued) < 16 {
		t.Errorf("%d tasks were queued, want at least 16 of 20", len(queued))
	}
}

// Under max_parallel 1 the queue's order is the order of the starts: each
// task starts its process only once the one before it has ended.
func TestQueueIsFirstComeFirstServed(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{MaxParallel: 1})
	var mu sync.Mutex
	var order []int
	unsubscribe := h.rt.Subscribe(func(ev actors.TaskEvent) {
		if ev.State == actors.StateRunning {
			mu.Lock()
			order = append(order, ev.ID)
			mu.Unlock()
		}
	})
	defer unsubscribe()
	var ids []int
	for i := range 6 {
		ids = append(ids, h.startSpec(shell(fmt.Sprintf("job%d", i), "sleep 0.05")))
	}
	for _, id := range ids {
		if _, err := h.rt.Wait(h.ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, ids) {
		t.Errorf("started in the order %v, want %v", order, ids)
	}
}

// A queued task that is cancelled or killed ends without a process, and
// leaves the queue: the task behind it moves up.
func TestCancelOfAQueuedTask(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{MaxParallel: 1})
	running := h.startSpec(shell("long", "exec sleep 60"))
	h.expect(running, actors.StateRunning)
	cancelled := h.startSpec(shell("second", "exec sleep 60"))
	q := h.expect(cancelled, actors.StateQueued)
	if q.QueueTicket == 0 || q.PID != 0 {
		t.Errorf("queued event: ticket %d, pid %d; want a ticket and no pid", q.QueueTicket, q.PID)
	}
	killed := h.startSpec(shell("third", "exec sleep 60"))
	h.expect(killed, actors.StateQueued)
	last := h.startSpec(shell("fourth", "true"))
	h.expect(last, actors.StateQueued)

	if err := h.rt.Cancel(h.ctx(), cancelled); err != nil {
		t.Fatal(err)
	}
	ev := h.expect(cancelled, actors.StateCancelled)
	if ev.PID != 0 || ev.Generation != 0 || ev.Message != "Task cancelled while queued, before it started" {
		t.Errorf("cancelled: pid %d, generation %d, %q", ev.PID, ev.Generation, ev.Message)
	}
	if err := h.rt.Kill(h.ctx(), killed); err != nil {
		t.Fatal(err)
	}
	h.expect(killed, actors.StateKilled)
	if err := h.rt.Restart(h.ctx(), last); err == nil {
		t.Error("restart of a queued task was accepted; want a refusal")
	}
	// The one left in the queue starts once the first ends.
	if err := h.rt.Kill(h.ctx(), running); err != nil {
		t.Fatal(err)
	}
	if ev, err := h.rt.Wait(h.ctx(), last); err != nil || ev.State != actors.StateCompleted {
		t.Fatalf("last: %v, %v", ev.State, err)
	}
	// A task cancelled while queued starts when restarted, as any ended
	// task does.
	if err := h.rt.Restart(h.ctx(), cancelled); err != nil {
		t.Fatal(err)
	}
	h.waitState(cancelled, actors.StateRunning)
	if err := h.rt.Kill(h.ctx(), cancelled); err != nil {
		t.Fatal(err)
	}
	if ev, err := h.rt.Wait(h.ctx(), cancelled); err != nil || ev.State != actors.StateKilled {
		t.Fatalf("restarted, then killed: %v, %v", ev.State, err)
	}
}

// waitState waits until List says task id is in state.
func (h *harness) waitState(id int, state actors.State) {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("task %d %s", id, state), func() bool {
		tasks, err := h.rt.List(h.ctx())
		if err != nil {
			return false
		}
		for _, ev := range tasks {
			if ev.ID == id {
				return ev.State == state
			}
		}
		return false
	})
}

// A limit raised at run time starts as many queued tasks as it frees slots,
// at once.
func TestRaisedLimitStartsMore(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{MaxParallel: 1})
	var ids []int
	for i := range 4 {
		ids = append(ids, h.startSpec(shell(fmt.Sprintf("sleeper%d", i), "exec sleep 60")))
	}
	h.expect(ids[0], actors.StateRunning)
	for _, id := range ids[1:] {
		h.waitState(id, actors.StateQueued)
	}
	if err := h.rt.SetMaxParallel(h.ctx(), "", 3); err != nil {
		t.Fatal(err)
	}
	h.waitState(ids[1], actors.StateRunning)
	h.waitState(ids[2], actors.StateRunning)
	tasks, err := h.rt.List(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if st := tasks[3].State; st != actors.StateQueued {
		t.Errorf("fourth task is %s, want still queued", st)
	}
	if err := h.rt.SetMaxParallel(h.ctx(), "", 0); err != nil {
		t.Fatal(err)
	}
	h.waitState(ids[3], actors.StateRunning)
	if err := h.rt.SetMaxParallel(h.ctx(), "nosuchgroup", 2); err == nil {
		t.Error("a limit for an unknown group was accepted")
	}
}

// A group's limit holds its own tasks back and lets the others pass.
func TestGroupLimit(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{
		Groups: []actors.GroupSpec{{Name: "build", MaxParallel: 1}},
	})
	first := h.startSpec(actors.TaskSpec{Name: "b1", Command: "exec sleep 60", Group: "build"})
	h.expect(first, actors.StateRunning)
	second := h.startSpec(actors.TaskSpec{Name: "b2", Command: "exec sleep 60", Group: "build"})
	ev := h.expect(second, actors.StateQueued)
	if want := "waiting for a slot: max_parallel 1 of group build reached"; ev.Reason != want {
		t.Errorf("reason %q, want %q", ev.Reason, want)
	}
	other := h.startSpec(shell("other", "exec sleep 60"))
	h.expect(other, actors.StateRunning)
	if err := h.rt.Cancel(h.ctx(), first); err != nil {
		t.Fatal(err)
	}
	h.expect(second, actors.StateRunning)
}
