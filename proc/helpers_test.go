//go:build linux

package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/proc/notify"
)

func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(notifyFloodEnv)); err == nil {
		// The test binary as a task that floods its notify socket, then
		// exits, or sleeps with sleeperEnv.
		for i := range n {
			if err := notify.Send("STATUS=flood " + strconv.Itoa(i)); err != nil {
				os.Exit(1)
			}
		}
		if os.Getenv(sleeperEnv) != "1" {
			os.Exit(0)
		}
	}
	if n, err := strconv.Atoi(os.Getenv(forksEnv)); err == nil {
		// The test binary as a task that starts n sleepers, going on past
		// the forks that fail, says how many it started, and sleeps.
		started := 0
		for range n {
			if exec.Command("sleep", "30").Start() == nil {
				started++
			}
		}
		fmt.Printf("forked %d\n", started)
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	if os.Getenv(sleeperEnv) == "1" {
		// The test binary as a multi-threaded child that sleeps until killed.
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	goleak.VerifyTestMain(subreaperKept{m})
}

// subreaperKept fails the run if a test left the test binary a child
// subreaper: every later test would then run as one (see setSubreaperT).
type subreaperKept struct{ m *testing.M }

func (k subreaperKept) Run() int {
	was := isSubreaper()
	code := k.m.Run()
	if now := isSubreaper(); now != was {
		fmt.Fprintf(os.Stderr, "the test binary is a child subreaper: %v before the tests, %v after\n", was, now)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// notifyFloodEnv makes the test binary send that many notify datagrams.
const notifyFloodEnv = "PROC_TEST_NOTIFY_FLOOD"

// sleeperEnv makes the test binary act as a sleeping Go program.
const sleeperEnv = "PROC_TEST_SLEEPER"

// startT starts spec and makes sure that, whatever the test does, its group is
// killed and its goroutines have ended when the test is over.
func startT(t testing.TB, spec Spec) *Process {
	t.Helper()
	p, err := Start(spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		_ = p.Kill()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("pid %d: Done not closed 10s after Kill", p.Pid())
		}
	})
	return p
}

// waitExited waits (generously) for the leader to be reaped.
func waitExited(t testing.TB, p *Process, within time.Duration) Exit {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(within):
		t.Fatalf("pid %d not reaped within %v", p.Pid(), within)
	}
	e, ok := p.Exit()
	if !ok {
		t.Fatal("Exited closed but Exit() says not reaped")
	}
	return e
}

// waitDone waits (generously) for every goroutine of p to end.
func waitDone(t testing.TB, p *Process, within time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(within):
		t.Fatalf("pid %d: Done not closed within %v", p.Pid(), within)
	}
}

// waitLine waits until out holds a line for which match holds, and returns
// it; it fails the test with the last lines of output if none comes within.
func waitLine(t testing.TB, out *Output, within time.Duration, match func(Line) bool) Line {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, l := range out.Lines() {
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching line within %v; last lines of output: %q", within, texts(out.Last(5)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func texts(lines []Line) []string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = l.Text
	}
	return s
}

// waitPidLine waits for the first stdout line and parses it as a pid.
func waitPidLine(t testing.TB, out *Output) int {
	t.Helper()
	l := waitLine(t, out, 5*time.Second, func(l Line) bool { return l.Stream == Stdout })
	pid, err := strconv.Atoi(strings.TrimSpace(l.Text))
	if err != nil {
		t.Fatalf("first line %q is not a pid", l.Text)
	}
	return pid
}

// liveProcess reports whether pid exists and is not a zombie.
func liveProcess(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.live()
}

// groupMembers lists the live (not zombie) processes of group pgid.
func groupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.live() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killEscapee kills pid, a process that left the test's process group, through
// a pidfd, after checking that it still runs command comm, and reaps it if it
// was orphaned to the test (a subreaper): no zombie of it is left.
func killEscapee(t testing.TB, pid int, comm string) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone already
	}
	defer unix.Close(fd)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || strings.TrimSpace(string(b)) != comm {
		return // not ours any more
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
		t.Errorf("kill escapee %d: %v", pid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	awaitExit(fd, deadline)
	reapKilled(pid, deadline) // the pidfd pins it: not a recycled pid
	if st, ok := proctest.ReadStat(pid); ok && st.PPID == os.Getpid() {
		t.Errorf("escapee %d is still a child of the test (state %c)", pid, st.State)
	}
}

// countFDs counts this process's open descriptors.
func countFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// setSubreaperT makes the test binary a child subreaper, or not, for the
// rest of the test, and restores what it was when the test is over: after
// the test's other clean-ups, which may wait for orphans to be reaped.
func setSubreaperT(t testing.TB, on bool) {
	t.Helper()
	was, err := subreaperState()
	if err != nil {
		t.Fatalf("PR_GET_CHILD_SUBREAPER: %v", err)
	}
	set := func(on bool) error {
		if on {
			return BecomeSubreaper()
		}
		return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}
	if err := set(on); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER %v: %v", on, err)
	}
	t.Cleanup(func() {
		if err := set(was); err != nil {
			t.Errorf("restore PR_SET_CHILD_SUBREAPER %v: %v", was, err)
		}
	})
}
