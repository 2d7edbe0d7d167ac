package actors

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/taskvisor/taskvisor/proc"
)

// Defaults applied to the zero values of TaskSpec.
const (
	// DefaultStopSignal is sent first when a task is cancelled.
	DefaultStopSignal = syscall.SIGTERM
	// DefaultStopGrace is how long a cancelled task has to end before SIGKILL.
	DefaultStopGrace = 5 * time.Second
	// DefaultOutputLines is how many of a task's last output lines are kept.
	DefaultOutputLines = 1000
	// NoStallGrace as TaskSpec.StallGrace: the stall action comes as the
	// stall does, with no grace (a zero StallGrace means the default).
	NoStallGrace time.Duration = -1
)

// TaskSpec defines a task: what to run and how to stop it. The zero value of
// each optional field means the default documented with the field.
type TaskSpec struct {
	// Name names the task in events and in the catalogue. Required.
	Name string
	// Key is the catalogue key that starts the task ("1" to "9"); empty for
	// none.
	Key string
	// Description says in a few words what the task does, for help screens.
	Description string
	// Command is a command line run by /bin/sh -c. Exactly one of Command and
	// Argv is set; only Command goes through a shell.
	Command string
	// Argv is run directly, Argv[0] looked up in PATH.
	Argv []string
	// Dir is the working directory. Empty: taskvisor's own.
	Dir string
	// Env is added to the environment inherited from taskvisor and overrides
	// inherited variables of the same name. NOTIFY_SOCKET is always the
	// task's own.
	Env map[string]string
	// Group is the supervision group of the task. Empty: the top level.
	Group string
	// StopSignal is sent to the task's process group to cancel it. Zero:
	// SIGTERM.
	StopSignal syscall.Signal
	// StopGrace is how long a cancelled task may take to end before SIGKILL
	// is sent to its group. Zero: 5s.
	StopGrace time.Duration
	// OutputLines is how many of the task's last output lines are kept. Zero:
	// 1000.
	OutputLines int

	// Restart says when the task is started again after it ended on its own.
	// Zero: never.
	Restart RestartMode
	// Backoff is the delay before each restart. Zero fields: their defaults.
	Backoff Backoff
	// MaxRestarts is how many restarts RestartWindow allows; one more and the
	// task ends gave-up (in a group: the group's supervisor handles the
	// failure). Zero: 5; negative: no limit.
	MaxRestarts int
	// RestartWindow is the window of MaxRestarts. Zero: 60s.
	RestartWindow time.Duration
	// StallTimeout is how long the task may go without progress, STATUS or
	// WATCHDOG=1 before it is marked stalled; the task gets it as
	// WATCHDOG_USEC. Zero: no watchdog.
	StallTimeout time.Duration
	// StallAction is applied once the task has been stalled for StallGrace.
	// Zero: warn.
	StallAction StallAction
	// StallGrace is how long the task stays stalled before StallAction. Zero:
	// 5s; negative (NoStallGrace): none, the action comes as the stall does.
	StallGrace time.Duration
	// Activity says what counts as progress for the watchdog (StallTimeout):
	// sd_notify, output lines, or both. Zero: notify for a task with
	// ReadyNotify, both for any other.
	Activity ActivityMode
	// Timeout bounds each process's run: wall time since its start, time
	// paused not counted; then TimeoutAction. Zero: no limit.
	Timeout time.Duration
	// TimeoutAction is applied when Timeout runs out. Zero: cancel.
	TimeoutAction TimeoutAction
	// After lists the tasks this one waits for before its first start
	// (ParseDependency: "fetch", "build:started", "7:ready"). A name means
	// the latest task of that name when this one is started, or the first
	// one started after it if there is none yet; a number is a task id.
	// While any does not hold, the task is waiting; once one can no longer
	// hold (it failed for good, or ended without starting), the task ends
	// skipped. A restart does not wait again.
	After []string

	// MemoryMax bounds the memory of the task's whole run, in bytes,
	// through its cgroup; past it the kernel's OOM killer acts and the task
	// ends failed, saying so (its restart policy applies). Zero: no limit.
	MemoryMax uint64
	// CPUMax bounds its CPU, in cores (1.5: one and a half). Zero: none.
	CPUMax float64
	// PidsMax bounds how many processes (threads count) it may have at
	// once; a fork past it fails. Zero: none.
	PidsMax int
	// LimitsBestEffort: where a limit has no cgroup controller here, an
	// rlimit stands in (RLIMIT_AS for MemoryMax, RLIMIT_NPROC for PidsMax,
	// none for CPUMax) instead of the task failing to start.
	LimitsBestEffort bool
	// MemoryRestart restarts the task gracefully (its stop signal, its
	// grace, then SIGKILL) once its memory has stayed above this many bytes
	// for two usage samples in a row, as pm2's max_memory_restart does;
	// counted as a restart. It keeps the task's usage sampled. Zero: never.
	MemoryRestart uint64
	// Ready says when the task counts as running. Zero: as soon as it started.
	Ready ReadyMode
	// StartTimeout is how long a ReadyNotify task has to send READY=1 before
	// it is treated as stalled. Zero: 90s.
	StartTimeout time.Duration
	// Autostart starts the task when the runtime starts (Runtime.Autostart),
	// in catalogue order: its process after those of the tasks before it.
	Autostart bool
}

