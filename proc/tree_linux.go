package proc

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// maxTreeDepth bounds the walk up the parent chain.
const maxTreeDepth = 64

// descendsFrom reports whether ancestor is found on pid's chain of parents,
// as /proc shows it now. A process whose parent died was reparented (to init
// or a subreaper) and is no longer found this way.
func descendsFrom(pid, ancestor int) bool {
	for range maxTreeDepth {
		st, ok := readStat(pid)
		if !ok || st.ppid <= 1 {
			return false
		}
		if st.ppid == ancestor {
			return true
		}
		pid = st.ppid
	}
	return false
}

// groupHasLive reports whether a process of group pgid is running, that is
// exists and is not a zombie. Killed members whose new parent does not reap
// them (an init that never waits) stay zombies: they do not count.
func groupHasLive(pgid int) bool {
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.live() {
			return true
		}
	}
	return false
}

// procStat holds the fields of /proc/PID/stat that proc uses.
type procStat struct {
	state      byte // R, S, D, T, Z, X, ...
	ppid, pgrp int
	// start is when it started (field 22, clock ticks since boot): with
	// the pid it names one process for as long as the machine runs, so a
	// pid recycled since is never mistaken for it.
	start uint64
}

// live reports whether the process is neither a zombie nor dead.
func (s procStat) live() bool { return s.state != 'Z' && s.state != 'X' }

// readStat reads /proc/PID/stat.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and
	// parentheses, so the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	st := procStat{state: f[0][0], ppid: ppid, pgrp: pgrp}
	if len(f) > 19 {
		st.start, _ = strconv.ParseUint(string(f[19]), 10, 64)
	}
	return st, true
}

// settleGroup waits, once the leader has been reaped, until no process of
// group pgid runs any more: the members were sent SIGKILL while the leader
// was still a zombie, so this usually takes microseconds. Members that were
// orphaned to this process (it is a child subreaper, see BecomeSubreaper) are
// reaped here as they die, so they do not stay zombies. It reports false if a
// member still runs at deadline (stuck in uninterruptible sleep, say).
func settleGroup(pgid int, deadline time.Time) bool {
	self := os.Getpid()
	delay := 200 * time.Microsecond
	for {
		// Signal 0 sends nothing; ESRCH says no process, not even a
		// zombie, has this group id.
		if err := unix.Kill(-pgid, 0); errors.Is(err, unix.ESRCH) {
			return true
		}
		live := false
		for _, pid := range allPids() {
			st, ok := readStat(pid)
			if !ok || st.pgrp != pgid {
				continue
			}
			switch {
			case st.live():
				live = true
			case st.ppid == self && pid != pgid:
				// An orphan adopted by this subreaper; never a group
				// leader, which its own waiter reaps by pidfd. A
				// multi-threaded one shows as a zombie before its last
				// thread has exited and cannot be reaped until then.
				if !reapOrphan(pid) {
					live = true
				}
			}
		}
		if !live {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// reapOrphan collects the exit status of pid, an exited child adopted by
// this process, and discards it. It waits for that pid only. It reports
// false when pid has not finished exiting yet; true when it was reaped or is
// not this process's child to reap.
func reapOrphan(pid int) bool {
	var ws unix.WaitStatus
	for {
		wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: reaped already, or never ours
			return true
		}
		return wpid == pid
	}
}

// allPids lists the processes in /proc.
func allPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pids := make([]int, 0, len(names))
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// maxLeavers bounds how many processes killLeavers kills in one call.
const maxLeavers = 4096

// killLeavers sends SIGKILL to every child of a member that is no member
// itself (it left the run: moved out of the run's cgroup, or cleared its run
// marker) and to everything below such a child, but never to skip. It is
// called just before the members are killed as a whole: while a leaver's
// parent lives, the parent's children file finds it; once the parent dies
// it is reparented (to this process if it is a subreaper, else to init) and
// no rule of the run's finds it any more. Each process is pinned by a pidfd
// and checked to still be its parent's child before any signal is sent, so
// that a recycled pid is never signalled; a process forked during the walk
// may be missed. It returns how many it killed.
func killLeavers(members map[int]bool, skip int) int {
	type found struct{ pid, parent int }
	var todo []found
	for m := range members {
		for _, c := range childrenOf(strconv.Itoa(m)) {
			if !members[c] && c != skip {
				todo = append(todo, found{c, m})
			}
		}
	}
	if len(todo) == 0 {
		return 0
	}
	// The leavers' descendants, wherever they are now.
	seen := map[int]bool{}
	for i := 0; i < len(todo) && len(todo) < maxLeavers; i++ {
		seen[todo[i].pid] = true
		for _, c := range childrenOf(strconv.Itoa(todo[i].pid)) {
			if !seen[c] && !members[c] && c != skip {
				todo = append(todo, found{c, todo[i].pid})
			}
		}
	}
	// Pin and check them all while the tree is as it was found, then kill:
	// a parent killed first would orphan its children, and the check that
	// names them by their parent would fail.
	var fds []int
	for _, f := range todo {
		fd, err := unix.PidfdOpen(f.pid, 0)
		if err != nil {
			continue
		}
		if st, ok := readStat(f.pid); ok && st.ppid == f.parent && st.live() {
			fds = append(fds, fd)
			continue
		}
		_ = unix.Close(fd)
	}
	killed := 0
	for _, fd := range fds {
		if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
			killed++
		}
		_ = unix.Close(fd)
	}
	return killed
}
