package proc

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// ErrFinished is returned by Signal, Terminate and Kill once the process has
// been reaped: its group id may no longer be ours, so nothing is sent.
var ErrFinished = errors.New("process already finished")

// Process is one started command and its process group.
//
// Its life: Start returns it running; when the leader exits, the notify
// datagrams queued so far are delivered, the rest of the group is killed, the
// leader is reaped, Exited is closed and OnExit runs; then the rest of the
// group is awaited until none of it runs (its orphans reaped when this
// process is a subreaper), output is read until the pipes end (at most
// WaitDelay after the exit), and Done is closed once every goroutine of the
// process has ended.
type Process struct {
	name      string
	pid       int // the group leader
	pgid      int // recorded at start: pid, by Setpgid
	waitDelay time.Duration
	onExit    func(Exit)
	onDone    func()
	sock      notifySocket // nil without NotifyDir
	run       *taskRun     // its cgroup or marker: what left the group

	// mu orders signals against reaping: nothing is sent to pgid once the
	// leader is reaped.
	mu     sync.Mutex
	reaped bool
	exit   Exit

	exited chan struct{}
	done   chan struct{}
}

// Start starts spec in a new process group. The child's stdin is /dev/null;
// its stdout and stderr are pipes read into spec.Output. The error of a
// failed start names the command and the cause.
func Start(spec Spec) (*Process, error) {
	name := spec.displayName()
	p, err := start(&spec, name)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

// start does Start's work; its errors lack the command's name.
func start(spec *Spec, name string) (_ *Process, err error) {
	cmd, err := spec.command()
	if err != nil {
		return nil, err
	}
	// Every descriptor opened here is closed on the way out if Start fails.
	var closers []func() error
	defer func() {
		if err != nil {
			for _, c := range closers {
				_ = c()
			}
		}
	}()

	var sock notifySocket
	notifyPath := ""
	if spec.NotifyDir != "" {
		// Before the child exists, so that no datagram can be lost.
		sock, err = listenNotify(spec.NotifyDir)
		if err != nil {
			return nil, fmt.Errorf("notify socket: %w", err)
		}
		closers = append(closers, sock.Close)
		notifyPath = sock.Path()
	}

	pipes, err := newTaskIO()
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() error { pipes.abort(); return nil })

	// The guard kills what this run leaves if this program dies; it is
	// started once, with the first run. Without it (no /proc/self/exe, say)
	// tasks still run: GuardPid and `taskvisor doctor` say why.
	_, _ = ensureGuard()
	run := newRun(spec)
	closers = append(closers, func() error { run.startFailed(); return nil })

	cmd.Dir = spec.Dir
	cmd.Env = childEnv(os.Environ(), append(spec.Env[:len(spec.Env):len(spec.Env)], run.marker), notifyPath)
	// Stdin nil: os/exec opens /dev/null. Stdout and Stderr as *os.File: the
	// child gets them directly and os/exec starts no copying goroutine.
	cmd.Stdout, cmd.Stderr = pipes.childEnds()
	cmd.SysProcAttr = run.sysProcAttr()
	leaders.forking.RLock()
	if err := cmd.Start(); err != nil {
		leaders.forking.RUnlock()
		return nil, explainStartError(err, spec.Dir)
	}
	pid := cmd.Process.Pid
	// Before the orphan reaper can look again: it never reaps a leader.
	leaders.add(pid)
	leaders.forking.RUnlock()
	started := time.Now()
	pipes.started()

	// The child is unreaped (os/exec waits only in Wait, which we never
	// call), so its pid cannot have been recycled yet.
	w, err := newWaiter(pid)
	if err != nil {
		run.killRest(pid)
		// Sent SIGKILL: the wait is short, and rare enough to hold the set.
		leaders.reap(pid, func() { _ = cmd.Wait() })
		run.settle(pid, pid, time.Now().Add(settleTimeout))
		return nil, err
	}
	// From here on the waiter owns the child: os/exec forgets it.
	_ = cmd.Process.Release()

	p := &Process{
		name:      name,
		pid:       pid,
		pgid:      pid,
		waitDelay: spec.waitDelay(),
		onExit:    spec.OnExit,
		onDone:    spec.OnDone,
		sock:      sock,
		run:       run,
		exited:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	pipes.read(spec.Output)
	if sock != nil {
		onNotify := spec.OnNotify
		if onNotify == nil {
			onNotify = func(notify.Message) {}
		}
		sock.Serve(p.Contains, onNotify)
	}
	// No goroutine of the process's own until its leader exits.
	watchExit(w, func() { p.supervise(w, started, pipes) })
	return p, nil
}

// explainStartError names the working directory when it is the cause: the
// child's failed chdir comes back as "fork/exec PROGRAM: no such file or
// directory", which blames the program.
func explainStartError(err error, dir string) error {
	if dir == "" {
		return err
	}
	fi, serr := os.Stat(dir)
	switch {
	case serr != nil:
		return fmt.Errorf("working directory: %w", serr)
	case !fi.IsDir():
		return fmt.Errorf("working directory %s: %w", dir, unix.ENOTDIR)
	}
	return err
}

// supervise is the process's own goroutine, started once the leader has
// exited: it ends the group, reaps the leader, reports the exit and drains the output.
func (p *Process) supervise(w *waiter, started time.Time, pipes taskIO) {
	// The leader is now a zombie: pid and pgid stay ours.
	if p.sock != nil {
		p.sock.Flush() // what the task said before it exited comes first
	}

	p.mu.Lock()
	// Nothing the task left, in its group or out of it, outlives it.
	p.run.killRest(p.pgid)
	var ws unix.WaitStatus
	var err error
	leaders.reap(p.pid, func() { ws, err = w.reap() })
	ended := time.Now()
	if err != nil {
		p.exit = Exit{Code: -1, Started: started, Ended: ended}
	} else {
		p.exit = exitFromStatus(ws, started, ended)
	}
	p.reaped = true
	exit := p.exit
	p.mu.Unlock()
	w.close()

	close(p.exited)
	if p.onExit != nil {
		p.onExit(exit)
	}

	// The run was sent SIGKILL: wait until none of it runs any more,
	// reaping what was orphaned to us, so that Done means the run is gone
	// and no zombie of it is left.
	p.run.settle(p.pid, p.pgid, ended.Add(settleTimeout))

	// The pipes end now unless a process that escaped the group (setsid)
	// holds them: it gets WaitDelay, then loses them.
	pipes.finish(ended.Add(p.waitDelay))
	if p.sock != nil {
		_ = p.sock.Close()
	}
	close(p.done)
	if p.onDone != nil {
		p.onDone()
	}
}

// Pid returns the leader's pid.
func (p *Process) Pid() int { return p.pid }

// Pgid returns the process group id recorded at start.
func (p *Process) Pgid() int { return p.pgid }

// Signal sends sig to the whole process group. It returns ErrFinished once
// the leader has been reaped.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrFinished
	}
	return p.signalGroup(sig)
}

