package actors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// manual is a harness on a manual clock.
type manual struct {
	*harness
	clock *probe.Clock
}

func newManual(t *testing.T, groups []actors.GroupSpec) *manual {
	t.Helper()
	system := probe.NewSystem(t)
	clock := probe.NewClock(system)
	h := newHarnessWith(t, system, actors.Config{Clock: clock, Groups: groups})
	return &manual{harness: h, clock: clock}
}

// advance waits until an actor has armed a timer due within d, then moves
// the clock by d.
func (m *manual) advance(d time.Duration) {
	m.t.Helper()
	if !m.clock.WaitFor(d, wait) {
		next, ok := m.clock.Next()
		m.t.Fatalf("no timer due within %s (next: %s, %v)", d, next, ok)
	}
	m.clock.Advance(d)
}

// backoffDelay waits for task id to enter backoff with a deadline and
// returns the delay it waits.
func (m *manual) backoffDelay(id int) time.Duration {
	m.t.Helper()
	ev := m.expectWhere(id, func(e actors.TaskEvent) bool { return e.State == actors.StateBackoff && !e.Deadline.IsZero() })
	return ev.Deadline.Sub(ev.Time)
}

// Exponential backoff: 0.5s, 1s, 2s, 4s, then capped at 4s; after a run of
// reset_after the delay starts again at 0.5s.
func TestBackoffSequenceCapsAndResets(t *testing.T) {
	m := newManual(t, nil)
	flag := t.TempDir() + "/stable"
	// It fails at once, except while the flag file exists: then it waits
	// for the flag to go before failing, so the test can let the clock run.
	id := m.startSpec(actors.TaskSpec{
		Name:    "flaky",
		Command: fmt.Sprintf("if [ -e %s ]; then echo waiting; while [ -e %s ]; do sleep 0.05; done; fi; exit 3", flag, flag),
		Restart: actors.RestartOnFailure, MaxRestarts: -1,
		Backoff: actors.Backoff{Initial: 500 * time.Millisecond, Factor: 2, Max: 4 * time.Second, ResetAfter: time.Minute},
	})
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := m.backoffDelay(id); got != w {
			t.Fatalf("delay %d: %s, want %s", i+1, got, w)
		}
		if i == len(want)-1 {
			mustCreate(t, flag) // the next run is stable
		}
		m.advance(w)
	}
	run := m.expect(id, actors.StateRunning)
	m.waitOutput(id, "waiting")
	m.clock.Advance(time.Minute) // a stable run, by the runtime's clock
	mustRemove(t, flag)
	if got := m.backoffDelay(id); got != 500*time.Millisecond {
		t.Fatalf("after a stable run the delay is %s, want 500ms", got)
	}
	if run.Restarts != len(want) {
		t.Errorf("restarts %d, want %d", run.Restarts, len(want))
	}
}

// Jitter spreads each delay within ±Jitter of it.
func TestBackoffJitterStaysWithinBounds(t *testing.T) {
	m := newManual(t, nil)
	id := m.startSpec(actors.TaskSpec{Name: "flaky", Command: "exit 3", Restart: actors.RestartAlways, MaxRestarts: -1,
		Backoff: actors.Backoff{Initial: time.Second, Factor: 1, Jitter: 0.2}})
	for range 5 {
		d := m.backoffDelay(id)
		if d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("delay %s outside 1s ±20%%", d)
		}
		m.advance(d)
	}
}

// Over max_restarts within restart_window the task ends gave-up, and says
// why; a failure outside the window does not count.
func TestRestartLimitWithinWindowGivesUp(t *testing.T) {
	m := newManual(t, nil)
	id := m.startSpec(actors.TaskSpec{Name: "crasher", Command: "exit 3", Restart: actors.RestartOnFailure,
		MaxRestarts: 3, RestartWindow: time.Minute, Backoff: actors.Backoff{Initial: time.Second, Factor: 1}})
	m.advance(m.backoffDelay(id))
	// A long pause: the first restart falls out of the window.
	m.backoffDelay(id)
	m.advance(2 * time.Minute)
	for range 3 {
		m.advance(m.backoffDelay(id))
	}
	ev := m.expect(id, actors.StateGaveUp)
	if !strings.Contains(ev.Reason, "restart limit of 3 within 1m0s reached") || ev.Restarts != 5 {
		t.Errorf("gave-up: restarts %d, reason %q", ev.Restarts, ev.Reason)
	}
}

// A requested cancel is not a failure: restart=always does not restart it.
func TestRequestedStopIsNotAFailure(t *testing.T) {
	m := newManual(t, nil)
	id := m.startSpec(actors.TaskSpec{Name: "server", Command: "exec sleep 1000", Restart: actors.RestartAlways})
	m.expect(id, actors.StateRunning)
	if err := m.rt.Cancel(m.ctx(), id); err != nil {
		t.Fatal(err)
	}
	m.expect(id, actors.StateCancelled)
	list, err := m.rt.List(m.ctx())
	if err != nil || list[0].State != actors.StateCancelled || m.clock.Pending() != 0 {
		t.Fatalf("after cancel: %+v, %v, %d timers pending", list, err, m.clock.Pending())
	}
}

