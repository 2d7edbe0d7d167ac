package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
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
//
// A stop always ends: if the leader has not exited UnkillableAfter after
// SIGKILL was sent (it is frozen, or in an uninterruptible sleep on a hung
// file system), the process is given up on. Its Exit says so (Exit.Unkillable
// names the processes and their states), Exited and Done are closed and
// OnExit and OnDone run as for an exit; its processes are left to the kernel
// (they die of the SIGKILL they were sent once they can), and are reaped if
// they ever die while this program runs.
type Process struct {
	name       string
	pid        int // the group leader, whose pid is the group's id (Setpgid)
	started    time.Time
	waitDelay  time.Duration
	unkillable time.Duration
	onExit     func(Exit)
	onDone     func()
	sock       notifySocket // nil without NotifyDir
	run        *taskRun     // its cgroup or marker: what left the group

	// mu orders signals against reaping: nothing is sent to the group once the
	// leader is reaped.
	mu       sync.Mutex
	reaped   bool        // the leader was reaped: its pid (the group id) may be recycled
	ended    bool        // exit is set: reaped, or given up on
	givenUp  bool        // ended without the leader's death
	killTime *time.Timer // armed by the first SIGKILL: the give-up
	exit     Exit

	exited chan struct{}
	done   chan struct{}
	gone   chan struct{} // closed once the leader is reaped, given up on or not
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

// start does Start's work, one step a function; its errors lack the
// command's name. Every descriptor opened is closed again if a later step
// fails.
func start(spec *Spec, name string) (_ *Process, err error) {
	cmd, err := spec.command()
	if err != nil {
		return nil, err
	}
	var undo undoList
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	sock, err := openNotify(spec, &undo)
	if err != nil {
		return nil, err
	}
	pipes, err := newTaskIO()
	if err != nil {
		return nil, err
	}
	undo.add(pipes.abort)
	run := prepareRun(spec, &undo)
	prefix, err := run.applyLimits(spec.Limits, spec.noV1)
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		cmd = limitedCommand(spec, prefix)
	}
	configureCommand(cmd, spec, run, pipes, sock)
	pid, err := forkLeader(cmd, spec.Dir)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	pipes.started()
	w, err := watchLeader(cmd, pid, run)
	if err != nil {
		return nil, err
	}
	p := newProcess(spec, name, pid, started, sock, run)
	pipes.read(spec.Output)
	p.serveNotify(spec.OnNotify, spec.OnNotifyDrop)
	// No goroutine of the process's own until its leader exits.
	watchExit(w, func() { p.supervise(w, pipes) })
	return p, nil
}

// limitedCommand is the command whose shell first runs prefix (joining
// the run's cgroup v1 directories, setting rlimits), then the task.
func limitedCommand(spec *Spec, prefix string) *exec.Cmd {
	if spec.Shell != "" {
		return exec.Command("/bin/sh", "-c", prefix+"\n"+spec.Shell)
	}
	return exec.Command("/bin/sh", append([]string{"-c", prefix + "\nexec \"$@\"", "sh"}, spec.Argv...)...)
}

// undoList is what a failed start closes again, in the order it was opened.
type undoList []func()

func (u *undoList) add(f func()) { *u = append(*u, f) }

func (u undoList) run() {
	for _, f := range u {
		f()
	}
}

// openNotify creates the task's sd_notify socket, if spec asks for one,
// before the child exists, so that no datagram can be lost.
func openNotify(spec *Spec, undo *undoList) (notifySocket, error) {
	if spec.NotifyDir == "" {
		return nil, nil
	}
	sock, err := listenNotify(spec.NotifyDir)
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	undo.add(func() { _ = sock.Close() })
	return sock, nil
}

// prepareRun makes sure the guard runs and picks the run's cgroup or marker.
func prepareRun(spec *Spec, undo *undoList) *taskRun {
	// The guard kills what this run leaves if this program dies; it is
	// started once, with the first run. Without it (no /proc/self/exe, say)
	// tasks still run: GuardPid and `taskvisor doctor` say why.
	_, _ = ensureGuard()
	run := newRun(spec)
	undo.add(run.startFailed)
	return run
}

// configureCommand sets the child's directory, environment, output and
// process attributes.
func configureCommand(cmd *exec.Cmd, spec *Spec, run *taskRun, pipes taskIO, sock notifySocket) {
	notifyPath := ""
	if sock != nil {
		notifyPath = sock.Path()
	}
	cmd.Dir = spec.Dir
	cmd.Env = childEnv(os.Environ(), append(spec.Env[:len(spec.Env):len(spec.Env)], run.marker), notifyPath)
	// Stdin nil: os/exec opens /dev/null. Stdout and Stderr as *os.File: the
	// child gets them directly and os/exec starts no copying goroutine.
	cmd.Stdout, cmd.Stderr = pipes.childEnds()
	cmd.SysProcAttr = run.sysProcAttr()
}

