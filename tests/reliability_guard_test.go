//go:build linux

package tests

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// guardPidOf finds the live guard process of taskvisor pid tv.
func guardPidOf(t *testing.T, tv int) int {
	t.Helper()
	var guard int
	proctest.Eventually(t, wait, "taskvisor's guard", func() bool {
		for _, st := range proctest.All() {
			if proctest.IsGuard(st.PID) && !st.Zombie() && guardOf(st.PID) == tv {
				guard = st.PID
				return true
			}
		}
		return false
	})
	return guard
}

// A guard killed while taskvisor runs is said in the headless output, in
// text and in --json, with the guard that replaced it; before, nothing
// showed it.
func TestGuardLossIsShown(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", "[[task]]\nname = \"sleeper\"\ncommand = \"sleep 100\"\n")
	for _, mode := range []string{"text", "json"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{"--tasks", path}
			if mode == "json" {
				args = append(args, "--json")
			}
			s := startSession(t, args...)
			s.send("start sleeper")
			s.expectLine("the task running", func(l string) bool {
				return strings.Contains(l, "Started (pid") || strings.Contains(l, `"state":"running"`)
			})
			old := guardPidOf(t, s.cmd.Process.Pid)
			if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			want := "guard process " + strconv.Itoa(old) + " killed by SIGKILL; a new guard (pid "
			line := s.expectLine("the notice of the lost guard", func(l string) bool { return strings.Contains(l, want) })
			switch mode {
			case "json":
				if !strings.Contains(line, `"notice":"guard-lost"`) {
					t.Errorf("JSON notice without its kind: %s", line)
				}
			default:
				if !strings.HasPrefix(line, "[taskvisor] guard process") {
					t.Errorf("notice line %q does not start with [taskvisor]", line)
				}
			}
			if now := guardPidOf(t, s.cmd.Process.Pid); !strings.Contains(line, "(pid "+strconv.Itoa(now)+")") {
				t.Errorf("notice %q does not name the new guard %d", line, now)
			}
			s.send("cancel 1")
			if _, err := s.finish(); err != nil && !strings.Contains(err.Error(), "exit status") {
				t.Fatalf("taskvisor exit: %v", err)
			}
		})
	}
}

// A node says the loss of its guard as an event of its stream, which
// `taskvisor events` prints.
func TestNodeSaysGuardLoss(t *testing.T) {
	e := newNodeEnv(t)
	serve := e.serve()
	e.mustCtl("start", "ticker")
	var out syncbuf.Buffer
	events := exec.Command(binary, "events", "--live")
	events.Env = append(os.Environ(), e.env...)
	events.Stdout = &out
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Process.Kill(); _ = events.Wait() })
	// --live prints only what comes after it connected: a restart until
	// one shows says the stream is up.
	proctest.Eventually(t, wait, "events to print the ticker's", func() bool {
		_ = e.mustCtl("restart", "1")
		return strings.Contains(out.String(), "[Task 1]")
	})
	old := guardPidOf(t, serve.Process.Pid)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	want := "[taskvisor] guard process " + strconv.Itoa(old) + " killed by SIGKILL; a new guard (pid "
	proctest.Eventually(t, wait, "the notice in the event stream", func() bool { return strings.Contains(out.String(), want) })
	e.mustCtl("shutdown")
}
