package actors

import (
	"strings"
	"testing"
	"time"
)

// A run-time limit fires at its time on the manual clock, not before; the
// event counts it down (TimeoutAt), and the task ends cancelled by it, as a
// failure for its policy.
func TestTimeoutFiresAtItsTime(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "long", Command: "exec sleep 1000", Timeout: 30 * time.Second})
	run := h.state(id, StateRunning)
	if got := run.TimeoutAt.Sub(run.Started); got != 30*time.Second {
		t.Errorf("TimeoutAt is %s after the start, want 30s", got)
	}
	h.clock.Advance(29 * time.Second)
	h.p.ExpectNoMsg(100 * time.Millisecond)
	h.advance(time.Second)
	ev := h.state(id, StateStopping)
	if ev.Reason != "run-time limit of 30s reached" {
		t.Errorf("stopping: %q", ev.Reason)
	}
	ev = h.state(id, StateCancelled)
	if ev.Message != "Task cancelled by its timeout" || !ev.TimeoutAt.IsZero() {
		t.Errorf("cancelled: %q, TimeoutAt %v", ev.Message, ev.TimeoutAt)
	}
}

// timeout_action restart starts a new process, with a limit of its own.
func TestTimeoutRestart(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "long", Command: "exec sleep 1000", Timeout: 10 * time.Second,
		TimeoutAction: TimeoutRestart, Restart: RestartAlways})
	first := h.state(id, StateRunning)
	h.advance(10 * time.Second)
	ev := h.expect(id, func(e TaskEvent) bool { return e.State == StateStarting && e.Generation == first.Generation+1 })
	if !strings.Contains(ev.Reason, "run-time limit of 10s reached") || ev.Restarts != 1 {
		t.Errorf("restarted: reason %q, restarts %d", ev.Reason, ev.Restarts)
	}
	ev = h.state(id, StateRunning)
	if got := ev.TimeoutAt.Sub(ev.Started); got != 10*time.Second {
		t.Errorf("the new process's limit ends %s after its start, want 10s", got)
	}
}

// Time paused does not count against the run-time limit: paused after 10s
// of a 30s limit, for 100s, the task has 20s left once resumed.
func TestTimeoutExcludesPausedTime(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "long", Command: "exec sleep 1000", Timeout: 30 * time.Second})
	h.state(id, StateRunning)
	h.clock.Advance(10 * time.Second)
	if err := h.rt.Pause(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if ev := h.state(id, StatePaused); !ev.TimeoutAt.IsZero() {
		t.Errorf("paused with a countdown to %v", ev.TimeoutAt)
	}
	h.clock.Advance(100 * time.Second)
	h.p.ExpectNoMsg(100 * time.Millisecond)
	if err := h.rt.Resume(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	ev := h.state(id, StateRunning)
	if left := ev.TimeoutAt.Sub(h.clock.Now()); left != 20*time.Second {
		t.Errorf("%s of the limit left after the pause, want 20s", left)
	}
	h.clock.Advance(19 * time.Second)
	h.p.ExpectNoMsg(100 * time.Millisecond)
	h.advance(time.Second)
	if ev := h.state(id, StateStopping); ev.Reason != "run-time limit of 30s reached" {
		t.Errorf("stopping: %q", ev.Reason)
	}
}
