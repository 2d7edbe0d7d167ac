package actors

import (
	"container/list"
	"fmt"
	"sync"
)

// slots keeps the runtime's parallelism limits (Config.MaxParallel,
// GroupSpec.MaxParallel) and its queue of tasks that wait for a slot.
//
// A task holds a slot from the moment its process is about to start until
// that process has ended: while starting, running, stalled, paused or
// stopping. A slot counts against the limit of the task's group, of each
// group above it, and of the top level. A task that finds a limit on its
// way full joins the queue, which is one FIFO for the whole runtime: a
// freed slot goes to the first waiter whose every limit has room (a waiter
// held back by its own group's limit lets those behind it from elsewhere
// pass).
//
// A nil *slots has no limits and no queue (task actors made without a
// runtime, in tests). It is shared by the runtime's task actors, not an actor of its own: a
// freed slot is granted in the same call that frees it, one message (grant)
// away from the next task's start, with no round trip through a
// supervisor's mailbox. Its lock is held only for counting; grant sends a
// message and never blocks.
type slots struct {
	mu      sync.Mutex
	limits  map[string]int    // by group ("" the top level); absent or <= 0: no limit
	held    map[string]int    // slots held in each group's subtree
	parents map[string]string // each group's parent, the top level's ""
	queue   list.List         // of *slotWaiter, first come first
	ticket  uint64            // the last ticket given
}

// slotWaiter is a task in the queue.
type slotWaiter struct {
	ticket uint64
	group  string
	// grant is called, with the lock held, once the waiter has its slot.
	grant func(w *slotWaiter)
	elem  *list.Element // nil once out of the queue
}

func newSlots(top int, groups []GroupSpec, parents map[string]string) *slots {
	s := &slots{limits: map[string]int{}, held: map[string]int{}, parents: parents}
	if top > 0 {
		s.limits[""] = top
	}
	for _, g := range groups {
		if g.MaxParallel > 0 {
			s.limits[g.Name] = g.MaxParallel
		}
	}
	return s
}

// chain calls f for group, each group above it, and the top level, and
// stops early when f returns false.
func (s *slots) chain(group string, f func(g string) bool) {
	for g := group; ; g = s.parents[g] {
		if !f(g) || g == "" {
			return
		}
	}
}

// fits reports whether a task of group may take a slot now.
func (s *slots) fits(group string) bool {
	ok := true
	s.chain(group, func(g string) bool {
		if lim := s.limits[g]; lim > 0 && s.held[g] >= lim {
			ok = false
		}
		return ok
	})
	return ok
}

func (s *slots) take(group string) {
	s.chain(group, func(g string) bool { s.held[g]++; return true })
}

// acquire takes a slot for a task of group if its limits allow, and reports
// true; otherwise it queues the task and returns its place in the queue:
// the waiter, and how many wait ahead of it. grant is called once the slot
// is the task's.
func (s *slots) acquire(group string, grant func(*slotWaiter)) (w *slotWaiter, ahead int, ok bool) {
	if s == nil {
		return nil, 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fits(group) {
		s.take(group)
		return nil, 0, true
	}
	s.ticket++
	w = &slotWaiter{ticket: s.ticket, group: group, grant: grant}
	ahead = s.queue.Len()
	w.elem = s.queue.PushBack(w)
	return w, ahead, false
}

// leave takes a waiter out of the queue. It reports false when the waiter
// was granted its slot already: the caller holds it then, and gives it
// back with release if it no longer wants it.
func (s *slots) leave(w *slotWaiter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.elem == nil {
		return false
	}
	s.queue.Remove(w.elem)
	w.elem = nil
	return true
}

// release gives back a slot of a task of group and grants the freed room
// to the queue.
func (s *slots) release(group string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain(group, func(g string) bool { s.held[g]--; return true })
	s.grantWaiting()
}

// setLimit changes the limit of group ("" the top level; n <= 0: none) and
// grants what a raised limit frees.
func (s *slots) setLimit(group string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.limits[group] = n
	} else {
		delete(s.limits, group)
	}
	s.grantWaiting()
}

// adjust moves group's limit by by, never below 1, and returns it. A
// group without a limit stays without for a raise; lowered, it starts from
// the slots its tasks hold now.
func (s *slots) adjust(group string, by int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.limits[group]
	if cur <= 0 {
		if by > 0 {
			return 0
		}
		cur = s.held[group]
	}
	n := max(1, cur+by)
	s.limits[group] = n
	s.grantWaiting()
	return n
}

// grantWaiting gives free slots to the queue, first come first, skipping
// waiters whose own limits are full. It stops as soon as the top level is
// full, so that a release under the top-level limit costs one grant, not a
// walk of the whole queue.
func (s *slots) grantWaiting() {
	for e := s.queue.Front(); e != nil; {
		if lim := s.limits[""]; lim > 0 && s.held[""] >= lim {
			return
		}
		next := e.Next()
		w := e.Value.(*slotWaiter)
		if s.fits(w.group) {
			s.take(w.group)
			s.queue.Remove(e)
			w.elem = nil
			w.grant(w)
		}
		e = next
	}
}

// full says which limit keeps a task of group waiting: "max_parallel 4 of
// group build reached".
func (s *slots) full(group string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	what := ""
	s.chain(group, func(g string) bool {
		if lim := s.limits[g]; lim > 0 && s.held[g] >= lim {
			where := "the top level"
			if g != "" {
				where = "group " + g
			}
			what = fmt.Sprintf("max_parallel %d of %s reached", lim, where)
			return false
		}
		return true
	})
	if what == "" {
		what = "tasks ahead of it in the queue"
	}
	return what
}
