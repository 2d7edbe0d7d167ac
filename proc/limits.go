package proc

import (
	"errors"
	"fmt"
	"strconv"
)

// Limits bound what a run may use, through its cgroup: set before the
// run's first instruction, they hold for every process of it, escapees
// included. The zero value bounds nothing.
type Limits struct {
	// MemoryMax is the most memory the run may hold, in bytes; past it the
	// kernel's OOM killer ends one of its processes (Exit.OOMKilled). 0:
	// no limit.
	MemoryMax uint64
	// CPUMax is how much CPU the run may use, in cores (1.5: one and a half
	// cores' worth of time in each period). 0: no limit.
	CPUMax float64
	// PidsMax is how many processes (threads included) the run may have at
	// once; a fork past it fails (Exit.PidsLimited). 0: no limit.
	PidsMax int
	// BestEffort: where a limit has no cgroup controller to enforce it,
	// a weaker rlimit stands in (RLIMIT_AS for MemoryMax: address space,
	// not resident memory; RLIMIT_NPROC for PidsMax: the user's processes,
	// not the run's; none for CPUMax) instead of the start failing.
	BestEffort bool
	// Groups are limits the run shares with other runs: those of its
	// supervision groups, outermost first. Each is a cgroup v1 directory
	// of the group's own, above the run's (a group limit needs cgroup v1
	// here: the run cgroups v2 are not nested by group).
	Groups []GroupLimits
}

// GroupLimits are the limits of a group of runs, together.
type GroupLimits struct {
	// Name names the group: its directory is group-Name.
	Name string
	// MemoryMax is as in Limits, for the group's runs together.
	MemoryMax uint64
	// CPUMax is as in Limits, for the group's runs together.
	CPUMax float64
	// PidsMax is as in Limits, for the group's runs together.
	PidsMax int
}

// any reports whether g bounds anything.
func (g GroupLimits) any() bool { return g.MemoryMax > 0 || g.CPUMax > 0 || g.PidsMax > 0 }

// Any reports whether l bounds anything.
func (l Limits) Any() bool {
	for _, g := range l.Groups {
		if g.any() {
			return true
		}
	}
	return l.MemoryMax > 0 || l.CPUMax > 0 || l.PidsMax > 0
}

// groupsBound reports whether a group on the path bounds controller ctl.
func (l Limits) groupsBound(ctl string) bool {
	for _, g := range l.Groups {
		switch {
		case ctl == "memory" && g.MemoryMax > 0, ctl == "cpu" && g.CPUMax > 0, ctl == "pids" && g.PidsMax > 0:
			return true
		}
	}
	return false
}

// ErrNoLimits is wrapped by the error of a start whose limits cannot be
// enforced here (no cgroup controller for them, and not BestEffort).
var ErrNoLimits = errors.New("resource limits cannot be enforced here")

// limitError is the refusal of a start for limit, with why.
func limitError(limit, why string) error {
	return fmt.Errorf("%s: %w: %s (see taskvisor doctor; best-effort limits use rlimits instead)", limit, ErrNoLimits, why)
}

// FormatBytes writes a size as the task file takes it: "512MiB", "1.5GiB",
// "300KiB", "100" (bytes).
func FormatBytes(n uint64) string {
	units := []struct {
		size uint64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}}
	for _, u := range units {
		if n >= u.size {
			v := float64(n) / float64(u.size)
			if n%u.size == 0 {
				return strconv.FormatUint(n/u.size, 10) + u.name
			}
			return strconv.FormatFloat(v, 'f', 1, 64) + u.name
		}
	}
	return strconv.FormatUint(n, 10)
}
