package tests

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// groupEvent is a GroupEvent in the --json protocol.
type groupEvent struct {
	Group    string `json:"group"`
	Strategy string `json:"strategy"`
	State    string `json:"state"`
	Tasks    []int  `json:"tasks"`
	Message  string `json:"message"`
	Reason   string `json:"reason"`
}

// The built binary runs a task file's policies and shows every decision in
// --json: autostart in file order, a one-for-all restart of a group with its
// backoff deadline, the group giving up over its limit, and the tasks ending
// gave-up with the reason.
func TestTaskFilePoliciesEndToEnd(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", `
[[group]]
name = "pair"
strategy = "one-for-all"
max_restarts = 1

[[task]]
name = "steady"
group = "pair"
command = "exec sleep 1000"
autostart = true

[[task]]
name = "crasher"
group = "pair"
command = "sleep 0.3; exit 3"
restart = "on-failure"
backoff = { initial = "100ms" }
autostart = true
`)
	s := startSession(t, "--json", "--tasks", path)
	steady := s.expectEvent("steady running", func(e event) bool { return e.Name == "steady" && e.State == "running" })
	crash := s.expectEvent("crasher running", func(e event) bool { return e.Name == "crasher" && e.State == "running" })
	if steady.Task != 1 || crash.Task != 2 {
		t.Errorf("autostart ids %d, %d: want file order 1, 2", steady.Task, crash.Task)
	}
	// First failure: backoff, and the group restarts both in order.
	backoff := s.expectEvent("crasher in backoff", func(e event) bool { return e.Task == 2 && e.State == "backoff" })
	// The delay is in the message exactly. The deadline is the delay from a
	// reading of the clock taken before the event's (a Sprintf apart, but
	// a loaded machine may pause in between), so it is at most 100ms after
	// the event's time, and after it unless that pause lasted 100ms.
	if backoff.Message != "Restarting in 100ms (restart 1)" {
		t.Errorf("backoff message %q, want %q", backoff.Message, "Restarting in 100ms (restart 1)")
	}
	if backoff.Deadline == nil {
		t.Errorf("backoff event without a deadline: %+v", backoff)
	} else if d := backoff.Deadline.Sub(backoff.Time); d <= 0 || d > 100*time.Millisecond {
		t.Errorf("backoff event: deadline %v is %v after its time %v, want within (0, 100ms]", backoff.Deadline, d, backoff.Time)
	}
	var restarting groupEvent
	s.expectLine("group restarting", func(l string) bool {
		return json.Unmarshal([]byte(l), &restarting) == nil && restarting.Group == "pair" && restarting.State == "restarting"
	})
	if restarting.Strategy != "one-for-all" || len(restarting.Tasks) != 2 {
		t.Errorf("restarting: %+v", restarting)
	}
	s.expectEvent("steady restarted", func(e event) bool { return e.Task == 1 && e.State == "running" && e.Restarts == 1 })
	// Second failure: over the group's limit of 1; at the top it is given up.
	var gaveUp groupEvent
	s.expectLine("group gave up", func(l string) bool {
		return json.Unmarshal([]byte(l), &gaveUp) == nil && gaveUp.Group == "pair" && gaveUp.State == "gave-up"
	})
	if !strings.Contains(gaveUp.Reason, "restart limit of 1 within 1m0s reached") {
		t.Errorf("gave-up reason: %q", gaveUp.Reason)
	}
	gone := map[int]bool{}
	for len(gone) < 2 {
		ev := s.expectEvent("both tasks gave up", func(e event) bool { return e.State == "gave-up" && !gone[e.Task] })
		gone[ev.Task] = true
		if !strings.Contains(ev.Reason, "group pair failed") {
			t.Errorf("task %d gave up: %q", ev.Task, ev.Reason)
		}
	}
	// Tasks that gave up make the exit status 1.
	_, err := s.finish()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want exit status 1; stderr: %s", err, s.errText())
	}
}
