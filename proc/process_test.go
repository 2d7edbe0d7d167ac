//go:build linux

package proc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

func TestStartArgv(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	exits := make(chan Exit, 2)
	p := startT(t, Spec{Argv: []string{"echo", "hello", "world"}, Output: out, OnExit: func(e Exit) { exits <- e }})
	if p.Pid() <= 0 || p.Pgid() != p.Pid() {
		t.Errorf("Pid %d, Pgid %d: want a positive pid leading its own group", p.Pid(), p.Pgid())
	}
	e := waitExited(t, p, 5*time.Second)
	if !e.Success() || e.Code != 0 || e.Signal != 0 || e.String() != "exit code 0" {
		t.Errorf("exit %+v (%s), want code 0", e, e)
	}
	if got := <-exits; got != e {
		t.Errorf("OnExit got %+v, Exit() %+v", got, e)
	}
	if e.RunTime() < 0 || e.Ended.Before(e.Started) {
		t.Errorf("run time %v from %v to %v", e.RunTime(), e.Started, e.Ended)
	}
	waitDone(t, p, 5*time.Second)
	if len(exits) != 0 {
		t.Error("OnExit called more than once")
	}
	lines := out.Lines()
	if len(lines) != 1 || lines[0].Text != "hello world" || lines[0].Stream != Stdout || lines[0].Cut || lines[0].Time.IsZero() {
		t.Errorf("output %+v, want one stdout line \"hello world\"", lines)
	}
}

func TestStartShell(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	p := startT(t, Spec{Shell: `echo out; echo err >&2; printf 'crlf\r\n'; printf 'no newline'; exit 3`, Output: out})
	e := waitExited(t, p, 5*time.Second)
	if e.Code != 3 || e.Signal != 0 || e.Success() || e.String() != "exit code 3" {
		t.Errorf("exit %+v (%s), want code 3", e, e)
	}
	waitDone(t, p, 5*time.Second)
	got := map[string]Stream{}
	for _, l := range out.Lines() {
		got[l.Text] = l.Stream
	}
	want := map[string]Stream{"out": Stdout, "err": Stderr, "crlf": Stdout, "no newline": Stdout}
	if len(got) != len(want) {
		t.Errorf("lines %q, want %v", texts(out.Lines()), want)
	}
	for text, stream := range want {
		if got[text] != stream {
			t.Errorf("line %q: stream %v, want %v", text, got[text], stream)
		}
	}
}

func TestExitBySignal(t *testing.T) {
	t.Parallel()
	p := startT(t, Spec{Shell: `kill -TERM $$; sleep 10`})
	e := waitExited(t, p, 5*time.Second)
	if e.Signal != syscall.SIGTERM || e.Code != -1 || e.Success() || e.String() != "killed by SIGTERM" {
		t.Errorf("exit %+v (%s), want killed by SIGTERM", e, e)
	}
}

