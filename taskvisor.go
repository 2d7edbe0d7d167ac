// Package taskvisor supervises tasks that may get stuck. Each task runs as a
// child process, owned by an actor that can cancel it (its stop signal,
// then SIGKILL after a grace period), kill it (SIGKILL to its process group
// and cgroup) or restart it; a tree of supervision groups decides what
// happens when one hangs, crashes or ends; every change is an event.
//
// This package is the front door for a Go program that hosts taskvisor:
// [New], the specs of tasks and groups, the events and the errors. They are
// the types of package actors, the actor layer underneath, under shorter
// names: aliases, not copies, so a value of one is a value of the other, and
// a program that also talks to the runtime as an actor (actors.Start,
// Runtime.PID) mixes both freely. The methods are documented on the actors
// types ([actors.Runtime]), and
// docs/embedding.md shows a whole program.
//
// Importing it (through package proc) makes the program its own guard: a
// small process, named taskvisor-guard in ps, that the program starts with
// its first runtime and that kills every task's processes if the program
// dies, even of SIGKILL. It is the program's executable run again, which
// proc's init turns into the guard before main runs.
package taskvisor

import "github.com/taskvisor/taskvisor/actors"

// The runtime and how it is made.
type (
	// Runtime is a running taskvisor: its supervisor tree and the tasks in
	// it. Its methods start, stop, list and follow tasks.
	Runtime = actors.Runtime
	// Config configures New; every zero field means a documented default.
	Config = actors.Config
	// Clock is the time the timing rules run on; tests give a manual one
	// (package actors/probe).
	Clock = actors.Clock
)

// New starts a runtime: its supervisor, in a new actor system or in
// Config.System. Shutdown stops it.
func New(cfg Config) (*Runtime, error) { return actors.New(cfg) }

// What tasks and groups are.
type (
	// TaskSpec defines a task: its command, its stop signal and grace, its
	// restart policy and its watchdog.
	TaskSpec = actors.TaskSpec
	// Catalogue lists the task templates that Runtime.Start starts by key
	// or name.
	Catalogue = actors.Catalogue
	// GroupSpec defines a supervision group: its strategy and its restart
	// limit.
	GroupSpec = actors.GroupSpec
	// Backoff is the delay between a task's restarts.
	Backoff = actors.Backoff
	// RestartMode says when a task that ended is started again.
	RestartMode = actors.RestartMode
	// StallAction is what is done to a task that reports no progress.
	StallAction = actors.StallAction
	// ReadyMode says when a task counts as running.
	ReadyMode = actors.ReadyMode
	// Strategy is how a group restarts its children.
	Strategy = actors.Strategy
	// ActivityMode says what counts as progress for the watchdog.
	ActivityMode = actors.ActivityMode
	// TimeoutAction is what is done to a task that ran for its Timeout.
	TimeoutAction = actors.TimeoutAction
	// DepCondition is what a task's dependency must reach (TaskSpec.After).
	DepCondition = actors.DepCondition
	// Dependency is an entry of TaskSpec.After, parsed (ParseDependency).
	Dependency = actors.Dependency
)

// ParseDependency reads an entry of TaskSpec.After: "fetch",
// "build:started", "7:ready".
func ParseDependency(s string) (Dependency, error) { return actors.ParseDependency(s) }

// NoStallGrace as TaskSpec.StallGrace: the stall action comes with the
// stall.
const NoStallGrace = actors.NoStallGrace

// The restart modes, stall actions, readiness modes and strategies.
const (
	RestartNever     = actors.RestartNever
	RestartOnFailure = actors.RestartOnFailure
	RestartAlways    = actors.RestartAlways

	StallWarn    = actors.StallWarn
	StallCancel  = actors.StallCancel
	StallKill    = actors.StallKill
	StallRestart = actors.StallRestart

	ReadyStarted = actors.ReadyStarted
	ReadyNotify  = actors.ReadyNotify

	OneForOne  = actors.OneForOne
	OneForAll  = actors.OneForAll
	RestForOne = actors.RestForOne

	ActivityNotify = actors.ActivityNotify
	ActivityOutput = actors.ActivityOutput
	ActivityBoth   = actors.ActivityBoth

	TimeoutCancel  = actors.TimeoutCancel
	TimeoutKill    = actors.TimeoutKill
	TimeoutRestart = actors.TimeoutRestart

	DepStarted   = actors.DepStarted
	DepReady     = actors.DepReady
	DepCompleted = actors.DepCompleted
	DepEnded     = actors.DepEnded
)

// What happens to them.
type (
	// Event is a TaskEvent, a GroupEvent or a NoticeEvent.
	Event = actors.Event
	// TaskEvent is a task's state after a change.
	TaskEvent = actors.TaskEvent
	// GroupEvent is a supervision group's decision.
	GroupEvent = actors.GroupEvent
	// NoticeEvent is a fact about the runtime as a whole (a lost guard).
	NoticeEvent = actors.NoticeEvent
	// State is where a task is in its life.
	State = actors.State
	// GroupState is where a group is in its life.
	GroupState = actors.GroupState
	// Line is a line of a task's output.
	Line = actors.Line
	// OutputLine is a line of output as Runtime.Follow delivers it.
	OutputLine = actors.OutputLine
)

// The task states; State.Ended says which are ends.
const (
	StateWaiting   = actors.StateWaiting
	StateQueued    = actors.StateQueued
	StateStarting  = actors.StateStarting
	StateRunning   = actors.StateRunning
	StateStalled   = actors.StateStalled
	StatePaused    = actors.StatePaused
	StateStopping  = actors.StateStopping
	StateCancelled = actors.StateCancelled
	StateKilled    = actors.StateKilled
	StateCompleted = actors.StateCompleted
	StateFailed    = actors.StateFailed
	StateBackoff   = actors.StateBackoff
	StateGaveUp    = actors.StateGaveUp
	StateSkipped   = actors.StateSkipped
)

// Why a command was refused, or how a task ended: test with errors.Is and
// errors.As.
type (
	// StartError is TaskEvent.Err of a task whose process could not start;
	// it wraps the cause (errors.Is(err, exec.ErrNotFound)).
	StartError = actors.StartError
	// ExitError is TaskEvent.Err of a task whose process failed: its exit
	// code or signal.
	ExitError = actors.ExitError
	// StateError refuses a command that the task's state does not allow.
	StateError = actors.StateError
)

// The errors of commands.
var (
	ErrUnknownTask     = actors.ErrUnknownTask
	ErrUnknownTemplate = actors.ErrUnknownTemplate
	ErrWrongState      = actors.ErrWrongState
	ErrUnknownGroup    = actors.ErrUnknownGroup
	ErrShuttingDown    = actors.ErrShuttingDown
	ErrInvalidSpec     = actors.ErrInvalidSpec
	ErrStopped         = actors.ErrStopped
)