// Validate reports what is wrong with the spec, naming each field as Go
// spells it ("StallTimeout: -1ns is negative"; a task file's loader reports
// the same problems in its own keys, with their places).
func (s TaskSpec) Validate() error {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("Name: must not be empty"))
	}
	switch {
	case s.Command == "" && len(s.Argv) == 0:
		errs = append(errs, errors.New("Command or Argv: one of the two is required"))
	case s.Command != "" && len(s.Argv) > 0:
		errs = append(errs, errors.New("Command and Argv: only one of the two may be set"))
	case len(s.Argv) > 0 && s.Argv[0] == "":
		errs = append(errs, errors.New("Argv: the program (Argv[0]) must not be empty"))
	}
	if s.StopGrace < 0 {
		errs = append(errs, fmt.Errorf("StopGrace: %v is negative", s.StopGrace))
	}
	if s.OutputLines < 0 {
		errs = append(errs, fmt.Errorf("OutputLines: %d is negative", s.OutputLines))
	}
	switch s.Restart {
	case "", RestartNever, RestartOnFailure, RestartAlways:
	default:
		errs = append(errs, fmt.Errorf("Restart: %q is not one of never, on-failure, always", s.Restart))
	}
	errs = append(errs, s.Backoff.validate()...)
	if s.RestartWindow < 0 {
		errs = append(errs, fmt.Errorf("RestartWindow: %v is negative", s.RestartWindow))
	}
	if s.StallTimeout < 0 {
		errs = append(errs, fmt.Errorf("StallTimeout: %v is negative", s.StallTimeout))
	}
	switch s.StallAction {
	case "", StallWarn, StallCancel, StallKill, StallRestart:
	default:
		errs = append(errs, fmt.Errorf("StallAction: %q is not one of warn, cancel, kill, restart", s.StallAction))
	}
	if s.CPUMax < 0 {
		errs = append(errs, fmt.Errorf("CPUMax: %v is negative", s.CPUMax))
	}
	if s.PidsMax < 0 {
		errs = append(errs, fmt.Errorf("PidsMax: %d is negative", s.PidsMax))
	}
	for _, a := range s.After {
		if _, err := ParseDependency(a); err != nil {
			errs = append(errs, fmt.Errorf("After: %w", err))
		}
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Timeout: %v is negative", s.Timeout))
	}
	switch s.TimeoutAction {
	case "", TimeoutCancel, TimeoutKill, TimeoutRestart:
	default:
		errs = append(errs, fmt.Errorf("TimeoutAction: %q is not one of cancel, kill, restart", s.TimeoutAction))
	}
	switch s.Activity {
	case "", ActivityNotify, ActivityOutput, ActivityBoth:
	default:
		errs = append(errs, fmt.Errorf("Activity: %q is not one of notify, output, both", s.Activity))
	}
	switch s.Ready {
	case "", ReadyStarted, ReadyNotify:
	default:
		errs = append(errs, fmt.Errorf("Ready: %q is not one of started, notify", s.Ready))
	}
	if s.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("StartTimeout: %v is negative", s.StartTimeout))
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			errs = append(errs, fmt.Errorf("Env: invalid variable name %q", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		if s.Name != "" {
			return fmt.Errorf("task %q: %w", s.Name, err)
		}
		return fmt.Errorf("task: %w", err)
	}
	return nil
}

func (s TaskSpec) stopSignal() syscall.Signal { return cmp.Or(s.StopSignal, DefaultStopSignal) }

func (s TaskSpec) stopGrace() time.Duration { return cmp.Or(s.StopGrace, DefaultStopGrace) }

func (s TaskSpec) outputLines() int { return cmp.Or(s.OutputLines, DefaultOutputLines) }

func (s TaskSpec) restartMode() RestartMode { return cmp.Or(s.Restart, RestartNever) }

func (s TaskSpec) stallAction() StallAction { return cmp.Or(s.StallAction, StallWarn) }

// stallGrace is StallGrace with its default; none is 0.
func (s TaskSpec) stallGrace() time.Duration {
	if s.StallGrace < 0 {
		return 0
	}
	return cmp.Or(s.StallGrace, DefaultStallGrace)
}

