package proc

import "sync"

// leaderSet holds the pids of this program's task leaders that have not been
// reaped yet: each has its own waiter (or, when Start fails, cmd.Wait), so
// the orphan reaper skips them without reading /proc, and never reaps one.
//
// A start holds forking for reading from before its fork until its leader is
// in the set; the orphan reaper holds it for writing while it decides what to
// reap, so a leader just forked, not yet in the set, is never taken for an
// adopted orphan.
type leaderSet struct {
	forking sync.RWMutex

	mu sync.Mutex
	// pids counts, as a recycled pid may be added by a new start before the
	// owner of its previous holder, which reaped it, has removed it.
	pids map[int]int
}

var leaders = leaderSet{pids: map[int]int{}}

// add records pid, an unreaped leader with an owner that will reap it.
func (s *leaderSet) add(pid int) {
	s.mu.Lock()
	s.pids[pid]++
	s.mu.Unlock()
}

// reap runs reap, which reaps pid, and forgets pid, at once for has and
// without: a pid they find in the set is still that leader, and one that
// was reaped, and so may have been recycled by an orphan since, is not in it.
func (s *leaderSet) reap(pid int, reap func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reap()
	if s.pids[pid]--; s.pids[pid] <= 0 {
		delete(s.pids, pid)
	}
}
