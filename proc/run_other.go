//go:build !linux

package proc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// taskRun is the process group only, elsewhere than on Linux: there is no
// cgroup, and no /proc to find a run's marker with.
type taskRun struct{ marker string }

func newRun(*Spec) *taskRun {
	return &taskRun{marker: RunEnv + "=" + runPrefix() + strconv.FormatUint(runSeq.Add(1), 10)}
}

// owns finds no process of the run outside its group: without /proc there
// is no marker to look for.
func (r *taskRun) owns(pid int) bool { return false }

func (r *taskRun) sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func (r *taskRun) startFailed() {}

// stuck names the leader only: without /proc its state is unknown.
func (r *taskRun) stuck(leader, pgid int) []StuckProcess {
	return []StuckProcess{{Pid: leader, State: '?'}}
}

func (r *taskRun) killRest(pgid int) { _ = unix.Kill(-pgid, unix.SIGKILL) }

func (r *taskRun) settle(leader, pgid int, deadline time.Time) bool {
	return settleGroup(pgid, deadline)
}

// GuardName is the guard's argv[0] where there is one (Linux).
const GuardName = "taskvisor-guard"

var errNoGuard = fmt.Errorf("guard process: %w", errors.ErrUnsupported)

func ensureGuard() (int, error) { return 0, errNoGuard }

// GuardPid returns 0 and why: the guard is Linux only.
func GuardPid() (int, error) { return 0, errNoGuard }

// RemoveAtExit is Linux only, like the guard; elsewhere it does nothing and
// says so.
func RemoveAtExit(dir string) error { return fmt.Errorf("remove at exit %s: %w", dir, errNoGuard) }

// applyLimits has no cgroups to write outside Linux: a limit refuses the
// start, or, best effort, is an rlimit set by the run's shell.
func (r *taskRun) applyLimits(l Limits, _ bool) (string, error) {
	var lines []string
	if l.MemoryMax > 0 {
		if !l.BestEffort {
			return "", limitError("memory_max", "cgroups exist on Linux only")
		}
		lines = append(lines, "ulimit -v "+strconv.FormatUint(l.MemoryMax/1024, 10))
	}
	if l.PidsMax > 0 {
		if !l.BestEffort {
			return "", limitError("pids_max", "cgroups exist on Linux only")
		}
		lines = append(lines, "ulimit -u "+strconv.Itoa(l.PidsMax))
	}
	if l.CPUMax > 0 && !l.BestEffort {
		return "", limitError("cpu_max", "cgroups exist on Linux only")
	}
	return strings.Join(lines, "\n"), nil
}

func (r *taskRun) limitEvents() (oom bool, peak uint64, pidsHit bool) { return false, 0, false }