func (s TaskSpec) timeoutAction() TimeoutAction { return cmp.Or(s.TimeoutAction, TimeoutCancel) }

// limits is the spec's resource limits, for proc.
func (s TaskSpec) limits() proc.Limits {
	return proc.Limits{MemoryMax: s.MemoryMax, CPUMax: s.CPUMax, PidsMax: s.PidsMax, BestEffort: s.LimitsBestEffort}
}

// activity is Activity with its default.
func (s TaskSpec) activity() ActivityMode {
	if s.Activity != "" {
		return s.Activity
	}
	if s.Ready == ReadyNotify {
		return ActivityNotify
	}
	return ActivityBoth
}
func (s TaskSpec) startTimeout() time.Duration {
	return cmp.Or(s.StartTimeout, DefaultStartTimeout)
}
func (s TaskSpec) maxRestarts() int { return cmp.Or(s.MaxRestarts, DefaultMaxRestarts) }
func (s TaskSpec) restartWindow() time.Duration {
	return cmp.Or(s.RestartWindow, DefaultRestartWindow)
}

// Policy describes the task's restart and watchdog policy in a few words, for
// events and the UI: "on-failure, 5 in 1m0s; stall 10s: warn".
func (s TaskSpec) Policy() string {
	var b strings.Builder
	b.WriteString("restart " + string(s.restartMode()))
	if s.restartMode() != RestartNever {
		if s.maxRestarts() < 0 {
			b.WriteString(", no limit")
		} else {
			fmt.Fprintf(&b, ", at most %d in %s", s.maxRestarts(), s.restartWindow())
		}
	}
	if s.StallTimeout > 0 {
		fmt.Fprintf(&b, "; stall %s: %s", s.StallTimeout, s.stallAction())
		if s.Activity != "" && s.Activity != ActivityBoth {
			fmt.Fprintf(&b, " (progress: %s only)", s.activity())
		}
	}
	if s.Ready == ReadyNotify {
		fmt.Fprintf(&b, "; ready on READY=1 within %s", s.startTimeout())
	}
	var lim []string
	if s.MemoryMax > 0 {
		lim = append(lim, "memory "+proc.FormatBytes(s.MemoryMax))
	}
	if s.CPUMax > 0 {
		lim = append(lim, "cpu "+strconv.FormatFloat(s.CPUMax, 'g', -1, 64))
	}
	if s.PidsMax > 0 {
		lim = append(lim, "pids "+strconv.Itoa(s.PidsMax))
	}
	if len(lim) > 0 {
		b.WriteString("; limits " + strings.Join(lim, ", "))
		if s.LimitsBestEffort {
			b.WriteString(" (best effort)")
		}
	}
	if s.MemoryRestart > 0 {
		b.WriteString("; restart above " + proc.FormatBytes(s.MemoryRestart))
	}
	return b.String()
}

// firstEvent is task id's event before anything has happened to it, in the
// runtime named runtime.
func (s TaskSpec) firstEvent(runtime string, id int) TaskEvent {
	return TaskEvent{Runtime: runtime, ID: id, Name: s.Name, Group: s.Group, State: StateStarting, ExitCode: -1,
		Policy: s.Policy(), StopSignal: s.stopSignal(), StallAction: s.stallAction()}
}

// envList returns Env as KEY=value entries in a stable order.
func (s TaskSpec) envList() []string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+s.Env[k])
	}
	return env
}

// Catalogue is the list of task templates that can be started by key or name.
type Catalogue []TaskSpec

// Lookup returns the template whose key or name is keyOrName.
func (c Catalogue) Lookup(keyOrName string) (TaskSpec, bool) {
	for _, s := range c {
		if s.Key != "" && s.Key == keyOrName {
			return s, true
		}
	}
	for _, s := range c {
		if s.Name == keyOrName {
			return s, true
		}
	}
	return TaskSpec{}, false
}

// Validate checks every template and that keys and names are unique.
func (c Catalogue) Validate() error {
	var errs []error
	keys := map[string]bool{}
	names := map[string]bool{}
	for _, s := range c {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
		if s.Key != "" {
			if keys[s.Key] {
				errs = append(errs, fmt.Errorf("task %q: key %q is used twice", s.Name, s.Key))
			}
			keys[s.Key] = true
		}
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("task %q: name is used twice", s.Name))
		}
		names[s.Name] = true
	}
	return errors.Join(errs...)
}

// describe lists the catalogue's keys and names for error messages.
func (c Catalogue) describe() string {
	if len(c) == 0 {
		return "the catalogue is empty"
	}
	parts := make([]string, 0, len(c))
	for _, s := range c {
		if s.Key != "" {
			parts = append(parts, s.Key+" "+s.Name)
		} else {
			parts = append(parts, s.Name)
		}
	}
	return "known: " + strings.Join(parts, ", ")
}
