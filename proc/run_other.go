//go:build !linux

package proc

import (
	"errors"
	"fmt"
	"strconv"
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
