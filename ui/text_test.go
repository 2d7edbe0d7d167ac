package ui

import (
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

func TestDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0.0s", 400 * time.Millisecond: "0.4s", 12 * time.Second: "12s",
		185 * time.Second: "3m05s", 2*time.Hour + 7*time.Minute: "2h07m", 76 * time.Hour: "3d04h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := countdown(t0.Add(3201*time.Millisecond), t0); got != "3.3s" {
		t.Errorf("countdown rounds up: %q", got)
	}
	if got := countdown(t0, t0.Add(time.Second)); got != "0.0s" {
		t.Errorf("countdown past the deadline: %q", got)
	}
}

func TestExitText(t *testing.T) {
	for _, c := range []struct {
		ev   actors.TaskEvent
		want string
	}{
		{actors.TaskEvent{State: actors.StateFailed, ExitCode: 3, Reason: "exit code 3"}, "exit code 3"},
		{actors.TaskEvent{State: actors.StateKilled, ExitCode: -1, Signal: syscall.SIGKILL, Reason: "stop grace of 5s ran out; killed by SIGKILL"}, "stop grace of 5s ran out; killed by SIGKILL"},
		{actors.TaskEvent{State: actors.StateCancelled, ExitCode: 143, Reason: "cancel asked"}, "exit code 143; cancel asked"},
		{actors.TaskEvent{State: actors.StateRunning, ExitCode: -1, Reason: "started"}, ""},
		{actors.TaskEvent{State: actors.StateFailed, ExitCode: -1, Reason: "exec: no such file"}, "exec: no such file"},
		{actors.TaskEvent{State: actors.StateKilled, ExitCode: -1, Signal: syscall.SIGKILL}, "signal SIGKILL"},
		{actors.TaskEvent{State: actors.StateFailed, ExitCode: 2, Reason: "bad \x1b[31m\"arg\""}, `exit code 2; bad \x1b[31m"arg"`},
	} {
		m := NewModel(nil, 80, 20)
		m.ApplyEvent(c.ev)
		if got := exitText(m.Task(c.ev.ID)); got != c.want {
			t.Errorf("exitText(%s, %q) = %q, want %q", c.ev.State, c.ev.Reason, got, c.want)
		}
	}
}
