package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// taskRun is what proc tracks of one started process beyond its process
// group, so that a descendant that left the group (setsid, setpgid, a double
// fork) still dies when the leader ends: its run cgroup where cgroup v2 is
// usable, else its run marker.
type taskRun struct {
	marker string     // RunEnv=<our pid>.<seq>, in the child's environment
	cg     *runCgroup // nil: the marker fallback; settle clears it

	// What owns reads, set by newRun and never changed after, as owns runs
	// on the notify reader while settle clears cg.
	tree   *cgroupTree // the run cgroup's tree; nil: the marker fallback
	cgName string      // the run cgroup's name
	want   []byte      // the marker as found in /proc/PID/environ: NUL, marker, NUL

	// v1 holds the run's cgroup v1 directories by controller, made for its
	// limits where cgroup v2 lacks the controller (applyLimits).
	v1 map[string]string
}

func newRun(spec *Spec) *taskRun {
	marker := RunEnv + "=" + runPrefix() + strconv.FormatUint(runSeq.Add(1), 10)
	r := &taskRun{marker: marker, want: []byte("\x00" + marker + "\x00")}
	if t, err := taskCgroups(); err == nil && !spec.noCgroup {
		// A failure here (out of cgroups, say) falls back for this run.
		if cg, err := t.take(); err == nil {
			r.cg, r.tree, r.cgName = cg, t, cg.name
		}
	}
	return r
}

// owns reports whether pid is one of the run's processes as killRest and
// settle see them: in its run cgroup (or one the task made below it), or,
// without a cgroup, live and carrying its marker. A daemon of the task
// (setsid, its parent gone) is one, though neither in the group nor below the
// leader. It is safe to call concurrently with settle.
func (r *taskRun) owns(pid int) bool {
	if r.tree != nil {
		return r.tree.runOf(pid) == r.cgName
	}
	return markedAndLive(pid, r.want)
}

// sysProcAttr puts the child in a new process group and, with a cgroup, into
// its run cgroup as it is created (clone3 CLONE_INTO_CGROUP), so that not even
// its first instructions run outside it.
func (r *taskRun) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if r.cg != nil {
		a.UseCgroupFD, a.CgroupFD = true, r.cg.fd
	}
	return a
}

// startFailed gives the unused run cgroup back.
func (r *taskRun) startFailed() {
	r.removeV1(time.Now())
	if r.cg != nil {
		r.cg.release()
		r.cg = nil
	}
}

// killRest sends SIGKILL to every process of the run: the process group,
// and with a cgroup everything in it. The leader is a zombie, so the group
// id is still ours.
func (r *taskRun) killRest(pgid int) {
	_ = unix.Kill(-pgid, unix.SIGKILL) // ESRCH: the group held only the leader
	if r.cg != nil {
		r.cg.kill()
	}
}

// settle waits, once the leader has been reaped, until nothing of the run
// lives any more, reaping what was orphaned to this process. With a cgroup
// that is the cgroup emptying; without, the process group, then whatever of
// ours carries the run's marker.
func (r *taskRun) settle(leader, pgid int, deadline time.Time) bool {
	defer r.removeV1(deadline)
	if cg := r.cg; cg != nil {
		r.cg = nil // settled: released, or left alone if it would not empty
		return cg.settle(deadline)
	}
	ok := settleGroup(pgid, deadline)
	return killMarked(r.want, leader, deadline) && ok
}

// killMarked kills the live processes whose environment holds want (see
// taskRun.want), waits until they have exited and reaps those that are this
// process's children. It looks among this process's children when it is a
// subreaper (every escapee of a dead leader is reparented here, its
// descendants then follow as it dies), else among all processes; never at
// the unreaped task leaders, which carry their own runs' markers, so that a
// thousand running tasks do not cost each exit a thousand looks. A process
// that cleared its environment, or exited by itself after its parent died,
// is missed: the cgroup is the exact mechanism.
func killMarked(want []byte, leader int, deadline time.Time) bool {
	for {
		var candidates []int
		if isSubreaper() {
			candidates = ownChildren()
		} else {
			candidates = allPids()
		}
		killed := killMarkedAmong(leaders.without(candidates), leader, want)
		if len(killed) == 0 {
			return true
		}
		for _, k := range killed {
			// Its environment is gone before it has finished exiting: the
			// next look would miss it, and it would outlive settle.
			awaitExit(k.fd, deadline)
			_ = unix.Close(k.fd)
			reapKilled(k.pid, deadline)
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// awaitExit waits until the process of pidfd fd has exited (is a zombie or
// gone), or until deadline.
func awaitExit(fd int, deadline time.Time) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		ms := max(time.Until(deadline).Milliseconds(), 0)
		_, err := unix.Poll(fds, int(min(ms, 1<<30)))
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// reapKilled reaps pid, a process just sent SIGKILL, once it has exited, if
// it is this process's child: an unreaped child's pid cannot be recycled, so
// waiting for it by pid is exact. A process that is not ours is its parent's
// to reap.
func reapKilled(pid int, deadline time.Time) {
	delay := 100 * time.Microsecond
	for !reapOrphan(pid) && time.Now().Before(deadline) {
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// isSubreaper reports whether this process is a child subreaper.
func isSubreaper() bool {
	on, err := subreaperState()
	return err == nil && on
}

// subreaperState reports whether this process is a child subreaper, or why
// that cannot be known (a kernel without PR_GET_CHILD_SUBREAPER).
func subreaperState() (bool, error) {
	var v int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0); err != nil {
		return false, err
	}
	return v != 0, nil
}

// stuck lists the run's live processes, leader first: its process group's
// and, with a cgroup, its cgroup's (sub-cgroups included). It reads /proc.
func (r *taskRun) stuck(leader, pgid int) []StuckProcess {
	seen := map[int]bool{}
	var out []StuckProcess
	add := func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		st, ok := readStat(pid)
		if !ok || !st.live() {
			return
		}
		s := StuckProcess{Pid: pid, State: st.state}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/wchan"); err == nil && len(b) > 0 && string(b) != "0" {
			s.Wchan = string(b)
		}
		out = append(out, s)
	}
	add(leader)
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.pgrp == pgid {
			add(pid)
		}
	}
	if r.tree != nil {
		_ = filepath.WalkDir(filepath.Join(r.tree.dir, r.cgName), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for f := range strings.FieldsSeq(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					add(pid)
				}
			}
			return nil
		})
	}
	return out
}
