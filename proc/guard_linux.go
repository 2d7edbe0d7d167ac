package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The guard is one small process per program (not per task) that outlives
// it: when the program dies, even of SIGKILL, the kernel closes the write end
// of the guard's stdin pipe, and the guard kills what the program had
// started: the program's whole cgroup tree with one write to cgroup.kill,
// then every process whose environment carries one of the program's run
// markers (RunEnv). On a clean exit it does the same to an empty tree: it is
// also what removes the cgroups.
//
// It is the program's own executable (/proc/self/exe) started again with
// guardEnv set: this package's init runs the guard and exits before main, so
// every program that imports proc can be its own guard. It runs in a session
// of its own, so a Ctrl-C in the terminal or a kill of the program's process
// group does not reach it, and it ignores SIGINT, SIGTERM and SIGHUP.

const (
	guardEnv       = "TASKVISOR_GUARD"        // the guarded program's pid
	guardCgroupEnv = "TASKVISOR_GUARD_CGROUP" // the program's cgroup tree, if any
	// GuardName is the guard's argv[0], as ps shows it.
	GuardName = "taskvisor-guard"
	// guardTimeout bounds the guard's clean-up.
	guardTimeout = 5 * time.Second
)

func init() {
	if os.Getenv(guardEnv) != "" {
		os.Exit(runGuard())
	}
}

var (
	guardOnce sync.Once
	guardMu   sync.Mutex // guards the variables below
	guardPid  int
	guardErr  = errGuardNotStarted
	// guardPipe is the write end of the guard's stdin, held open for the
	// program's whole life; close-on-exec, so no task inherits it.
	guardPipe *os.File
	// guardFd is a pidfd of the guard, by which its death is seen and its
	// exit reaped (it is our child, never waited for otherwise); -1: none.
	guardFd = -1
	// guardDirs are what RemoveAtExit asked for, told again to a new guard.
	guardDirs []string
	// guardKills are the orphans of runs that the adopted-orphan reaper
	// tracks (pid -> start time), which the guard kills if this program
	// dies before they do: one that left its run's cgroup and cleared its
	// environment would be found by neither of the guard's other rules.
	guardKills = map[int]uint64{}
	// guardLosses counts the guards that died before this program, and
	// guardLast says how the last one did.
	guardLosses int
	guardLast   string
)

// ensureGuard starts the guard on first use, and a new one if it has died
// (checkGuard); it returns the guard's pid, or 0 and why there is none.
func ensureGuard() (int, error) {
	guardOnce.Do(func() {
		// Held across the fork, so that the adopted-orphan reaper never
		// sees a child that is the guard before guardPid says so.
		guardMu.Lock()
		defer guardMu.Unlock()
		guardPid, guardFd, guardErr = startGuard()
	})
	checkGuard()
	return GuardPid()
}

// checkGuard looks whether the guard has died (killed by someone: it never
// exits while this program runs) and if so reaps it, says so in
// GuardLosses and to the OnGuardLoss functions, and starts a new one, which
// is told the directories to remove again. Without it, a later death of
// this program would leak every task. It runs at each start and at each
// pass of the adopted-orphan reaper (at least once a second while a run
// lives).
func checkGuard() {
	if loss, lost := replaceDeadGuard(); lost {
		tellGuardLoss(loss)
	}
}

// replaceDeadGuard is checkGuard's work under guardMu.
func replaceDeadGuard() (loss GuardLoss, lost bool) {
	guardMu.Lock()
	defer guardMu.Unlock()
	if guardFd < 0 {
		return loss, false
	}
	if pidfdState(guardFd) != childExited {
		return loss, false
	}
	// Exited and not reaped (nothing else waits for it), so the pid is
	// still the guard's: wait4 by pid reaps exactly it.
	var ws unix.WaitStatus
	how := "ended"
	if n, err := unix.Wait4(guardPid, &ws, unix.WNOHANG, nil); err == nil && n == guardPid {
		how = exitFromStatus(ws, time.Time{}, time.Time{}).String()
	}
	_ = unix.Close(guardFd)
	guardFd = -1
	_ = guardPipe.Close()
	guardLosses++
	now := time.Now()
	guardLast = fmt.Sprintf("guard process %d %s at %s", guardPid, how, now.Format(time.TimeOnly))
	loss = GuardLoss{Pid: guardPid, How: how, Time: now}
	pid, fd, err := startGuard()
	guardPid, guardFd, guardErr = pid, fd, err
	if err != nil {
		guardErr = fmt.Errorf("%s; a new one: %w", guardLast, err)
		loss.Err = err
		return loss, true
	}
	loss.NewPid = pid
	for _, dir := range guardDirs {
		_, _ = fmt.Fprintln(guardPipe, dir)
	}
	for pid, start := range guardKills {
		_, _ = fmt.Fprintf(guardPipe, "kill %d %d\n", pid, start)
	}
	return loss, true
}

