package proc

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit says how a process ended.
type Exit struct {
	// Code is the exit code, or -1 when the process was killed by a signal
	// (or, with Signal 0, when its status could not be collected because
	// something else in this program reaped it).
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// CoreDumped says the signal left a core dump.
	CoreDumped bool
	// Started and Ended bound the process's run time.
	Started, Ended time.Time
	// Unkillable is empty for a leader that exited. Otherwise the process
	// was given up on, its leader still unreaped, UnkillableAfter after it
	// was sent SIGKILL; Unkillable says which processes were left to the
	// kernel and their states: "did not die after SIGKILL: process 42 in
	// state D (uninterruptible sleep, in __refrigerator)". Code is then -1
	// and Signal 0.
	Unkillable string
	// OOMKilled: the kernel's OOM killer ended a process of the run at its
	// memory limit (Spec.Limits.MemoryMax).
	OOMKilled bool
	// MemoryPeak is the run's peak memory where its cgroup kept one (else
	// 0), in bytes.
	MemoryPeak uint64
	// PidsLimited: a fork of the run failed at its Spec.Limits.PidsMax.
	PidsLimited bool
}

// Success reports whether the process exited by itself with code 0.
func (e Exit) Success() bool { return e.Code == 0 && e.Signal == 0 }

// RunTime is how long the process ran.
func (e Exit) RunTime() time.Duration { return e.Ended.Sub(e.Started) }

// String reads as "exit code 3", "killed by SIGKILL",
// "killed by SIGSEGV (core dumped)" or, for a process given up on, its
// Unkillable text.
func (e Exit) String() string {
	switch {
	case e.Unkillable != "":
		return e.Unkillable
	case e.Signal != 0:
		name := unix.SignalName(e.Signal)
		if name == "" {
			name = fmt.Sprintf("signal %d", int(e.Signal))
		}
		if e.CoreDumped {
			return "killed by " + name + " (core dumped)"
		}
		return "killed by " + name
	case e.Code < 0:
		return "exit status unknown"
	default:
		return fmt.Sprintf("exit code %d", e.Code)
	}
}

// exitFromStatus turns a wait status into an Exit.
func exitFromStatus(ws unix.WaitStatus, started, ended time.Time) Exit {
	e := Exit{Code: -1, Started: started, Ended: ended}
	switch {
	case ws.Exited():
		e.Code = ws.ExitStatus()
	case ws.Signaled():
		e.Signal = ws.Signal()
		e.CoreDumped = ws.CoreDump()
	}
	return e
}
