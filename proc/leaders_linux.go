package proc

// The orphan reaper and killMarked, Linux only, look leaders up.

// has reports whether pid is an unreaped leader.
func (s *leaderSet) has(pid int) bool {
	s.mu.Lock()
	_, ok := s.pids[pid]
	s.mu.Unlock()
	return ok
}

// without returns pids less the unreaped leaders, in place.
func (s *leaderSet) without(pids []int) []int {
	out := pids[:0]
	s.mu.Lock()
	for _, pid := range pids {
		if _, ok := s.pids[pid]; !ok {
			out = append(out, pid)
		}
	}
	s.mu.Unlock()
	return out
}
