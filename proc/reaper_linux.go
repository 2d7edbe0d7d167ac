package proc

import (
	"sync"
	"time"
)

// orphanReaper is the program's one owner of adopted orphans (containerd's
// reaper Monitor plays the same part): the processes of task runs that were
// reparented to this program (a child subreaper) when their parents died.
// Each run that ends waits here until its run cgroup is empty and its
// orphans reaped; the reaper serves every waiting run with one look at this
// program's children per round, so a thousand runs ending at once cost a
// few looks, not a thousand each.
//
// It reaps only what it owns: a child that is not an unreaped task leader
// (leaders; those have their own pidfd waiters) and that /proc shows in one
// of the program's run cgroups. It never calls wait4(-1), which would steal
// exits from pidfd waiters and os/exec. Its goroutine runs only while a run
// is waiting.
type orphanReaper struct {
	mu      sync.Mutex
	pending []*settleWait // registered, not yet seen by the loop
	running bool
	kick    chan struct{}
}

var orphans = orphanReaper{kick: make(chan struct{}, 1)}

// settleWait is one run waiting for its cgroup to empty.
type settleWait struct {
	cg       *runCgroup
	deadline time.Time
	next     time.Time     // when to look at its cgroup again
	delay    time.Duration // the next back-off
	empty    bool          // its cgroup was empty at the start of this round
	result   chan bool
}

// settle blocks until no process of cg lives and its orphans are reaped
// (true), or until deadline (false).
func (r *orphanReaper) settle(cg *runCgroup, deadline time.Time) bool {
	w := &settleWait{cg: cg, deadline: deadline, delay: 100 * time.Microsecond, result: make(chan bool, 1)}
	r.mu.Lock()
	r.pending = append(r.pending, w)
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default: // a round is due already
	}
	return <-w.result
}

// loop serves the waiting runs in rounds until none waits.
func (r *orphanReaper) loop() {
	var waits []*settleWait
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		waits = append(waits, r.pending...)
		clear(r.pending)
		r.pending = r.pending[:0]
		if len(waits) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()

		// Which cgroups are empty, before the look at the children: every
		// process of those has exited by then, so the look sees all of
		// them that are ours.
		now := time.Now()
		anyEmpty := false
		for _, w := range waits {
			if !w.next.After(now) && !w.cg.populated() {
				w.empty, anyEmpty = true, true
			}
		}
		var left map[string]bool
		if anyEmpty {
			left = r.reap(waits[0].cg.tree)
		}
		next := time.Time{}
		keep := waits[:0]
		for _, w := range waits {
			switch {
			case w.empty && !left[w.cg.name]:
				w.result <- true
				continue
			case now.After(w.deadline):
				w.result <- false
				continue
			case !w.next.After(now):
				w.next = now.Add(w.delay)
				w.delay = min(2*w.delay, 20*time.Millisecond)
			}
			w.empty = false
			keep = append(keep, w)
			if next.IsZero() || w.next.Before(next) {
				next = w.next
			}
		}
		clear(waits[len(keep):])
		waits = keep
		if len(waits) == 0 {
			continue // exits unless a run registered meanwhile
		}
		timer.Reset(time.Until(next))
		select {
		case <-r.kick:
		case <-timer.C:
		}
	}
}

// reap reaps this program's children that are orphans of task runs and have
// exited, and returns the run cgroups that may still have a child of this
// program in them: one exiting, not yet reapable, or one reaped, whose own
// unreaped children were reparented here as it exited, after the look at
// the children (the next round reaps them).
func (r *orphanReaper) reap(t *cgroupTree) map[string]bool {
	// Leaders are skipped before any read of /proc: their waiters reap them.
	children := leaders.without(ownChildren())
	if len(children) == 0 {
		return nil
	}
	type orphan struct {
		pid int
		run string
	}
	var found []orphan
	for _, pid := range children {
		if run := t.runOf(pid); run != "" {
			found = append(found, orphan{pid, run})
		}
	}
	if len(found) == 0 {
		return nil
	}
	var left map[string]bool
	// No start is between its fork and leaders.add now: a pid that is not in
	// leaders is no task's leader. A pid seen above may have been reaped by
	// its owner and recycled since: it is reaped only if it is still in a
	// run cgroup (so no child of os/exec's) and not a leader.
	leaders.forking.Lock()
	defer leaders.forking.Unlock()
	for _, o := range found {
		if leaders.has(o.pid) || t.runOf(o.pid) != o.run {
			continue
		}
		_ = reapOrphan(o.pid)
		if left == nil {
			left = map[string]bool{}
		}
		left[o.run] = true
	}
	return left
}
