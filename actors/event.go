package actors

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TaskEvent is what taskvisor publishes on the actor system's EventStream each
// time something about a task changes. It is an immutable value: consumers
// keep the latest one per ID as their model of the task and never reach into
// actors.
type TaskEvent struct {
	// Runtime names the runtime the task belongs to (Config.Name,
	// "taskvisor" by default), for programs that run more than one in an
	// actor system.
	Runtime string
	// ID numbers tasks 1, 2, 3 ... in the order they were started; a restart
	// keeps the ID.
	ID int
	// Node names the node the task runs on, set by a client attached to
	// several nodes (node/client.Multi), which numbers the tasks of all of
	// them with IDs of its own; a runtime leaves it empty.
	Node string
	// NodeTask is the task's ID on its node, with Node.
	NodeTask int
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
	// Err is the cause of a failed ending as a value, for errors.Is and
	// errors.As: a *StartError when the process could not be started (it
	// wraps the OS error, so errors.Is(ev.Err, exec.ErrNotFound) holds for a
	// program not found), an *ExitError when it ended failed on its own;
	// nil in every other event. Reason says the same in words. Err does not
	// cross a node's API: its clients read Reason.
	Err error
	// Deadline is when the state's next step comes on its own: while
	// stopping, when SIGKILL follows the stop signal; in backoff, when the
	// next start is due; while stalled, when the stall action is applied
	// (zero for warn). Zero when no step is due.
	Deadline time.Time
	// TimeoutAt is when the current process's run-time limit
	// (TaskSpec.Timeout) runs out; zero without one, while paused, and
	// once it has run out.
	TimeoutAt time.Time
	// LastActivity is when the current process last reported progress,
	// STATUS, READY or WATCHDOG=1 (its start time until it does); the
	// watchdog measures stalls from it.
	LastActivity time.Time
	// Policy describes the task's restart and watchdog policy
	// (TaskSpec.Policy).
	Policy string
	// StopSignal is the signal a cancel sends first (TaskSpec.StopSignal,
	// SIGTERM by default).
	StopSignal syscall.Signal
	// StallAction is what the watchdog does to the task once it has been
	// stalled for its grace (TaskSpec.StallAction, warn by default).
	StallAction StallAction
	// Started is when the current process started; zero before.
	Started time.Time
	// Time is when the change happened.
	Time time.Time
	// Final: the task has ended and nothing will start it again on its
	// own: no restart is pending, by its policy or its group's. It is set
	// on the event that ends the task's story (Runtime.Wait answers then);
	// only a Restart command starts it again. An ending followed by a
	// restart (backoff) has it false.
	Final bool
	// QueueTicket is the task's place in the runtime's queue while it is
	// queued: the queue is first come first, so a lower ticket starts
	// first (QueuePositions turns the tickets of a list into positions).
	// Zero when the task is not queued.
	QueueTicket uint64
	// NotifyDropped counts the sd_notify datagrams of the current process that
	// were dropped: malformed, from a sender outside the task, or over the
	// rate limit (1,000 a second). A change is published at once, in an
	// event that keeps the task's state and message if nothing else
	// changed: at most one such event per 30 ms.
	NotifyDropped uint64
}

// QueuePositions numbers the queued tasks of tasks 1, 2, 3 ... in the order
// they will start (their QueueTicket's), by ID: the live place in line,
// where a queued event's message says the place it took.
func QueuePositions(tasks []TaskEvent) map[int]int {
	var queued []TaskEvent
	for _, t := range tasks {
		if t.State == StateQueued {
			queued = append(queued, t)
		}
	}
	slices.SortFunc(queued, func(a, b TaskEvent) int { return cmp.Compare(a.QueueTicket, b.QueueTicket) })
	pos := make(map[int]int, len(queued))
	for i, t := range queued {
		pos[t.ID] = i + 1
	}
	return pos
}

