//go:build linux

package tests

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/proc"
)

// soakCycles is how many start/stop cycles the soak runs: 2,000 in CI,
// TASKVISOR_SOAK=N for a long soak outside it.
func soakCycles() int {
	if n, err := strconv.Atoi(os.Getenv("TASKVISOR_SOAK")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 200
	}
	return 2000
}

// The soak: start, cancel, kill and restart tasks of every awkward kind
// through the Runtime, several at a time. At the end no process of the test
// is left, no zombie, and descriptors and goroutines are back where they
// were.
func TestSoakStartStopCycles(t *testing.T) {
	adoptOrphans(t)
	if err := proc.BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	kinds := []string{
		`setsid sleep 1000 & sleep 1000 & wait`,
		`( setsid sleep 1000 & ) ; exec sleep 1000`,
		`trap '' TERM; sleep 1000 & wait`,
		`perl -e 'setpgrp(0,0); sleep 1000' & exec sleep 1000`,
		`exit 3`,
		`yes flood | head -c 2000000; sleep 1000`,
		`sleep 1000`,
	}
	// Warm up: the guard, the first cgroups, the notify directory.
	warm, err := actors.New(actors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := warm.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	fdsBefore, goBefore := countFDs(t), runtime.NumGoroutine()

	rt, err := actors.New(actors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(map[int]chan struct{})
	endedEarly := make(map[int]bool) // before its waiter was registered
	var mu sync.Mutex
	unsub := rt.Subscribe(func(e actors.TaskEvent) {
		if e.State.Ended() {
			mu.Lock()
			if ch, ok := ended[e.ID]; ok {
				delete(ended, e.ID)
				close(ch)
			} else {
				endedEarly[e.ID] = true
			}
			mu.Unlock()
		}
	})
	n := soakCycles()
	began := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ch := make(chan struct{})
			id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "soak", Command: kinds[i%len(kinds)], StopGrace: 50 * time.Millisecond})
			if err != nil {
				t.Errorf("cycle %d: start: %v", i, err)
				return
			}
			mu.Lock()
			if endedEarly[id] {
				delete(endedEarly, id)
				close(ch)
			} else {
				ended[id] = ch
			}
			mu.Unlock()
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			switch i % 4 {
			case 0:
				_ = rt.Cancel(ctx, id)
			case 1:
				_ = rt.Kill(ctx, id)
			case 2:
				_ = rt.Restart(ctx, id)
				time.Sleep(time.Millisecond)
				_ = rt.Kill(ctx, id)
			case 3:
				_ = rt.Cancel(ctx, id)
				_ = rt.Kill(ctx, id)
			}
			select {
			case <-ch:
			case <-time.After(wait):
				t.Errorf("cycle %d: task %d did not end within %v", i, id, wait)
			}
		})
	}
	wg.Wait()
	took := time.Since(began)
	if _, err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	unsub()
	reapAdopted(t, 0)
	if left := proctest.Children(os.Getpid()); len(left) > 0 {
		t.Errorf("children left: %s", describe(left))
	}
	for _, st := range proctest.All() {
		if st.Zombie() && st.PPID == os.Getpid() {
			t.Errorf("zombie %d left", st.PID)
		}
	}
	var fdsAfter, goAfter int
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		fdsAfter, goAfter = countFDs(t), runtime.NumGoroutine()
		// Emptied run cgroups are kept for reuse, one descriptor each, 64
		// at most (about as many as tasks ran at once).
		if fdsAfter <= fdsBefore+64 && goAfter <= goBefore+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("descriptors %d -> %d, goroutines %d -> %d", fdsBefore, fdsAfter, goBefore, goAfter)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d cycles in %v (%v a cycle, 8 at a time); descriptors %d -> %d, goroutines %d -> %d",
		n, took.Round(time.Millisecond), (took / time.Duration(n)).Round(time.Microsecond), fdsBefore, fdsAfter, goBefore, goAfter)
}

// countFDs is how many descriptors the test process has open.
func countFDs(t *testing.T) int {
	t.Helper()
	n, err := proctest.FDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
