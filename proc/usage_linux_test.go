package proc

import (
	"testing"
	"time"
)

// A run's usage, from its cgroup and, without one (the marker fallback, as
// under TASKVISOR_CGROUPS=off), from /proc: its processes, its memory, and
// CPU time that grows while it is busy.
func TestSamplerUsage(t *testing.T) {
	for _, noCgroup := range []bool{false, true} {
		p := startT(t, Spec{Shell: "sh -c 'while :; do :; done' & sleep 60", noCgroup: noCgroup})
		s := NewSampler()
		defer s.Close()
		var first Usage
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.Round()
			u, ok := s.Usage(p)
			if !ok {
				t.Fatal("no usage of a live run")
			}
			if first.Procs == 0 && u.Procs >= 3 {
				first = u
			}
			if first.Procs > 0 && u.CPU-first.CPU >= 100*time.Millisecond {
				if u.Memory == 0 || u.FromCgroup == noCgroup {
					t.Errorf("noCgroup %v: memory %d, from the cgroup %v", noCgroup, u.Memory, u.FromCgroup)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("noCgroup %v: usage %+v, first %+v: want 3 processes and CPU time growing", noCgroup, u, first)
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = p.Kill()
		<-p.Done()
		s.Round()
		if _, ok := s.Usage(p); ok {
			t.Error("usage of a reaped run")
		}
	}
}

// Sampling allocates nothing once its buffers have grown.
func TestSamplerAllocations(t *testing.T) {
	p := startT(t, Spec{Shell: "exec sleep 60"})
	s := NewSampler()
	defer s.Close()
	s.Usage(p)
	allocs := testing.AllocsPerRun(100, func() { s.Round(); s.Usage(p) })
	if allocs > 0 {
		t.Errorf("%.0f allocations a sample, want none", allocs)
	}
}