// forkLeader starts the child and records it among the unreaped leaders
// before the orphan reapers can look again: they never reap a leader.
func forkLeader(cmd *exec.Cmd, dir string) (int, error) {
	leaders.forking.RLock()
	defer leaders.forking.RUnlock()
	if err := cmd.Start(); err != nil {
		return 0, explainStartError(err, dir)
	}
	pid := cmd.Process.Pid
	leaders.add(pid)
	adopted.runStarted()
	return pid, nil
}

// watchLeader opens the pidfd waiter that owns the child from now on. The
// child is unreaped (os/exec waits only in Wait, which is never called
// unless this fails), so its pid cannot have been recycled yet.
func watchLeader(cmd *exec.Cmd, pid int, run *taskRun) (*waiter, error) {
	w, err := newWaiter(pid)
	if err != nil {
		run.killRest(pid)
		// Sent SIGKILL: the wait is short, and rare enough to hold the set.
		leaders.reap(pid, func() { _ = cmd.Wait() })
		run.settle(pid, pid, time.Now().Add(settleTimeout))
		adopted.runEnded()
		return nil, err
	}
	// From here on the waiter owns the child: os/exec forgets it.
	_ = cmd.Process.Release()
	return w, nil
}

func newProcess(spec *Spec, name string, pid int, started time.Time, sock notifySocket, run *taskRun) *Process {
	return &Process{
		name:       name,
		pid:        pid,
		started:    started,
		waitDelay:  spec.waitDelay(),
		unkillable: spec.unkillableAfter(),
		onExit:     spec.OnExit,
		onDone:     spec.OnDone,
		sock:       sock,
		run:        run,
		exited:     make(chan struct{}),
		done:       make(chan struct{}),
		gone:       make(chan struct{}),
	}
}

// serveNotify starts delivering the socket's datagrams, checked against the
// process's tree.
func (p *Process) serveNotify(onNotify func(notify.Message), onDrop func()) {
	if p.sock == nil {
		return
	}
	if onNotify == nil {
		onNotify = func(notify.Message) {}
	}
	if onDrop != nil {
		p.sock.SetOnDrop(onDrop)
	}
	p.sock.Serve(p.Contains, onNotify)
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
// exited: it ends the group, reaps the leader, reports the exit and drains
// the output. After a give-up it only cleans up.
func (p *Process) supervise(w *waiter, pipes taskIO) {
	// The leader is now a zombie: its pid, and so its group id, stay ours.
	if p.sock != nil {
		p.sock.Flush() // what the task said before it exited comes first
	}

	p.mu.Lock()
	// Nothing the task left, in its group or out of it, outlives it.
	p.run.killRest(p.pid)
	var ws unix.WaitStatus
	var err error
	leaders.reap(p.pid, func() { ws, err = w.reap() })
	ended := time.Now()
	oom, peak, pidsHit := p.run.limitEvents()
	givenUp := p.givenUp
	if !givenUp {
		if err != nil {
			p.exit = Exit{Code: -1, Started: p.started, Ended: ended}
		} else {
			p.exit = exitFromStatus(ws, p.started, ended)
		}
	}
	p.exit.OOMKilled, p.exit.MemoryPeak, p.exit.PidsLimited = oom, peak, pidsHit
	p.reaped, p.ended = true, true
	if p.killTime != nil {
		p.killTime.Stop()
	}
	exit := p.exit
	p.mu.Unlock()
	w.close()

	if !givenUp {
		close(p.exited)
		if p.onExit != nil {
			p.onExit(exit)
		}
	}

	// The run was sent SIGKILL: wait until none of it runs any more,
	// reaping what was orphaned to us, so that Done means the run is gone
	// and no zombie of it is left.
	p.run.settle(p.pid, p.pid, ended.Add(settleTimeout))

	// The pipes end now unless a process that escaped the group (setsid)
	// holds them: it gets WaitDelay, then loses them.
	pipes.finish(ended.Add(p.waitDelay))
	if p.sock != nil {
		_ = p.sock.Close()
	}
	adopted.runEnded()
	close(p.gone)
	if givenUp {
		return // Done was closed by the give-up
	}
	close(p.done)
	if p.onDone != nil {
		p.onDone()
	}
}

// armGiveUp starts, with the first SIGKILL, the bound after which a leader
// that has not exited is given up on. p.mu is held.
func (p *Process) armGiveUp() {
	if p.killTime == nil && !p.ended {
		p.killTime = time.AfterFunc(p.unkillable, p.giveUp)
	}
}

// giveUp ends the process without its leader's death: SIGKILL was sent
// UnkillableAfter ago and the leader still has not exited.
func (p *Process) giveUp() {
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return
	}
	// Once more, in case a process of the run was stopped or forked since.
	_ = unix.Kill(-p.pid, unix.SIGKILL)
	p.run.killRest(p.pid)
	p.givenUp, p.ended = true, true
	p.exit = Exit{Code: -1, Started: p.started, Ended: time.Now(), Unkillable: p.describeStuck()}
	exit := p.exit
	p.mu.Unlock()

	close(p.exited)
	if p.onExit != nil {
		p.onExit(exit)
	}
	close(p.done)
	if p.onDone != nil {
		p.onDone()
	}
}

