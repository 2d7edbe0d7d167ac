package actors

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// RestartMode says when a task whose process ended is started again by its
// supervisor. A requested cancel or kill is never a failure: it does not
// restart the task in any mode.
type RestartMode string

// The restart modes.
const (
	// RestartNever: a task that ends stays ended. The default.
	RestartNever RestartMode = "never"
	// RestartOnFailure: a task that fails (non-zero exit, a signal it was not
	// asked to take, a start that failed, a stall action of its watchdog) is
	// started again; one that completes stays completed.
	RestartOnFailure RestartMode = "on-failure"
	// RestartAlways: a task is started again whenever it ends on its own,
	// failed or completed.
	RestartAlways RestartMode = "always"
)

// StallAction is what the watchdog does to a task that has been stalled for
// its stall grace.
type StallAction string

// The stall actions.
const (
	// StallWarn: the task is marked stalled and left alone. The default.
	StallWarn StallAction = "warn"
	// StallCancel: the task is cancelled (stop signal, then SIGKILL after its
	// grace); it counts as a failure for its restart policy.
	StallCancel StallAction = "cancel"
	// StallKill: the task's process group gets SIGKILL; it counts as a failure.
	StallKill StallAction = "kill"
	// StallRestart: the task is killed and started again at once; it counts
	// against its restart limit.
	StallRestart StallAction = "restart"
)

// ReadyMode says when a started task counts as running.
type ReadyMode string

// The ready modes.
const (
	// ReadyStarted: running as soon as its process has started. The default.
	ReadyStarted ReadyMode = "started"
	// ReadyNotify: running once the process sends READY=1 over sd_notify, as
	// systemd's Type=notify; until then it is starting, and one that sends no
	// READY=1 within its start timeout is treated as stalled.
	ReadyNotify ReadyMode = "notify"
)

// DepCondition is what a dependency of a task must reach before the task
// starts (TaskSpec.After), with the meaning of process-compose's
// depends_on conditions.
type DepCondition string

// The dependency conditions.
const (
	// DepStarted: the dependency has started a process.
	DepStarted DepCondition = "started"
	// DepReady: it is running (for ReadyNotify, once it sent READY=1).
	DepReady DepCondition = "ready"
	// DepCompleted: it exited 0. The default.
	DepCompleted DepCondition = "completed"
	// DepEnded: it ended, however, with no restart pending.
	DepEnded DepCondition = "ended"
)

// Dependency is one entry of TaskSpec.After: a task, by name or by id, and
// the condition it must reach.
type Dependency struct {
	// Name is the task's name; empty when ID names it.
	Name string
	// ID is the task's id; 0 when Name names it.
	ID int
	// Condition is what the task must reach.
	Condition DepCondition
}

// ParseDependency reads an entry of TaskSpec.After: "fetch",
// "build:completed", "7:ready" (a task id). The condition is one of
// started, ready, completed (the default) and ended.
func ParseDependency(s string) (Dependency, error) {
	what, cond, hasCond := strings.Cut(s, ":")
	d := Dependency{Condition: DepCompleted}
	if hasCond {
		switch c := DepCondition(cond); c {
		case DepStarted, DepReady, DepCompleted, DepEnded:
			d.Condition = c
		default:
			return d, fmt.Errorf("%q: the condition %q is not one of started, ready, completed, ended", s, cond)
		}
	}
	if strings.TrimSpace(what) == "" || strings.ContainsAny(what, " \t") {
		return d, fmt.Errorf("%q: want a task's name or id, then :condition if not completed (like \"fetch\" or \"build:started\")", s)
	}
	if id, err := strconv.Atoi(what); err == nil {
		if id <= 0 {
			return d, fmt.Errorf("%q: a task id is a positive number", s)
		}
		d.ID = id
	} else {
		d.Name = what
	}
	return d, nil
}

// String writes the dependency as After takes it.
func (d Dependency) String() string {
	what := d.Name
	if d.ID > 0 {
		what = strconv.Itoa(d.ID)
	}
	return what + ":" + string(d.Condition)
}

// TimeoutAction is what happens to a task that ran for its Timeout.
type TimeoutAction string

// The timeout actions.
const (
	// TimeoutCancel cancels the task: its stop signal, SIGKILL after its
	// grace. The default.
	TimeoutCancel TimeoutAction = "cancel"
	// TimeoutKill sends SIGKILL to its process group.
	TimeoutKill TimeoutAction = "kill"
	// TimeoutRestart kills it and starts a new process, as a failure counted
	// by its restart limit.
	TimeoutRestart TimeoutAction = "restart"
)

// ActivityMode says what counts as a task's progress for its watchdog.
type ActivityMode string

// The activity modes.
const (
	// ActivityNotify: sd_notify progress, STATUS=, READY=1 and WATCHDOG=1.
	// The default for a task with ReadyNotify, which speaks the protocol.
	ActivityNotify ActivityMode = "notify"
	// ActivityOutput: any line the task writes to stdout or stderr.
	ActivityOutput ActivityMode = "output"
	// ActivityBoth: either. The default for every other task, so that a job
	// that prints as it goes is not stalled for sending no sd_notify.
	ActivityBoth ActivityMode = "both"
)