// Terminate sends sig and then SIGCONT to the whole group, so that a stopped
// task can act on sig. It returns ErrFinished once the leader has been
// reaped.
func (p *Process) Terminate(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrFinished
	}
	if err := p.signalGroup(sig); err != nil {
		return err
	}
	return p.signalGroup(unix.SIGCONT)
}

// Kill sends SIGKILL to the whole group. It returns ErrFinished once the
// leader has been reaped.
func (p *Process) Kill() error {
	return p.Signal(unix.SIGKILL)
}

// signalGroup sends sig to the group; p.mu is held and the leader unreaped.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := unix.Kill(-p.pgid, sig)
	if err == nil || errors.Is(err, unix.ESRCH) {
		// ESRCH cannot quite happen while the leader is unreaped (a zombie
		// still belongs to its group); either way nothing is left to signal.
		return nil
	}
	return fmt.Errorf("signal %s to %s (group %d): %w", unix.SignalName(sig), p.name, p.pgid, err)
}

// Exited is closed once the leader has been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Done is closed once every goroutine of the process has ended: after OnExit
// returned, no process of the group runs any more (or 5 s passed), the output
// was read to its end (or WaitDelay passed) and the notify socket was closed.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit returns how the process ended, and false while the leader has not
// been reaped.
func (p *Process) Exit() (Exit, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.reaped
}

// NotifyStats returns the process's notify counters; zero without a socket.
func (p *Process) NotifyStats() notify.Stats {
	if p.sock == nil {
		return notify.Stats{}
	}
	return p.sock.Stats()
}

// Contains reports whether pid is one of the process's: it is the leader, or
// in the leader's process group, or one of the run's processes as the kill
// path finds them (in the run's cgroup, or without one carrying the run's
// marker: a daemon that left the group and lost its parent), or the leader is
// among its ancestors (a descendant that left the group, while its parent
// lives). It is how the credentials of sd_notify senders are checked. Once
// the leader has been reaped its ids may be recycled, and Contains reports
// false.
func (p *Process) Contains(pid int) bool {
	if pid <= 0 {
		return false
	}
	p.mu.Lock()
	reaped := p.reaped
	p.mu.Unlock()
	if reaped {
		return false
	}
	if pid == p.pid {
		return true
	}
	if pgid, err := unix.Getpgid(pid); err == nil && pgid == p.pgid {
		return true
	}
	return p.run.owns(pid) || descendsFrom(pid, p.pid)
}

// GroupAlive reports whether a process of the group is still running. A
// zombie does not count: neither the exited leader before it is reaped, nor
// killed descendants that their new parent has not reaped (an init that never
// waits keeps them forever). After reaping, true is only a hint: the group id
// may have been recycled by an unrelated group. On Linux it scans /proc; it
// is meant for tests and diagnostics, not for a hot path.
func (p *Process) GroupAlive() bool {
	err := unix.Kill(-p.pgid, 0)
	if err != nil && !errors.Is(err, unix.EPERM) {
		return false // ESRCH: no member at all, not even a zombie
	}
	return groupHasLive(p.pgid)
}
