package proc

import (
	"os"
	"strconv"
	"sync/atomic"
)

// RunEnv is set in every task's environment to a value unique to the run
// (taskvisor's pid, a dot, a sequence number). Without cgroups it is how the
// descendants of a run are recognised, and how the guard finds what to kill
// when taskvisor dies.
const RunEnv = "TASKVISOR_RUN"

// runSeq numbers the runs of this program.
var runSeq atomic.Uint64

// runPrefix starts the RunEnv value of every run of this program.
func runPrefix() string { return strconv.Itoa(os.Getpid()) + "." }