// A task that completes is restarted by always, not by on-failure.
func TestAlwaysRestartsACompletedTask(t *testing.T) {
	m := newManual(t, nil)
	always := m.startSpec(actors.TaskSpec{Name: "always", Command: "exit 0", Restart: actors.RestartAlways})
	m.expect(always, actors.StateCompleted)
	m.advance(m.backoffDelay(always))
	m.expectWhere(always, func(e actors.TaskEvent) bool { return e.State == actors.StateCompleted && e.Restarts == 1 })

	onFailure := m.startSpec(actors.TaskSpec{Name: "on-failure", Command: "exit 0", Restart: actors.RestartOnFailure})
	m.expect(onFailure, actors.StateCompleted)
	list, _ := m.rt.List(m.ctx())
	if list[1].State != actors.StateCompleted {
		t.Errorf("on-failure after exit 0: %s", list[1].State)
	}
}

func mustCreate(t *testing.T, path string) {
	t.Helper()
	if err := writeFile(path); err != nil {
		t.Fatal(err)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := removeFile(path); err != nil {
		t.Fatal(err)
	}
}

// The same rules on the wall clock, with wide margins: a crashing task backs
// off and gives up; a silent one is killed by its watchdog; a one-for-all
// group restarts its siblings.
func TestRealClockPolicies(t *testing.T) {
	h := newHarness(t, nil)
	crasher := h.startSpec(actors.TaskSpec{Name: "crasher", Command: "exit 3", Restart: actors.RestartOnFailure,
		MaxRestarts: 2, Backoff: actors.Backoff{Initial: 20 * time.Millisecond}})
	silent := h.startSpec(actors.TaskSpec{Name: "silent", Command: "exec sleep 1000",
		StallTimeout: 300 * time.Millisecond, StallAction: actors.StallKill, StallGrace: 200 * time.Millisecond})
	if ev := h.expect(crasher, actors.StateGaveUp); ev.Restarts != 2 {
		t.Errorf("crasher gave up after %d restarts", ev.Restarts)
	}
	h.expect(silent, actors.StateStalled)
	if ev := h.expect(silent, actors.StateKilled); ev.Message != "Task killed by its watchdog" {
		t.Errorf("silent: %q", ev.Message)
	}
}

func TestRealClockOneForAll(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{Groups: []actors.GroupSpec{{Name: "g", Strategy: actors.OneForAll}}})
	var ids []int
	var pids []int
	for _, n := range []string{"a", "b"} {
		id := h.startSpec(actors.TaskSpec{Name: n, Group: "g", Command: "exec sleep 1000", Restart: actors.RestartAlways,
			Backoff: actors.Backoff{Initial: 10 * time.Millisecond}})
		ids = append(ids, id)
		pids = append(pids, h.expect(id, actors.StateRunning).PID)
	}
	if err := killPid(pids[1]); err != nil {
		t.Fatal(err)
	}
	probe.ExpectEvent(h.p, func(e actors.GroupEvent) bool { return e.State == actors.GroupRunning && len(e.Tasks) == 2 }, wait)
	list, err := h.rt.List(h.ctx())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != len(pids) {
		t.Fatalf("list after one-for-all: %d tasks, want %d: %v", len(list), len(pids), list)
	}
	for i, ev := range list {
		// List is by ID: the tasks in the order they were started.
		if ev.ID != ids[i] {
			t.Errorf("list[%d] is task %d, want %d", i, ev.ID, ids[i])
			continue
		}
		if ev.State != actors.StateRunning || ev.PID == pids[i] || ev.Restarts != 1 {
			t.Errorf("task %d after one-for-all: %s pid %d restarts %d", ev.ID, ev.State, ev.PID, ev.Restarts)
		}
	}
}

// TestValidateGroupsFindsEveryCycle: each group in or below a cycle of
// parents is named, and a deep chain that reaches the top level is not,
// whichever order the groups come in (the walks up the parents share what
// they found).
func TestValidateGroupsFindsEveryCycle(t *testing.T) {
	var groups []actors.GroupSpec
	for i := range 200 { // a valid chain, children listed before parents
		g := actors.GroupSpec{Name: fmt.Sprintf("g%d", 199-i)}
		if i < 199 {
			g.Parent = fmt.Sprintf("g%d", 198-i)
		}
		groups = append(groups, g)
	}
	groups = append(groups,
		actors.GroupSpec{Name: "a", Parent: "b"}, actors.GroupSpec{Name: "b", Parent: "a"},
		actors.GroupSpec{Name: "below", Parent: "a"}, actors.GroupSpec{Name: "ok", Parent: "g199"})
	err := actors.ValidateGroups(groups, nil)
	if err == nil {
		t.Fatal("no error for a cycle of parents")
	}
	for _, want := range []string{`group "a": its parents form a cycle`, `group "b": its parents form a cycle`,
		`group "below": its parents form a cycle`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if n := strings.Count(err.Error(), "cycle"); n != 3 {
		t.Errorf("%d cycles named, want 3 (a, b, below): %v", n, err)
	}
	if err := actors.ValidateGroups(groups[:200], nil); err != nil {
		t.Errorf("the chain alone: %v", err)
	}
}
