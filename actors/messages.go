package actors

import (
	"github.com/taskvisor/taskvisor/proc"
)

// Commands, sent to the runtime supervisor (Runtime.PID) with Request or
// RequestFuture; each gets a reply.

// Start starts a task from a catalogue template (by key or name) or from a
// spec. Exactly one of Template and Spec is set. The reply is a Reply whose ID
// is the new task's; a process that then fails to start ends the task
// `failed`, told by an event.
type Start struct {
	Template string    // a catalogue template's key or name
	Spec     *TaskSpec // a task of the caller's own
	// Tag is the caller's, carried back in the Reply (Reply.Tag), so that an
	// actor with several starts in flight can tell their replies apart.
	Tag any
	// Node names the node to start the task on, for a client attached to
	// several nodes (node/client.Multi; empty: its first). A runtime
	// ignores it.
	Node string
}

// Cancel stops a task gracefully: its stop signal and SIGCONT to its process
// group, then SIGKILL when its grace period runs out. Reply: Reply.
type Cancel struct {
	ID int // the task's
}

// Kill sends SIGKILL to a task's process group now. Reply: Reply.
type Kill struct {
	ID int // the task's
}

// Fail ends a task's process as a failure: SIGKILL to its process group,
// and the task ends failed with Reason, so that its restart policy applies
// as to any failure (a Kill asked for never counts as one). It is for a
// program's own detector of a task gone wrong. Reply: Reply.
type Fail struct {
	ID     int    // the task's
	Reason string // why, in the event's reason
}

// Restart kills a task's process group and starts a new process under the
// same ID. A task that has ended, or waits in backoff, is started at once,
// with its restart policy afresh: backoff and restart limit count from zero
// again. Reply: Reply.
type Restart struct {
	ID int // the task's
}

// Pause stops a running task's processes: SIGSTOP to its process group
// and, where cgroups are in force, to every process of its run cgroup
// (escapees too), frozen while the signals go out. The task is paused; its
// watchdog and run-time limit wait until Resume. Reply: Reply.
type Pause struct {
	ID int // the task's
}

// Resume continues a paused task: SIGCONT to the processes Pause stopped.
// Its watchdog starts afresh, its run-time limit goes on from where it
// was. Reply: Reply.
type Resume struct {
	ID int // the task's
}

// PauseGroup pauses every task of Group, and of the groups below it, that
// can be paused, or with Resume resumes those that are paused. Reply:
// Reply, once each task has been told.
type PauseGroup struct {
	Group  string // the group's name
	Resume bool   // resume instead
}

// SetMaxParallel sets a parallelism limit at run time: Group's (empty: the
// whole runtime's, Config.MaxParallel) to Limit, or none for 0; with Adjust
// set, it moves the limit by Adjust instead and ignores Limit (never below
// 1; lowered from none, it starts from the tasks holding a process now).
// Raised, it starts queued tasks at once; lowered, it stops no process.
// Reply: Reply, whose Limit is the limit now in force.
type SetMaxParallel struct {
	Group  string // the group whose limit it is; empty: the whole runtime's
	Limit  int    // the new limit; 0: none
	Adjust int    // move the limit by this much instead of setting it
}

// List asks for the latest event of every task. Reply: TaskList.
type List struct{}

// GetOutput asks for a task's last output lines. Reply: OutputReply.
type GetOutput struct {
	ID   int // the task's
	Last int // at most this many of the last lines; zero: all the task keeps
}

// Wait asks to be answered once a task has ended and no restart is pending:
// it is cancelled, killed, completed, failed or gave-up, and neither its
// restart policy nor its group will start it again. A task that has ended so
// is answered at once. Reply: WaitReply.
type Wait struct {
	ID int // the task's
}

// Shutdown stops every task, with escalation, then the supervisor itself.
// With Kill set, every task gets SIGKILL at once, also during a shutdown
// already under way. Reply: TaskList with how each task ended, once all have.
type Shutdown struct {
	Kill bool // SIGKILL at once instead of the stop signal and a grace
	// Node names the node to stop, for a client attached to several
	// (node/client.Multi). A runtime ignores it.
	Node string
}

// Reply answers Start, Cancel, Kill and Restart: Err is nil when the command
// was accepted. Replies about different tasks may arrive in another order
// than their commands were sent, and the reply to a Start may come after the
// new task's first events: match a reply by Op and ID.
type Reply struct {
	// Op names the command answered.
	Op Op
	// ID is the task's: the new task's for a Start that was accepted.
	ID int
	// Err says why the command was refused; nil when it was accepted.
	Err error
	// Tag is the Start's Tag, for the reply to a Start.
	Tag any
	// Limit is the limit in force after a SetMaxParallel (0: none).
	Limit int
}

// Op names a command in a Reply or a StateError.
type Op string

// The commands that a Reply answers. A front end that stands between the
// runtime and its user (as a node's client does) may answer List and
// Shutdown with a Reply too, when it cannot get their answer.
const (
	OpStart   Op = "start"
	OpCancel  Op = "cancel"
	OpKill    Op = "kill"
	OpFail    Op = "fail"
	OpRestart Op = "restart"
	OpPause   Op = "pause"
	OpResume  Op = "resume"
	// OpSetMaxParallel answers SetMaxParallel.
	OpSetMaxParallel Op = "max-parallel"
	OpList           Op = "list"
	OpShutdown       Op = "shutdown"
)

// TaskList answers List and Shutdown: the latest event of each task, by ID.
type TaskList struct {
	Tasks []TaskEvent // ordered by ID
}

// WaitReply answers Wait.
type WaitReply struct {
	ID    int       // the task's
	Event TaskEvent // the task's event when it had ended
	Err   error     // ErrUnknownTask, or nil
}

// Package proc's types that front ends meet, as aliases, so that they need
// not import proc.
type (
	// Line is a line of a task's output.
	Line = proc.Line
	// Stream is the pipe a Line came from: Stdout or Stderr.
	Stream = proc.Stream
	// OutputBuffer is a task's output buffer (Runtime.OutputBufferOf).
	OutputBuffer = proc.Output
)

// The streams of a Line.
const (
	Stdout = proc.Stdout
	Stderr = proc.Stderr
)

// OutputReply answers GetOutput.
type OutputReply struct {
	ID    int         // the task's
	Lines []proc.Line // oldest first
	Err   error       // ErrUnknownTask, or nil
}