// guardWatch tells the guard to kill pid, which started at start (see
// procStat.start), if this program dies before it. guardMu is held.
func guardWatch(pid int, start uint64) {
	if guardPipe == nil {
		return
	}
	guardKills[pid] = start
	_, _ = fmt.Fprintf(guardPipe, "kill %d %d\n", pid, start)
}

// guardForget takes back guardWatch's word for pid, reaped now. guardMu is
// held.
func guardForget(pid int) {
	start, ok := guardKills[pid]
	if !ok {
		return
	}
	delete(guardKills, pid)
	if guardPipe != nil {
		_, _ = fmt.Fprintf(guardPipe, "forget %d %d\n", pid, start)
	}
}

// GuardLosses reports how many guard processes died while this program ran
// (each was replaced by a new one at once) and how the last one did
// ("guard process 42 killed by SIGKILL at 10:04:05"); 0 and "" when none.
func GuardLosses() (int, string) {
	guardMu.Lock()
	defer guardMu.Unlock()
	return guardLosses, guardLast
}

// GuardPid returns the pid of the program's guard process, or 0 and why there
// is none. The guard starts with the first task or RemoveAtExit (which
// actors.New calls), and is replaced if it dies (GuardLosses).
func GuardPid() (int, error) {
	guardMu.Lock()
	defer guardMu.Unlock()
	return guardPid, guardErr
}

// errGuardNotStarted is GuardPid's answer before the guard has started:
// with the first task, or with the first runtime (actors.New asks it to
// remove the notify socket directory at exit).
var errGuardNotStarted = errors.New("not started yet: it starts with the first runtime or task")

func startGuard() (pid, pidfd int, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, -1, fmt.Errorf("guard pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args[0] = GuardName
	cmd.Env = []string{guardEnv + "=" + strconv.Itoa(os.Getpid())}
	if t, err := taskCgroups(); err == nil {
		cmd.Env = append(cmd.Env, guardCgroupEnv+"="+t.dir)
	}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return 0, -1, fmt.Errorf("start the guard process: %w", err)
	}
	pid = cmd.Process.Pid
	// A pidfd before the release: the child is not reaped until we do, so
	// the pid is still the guard's.
	pidfd, err = unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		pidfd = -1 // its death will go unseen; it still guards
	}
	// Never waited for by os/exec: checkGuard reaps it if it dies.
	_ = cmd.Process.Release()
	guardPipe = w
	return pid, pidfd, nil
}

// runGuard is the guard process: it waits for the guarded program to end,
// then kills what it left.
func runGuard() int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	guarded := os.Getenv(guardEnv)
	// Lines on stdin name directories to remove at the end (RemoveAtExit),
	// or, as "kill PID START" and "forget PID START", a process to kill at
	// the end and that word taken back (guardWatch, guardForget). EOF (or an
	// error) comes once every copy of the write end is closed: the program
	// has exited, however it ended.
	var remove []string
	kills := map[guardKill]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		if removable(line) {
			remove = append(remove, line)
			continue
		}
		switch verb, k, ok := parseGuardKill(line); {
		case ok && verb == "kill":
			kills[k] = true
		case ok && verb == "forget":
			delete(kills, k)
		}
	}
	deadline := time.Now().Add(guardTimeout)
	// The listed ones first: those that left the cgroup tree are found by
	// no rule below.
	for k := range kills {
		k.kill()
	}
	if dir := os.Getenv(guardCgroupEnv); dir != "" {
		_ = removeCgroupTree(dir, deadline)
	}
	prefix := RunEnv + "=" + guarded + "."
	killLeavers(markedLive(prefix), os.Getpid())
	killAllMarked(prefix, deadline)
	for _, p := range remove {
		_ = os.RemoveAll(p)
	}
	return 0
}

