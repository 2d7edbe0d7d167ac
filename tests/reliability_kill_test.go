//go:build linux

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// mixedTasks is a task file of the kinds of task that try to outlive their
// stop: forking, setsid escapees, double forks, SIGTERM-ignoring, hanging,
// crashing, flooding.
func mixedTasks(exe string) string {
	kinds := []string{
		`setsid sleep 1000 & sleep 1000 & wait`,
		`( setsid sleep 1000 & ) ; exec sleep 1000`,
		`trap '' TERM; for i in 1 2 3; do sleep 1000 & done; wait`,
		`perl -e 'setpgrp(0,0); sleep 1000' & exec sleep 1000`,
		exe + ` worker texture --steps 1000 --step-time 50ms --children 2 --ignore-term`,
		exe + ` worker texture --steps 1000 --step-time 50ms --hang-at 2`,
		exe + ` worker texture --steps 1000 --step-time 20ms --flood`,
		`sh -c 'setsid sh -c "sleep 1000 & exec sleep 1000" & exit 3'; sleep 1000`,
	}
	var b strings.Builder
	for i, k := range kinds {
		fmt.Fprintf(&b, "[[task]]\nname = \"kind%d\"\nkey = \"%d\"\ncommand = %q\n\n", i, i+1, k)
	}
	return b.String()
}

// taskvisor killed with SIGKILL while 20 tasks run: its guard kills every
// process of them, escapees included, in milliseconds (logged; the test
// fails only past its generous wait).
func TestSIGKILLOfTaskvisorLeavesNothing(t *testing.T) {
	// The tasks' processes are orphaned when taskvisor dies: as a subreaper
	// the test adopts and reaps them, so that not even a zombie is left
	// (this host's init does not reap).
	adoptOrphans(t)
	path := writeTaskFile(t, "tasks.toml", mixedTasks(binary))
	s := startSession(t, "--json", "--tasks", path)
	for i := range 20 {
		s.send("start " + strconv.Itoa(i%8+1))
	}
	running := map[int]bool{}
	for len(running) < 20 {
		e := s.expectEvent("20 tasks running", func(e event) bool { return e.State == "running" && !running[e.Task] })
		running[e.Task] = true
	}
	tv := s.cmd.Process.Pid
	marker := "TASKVISOR_RUN=" + strconv.Itoa(tv) + "."
	// Give the escapees time to escape.
	eventually(t, "the tasks' processes to start", func() bool { return len(proctest.Marked(marker, true)) >= 40 })
	before := proctest.Marked(marker, true)
	notifyDir := notifyDirOf(t, before)
	t.Cleanup(func() {
		for _, pid := range proctest.Marked(marker, true) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	killed := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The guard takes tens of milliseconds (17-51 ms measured); the bound
	// is the generous wait, as a loaded machine may hold the guard up, and
	// the log line below says how long it took.
	var left []int
	for {
		left = proctest.Marked(marker, true)
		if len(left) == 0 || time.Since(killed) > wait {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	gone := time.Since(killed)
	if len(left) > 0 {
		t.Fatalf("%d of %d task processes still live %v after SIGKILL of taskvisor: %v", len(left), len(before), gone.Round(time.Millisecond), describe(left))
	}
	t.Logf("%d task processes gone %v after SIGKILL of taskvisor", len(before), gone.Round(time.Millisecond))
	reapAdopted(t, s.cmd.Process.Pid)
	// The guard ends once it is done.
	eventually(t, "the guard to exit", func() bool {
		for _, st := range proctest.All() {
			if proctest.IsGuard(st.PID) && !st.Zombie() && guardOf(st.PID) == tv {
				return false
			}
		}
		return true
	})
	// The guard removed taskvisor's sd_notify socket directory.
	if _, err := os.Stat(notifyDir); !os.IsNotExist(err) {
		t.Errorf("notify directory %s after SIGKILL of taskvisor: %v", notifyDir, err)
	}
}

// notifyDirOf finds the sd_notify socket directory in a task's environment.
func notifyDirOf(t *testing.T, pids []int) string {
	t.Helper()
	for _, pid := range pids {
		if v, ok := proctest.Env(pid, "NOTIFY_SOCKET"); ok {
			return filepath.Dir(v)
		}
	}
	t.Fatal("no task has NOTIFY_SOCKET")
	return ""
}

// guardOf is the pid that the guard pid watches, from its environment.
func guardOf(pid int) int {
	v, _ := proctest.Env(pid, "TASKVISOR_GUARD")
	n, _ := strconv.Atoi(v)
	return n
}

func describe(pids []int) string {
	var parts []string
	for _, pid := range pids {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		parts = append(parts, fmt.Sprintf("%d(%s)", pid, strings.TrimSpace(string(comm))))
	}
	return strings.Join(parts, " ")
}

// adoptOrphans makes the test binary a child subreaper for the test.
func adoptOrphans(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reapAdopted reaps the dead children of the test binary, except notMine
// (an exec.Cmd waits for it), until none is left or 2s passed, and fails the
// test if one still lives.
func reapAdopted(t *testing.T, notMine int) {
	t.Helper()
	self := os.Getpid()
	deadline := time.Now().Add(2 * time.Second)
	for {
		var live []int
		for _, st := range proctest.All() {
			if st.PPID != self || st.PID == notMine || proctest.IsGuard(st.PID) && !st.Zombie() {
				continue
			}
			if !st.Zombie() {
				live = append(live, st.PID)
				continue
			}
			var ws unix.WaitStatus
			_, _ = unix.Wait4(st.PID, &ws, unix.WNOHANG, nil)
		}
		if len(live) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("adopted processes still live: %s", describe(live))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