// Strategy is how a group restarts its children when one of them fails, with
// the meaning of Erlang/OTP's supervisor strategies.
type Strategy string

// The group strategies.
const (
	// OneForOne restarts only the child that failed. The default.
	OneForOne Strategy = "one-for-one"
	// OneForAll stops every other running child (in reverse order) and starts
	// them all again (in order).
	OneForAll Strategy = "one-for-all"
	// RestForOne stops and restarts the children started after the one that
	// failed, as OneForAll does for all of them.
	RestForOne Strategy = "rest-for-one"
)

// Defaults of the restart and watchdog policy, applied to zero values.
const (
	// DefaultBackoffInitial is the delay before the first restart.
	DefaultBackoffInitial = 500 * time.Millisecond
	// DefaultBackoffFactor multiplies the delay after each restart.
	DefaultBackoffFactor = 2.0
	// DefaultBackoffMax caps the delay.
	DefaultBackoffMax = 30 * time.Second
	// DefaultBackoffResetAfter is how long a process must run for the delay to
	// go back to its initial value.
	DefaultBackoffResetAfter = 60 * time.Second
	// DefaultMaxRestarts is how many restarts RestartWindow allows, for tasks
	// and for groups.
	DefaultMaxRestarts = 5
	// DefaultRestartWindow is the window of the restart limit.
	DefaultRestartWindow = 60 * time.Second
	// DefaultStallGrace is how long a task stays stalled before its stall
	// action is applied.
	DefaultStallGrace = 5 * time.Second
	// DefaultStartTimeout is how long a ReadyNotify task has to send READY=1.
	DefaultStartTimeout = 90 * time.Second
)

// Backoff is the delay before each restart: Initial, then multiplied by Factor
// after each restart up to Max, each delay spread by up to ±Jitter of itself.
// The delay goes back to Initial once a process has run for ResetAfter. The
// zero value of each field means its default.
type Backoff struct {
	// Initial is the first delay. Zero: 500ms.
	Initial time.Duration
	// Factor multiplies the delay after each restart; at least 1. Zero: 2.
	Factor float64
	// Max caps the delay. Zero: 30s.
	Max time.Duration
	// Jitter spreads each delay at random by up to this fraction of it, in
	// [0, 1]. Zero: none.
	Jitter float64
	// ResetAfter is how long a process must run for the next failure to be
	// treated as the first again. Zero: 60s.
	ResetAfter time.Duration
}

func (b Backoff) initial() time.Duration { return cmp.Or(b.Initial, DefaultBackoffInitial) }
func (b Backoff) max() time.Duration     { return cmp.Or(b.Max, DefaultBackoffMax) }
func (b Backoff) resetAfter() time.Duration {
	return cmp.Or(b.ResetAfter, DefaultBackoffResetAfter)
}
func (b Backoff) factor() float64 { return cmp.Or(b.Factor, DefaultBackoffFactor) }

// Delay returns the delay before restart number n (1 for the first restart
// after a stable run), before jitter: Initial*Factor^(n-1), capped at Max.
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.initial()) * math.Pow(b.factor(), float64(n-1))
	if limit := float64(b.max()); d > limit || math.IsInf(d, 0) || math.IsNaN(d) {
		return b.max()
	}
	return time.Duration(d)
}

// jittered spreads d by up to ±Jitter of itself using r, a number in [0, 1).
func (b Backoff) jittered(d time.Duration, r float64) time.Duration {
	if b.Jitter <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + b.Jitter*(2*r-1)))
}

func (b Backoff) validate() []error {
	var errs []error
	if b.Initial < 0 {
		errs = append(errs, fmt.Errorf("Backoff.Initial: %v is negative", b.Initial))
	}
	if b.Max < 0 {
		errs = append(errs, fmt.Errorf("Backoff.Max: %v is negative", b.Max))
	}
	if b.Factor != 0 && (b.Factor < 1 || math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0)) {
		errs = append(errs, fmt.Errorf("Backoff.Factor: %v is less than 1", b.Factor))
	}
	if b.Jitter < 0 || b.Jitter > 1 || math.IsNaN(b.Jitter) {
		errs = append(errs, fmt.Errorf("Backoff.Jitter: %v is outside [0, 1]", b.Jitter))
	}
	if b.ResetAfter < 0 {
		errs = append(errs, fmt.Errorf("Backoff.ResetAfter: %v is negative", b.ResetAfter))
	}
	if b.Initial > 0 && b.Max > 0 && b.Max < b.Initial {
		errs = append(errs, fmt.Errorf("Backoff.Max: %v is less than Backoff.Initial %v", b.Max, b.Initial))
	}
	return errs
}

