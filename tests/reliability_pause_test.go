package tests

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// Stopping taskvisor itself (Ctrl-Z of the headless mode, SIGSTOP) for
// longer than a task's stall timeout, then SIGCONT, does not make the
// watchdog stall a healthy task: the progress it sent meanwhile waits in the
// notify socket, and is read before a stall is declared. Failed first: the
// task was reported "Stalled: no progress for 3s" at the SIGCONT.
func TestStoppedTaskvisorDoesNotStallItsTasks(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", fmt.Sprintf(`[[task]]
name = "steady"
key = "1"
command = "%s worker texture --steps 0 --step-time 100ms"
stall_timeout = "1s"
stall_action = "kill"
`, binary))
	s := startSession(t, "--json", "--tasks", path)
	s.send("start 1")
	s.expectEvent("task running", func(e event) bool { return e.State == "running" })
	time.Sleep(500 * time.Millisecond) // progress flows and is watched
	tv := s.cmd.Process.Pid
	if err := syscall.Kill(tv, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := syscall.Kill(tv, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Watch for a while after the SIGCONT: a stall would be declared at
	// once, and its kill would follow within the grace period.
	deadline := time.After(3 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("taskvisor ended; stderr: %s", s.errText())
			}
			s.notePid(line)
			var e event
			if json.Unmarshal([]byte(line), &e) == nil && (e.State == "stalled" || e.State == "stopping" || e.State == "killed") {
				t.Fatalf("the task was %s after taskvisor was stopped and continued: %s", e.State, line)
			}
		case <-deadline:
			done = true
		}
	}
	s.send("quit")
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v; stderr: %s", err, s.errText())
	}
}