// failedInternally is ev ended failed at now because taskvisor itself
// failed it (its actor could not be spawned or stopped), for reason.
func (e TaskEvent) failedInternally(now time.Time, reason string) TaskEvent {
	e.State, e.Time, e.Deadline = StateFailed, now, time.Time{}
	e.Message, e.Reason = "Task failed: internal error", reason
	e.Final = true // its actor is gone: nothing starts it again
	return e
}

// String reads as a line of the original demo: "[Task 1] Processing step
// 1/7 (14%)"; a task of one of several nodes is named node/ID ("[Task
// box2/1] ...").
func (e TaskEvent) String() string {
	return "[Task " + e.Ref() + "] " + e.Message
}

// Ref is how the control CLI names the task: its ID ("7"), or node/ID
// ("box2/7") for a task of one of several nodes.
func (e TaskEvent) Ref() string {
	if e.Node != "" {
		return e.Node + "/" + strconv.Itoa(e.NodeTask)
	}
	return strconv.Itoa(e.ID)
}

// Outcome says in a few words how the task ended, for summaries:
// "killed (SIGKILL)", "failed (exit code 3)", "gave-up (restart limit ...)".
func (e TaskEvent) Outcome() string {
	how := string(e.State)
	switch {
	case e.Signal != 0:
		how += " (" + e.SignalName() + ")"
	case e.ExitCode >= 0:
		how += fmt.Sprintf(" (exit code %d)", e.ExitCode)
	case e.Reason != "":
		how += " (" + e.Reason + ")"
	}
	return how
}

// SignalName returns the name of the signal that ended the process
// ("SIGKILL"), or "" when none did.
func (e TaskEvent) SignalName() string {
	return SignalName(e.Signal)
}

// SignalName returns a signal's name ("SIGTERM"), "signal N" for one
// without a name, or "" for 0.
func SignalName(sig syscall.Signal) string {
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
	Policy   string     `json:"policy,omitempty"`
	// NotifyDropped is TaskEvent.NotifyDropped, left out while zero.
	NotifyDropped uint64 `json:"notify_dropped,omitempty"`
	// Final is TaskEvent.Final, left out while false.
	Final bool `json:"final,omitempty"`
	// QueueTicket and TimeoutAt are TaskEvent's, left out while zero.
	QueueTicket uint64     `json:"queue_ticket,omitempty"`
	TimeoutAt   *time.Time `json:"timeout_at,omitempty"`
}

// Event is what the runtime publishes on the EventStream: a TaskEvent, a
// GroupEvent or a NoticeEvent. Each reads as a line (String) and has a
// --json form.
type Event interface {
	fmt.Stringer
	json.Marshaler
	// runtime names the runtime that published the event.
	runtime() string
}

func (e TaskEvent) runtime() string   { return e.Runtime }
func (e GroupEvent) runtime() string  { return e.Runtime }
func (e NoticeEvent) runtime() string { return e.Runtime }

// NoticeKind names what a NoticeEvent is about.
type NoticeKind string

// The notice kinds.
const (
	// NoticeGuardLost: the guard process (the one that kills the tasks if
	// taskvisor dies) died, and a new one took its place, or none could
	// start. It is found at the next task start, or within a second while
	// a task runs.
	NoticeGuardLost NoticeKind = "guard-lost"
)

// NoticeEvent is a fact about the runtime as a whole, neither a task's nor
// a group's, that its user should see: the kinds are the Notice constants.
type NoticeEvent struct {
	// Runtime names the runtime that published it (Config.Name).
	Runtime string
	// Kind says what it is about.
	Kind NoticeKind
	// Message says it as a sentence.
	Message string
	// Time is when it happened.
	Time time.Time
}

// String reads as a line of the headless output: "[taskvisor] ...".
func (e NoticeEvent) String() string { return "[taskvisor] " + e.Message }

// MarshalJSON writes the event in the --json protocol, with "notice" set to
// its kind.
func (e NoticeEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Time    time.Time  `json:"time"`
		Notice  NoticeKind `json:"notice"`
		Message string     `json:"message"`
	}{e.Time, e.Kind, e.Message})
}