// GroupSpec defines a supervision group: a supervisor actor whose children
// are the tasks that name it as their Group and the groups that name it as
// their Parent. The zero value of each optional field means its default.
type GroupSpec struct {
	// Name names the group. Required, unique among groups.
	Name string
	// Parent is the group this one belongs to. Empty: the top level.
	Parent string
	// Strategy is how the group restarts its children. Zero: one-for-one.
	Strategy Strategy
	// MaxRestarts is how many restarts the group performs within
	// RestartWindow; one more and the group stops its children and fails to
	// its parent (at the top level: its tasks end gave-up). Zero: 5;
	// negative: no limit.
	MaxRestarts int
	// RestartWindow is the window of the restart limit. Zero: 60s.
	RestartWindow time.Duration
	// MaxParallel is how many of the tasks in the group and the groups
	// below it may hold a process at once (starting, running, stalled,
	// paused or stopping); a start beyond it is queued (StateQueued). Zero:
	// no limit of the group's own.
	MaxParallel int
	// MemoryMax, CPUMax and PidsMax bound the group's tasks together (and
	// those of the groups below it), as TaskSpec's do one task: a cgroup
	// of the group's own above its tasks' run cgroups. It needs a cgroup v1
	// hierarchy of the controller (a hybrid host): elsewhere a task of the
	// group fails to start, saying so (or, with the task's
	// LimitsBestEffort, runs without it). Zero: no limit.
	MemoryMax uint64
	// CPUMax is the group's CPU, in cores, as MemoryMax its memory.
	CPUMax float64
	// PidsMax is the group's processes at once, as MemoryMax its memory.
	PidsMax int
}

func (g GroupSpec) strategy() Strategy { return cmp.Or(g.Strategy, OneForOne) }
func (g GroupSpec) maxRestarts() int   { return cmp.Or(g.MaxRestarts, DefaultMaxRestarts) }
func (g GroupSpec) restartWindow() time.Duration {
	return cmp.Or(g.RestartWindow, DefaultRestartWindow)
}

// Validate reports what is wrong with the group on its own, naming the field.
func (g GroupSpec) Validate() error {
	var errs []error
	if strings.TrimSpace(g.Name) == "" {
		errs = append(errs, errors.New("Name: must not be empty"))
	}
	switch g.Strategy {
	case "", OneForOne, OneForAll, RestForOne:
	default:
		errs = append(errs, fmt.Errorf("Strategy: %q is not one of one-for-one, one-for-all, rest-for-one", g.Strategy))
	}
	if g.RestartWindow < 0 {
		errs = append(errs, fmt.Errorf("RestartWindow: %v is negative", g.RestartWindow))
	}
	if g.MaxParallel < 0 {
		errs = append(errs, fmt.Errorf("MaxParallel: %d is negative", g.MaxParallel))
	}
	if g.CPUMax < 0 || g.PidsMax < 0 {
		errs = append(errs, fmt.Errorf("CPUMax, PidsMax: %v, %d: negative", g.CPUMax, g.PidsMax))
	}
	if g.Parent != "" && g.Parent == g.Name {
		errs = append(errs, fmt.Errorf("Parent: the group %q cannot be its own parent", g.Name))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("group %q: %w", g.Name, err)
	}
	return nil
}

// ValidateGroups checks the groups and the tasks' references to them: unique
// names, known parents, no cycles, every task's group defined.
func ValidateGroups(groups []GroupSpec, tasks Catalogue) error {
	var errs []error
	byName := map[string]GroupSpec{}
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			errs = append(errs, err)
		}
		if _, dup := byName[g.Name]; dup {
			errs = append(errs, fmt.Errorf("group %q: name is used twice", g.Name))
		}
		byName[g.Name] = g
	}
	for _, g := range groups {
		if g.Parent != "" {
			if _, ok := byName[g.Parent]; !ok {
				errs = append(errs, fmt.Errorf("group %q: parent %q is not a defined group", g.Name, g.Parent))
			}
		}
	}
	// Each walk up the parents stops at a group an earlier walk found to
	// reach the top level, so that a deep tree costs its size, not its
	// size times its depth.
	reachesTop := map[string]bool{}
	for _, g := range groups {
		seen := map[string]bool{g.Name: true}
		chain := []string{g.Name}
		cycle := false
		for p := g.Parent; p != "" && !reachesTop[p]; p = byName[p].Parent {
			if seen[p] {
				errs = append(errs, fmt.Errorf("group %q: its parents form a cycle through %q", g.Name, p))
				cycle = true
				break
			}
			seen[p] = true
			chain = append(chain, p)
		}
		if !cycle {
			for _, name := range chain {
				reachesTop[name] = true
			}
		}
	}
	for _, t := range tasks {
		if t.Group != "" {
			if _, ok := byName[t.Group]; !ok {
				errs = append(errs, fmt.Errorf("task %q: group %q is not a defined group", t.Name, t.Group))
			}
		}
	}
	return errors.Join(errs...)
}

// restartLimit counts restarts in a sliding window.
type restartLimit struct {
	times []time.Time
}

// allow records a restart at now and reports whether it is within max per
// window; max < 0 means no limit.
func (l *restartLimit) allow(now time.Time, max int, window time.Duration) bool {
	cut := now.Add(-window)
	kept := l.times[:0]
	for _, t := range l.times {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	l.times = kept
	if max >= 0 && len(l.times) >= max {
		return false
	}
	l.times = append(l.times, now)
	return true
}

// randFloat is the jitter's source; tests of jitter bounds use it as is.
var randFloat = rand.Float64
