package tests

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The original demo's first scenario: a running 7-step task cancelled
// gracefully ends cancelled, and taskvisor says so in the demo's words.
func TestHeadlessGracefulCancel(t *testing.T) {
	s := startSession(t)
	s.send("start 2")
	s.expectPrefix("[Task 1] Processing step 1/7 (14%)")
	s.send("cancel 1")
	s.expectPrefix("[Task 1] Cancelling: SIGTERM sent, SIGKILL in 5s")
	s.expectPrefix("[Task 1] Task cancelled")
	rest, err := s.finish()
	if err != nil {
		t.Fatalf("taskvisor exit: %v; stderr: %s", err, s.errText())
	}
	if !contains(rest, "[Task 1] standard ended: cancelled (exit code 143)") {
		t.Errorf("summary missing: %q", rest)
	}
}

// The second scenario: a task that ignores SIGTERM and never ends is killed
// promptly by kill, with no grace period in between.
func TestHeadlessForcefulKill(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start 4")
	run := s.expectEvent("task 1 running", func(e event) bool { return e.Task == 1 && e.State == "running" })
	s.expectEvent("first step", func(e event) bool { return e.Task == 1 && e.Message == "Processing step 1" })
	s.send("kill 1")
	start := time.Now()
	end := s.expectEvent("task 1 killed", func(e event) bool { return e.Task == 1 && e.State == "killed" })
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("kill took %s: it must not wait for the 5s grace", took)
	}
	if end.Signal == nil || *end.Signal != "SIGKILL" || end.Message != "Task forcefully killed" {
		t.Errorf("killed event: %+v", end)
	}
	eventually(t, "the killed task's group to be empty", func() bool { return len(groupMembers(run.PID)) == 0 })
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
}

// The third scenario: restart of a running task gives a new pid under the
// same id with restarts=1, and the old process is gone.
func TestHeadlessRestart(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start standard")
	first := s.expectEvent("task 1 running", func(e event) bool { return e.Task == 1 && e.State == "running" })
	s.send("restart 1")
	second := s.expectEvent("task 1 running again", func(e event) bool { return e.Task == 1 && e.State == "running" })
	if second.PID == first.PID || second.Restarts != 1 {
		t.Errorf("restart: first pid %d, second pid %d restarts %d", first.PID, second.PID, second.Restarts)
	}
	eventually(t, "the old process group to be gone", func() bool { return len(groupMembers(first.PID)) == 0 })
	s.send("list")
	listed := s.expectEvent("the list entry", func(e event) bool { return e.Task == 1 && e.PID == second.PID })
	if listed.Name != "standard" {
		t.Errorf("list: %+v", listed)
	}
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
}

// Grandchildren die with their task.
func TestHeadlessKillTaskWithGrandchildren(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start 7")
	run := s.expectEvent("task 1 running", func(e event) bool { return e.Task == 1 && e.State == "running" })
	eventually(t, "the grandchildren to start", func() bool { return len(groupMembers(run.PID)) >= 4 })
	s.send("kill 1")
	s.expectEvent("task 1 killed", func(e event) bool { return e.Task == 1 && e.State == "killed" })
	eventually(t, "no process of the group left", func() bool { return len(groupMembers(run.PID)) == 0 })
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
}

// Every JSON event carries the protocol's fields.
func TestHeadlessJSONFields(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start quick")
	line := s.expectLine("a completed event", func(l string) bool { return strings.Contains(l, `"state":"completed"`) })
	for _, field := range []string{`"time":`, `"task":1`, `"name":"quick"`, `"pid":`, `"progress":1`, `"step":3`, `"steps":3`, `"message":"Task completed"`, `"restarts":0`, `"exit_code":0`, `"signal":null`, `"reason":`} {
		if !strings.Contains(line, field) {
			t.Errorf("completed event lacks %s: %s", field, line)
		}
	}
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
}

