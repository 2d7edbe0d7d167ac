package proc

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
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
// A process that left its run's cgroup and cleared its environment (root
// can do both) matches none of these rules once it has left. In a program
// that declared OwnAllChildren, every child that is neither a task leader
// nor the guard is an orphan of some run, so a pass also reaps every such
// zombie, and kills (through a pidfd) every such live child that no rule
// ties to a live run any more: it left its run and its parent has died, so
// no run's end would ever reach it.
//
// Its goroutine runs while a run lives or a tracked orphan does, and with
// OwnAllChildren one tick longer after the last run ended, for what is
// reparented here as that run's last processes exit.
type adoptedReaper struct {
	mu      sync.Mutex
	runs    int           // runs started whose Done has not closed
	lastEnd time.Time     // when a run last ended
	tracked map[int]int   // pid -> pidfd of live orphans known to be runs', or strays killed
	running bool          // the goroutine runs
	wake    chan struct{} // a run ended: look whether to stop
}

// ownAll is set by OwnAllChildren.
var ownAll atomic.Bool

// OwnAllChildren declares that this program starts no child process of its
// own except through this package (and its guard), so that every other
// child it has is an orphan adopted from a task run. The adopted-orphan
// reaper then reaps every such child that exits and kills every live one
// that has left its run (its cgroup, its process group and its run marker)
// after its parent died: an escapee that moved itself out of the run's
// cgroup and cleared its environment dies within about a second (the
// reaper's tick) of being orphaned here, instead of outliving its task and
// this program. The taskvisor command declares it. A program that runs
// commands with os/exec beside its tasks must not: their exits would be
// reaped (and the live ones killed) under them.
func OwnAllChildren() { ownAll.Store(true) }

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
	r.lastEnd = time.Now()
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
		if r.runs <= 0 && len(r.tracked) == 0 && (!ownAll.Load() || time.Since(r.lastEnd) > adoptTick) {
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
// tracks the live ones it can tell are runs'; with OwnAllChildren it reaps
// every exited child that is no leader and no guard, and kills the live ones
// that are no live run's (strays).
func (r *adoptedReaper) pass() {
	children := leaders.without(ownChildren())
	self := os.Getpid()
	tree, _ := taskCgroups()
	marker := []byte("\x00" + RunEnv + "=" + runPrefix())
	strays := ownAll.Load()
	// No start is between its fork and leaders.add while this is held: a
	// pid not in leaders is no task's leader (see orphanReaper.reap). It is
	// taken before r.mu, as a start does (forkLeader holds it for reading
	// when it calls runStarted): the other order deadlocks.
	leaders.forking.Lock()
	defer leaders.forking.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	// No guard is between its fork and guardPid either: a child that is
	// not the guard is no guard. guardKills changes with tracked.
	guardMu.Lock()
	defer guardMu.Unlock()
	r.reapTracked()
	if len(children) == 0 {
		return
	}
	for _, pid := range children {
		if leaders.has(pid) || pid == guardPid {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.ppid != self {
			continue
		}
		ours := leaders.has(st.pgrp) || (tree != nil && tree.runOf(pid) != "")
		if fd, ok := r.tracked[pid]; ok {
			if strays && st.live() && !ours && !hasMarker(pid, marker) {
				// It left its run while tracked; stays tracked until reaped.
				_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			}
			continue
		}
		if st.live() {
			switch {
			case ours || hasMarker(pid, marker):
				r.track(pid)
			case strays:
				if r.track(pid) {
					_ = unix.PidfdSendSignal(r.tracked[pid], unix.SIGKILL, nil, 0)
				}
			}
			continue
		}
		if ours || strays {
			// A zombie cannot be reaped by anyone else while we hold
			// forking: its pid is not reused before it is reaped.
			_ = reapOrphan(pid)
		}
	}
}

// track opens a pidfd for pid, a live orphan of a run, so that its exit is
// reaped whatever it becomes, and tells the guard to kill it if this program
// dies first; it reports whether it did. r.mu and guardMu are held.
func (r *adoptedReaper) track(pid int) bool {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false
	}
	// The pidfd pins the process it names; check that it is still our
	// child (not a recycled pid) now that it is pinned.
	st, ok := readStat(pid)
	if !ok || st.ppid != os.Getpid() {
		_ = unix.Close(fd)
		return false
	}
	r.tracked[pid] = fd
	guardWatch(pid, st.start)
	return true
}

// reapTracked reaps the tracked orphans that have exited, and forgets those
// that something else reaped (the end of their run). r.mu and guardMu are
// held.
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
		guardForget(pid)
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