// GroupState is where a supervision group is in its life.
type GroupState string

// The group states.
const (
	// GroupRunning: the group supervises its children.
	GroupRunning GroupState = "running"
	// GroupRestarting: the group is stopping and starting children by its
	// strategy.
	GroupRestarting GroupState = "restarting"
	// GroupFailed: the group hit its restart limit (or a task in it hit its
	// own), stopped its children and failed to its parent group.
	GroupFailed GroupState = "failed"
	// GroupGaveUp: a group that failed at the top level; its tasks end
	// gave-up and it restarts nothing more.
	GroupGaveUp GroupState = "gave-up"
)

// GroupEvent is published on the EventStream for every decision of a
// supervision group: a restart by its strategy, a failure to its parent, a
// give-up at the top.
type GroupEvent struct {
	// Runtime names the runtime the group belongs to (Config.Name).
	Runtime string
	// Group is the group's name; Parent its parent's, empty at the top.
	Group, Parent string
	// Strategy is the group's strategy.
	Strategy Strategy
	// State is the group's state after the decision.
	State GroupState
	// Restarts counts the restarts the group has performed.
	Restarts int
	// Tasks are the IDs of the tasks the decision concerns.
	Tasks []int
	// Message says what the group did, as a sentence.
	Message string
	// Reason says why.
	Reason string
	// Time is when it happened.
	Time time.Time
}

// String reads as a line of the headless output: "[Group pipeline] ...".
func (e GroupEvent) String() string {
	return fmt.Sprintf("[Group %s] %s", e.Group, e.Message)
}

// MarshalJSON writes the event in the --json protocol, with "group" set and
// no "task" field.
func (e GroupEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Time     time.Time  `json:"time"`
		Group    string     `json:"group"`
		Parent   string     `json:"parent,omitempty"`
		Strategy Strategy   `json:"strategy"`
		State    GroupState `json:"state"`
		Restarts int        `json:"restarts"`
		Tasks    []int      `json:"tasks"`
		Message  string     `json:"message"`
		Reason   string     `json:"reason"`
	}{e.Time, e.Group, e.Parent, e.Strategy, e.State, e.Restarts, e.Tasks, e.Message, e.Reason})
}

// newGeneration clears what the event says of a process, for the start of
// process generation gen.
func (e *TaskEvent) newGeneration(gen int) {
	e.Generation = gen
	e.PID, e.Step, e.Steps, e.Progress, e.Status = 0, 0, 0, 0, ""
	e.ExitCode, e.Signal, e.Deadline, e.Started = -1, 0, time.Time{}, time.Time{}
	e.NotifyDropped, e.LastActivity, e.TimeoutAt = 0, time.Time{}, time.Time{}
}

// MarshalJSON writes the event with the field names of the headless --json
// protocol; exit_code and signal are null when they do not apply.
func (e TaskEvent) MarshalJSON() ([]byte, error) {
	j := jsonEvent{
		Time: e.Time, Task: e.ID, Name: e.Name, Group: e.Group, State: e.State, PID: e.PID,
		Progress: e.Progress, Step: e.Step, Steps: e.Steps, Status: e.Status, Message: e.Message,
		Restarts: e.Restarts, Reason: e.Reason, Policy: e.Policy, NotifyDropped: e.NotifyDropped, Final: e.Final,
		QueueTicket: e.QueueTicket,
	}
	if e.ExitCode >= 0 {
		code := e.ExitCode
		j.ExitCode = &code
	}
	if e.Signal != 0 {
		name := e.SignalName()
		j.Signal = &name
	}
	if !e.TimeoutAt.IsZero() {
		d := e.TimeoutAt
		j.TimeoutAt = &d
	}
	if !e.Deadline.IsZero() {
		d := e.Deadline
		j.Deadline = &d
	}
	return json.Marshal(j)
}