// guardKill is a process the guard is told to kill: its pid and when it
// started (procStat.start), which together name it exactly.
type guardKill struct {
	pid   int
	start uint64
}

// parseGuardKill parses "VERB PID START".
func parseGuardKill(line string) (verb string, k guardKill, ok bool) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return "", k, false
	}
	pid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[2], 10, 64)
	return f[0], guardKill{pid, start}, err1 == nil && err2 == nil && pid > 0
}

// kill sends SIGKILL to k.pid if it is still the process that started at
// k.start: the pidfd pins it before its start time is read, so a recycled
// pid is never signalled.
func (k guardKill) kill() {
	fd, err := unix.PidfdOpen(k.pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if st, ok := readStat(k.pid); ok && st.start == k.start {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// removable accepts only what RemoveAtExit is for: an absolute, clean path
// to a directory named taskvisor-*.
func removable(p string) bool {
	return filepath.IsAbs(p) && filepath.Clean(p) == p && strings.HasPrefix(filepath.Base(p), "taskvisor-")
}

// RemoveAtExit asks the guard to remove dir, a directory named taskvisor-*
// that the program made for its tasks (the sd_notify socket directory),
// once the program has ended, however it ended: a program killed with
// SIGKILL leaves nothing behind. It starts the guard if it is not running.
func RemoveAtExit(dir string) error {
	if !removable(dir) {
		return fmt.Errorf("remove at exit %q: not an absolute path to a taskvisor-* directory", dir)
	}
	if _, err := ensureGuard(); err != nil {
		return fmt.Errorf("remove at exit %s: %w", dir, err)
	}
	guardMu.Lock()
	defer guardMu.Unlock()
	guardDirs = append(guardDirs, dir)
	if _, err := fmt.Fprintln(guardPipe, dir); err != nil {
		return fmt.Errorf("remove at exit %s: tell the guard: %w", dir, err)
	}
	return nil
}

// markedAndLive reports whether pid is a live (not zombie) process whose
// environment holds want (NUL-prefixed: NUL, KEY=value and, for an exact
// entry, NUL).
func markedAndLive(pid int, want []byte) bool {
	if st, ok := readStat(pid); !ok || !st.live() {
		return false
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	// The first entry has no NUL before it.
	return err == nil && (bytes.HasPrefix(env, want[1:]) || bytes.Contains(env, want))
}

// markedKill is a process that killMarkedAmong sent SIGKILL, and the pidfd
// it was sent through, still open: it pins the process, whose pid cannot be
// taken for another's while the caller waits for it.
type markedKill struct{ pid, fd int }

// killMarkedAmong sends SIGKILL to each of pids, but skip, that is live and
// whose environment holds want (see markedAndLive), and returns those it
// killed, for the caller to wait for and to close.
func killMarkedAmong(pids []int, skip int, want []byte) []markedKill {
	var killed []markedKill
	for _, pid := range pids {
		if pid == skip {
			continue
		}
		// The pidfd first, then the checks: the process it pins is the one
		// /proc shows from then on, so the signal cannot reach a pid
		// recycled after the checks.
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if markedAndLive(pid, want) && unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
			killed = append(killed, markedKill{pid, fd})
			continue
		}
		_ = unix.Close(fd)
	}
	return killed
}

// markedLive returns the live processes whose environment has an entry
// starting with prefix.
func markedLive(prefix string) map[int]bool {
	want := append([]byte{0}, prefix...)
	marked := map[int]bool{}
	for _, pid := range allPids() {
		if markedAndLive(pid, want) {
			marked[pid] = true
		}
	}
	return marked
}

// killAllMarked sends SIGKILL to every process whose environment has an entry
// starting with prefix, until a walk over /proc finds none (a process may
// fork while it is being killed).
func killAllMarked(prefix string, deadline time.Time) {
	want := append([]byte{0}, prefix...)
	self := os.Getpid()
	for time.Now().Before(deadline) {
		killed := killMarkedAmong(allPids(), self, want)
		for _, k := range killed {
			_ = unix.Close(k.fd)
		}
		if len(killed) == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
