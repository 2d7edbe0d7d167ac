package actors

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Defaults applied to the zero values of TaskSpec.
const (
	// DefaultStopSignal is sent first when a task is cancelled.
	DefaultStopSignal = syscall.SIGTERM
	// DefaultStopGrace is how long a cancelled task has to end before SIGKILL.
	DefaultStopGrace = 5 * time.Second
	// DefaultOutputLines is how many of a task's last output lines are kept.
	DefaultOutputLines = 1000
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
}

// Validate reports what is wrong with the spec, naming the field.
func (s TaskSpec) Validate() error {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("name: must not be empty"))
	}
	switch {
	case s.Command == "" && len(s.Argv) == 0:
		errs = append(errs, errors.New("command or argv: one of the two is required"))
	case s.Command != "" && len(s.Argv) > 0:
		errs = append(errs, errors.New("command and argv: only one of the two may be set"))
	case len(s.Argv) > 0 && s.Argv[0] == "":
		errs = append(errs, errors.New("argv: the program (argv[0]) must not be empty"))
	}
	if s.StopGrace < 0 {
		errs = append(errs, fmt.Errorf("stop_grace: %v is negative", s.StopGrace))
	}
	if s.OutputLines < 0 {
		errs = append(errs, fmt.Errorf("output_lines: %d is negative", s.OutputLines))
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			errs = append(errs, fmt.Errorf("env: invalid variable name %q", k))
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

func (s TaskSpec) stopSignal() syscall.Signal {
	if s.StopSignal == 0 {
		return DefaultStopSignal
	}
	return s.StopSignal
}

func (s TaskSpec) stopGrace() time.Duration {
	if s.StopGrace == 0 {
		return DefaultStopGrace
	}
	return s.StopGrace
}

func (s TaskSpec) outputLines() int {
	if s.OutputLines == 0 {
		return DefaultOutputLines
	}
	return s.OutputLines
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