// A bad command prints an error on stderr and changes nothing.
func TestHeadlessBadCommands(t *testing.T) {
	s := startSession(t)
	for _, c := range []string{"frobnicate", "start", "start 0", "cancel x", "kill 99", "list extra"} {
		s.send(c)
	}
	s.send("list")
	s.expectLine("the list answer", func(l string) bool { return l == "no tasks" })
	rest, err := s.finish()
	if err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("bad commands printed on stdout: %q", rest)
	}
	errs := s.errText()
	for _, want := range []string{`unknown command "frobnicate"`, "start: missing argument", `start "0": no such template`, `cancel: no task is named "x", and it is no id`, "kill task 99: no such task", "list takes no argument"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// SIGTERM to taskvisor stops every task with escalation and exits 0; a task
// that ignores SIGTERM is killed after its grace period.
func TestHeadlessSIGTERMStopsAll(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start 2")
	s.expectEvent("task 1 progress", func(e event) bool { return e.Task == 1 && e.Step >= 1 })
	s.send("start 4")
	s.expectEvent("task 2 first step", func(e event) bool { return e.Task == 2 && e.Message == "Processing step 1" })
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.expectEvent("task 1 cancelled", func(e event) bool { return e.Task == 1 && e.State == "cancelled" })
	s.expectEvent("task 2 killed after its grace", func(e event) bool { return e.Task == 2 && e.State == "killed" })
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit after SIGTERM: %v; stderr: %s", err, s.errText())
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// The actor library's log goes to --log FILE, or nowhere: never to the
// terminal, where it would tear a full-screen UI.
func TestLibraryLogNeverReachesTheTerminal(t *testing.T) {
	logFile := t.TempDir() + "/taskvisor.log"
	for _, args := range [][]string{nil, {"--log", logFile}} {
		s := startSession(t, args...)
		s.send("start quick")
		s.expectPrefix("[Task 1] Task completed")
		if _, err := s.finish(); err != nil {
			t.Fatalf("taskvisor %v exit: %v", args, err)
		}
		if got := s.errText(); got != "" {
			t.Errorf("taskvisor %v wrote on stderr: %q", args, got)
		}
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), "actor system started") {
		t.Errorf("--log file: %q, %v", b, err)
	}
}

// A second SIGINT kills what a shutdown is still waiting for, at once, and
// taskvisor still exits 0: the user asked for it.
func TestHeadlessSecondSIGINTKillsAtOnce(t *testing.T) {
	s := startSession(t, "--json")
	s.send("start stubborn")
	s.expectEvent("task 1 first step", func(e event) bool { return e.Task == 1 && e.Message == "Processing step 1" })
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	s.expectEvent("task 1 stopping", func(e event) bool { return e.Task == 1 && e.State == "stopping" })
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	end := s.expectEvent("task 1 killed", func(e event) bool { return e.Task == 1 && e.State == "killed" })
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the second SIGINT took %s to kill: it must not wait for the 5s grace", took)
	}
	if end.Signal == nil || *end.Signal != "SIGKILL" {
		t.Errorf("killed event: %+v", end)
	}
	// The grace had not run out: the event must not say it had.
	if strings.Contains(end.Message, "after its grace period") || !strings.Contains(end.Message, "before its grace period ran out") {
		t.Errorf("killed event's message %q: the second SIGINT cut the grace short", end.Message)
	}
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit after a second SIGINT: %v; stderr: %s", err, s.errText())
	}
}

// SIGHUP and SIGINT stop the tasks as SIGTERM does, and taskvisor exits 0.
func TestHeadlessSIGHUPAndSIGINTStopAll(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startSession(t, "--json")
			s.send("start 2")
			s.expectEvent("task 1 progress", func(e event) bool { return e.Task == 1 && e.Step >= 1 })
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			s.expectEvent("task 1 cancelled", func(e event) bool { return e.Task == 1 && e.State == "cancelled" })
			if _, err := s.finish(); err != nil {
				t.Fatalf("taskvisor exit after %v: %v; stderr: %s", sig, err, s.errText())
			}
		})
	}
}

// taskvisor exits 1, and says which tasks, when a task ended failed; a run
// whose tasks all ended as asked exits 0 (the other tests' finish).
func TestHeadlessExitStatusWhenATaskFailed(t *testing.T) {
	s := startSession(t)
	s.send("start crash")
	s.expectPrefix("[Task 1] Task failed")
	_, err := s.finish()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("taskvisor exit: %v, want exit status 1; stderr: %s", err, s.errText())
	}
	if want := `taskvisor: exit status 1: task 1 "crash" failed`; !strings.Contains(s.errText(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, s.errText())
	}
}

// By default the text mode prints each task's output lines as they come,
// "[Task 1] | text"; --output=false leaves them out.
func TestHeadlessLiveOutput(t *testing.T) {
	s := startSession(t)
	s.send("start quick")
	s.expectLine("an output line", func(l string) bool {
		return strings.HasPrefix(l, "[Task 1] | ") || strings.HasPrefix(l, "[Task 1] E| ")
	})
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}

	s = startSession(t, "--output=false")
	s.send("start quick")
	s.expectPrefix("[Task 1] Task completed")
	rest, err := s.finish()
	if err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
	for _, l := range rest {
		if strings.Contains(l, "| ") {
			t.Errorf("output line with --output=false: %q", l)
		}
	}
}
