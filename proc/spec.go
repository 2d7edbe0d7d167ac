package proc

import (
	"errors"
	"os/exec"
	"strings"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// DefaultWaitDelay is how long output is still read after the leader exited
// when Spec.WaitDelay is zero.
const DefaultWaitDelay = 500 * time.Millisecond

// DefaultUnkillableAfter is how long after SIGKILL a process whose leader has
// not exited is given up on (see Exit.Unkillable) when Spec.UnkillableAfter
// is zero. SIGKILL until reaped takes well under a millisecond for a process
// that can die; one that is frozen or waits on a hung file system does not
// die at all.
const DefaultUnkillableAfter = 10 * time.Second

// settleTimeout bounds how long Done waits, after the leader's exit, for the
// rest of its group to die of the SIGKILL it was sent.
const settleTimeout = 5 * time.Second

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
	// override inherited entries of the same key. NOTIFY_SOCKET, WATCHDOG_USEC
	// and WATCHDOG_PID are never inherited from taskvisor's own environment:
	// the child has them only if Env sets them (NOTIFY_SOCKET: or NotifyDir,
	// which wins).
	Env []string
	// Output receives stdout and stderr line by line. Nil: output is read and
	// discarded, so the child never blocks on a full pipe.
	Output *Output
	// NotifyDir is the private directory in which the process's sd_notify
	// socket is created (NOTIFY_SOCKET is set to it). Empty: no socket, and
	// NOTIFY_SOCKET is removed from the environment.
	NotifyDir string
	// OnNotify is called, in arrival order, for each well-formed datagram from
	// a sender inside the process's tree. Every datagram queued before the
	// leader exited is delivered before OnExit is called. Nil: ignored.
	OnNotify func(notify.Message)
	// OnNotifyDrop is called after each read of the socket in which
	// datagrams were dropped (NotifyStats().Dropped() grew: malformed,
	// foreign or over the rate limit), in order with OnNotify, so that the
	// count can be shown at once. It must not block. Nil: ignored.
	OnNotifyDrop func()
	// OnExit is called once, after the leader has been reaped, with how it
	// ended. It is never delayed by a descendant that holds a pipe open. It
	// runs on the process's own goroutine: until it returns, Done stays open.
	// The last lines of output may reach Output after OnExit; they are all
	// there once Done is closed. Nil: ignored.
	OnExit func(Exit)
	// OnDone is called once, on the process's own goroutine, right after Done
	// is closed: an owner that tracks many processes learns of their end
	// without a goroutine of its own per process. Nil: ignored.
	OnDone func()
	// WaitDelay bounds how long output is still read after the leader exited,
	// for descendants that escaped the group and keep a pipe open. Zero (or
	// negative): DefaultWaitDelay.
	WaitDelay time.Duration

	// UnkillableAfter is how long after the first SIGKILL the process is
	// given up on if its leader has not exited (see Exit.Unkillable). Zero
	// (or negative): DefaultUnkillableAfter.
	UnkillableAfter time.Duration

	// Limits bound the run's memory, CPU and processes (see Limits). With
	// a limit set through a cgroup v1 (a hybrid host), or an rlimit
	// (BestEffort), the run's first process is a /bin/sh that joins the
	// cgroups or sets the rlimits, then execs Argv (found in PATH by the
	// shell: a program not found is exit code 127, not a start error).
	Limits Limits

	// noCgroup makes the run use the marker fallback even where cgroups
	// work, for tests of the fallback; noV1 keeps its limits out of cgroup
	// v1 as well.
	noCgroup, noV1 bool
}

// errArgvOrShell is returned by Start for a Spec with both or neither of Argv
// and Shell.
var errArgvOrShell = errors.New("exactly one of Argv and Shell must be set")

// maxNameLen bounds a command line quoted in an error message.
const maxNameLen = 80

// displayName is how errors name the command.
func (s *Spec) displayName() string {
	if s.Name != "" {
		return s.Name
	}
	name := s.Shell
	if len(s.Argv) > 0 {
		name = strings.Join(s.Argv, " ")
	}
	if r := []rune(name); len(r) > maxNameLen {
		name = string(r[:maxNameLen-1]) + "…"
	}
	if name == "" {
		name = "(empty command)"
	}
	return name
}

// command builds the exec.Cmd for the spec's command line, without any of its
// I/O or environment.
func (s *Spec) command() (*exec.Cmd, error) {
	switch {
	case len(s.Argv) > 0 && s.Shell != "", len(s.Argv) == 0 && s.Shell == "":
		return nil, errArgvOrShell
	case s.Shell != "":
		return exec.Command("/bin/sh", "-c", s.Shell), nil
	case s.Argv[0] == "":
		return nil, errors.New("empty Argv[0]")
	default:
		return exec.Command(s.Argv[0], s.Argv[1:]...), nil
	}
}

func (s *Spec) waitDelay() time.Duration {
	if s.WaitDelay <= 0 {
		return DefaultWaitDelay
	}
	return s.WaitDelay
}

func (s *Spec) unkillableAfter() time.Duration {
	if s.UnkillableAfter <= 0 {
		return DefaultUnkillableAfter
	}
	return s.UnkillableAfter
}
