package actors

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors in replies; test with errors.Is.
var (
	// ErrUnknownTask: no task has that ID.
	ErrUnknownTask = errors.New("no such task")
	// ErrUnknownTemplate: the catalogue has no template of that key or name.
	ErrUnknownTemplate = errors.New("no such template")
	// ErrWrongState: the task is in a state in which the command makes no sense.
	ErrWrongState = errors.New("wrong state")
	// ErrUnknownGroup: a task names a group that is not defined.
	ErrUnknownGroup = errors.New("no such group")
	// ErrShuttingDown: the runtime is shutting down and starts nothing new.
	ErrShuttingDown = errors.New("shutting down")
	// ErrInvalidSpec: a Start whose spec fails TaskSpec.Validate, or that
	// gives both a template and a spec.
	ErrInvalidSpec = errors.New("invalid task spec")
)

// StateError says that a command does not fit the task's state.
type StateError struct {
	Op    Op    // the command refused: OpCancel, OpKill or OpRestart
	ID    int   // the task's
	State State // the state that does not fit
}

// Error says what was refused and why: "cancel task 3: it has already ended (completed)".
func (e *StateError) Error() string {
	switch {
	case e.State == StateStopping:
		return fmt.Sprintf("%s task %d: it is already stopping", e.Op, e.ID)
	case e.State.Ended():
		return fmt.Sprintf("%s task %d: it has already ended (%s)", e.Op, e.ID, e.State)
	}
	return fmt.Sprintf("%s task %d: not possible while it is %s", e.Op, e.ID, e.State)
}

// Is makes errors.Is(err, ErrWrongState) true.
func (e *StateError) Is(target error) bool { return target == ErrWrongState }

// StartError is TaskEvent.Err of a task whose process could not be started:
// the command is not found, the working directory does not exist, the fork
// failed. It wraps the cause, so that errors.Is(ev.Err, exec.ErrNotFound) and
// errors.Is(ev.Err, fs.ErrNotExist) answer as they would for os/exec.
type StartError struct {
	ID   int    // the task's
	Name string // the task's name
	Err  error  // the cause, from package proc
}

// Error reads as "task 3 (web) could not start: exec: "x": executable file
// not found in $PATH".
func (e *StartError) Error() string {
	cause := e.Err
	if inner := errors.Unwrap(cause); inner != nil {
		cause = inner // proc's own wrapping names the task again
	}
	return fmt.Sprintf("task %d (%s) could not start: %v", e.ID, e.Name, cause)
}

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Err }

// ExitError is TaskEvent.Err of a task whose process ended failed on its
// own: an exit code other than 0, or a signal nobody in taskvisor sent.
type ExitError struct {
	ID     int            // the task's
	Name   string         // the task's name
	Code   int            // the exit code, or -1 when a signal ended it
	Signal syscall.Signal // the signal that ended it, or 0
	Status string         // the status in words: "exit code 3", "killed by SIGSEGV"
}

// Error reads as "task 3 (web): exit code 3".
func (e *ExitError) Error() string {
	return fmt.Sprintf("task %d (%s): %s", e.ID, e.Name, e.Status)
}
