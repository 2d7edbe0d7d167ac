package proc

import "time"

// Usage is what one run of a task uses: the whole run, its process group
// and, where it has a run cgroup, every process in it (escapees that left
// the group included).
type Usage struct {
	// CPU is the CPU time (user and system) the run has used so far. From
	// the cgroup it counts every process the run ever had; from /proc, the
	// processes alive now (a child that exited takes its time with it).
	CPU time.Duration
	// Memory is the memory resident now, in bytes: memory.current where
	// the cgroup's memory controller is on, else the sum of its processes'
	// resident sets (shared pages counted in each).
	Memory uint64
	// Procs is how many processes the run has now.
	Procs int
	// FromCgroup: the figures come from the run's cgroup (CPU always;
	// Memory and Procs where its controllers are on), not from /proc alone.
	FromCgroup bool
}

// Sampler reads the usage of many runs, reusing its buffers: a sampling
// round of a thousand runs allocates little. One goroutine uses a Sampler
// at a time.
type Sampler struct {
	buf     []byte
	path    []byte // the NUL-terminated path of the file being opened
	members []int
	// groups maps process groups to their live members, from one walk of
	// /proc per round, made only when a run without a cgroup is sampled.
	groups  map[int][]int
	scanned bool
	// noMemory, noPids: the run cgroups have no memory.current, no
	// pids.current (those controllers are off in the tree).
	noMemory, noPids bool
	// files are the files kept open between rounds (Linux).
	files map[fileKey]*cachedFile
}

// NewSampler returns a Sampler.
func NewSampler() *Sampler { return &Sampler{buf: make([]byte, 0, 4096), path: make([]byte, 0, 64)} }

// Round starts a sampling round: what the Sampler knows of /proc is read
// afresh when next needed, and the files of runs the last round did not
// see are closed.
func (s *Sampler) Round() {
	s.scanned = false
	s.closeUnused()
}

// Close closes the files the Sampler keeps open. It can be used again
// after.
func (s *Sampler) Close() { s.closeAll() }

// Usage returns the usage of p's run; false once its leader has been
// reaped. It holds p's lock while it reads the run's cgroup files (a few
// small reads), so that the cgroup cannot be released under it.
func (s *Sampler) Usage(p *Process) (Usage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return Usage{}, false
	}
	return s.usage(p.run, p.pid), true
}
