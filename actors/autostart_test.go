package actors_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

// Autostart starts the templates' processes in catalogue order, one after
// the other: each task's process has started before the next task's start
// begins, so a task's process starts after those of the tasks above it in
// the file. Before, only the ids followed the file; the processes started
// at the same time, in any order.
func TestAutostartStartsProcessesInFileOrder(t *testing.T) {
	const n = 40
	var cat actors.Catalogue
	for i := range n {
		cat = append(cat, actors.TaskSpec{Name: fmt.Sprintf("t%02d", i), Command: "exec sleep 60", Autostart: true})
	}
	h := newHarness(t, cat)
	// Every event, as the subscription sees it, in publication order.
	var mu sync.Mutex
	var order []int
	seen := map[int]bool{}
	done := make(chan struct{})
	unsubscribe := h.rt.Subscribe(func(ev actors.TaskEvent) {
		mu.Lock()
		defer mu.Unlock()
		if ev.PID != 0 && !seen[ev.ID] {
			seen[ev.ID] = true
			order = append(order, ev.ID)
			if len(order) == n {
				close(done)
			}
		}
	})
	defer unsubscribe()
	ids, err := h.rt.Autostart(h.ctx())
	if err != nil || len(ids) != n {
		t.Fatalf("Autostart: %v, %v", ids, err)
	}
	select {
	case <-done:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d tasks started a process within %s", len(order), n, wait)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.IsSorted(order) {
		t.Errorf("processes started in the order of tasks %v, want 1 to %d in turn", order, n)
	}
	for _, id := range ids {
		if err := h.rt.Kill(h.ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
}
