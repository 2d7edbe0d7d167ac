package proc

// API contract, filled in by the implementation files. This file is deleted once
// they exist; it only pins the names the actors package builds against.

import (
	"errors"
	"syscall"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// ErrFinished is returned by Signal, Terminate and Kill once the process has
// been reaped: its group id may no longer be ours, so nothing is sent.
var ErrFinished = errors.New("process already finished")

// Spec describes one process to start. The zero value of every optional field
// is documented with the field.
type Spec struct {
	// Name names the command in errors, e.g. "task 3 (standard)". Empty: the
	// command itself.
	Name string
	// Argv is run directly, Argv[0] looked up in PATH. Exactly one of Argv and
	// Shell must be set.
	Argv []string
	// Shell is a command line run by /bin/sh -c.
	Shell string
	// Dir is the working directory. Empty: taskvisor's own.
	Dir string
	// Env holds KEY=value entries added to the inherited environment; they
	// override inherited entries of the same key.
	Env []string
	// Output receives stdout and stderr line by line. Nil: output is discarded.
	Output *Output
	// NotifyDir is the private directory in which the process's sd_notify
	// socket is created (NOTIFY_SOCKET is set to it). Empty: no socket, and
	// NOTIFY_SOCKET is removed from the environment.
	NotifyDir string
	// OnNotify is called, in arrival order, for each well-formed datagram from
	// a sender inside the process's tree. Every datagram queued before the
	// leader exited is delivered before OnExit is called. Nil: ignored.
	OnNotify func(notify.Message)
	// OnExit is called once, after the leader has been reaped, with how it
	// ended. It is never delayed by a descendant that holds a pipe open.
	OnExit func(Exit)
	// WaitDelay bounds how long output is still read after the leader exited,
	// for descendants that escaped the group and keep a pipe open. Zero: 500ms.
	WaitDelay time.Duration
}

// Exit says how a process ended.
type Exit struct {
	// Code is the exit code, or -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// Started and Ended bound the process's run time.
	Started, Ended time.Time
}

// Process is one started command and its process group.
type Process struct{}

// Start starts spec in a new process group.
func Start(spec Spec) (*Process, error) { panic("unimplemented") }

// Pid returns the leader's pid.
func (p *Process) Pid() int { panic("unimplemented") }

// Pgid returns the process group id recorded at start.
func (p *Process) Pgid() int { panic("unimplemented") }

// Signal sends sig to the whole process group.
func (p *Process) Signal(sig syscall.Signal) error { panic("unimplemented") }

// Terminate sends sig and then SIGCONT to the whole group.
func (p *Process) Terminate(sig syscall.Signal) error { panic("unimplemented") }

// Kill sends SIGKILL to the whole group.
func (p *Process) Kill() error { panic("unimplemented") }

// Exited is closed once the leader has been reaped.
func (p *Process) Exited() <-chan struct{} { panic("unimplemented") }

// Done is closed once every goroutine of the process has ended.
func (p *Process) Done() <-chan struct{} { panic("unimplemented") }

// NotifyStats returns the process's notify counters.
func (p *Process) NotifyStats() notify.Stats { panic("unimplemented") }

// Output is a bounded buffer of the last lines of a process's output.
type Output struct{}

// NewOutput returns a buffer of the last maxLines lines (<= 0: 1000).
func NewOutput(maxLines int) *Output { panic("unimplemented") }

// Stream says where a line came from.
type Stream uint8

// The streams.
const (
	Stdout Stream = iota + 1
	Stderr
)

// Line is one line of output.
type Line struct {
	Stream Stream
	Text   string
	Time   time.Time
	Cut    bool
}

// Lines returns the buffered lines, oldest first.
func (o *Output) Lines() []Line { panic("unimplemented") }