func TestEnvironment(t *testing.T) {
	// Not parallel: it sets taskvisor's own environment.
	t.Setenv("TV_INHERITED", "yes")
	t.Setenv("TV_OVERRIDDEN", "parent")
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", "1")
	out := NewOutput(0)
	p := startT(t, Spec{
		Argv:   []string{"env"},
		Env:    []string{"TV_OVERRIDDEN=child", "TV_NEW=1", "WATCHDOG_USEC=5"},
		Output: out,
	})
	waitExited(t, p, 5*time.Second)
	waitDone(t, p, 5*time.Second)
	env := texts(out.Lines())
	for _, want := range []string{"TV_INHERITED=yes", "TV_OVERRIDDEN=child", "TV_NEW=1", "WATCHDOG_USEC=5"} {
		if n := count(env, want); n != 1 {
			t.Errorf("%s appears %d times in the child's environment, want once", want, n)
		}
	}
	for key, want := range map[string]int{"TV_OVERRIDDEN=": 1, "WATCHDOG_USEC=": 1, "NOTIFY_SOCKET=": 0, "WATCHDOG_PID=": 0} {
		n := 0
		for _, kv := range env {
			if strings.HasPrefix(kv, key) {
				n++
			}
		}
		if n != want {
			t.Errorf("%s... appears %d times in the child's environment, want %d", key, n, want)
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestChildEnv(t *testing.T) {
	got := childEnv(
		[]string{"A=1", "NOTIFY_SOCKET=/x", "B=2", "WATCHDOG_PID=7", "C=3", "WATCHDOG_USEC=9"},
		[]string{"B=two", "D=4", "D=four", "WATCHDOG_PID=8"},
		"/sock",
	)
	want := []string{"A=1", "B=two", "C=3", "D=four", "WATCHDOG_PID=8", "NOTIFY_SOCKET=/sock"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
	got = childEnv([]string{"NOTIFY_SOCKET=/x"}, []string{"NOTIFY_SOCKET=/mine"}, "")
	if want := []string{"NOTIFY_SOCKET=/mine"}; !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

func TestDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := NewOutput(0)
	p := startT(t, Spec{Argv: []string{"pwd"}, Dir: dir, Output: out})
	waitDone(t, p, 5*time.Second)
	if got := texts(out.Lines()); len(got) != 1 || got[0] != dir {
		t.Errorf("pwd printed %q, want %q", got, dir)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	noExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name  string
		spec  Spec
		is    error    // errors.Is target, nil: none checked
		parts []string // in the message
	}{
		{"missing binary", Spec{Name: "task 3 (nope)", Argv: []string{"nope-no-such-command"}},
			exec.ErrNotFound, []string{"start task 3 (nope): ", `"nope-no-such-command"`, "executable file not found"}},
		{"missing binary unnamed", Spec{Argv: []string{"nope-no-such-command", "arg"}},
			exec.ErrNotFound, []string{"start nope-no-such-command arg: ", "executable file not found"}},
		{"bad dir", Spec{Name: "t", Argv: []string{"true"}, Dir: missingDir},
			fs.ErrNotExist, []string{"start t: ", missingDir, "no such file or directory"}},
		{"no permission", Spec{Argv: []string{noExec}},
			fs.ErrPermission, []string{"start " + noExec + ": ", "permission denied"}},
		{"neither argv nor shell", Spec{Name: "t"}, errArgvOrShell, []string{"start t: "}},
		{"both argv and shell", Spec{Argv: []string{"true"}, Shell: "true"}, errArgvOrShell, []string{"start true: "}},
		{"empty argv0", Spec{Argv: []string{""}}, nil, []string{"start", "empty Argv[0]"}},
	}
	for _, tt := range tests {
		p, err := Start(tt.spec)
		if err == nil {
			t.Errorf("%s: Start succeeded", tt.name)
			_ = p.Kill()
			<-p.Done()
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %q is not %v", tt.name, err, tt.is)
		}
		for _, part := range tt.parts {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, part)
			}
		}
	}
}

func TestTerminateIgnoredThenKill(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	p := startT(t, Spec{Shell: `trap "" TERM; echo ready; sleep 100`, Output: out})
	waitLine(t, out, 5*time.Second, func(l Line) bool { return l.Text == "ready" })
	if err := p.Terminate(syscall.SIGTERM); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	select {
	case <-p.Exited():
		t.Fatal("a task that ignores SIGTERM ended on Terminate")
	case <-time.After(300 * time.Millisecond):
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	e := waitExited(t, p, 5*time.Second)
	if e.Signal != syscall.SIGKILL || e.String() != "killed by SIGKILL" {
		t.Errorf("exit %s, want killed by SIGKILL", e)
	}
}

func TestTerminateStoppedTask(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	p := startT(t, Spec{Shell: `echo ready; exec sleep 100`, Output: out})
	waitLine(t, out, 5*time.Second, func(l Line) bool { return l.Text == "ready" })
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	if err := p.Terminate(syscall.SIGTERM); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if e := waitExited(t, p, 5*time.Second); e.Signal != syscall.SIGTERM {
		t.Errorf("exit %s, want killed by SIGTERM", e)
	}
}

func TestKillTakesTheWholeGroup(t *testing.T) {
	t.Parallel()
	p := startT(t, Spec{Shell: `sleep 100 & sleep 100 & wait`})
	proctest.Eventually(t, 5*time.Second, fmt.Sprintf("the shell and two sleeps in group %d", p.Pgid()), func() bool {
		return len(groupMembers(p.Pgid())) == 3
	})
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if e := waitExited(t, p, 5*time.Second); e.Signal != syscall.SIGKILL {
		t.Errorf("exit %s, want killed by SIGKILL", e)
	}
	waitDone(t, p, 5*time.Second)
	// The sleeps were killed before the leader was reaped; their new parent
	// reaps them, they only have to be dead.
	if left := groupMembers(p.Pgid()); len(left) != 0 || p.GroupAlive() {
		t.Errorf("processes of group %d still alive after Done: %v", p.Pgid(), left)
	}
	for _, err := range []error{p.Signal(syscall.SIGTERM), p.Terminate(syscall.SIGTERM), p.Kill()} {
		if !errors.Is(err, ErrFinished) {
			t.Errorf("signal after reaping: %v, want ErrFinished", err)
		}
	}
}

func TestLeaderExitKillsWhatItLeft(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	exits := make(chan Exit, 1)
	p := startT(t, Spec{Shell: `sleep 100 >/dev/null & echo $!`, Output: out, OnExit: func(e Exit) { exits <- e }})
	child := waitPidLine(t, out)
	e := waitExited(t, p, 5*time.Second)
	if !e.Success() {
		t.Errorf("exit %s, want exit code 0", e)
	}
	waitDone(t, p, 5*time.Second)
	if liveProcess(child) {
		t.Errorf("background child %d survived its leader", child)
	}
	if left := groupMembers(p.Pgid()); len(left) != 0 || p.GroupAlive() {
		t.Errorf("processes of group %d still alive after Done: %v", p.Pgid(), left)
	}
}

// An escapee that neither the cgroup (none here) nor the run marker (it
// cleared its environment) can find keeps the pipes open: WaitDelay bounds
// how long they are still read.
func TestEscapeeHoldingStdoutDoesNotDelayExit(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	var mu sync.Mutex
	var exitAt time.Time
	begin := time.Now()
	p := startT(t, Spec{
		// The leader waits until the sleep has left its group, then exits.
		Shell:     `setsid env -i sleep 5 & p=$!; while [ "$(cat /proc/$p/comm)" != sleep ]; do sleep 0.01; done; echo $p`,
		Output:    out,
		WaitDelay: 200 * time.Millisecond,
		noCgroup:  true,
		OnExit: func(Exit) {
			mu.Lock()
			exitAt = time.Now()
			mu.Unlock()
		},
	})
	escapee := waitPidLine(t, out)
	t.Cleanup(func() { killEscapee(t, escapee, "sleep") })
	waitExited(t, p, 5*time.Second)
	waitDone(t, p, 5*time.Second)
	mu.Lock()
	delay := exitAt.Sub(begin)
	mu.Unlock()
	if exitAt.IsZero() || delay > 2*time.Second {
		t.Errorf("OnExit came %v after Start, want well under the escapee's 5s", delay)
	}
	if !liveProcess(escapee) {
		t.Errorf("escapee %d gone at Done: the test proves nothing", escapee)
	}
	if st, _ := readStat(escapee); st.pgrp == p.Pgid() {
		t.Errorf("escapee %d is still in group %d", escapee, st.pgrp)
	}
}

func TestEscapeeFloodingStdoutDoesNotDelayDone(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	out := NewOutput(0)
	p := startT(t, Spec{
		// yes never pauses: the readers must still give up at the deadline.
		Shell:     `setsid env -i yes flood & p=$!; while [ "$(cat /proc/$p/comm)" != yes ]; do sleep 0.01; done; echo $p >` + pidFile,
		Output:    out,
		WaitDelay: 200 * time.Millisecond,
		noCgroup:  true,
	})
	waitExited(t, p, 5*time.Second)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	escapee, err := parsePid(string(b))
	if err != nil {
		t.Fatalf("%q is not a pid", b)
	}
	t.Cleanup(func() { killEscapee(t, escapee, "yes") })
	waitDone(t, p, 5*time.Second)
	// Done closed the pipe's read end: the flood dies of SIGPIPE.
	proctest.Eventually(t, 5*time.Second, fmt.Sprintf("escapee %d dead of its closed pipe", escapee), func() bool { return !liveProcess(escapee) })
	if out.Total() < 2 {
		t.Errorf("only %d lines read from the flood", out.Total())
	}
}

func TestContains(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	p := startT(t, Spec{Shell: `sleep 100 & echo $!; setsid sleep 100 & echo $!; wait`, Output: out, WaitDelay: 50 * time.Millisecond})
	var pids []int
	proctest.Eventually(t, 5*time.Second, "two pids on stdout", func() bool {
		pids = nil
		for _, l := range out.Lines() {
			if pid, err := parsePid(l.Text); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) == 2
	})
	member, escapee := pids[0], pids[1]
	t.Cleanup(func() { killEscapee(t, escapee, "sleep") })
	// setsid takes a moment to leave the group.
	proctest.Eventually(t, 5*time.Second, "the setsid child in a group of its own", func() bool {
		st, ok := readStat(escapee)
		return ok && st.pgrp == escapee
	})
	for _, c := range []struct {
		what string
		pid  int
		want bool
	}{
		{"leader", p.Pid(), true},
		{"group member", member, true},
		{"child that left the group", escapee, true},
		{"the test itself", os.Getpid(), false},
		{"init", 1, false},
		{"zero", 0, false},
	} {
		if got := p.Contains(c.pid); got != c.want {
			t.Errorf("Contains(%s %d) = %v, want %v", c.what, c.pid, got, c.want)
		}
	}
	if !p.GroupAlive() {
		t.Error("GroupAlive false while the leader runs")
	}
	_ = p.Kill()
	waitDone(t, p, 5*time.Second)
	if p.Contains(p.Pid()) {
		t.Error("Contains(leader) true after reaping")
	}
	if p.GroupAlive() {
		t.Errorf("GroupAlive true after Done: %v", groupMembers(p.Pgid()))
	}
}

func parsePid(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) }

func TestNoDescriptorLeak(t *testing.T) {
	// Not parallel: it counts this process's descriptors.
	warm := startT(t, Spec{Argv: []string{"true"}})
	waitDone(t, warm, 5*time.Second)
	dir := notifyDir(t)
	// The adopted-orphan reaper holds a pidfd for each live orphan of an
	// earlier test's run until it exits: count once it holds none.
	waitAdoptedIdle(t)
	before := countFDs(t)
	for i := range 50 {
		spec := Spec{Argv: []string{"sleep", "100"}, Output: NewOutput(10)}
		if i%2 == 0 {
			spec.NotifyDir = dir
		}
		p, err := Start(spec)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		_ = p.Kill()
		waitDone(t, p, 5*time.Second)
	}
	for _, spec := range []Spec{
		{Argv: []string{"nope-no-such-command"}},
		{Argv: []string{"true"}, Dir: "/nonexistent-dir"},
		{Argv: []string{"/etc/hostname"}},
		{Argv: []string{"nope-no-such-command"}, NotifyDir: dir},
		{Argv: []string{"true"}, NotifyDir: "/nonexistent-dir"},
	} {
		if _, err := Start(spec); err == nil {
			t.Fatalf("Start(%v) succeeded", spec.Argv)
		}
	}
	waitAdoptedIdle(t)
	// Fewer after is no leak: a descriptor of an earlier test's (a spare
	// run cgroup's, say) may have closed meanwhile, as seen once in a full
	// run (15 before, 14 after).
	if after := countFDs(t); after > before {
		t.Errorf("%d descriptors before, %d after 50 start/kill cycles and 5 failed starts", before, after)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d notify sockets left in %s", len(left), dir)
	}
}

// TestWaitingCostsNoThread checks the point of the pidfd waiter: processes
// waited for through the netpoller hold no OS thread each. Not parallel: it
// counts this process's threads.
func TestWaitingCostsNoThread(t *testing.T) {
	const n = 200
	before := proctest.Threads(t)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	procs := make([]*Process, n)
	for i := range procs {
		procs[i] = startT(t, Spec{Shell: "echo started; exec sleep 100", Output: NewOutput(10)})
	}
	time.Sleep(100 * time.Millisecond) // let every waiter and reader park
	during := proctest.Threads(t)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	perProcess := (int64(ms.HeapAlloc) - int64(heapBefore)) / n
	for _, p := range procs {
		_ = p.Kill()
	}
	for _, p := range procs {
		waitDone(t, p, 10*time.Second)
	}
	// A thread per child would add n; allow plenty for the runtime's own.
	if during-before > 20 {
		t.Errorf("%d threads before, %d with %d waiting processes", before, during, n)
	}
	// Idle readers hold no read buffer: the heap a process costs is its
	// structures, not 64 KiB buffers.
	if perProcess > 32<<10 {
		t.Errorf("%d bytes of heap per idle process", perProcess)
	}
	t.Logf("%d threads before, %d with %d waiting processes; %d bytes of heap each", before, during, n, perProcess)
}

// waitAdoptedIdle waits until the adopted-orphan reaper tracks no orphan.
func waitAdoptedIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for adopted.trackedCount() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the adopted-orphan reaper still tracks %d orphans after 10s", adopted.trackedCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