// Pid returns the leader's pid.
func (p *Process) Pid() int { return p.pid }

// Pgid returns the process's group id: the leader's pid, since the leader
// starts a group of its own (Setpgid).
func (p *Process) Pgid() int { return p.pid }

// Signal sends sig to the whole process group. It returns ErrFinished once
// the leader has been reaped.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrFinished
	}
	err := p.signalGroup(sig)
	if sig == unix.SIGKILL && err == nil {
		p.armGiveUp()
	}
	return err
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
	if sig == unix.SIGKILL {
		p.armGiveUp()
	}
	return p.signalGroup(unix.SIGCONT)
}

// Pause stops every process of the run: SIGSTOP to the process group and,
// where the run has a cgroup, to each process in it (escapees that left the
// group included), with the cgroup frozen while the signals go out. It
// returns ErrFinished once the leader has been reaped.
func (p *Process) Pause() error { return p.signalAll(unix.SIGSTOP) }

// Resume continues what Pause stopped: SIGCONT to the same processes.
func (p *Process) Resume() error { return p.signalAll(unix.SIGCONT) }

func (p *Process) signalAll(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrFinished
	}
	err := p.signalGroup(sig)
	p.run.signalRun(sig)
	return err
}

// Kill sends SIGKILL to the whole group. It returns ErrFinished once the
// leader has been reaped.
func (p *Process) Kill() error {
	return p.Signal(unix.SIGKILL)
}

// signalGroup sends sig to the group; p.mu is held and the leader unreaped.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := unix.Kill(-p.pid, sig)
	if err == nil || errors.Is(err, unix.ESRCH) {
		// ESRCH cannot quite happen while the leader is unreaped (a zombie
		// still belongs to its group); either way nothing is left to signal.
		return nil
	}
	return fmt.Errorf("signal %s to %s (group %d): %w", unix.SignalName(sig), p.name, p.pid, err)
}

// Exited is closed once the leader has been reaped, or given up on (see
// Exit.Unkillable).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Done is closed once every goroutine of the process has ended: after OnExit
// returned, no process of the group runs any more (or 5 s passed), the output
// was read to its end (or WaitDelay passed) and the notify socket was closed.
// A process given up on (Exit.Unkillable) has Done closed right after OnExit:
// what is left of it is cleaned up if it ever dies.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit returns how the process ended, and false while the leader has
// neither been reaped nor given up on.
func (p *Process) Exit() (Exit, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.ended
}

// NotifyStats returns the process's notify counters; zero without a socket.
func (p *Process) NotifyStats() notify.Stats {
	if p.sock == nil {
		return notify.Stats{}
	}
	return p.sock.Stats()
}

// FlushNotify hands every sd_notify datagram waiting in the process's socket
// to Spec.OnNotify before it returns (waiting for a read in progress). A
// watchdog calls it before it declares a stall: a deadline that passed while
// this program did not run (stopped with SIGSTOP, or starved) would
// otherwise be taken for the task's silence, although its progress was
// queued. Without a socket it does nothing.
func (p *Process) FlushNotify() {
	if p.sock != nil {
		p.sock.Flush()
	}
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
	if pgid, err := unix.Getpgid(pid); err == nil && pgid == p.pid {
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
	err := unix.Kill(-p.pid, 0)
	if err != nil && !errors.Is(err, unix.EPERM) {
		return false // ESRCH: no member at all, not even a zombie
	}
	return groupHasLive(p.pid)
}

// describeStuck says which processes of the run still live and in what state,
// for Exit.Unkillable. p.mu is held.
func (p *Process) describeStuck() string {
	const most = 3
	stuck := p.run.stuck(p.pid, p.pid)
	if len(stuck) == 0 {
		// Gone between the bound and the look: its exit is on its way.
		stuck = []StuckProcess{{Pid: p.pid, State: '?'}}
	}
	var b strings.Builder
	b.WriteString("did not die after SIGKILL: ")
	for i, s := range stuck {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(stuck)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// StuckProcess is a process that did not die of SIGKILL, as /proc shows it.
type StuckProcess struct {
	Pid   int    // its process ID
	State byte   // as in /proc/PID/stat: D, T, ...; '?' unknown
	Wchan string // the kernel function it waits in, if known: "__refrigerator" is a freezer
}

// String reads as "process 42 in state D (uninterruptible sleep, in __refrigerator)".
func (s StuckProcess) String() string {
	what := stateNames[s.State]
	if what == "" {
		what = "unknown"
	}
	if s.Wchan != "" {
		what += ", in " + s.Wchan
	}
	return fmt.Sprintf("process %d in state %c (%s)", s.Pid, s.State, what)
}

// stateNames are the states of /proc/PID/stat, as proc(5) names them.
var stateNames = map[byte]string{
	'R': "running", 'S': "sleeping", 'D': "uninterruptible sleep", 'T': "stopped",
	't': "traced", 'Z': "zombie", 'X': "dead", 'I': "idle", 'P': "parked", 'W': "paging",
}
