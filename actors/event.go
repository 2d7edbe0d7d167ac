package actors

import (
	"encoding/json"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TaskEvent is what taskvisor publishes on the actor system's EventStream each
// time something about a task changes. It is an immutable value: consumers
// keep the latest one per ID as their model of the task and never reach into
// actors.
type TaskEvent struct {
	// ID numbers tasks 1, 2, 3 ... in the order they were started; a restart
	// keeps the ID.
	ID int
	// Name is the task's name (its template's name for catalogue tasks).
	Name string
	// Group is the supervision group the task belongs to; empty for the top.
	Group string
	// State is the task's state after the change.
	State State
	// PID is the process id of the task's current or last process; 0 before
	// the first start and when a start failed.
	PID int
	// Generation counts the processes started for this task: 1 for the first,
	// 2 after the first restart, and so on.
	Generation int
	// Step and Steps are the last X_PROGRESS=k/N the task reported; Steps is 0
	// when the task reported no step count.
	Step, Steps int
	// Progress is the last reported progress as a fraction in [0, 1].
	Progress float64
	// Status is the last STATUS= text the task sent.
	Status string
	// Message says what happened, as a sentence: "Processing step 1/7 (14%)",
	// "Task forcefully killed".
	Message string
	// Restarts counts how often the task was restarted.
	Restarts int
	// ExitCode is the exit code of the process that ended, or -1 when no
	// process has ended with a code (still running, or killed by a signal).
	ExitCode int
	// Signal is the signal that ended the process, or 0.
	Signal syscall.Signal
	// Reason explains an ending or a refusal: the exit status, the start
	// error, the stop that was asked for.
	Reason string
	// Deadline is, while stopping, when SIGKILL follows the stop signal; zero
	// otherwise.
	Deadline time.Time
	// Started is when the current process started; zero before.
	Started time.Time
	// Time is when the change happened.
	Time time.Time
	// NotifyDropped counts the sd_notify datagrams of the current process that
	// were dropped: malformed, or from a sender outside the task.
	NotifyDropped uint64
}

// String reads as a line of the original demo: "[Task 1] Processing step 1/7 (14%)".
func (e TaskEvent) String() string {
	return fmt.Sprintf("[Task %d] %s", e.ID, e.Message)
}

// SignalName returns the name of the signal that ended the process
// ("SIGKILL"), or "" when none did.
func (e TaskEvent) SignalName() string {
	return signalName(e.Signal)
}

func signalName(sig syscall.Signal) string {
	if sig == 0 {
		return ""
	}
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// jsonEvent is the wire form of TaskEvent in --json output: one object per
// event, with these field names.
type jsonEvent struct {
	Time     time.Time  `json:"time"`
	Task     int        `json:"task"`
	Name     string     `json:"name"`
	Group    string     `json:"group,omitempty"`
	State    State      `json:"state"`
	PID      int        `json:"pid"`
	Progress float64    `json:"progress"`
	Step     int        `json:"step"`
	Steps    int        `json:"steps"`
	Status   string     `json:"status,omitempty"`
	Message  string     `json:"message"`
	Restarts int        `json:"restarts"`
	ExitCode *int       `json:"exit_code"`
	Signal   *string    `json:"signal"`
	Reason   string     `json:"reason"`
	Deadline *time.Time `json:"deadline,omitempty"`
}

// MarshalJSON writes the event with the field names of the headless --json
// protocol; exit_code and signal are null when they do not apply.
func (e TaskEvent) MarshalJSON() ([]byte, error) {
	j := jsonEvent{
		Time: e.Time, Task: e.ID, Name: e.Name, Group: e.Group, State: e.State, PID: e.PID,
		Progress: e.Progress, Step: e.Step, Steps: e.Steps, Status: e.Status, Message: e.Message,
		Restarts: e.Restarts, Reason: e.Reason,
	}
	if e.ExitCode >= 0 {
		code := e.ExitCode
		j.ExitCode = &code
	}
	if e.Signal != 0 {
		name := e.SignalName()
		j.Signal = &name
	}
	if !e.Deadline.IsZero() {
		d := e.Deadline
		j.Deadline = &d
	}
	return json.Marshal(j)
}
