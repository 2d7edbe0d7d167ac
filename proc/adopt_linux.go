package proc

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// adoptedReaper reaps, while any task run lives, the orphans of task runs
// that this program (a child subreaper) adopted, as soon as they exit: a task
// that double-forks short helpers for days must not leave one zombie per
// helper until it ends. The orphan reaper (reaper_linux.go) serves the end of
// a run; this serves its whole life.
//
// It is woken by SIGCHLD (the kernel sends it to the new parent, us, when an
// adopted orphan exits) and by a slow tick, and each pass looks once at this
// program's children. It never calls wait4(-1), which would steal the exits
// of os/exec's children and of the pidfd waiters: it reaps a child only when
// it is not an unreaped task leader (those have their own waiters) and is a
// run's, by one of
//
//   - the process group: it is in an unreaped leader's group, so the group
//     id is still that task's (a zombie keeps its group);
//   - the cgroup: /proc shows it in one of the program's run cgroups (a zombie
//     keeps its cgroup);
//   - a pidfd opened while it lived and was the run's by the rules above or
//     by its run marker: an escapee that later left the group, the cgroup or
//     cleared its environment is reaped through that pidfd (waitid P_PIDFD,
//     exact however its pid is reused).
//
// Its goroutine runs while a run lives or a tracked orphan does.
type adoptedReaper struct {
	mu      sync.Mutex
	runs    int           // runs started whose Done has not closed
	tracked map[int]int   // pid -> pidfd of live orphans known to be runs'
	running bool          // the goroutine runs
	wake    chan struct{} // a run ended: look whether to stop
}

var adopted = adoptedReaper{tracked: map[int]int{}, wake: make(chan struct{}, 1)}

// adoptTick is how often a pass runs without a SIGCHLD: it finds the live
// orphans to track and catches a coalesced or lost signal.
const adoptTick = time.Second

// runStarted counts a run in, starting the goroutine if needed.
func (r *adoptedReaper) runStarted() {
	r.mu.Lock()
	r.runs++
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.loop()
	}
}

// runEnded counts a run out; the goroutine ends when it was the last and no
// tracked orphan is left.
func (r *adoptedReaper) runEnded() {
	r.mu.Lock()
	r.runs--
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *adoptedReaper) loop() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGCHLD)
	defer signal.Stop(sig)
	tick := time.NewTicker(adoptTick)
	defer tick.Stop()
	for {
		checkGuard() // a dead guard is a child too: seen (and replaced) here
		r.pass()
		r.mu.Lock()
		if r.runs <= 0 && len(r.tracked) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		select {
		case <-sig:
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// pass reaps the exited orphans of runs among this program's children and
// tracks the live ones it can tell are runs'.
func (r *adoptedReaper) pass() {
	children := leaders.without(ownChildren())
	self := os.Getpid()
	tree, _ := taskCgroups()
	marker := []byte("\x00" + RunEnv + "=" + runPrefix())
	// No start is between its fork and leaders.add while this is held: a
	// pid not in leaders is no task's leader (see orphanReaper.reap). It is
	// taken before r.mu, as a start does (forkLeader holds it for reading
	// when it calls runStarted): the other order deadlocks.
	leaders.forking.Lock()
	defer leaders.forking.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reapTracked()
	if len(children) == 0 {
		return
	}
	for _, pid := range children {
		if _, ok := r.tracked[pid]; ok || leaders.has(pid) {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.ppid != self {
			continue
		}
		ours := leaders.has(st.pgrp) || (tree != nil && tree.runOf(pid) != "")
		if st.live() {
			if ours || hasMarker(pid, marker) {
				r.track(pid)
			}
			continue
		}
		if ours {
			// A zombie cannot be reaped by anyone else while we hold
			// forking: its pid is not reused before it is reaped.
			_ = reapOrphan(pid)
		}
	}
}

// track opens a pidfd for pid, a live orphan of a run, so that its exit is
// reaped whatever it becomes. r.mu is held.
func (r *adoptedReaper) track(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	// The pidfd pins the process it names; check that it is still our
	// child (not a recycled pid) now that it is pinned.
	if st, ok := readStat(pid); !ok || st.ppid != os.Getpid() {
		_ = unix.Close(fd)
		return
	}
	r.tracked[pid] = fd
}

// reapTracked reaps the tracked orphans that have exited, and forgets those
// that something else reaped (the end of their run). r.mu is held.
func (r *adoptedReaper) reapTracked() {
	for pid, fd := range r.tracked {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue // the next pass
		case err == nil && info.Signo == 0:
			continue // still running
		}
		// Reaped now, or reaped by someone else (ECHILD), or no longer
		// ours to wait for.
		_ = unix.Close(fd)
		delete(r.tracked, pid)
	}
}

// trackedCount is how many live orphans are tracked, for doctor and tests.
func (r *adoptedReaper) trackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tracked)
}

// hasMarker reports whether pid's environment holds a run marker of this
// program: marker is NUL, RunEnv, '=', runPrefix().
func hasMarker(pid int, marker []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && (bytes.HasPrefix(env, marker[1:]) || bytes.Contains(env, marker))
}
