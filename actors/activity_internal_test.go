package actors

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A printing shell task whose output counts as activity is never stalled,
// however long the clock runs, while its lines come; a silent one is.
func TestOutputIsActivity(t *testing.T) {
	h := newWDHarness(t)
	var stalls atomic.Int32
	defer h.rt.Subscribe(func(ev TaskEvent) {
		if ev.State == StateStalled {
			stalls.Add(1)
		}
	})()
	printing := h.start(TaskSpec{Name: "printer", Command: "while :; do echo tick; sleep 0.02; done",
		StallTimeout: 10 * time.Second, StallAction: StallKill, Activity: ActivityOutput})
	h.state(printing, StateRunning)
	for range 5 { // 30s on the clock, three stall timeouts
		h.clock.Advance(6 * time.Second)
		h.freshActivity(func(a taskActivity) bool { return a.id == printing })
	}
	if n := stalls.Load(); n != 0 {
		t.Fatalf("a task printing all along was stalled %d times", n)
	}

	silent := h.start(TaskSpec{Name: "silent", Command: "exec sleep 1000", StallTimeout: 10 * time.Second})
	h.state(silent, StateRunning)
	h.advance(10 * time.Second)
	if ev := h.state(silent, StateStalled); ev.ID != silent {
		t.Fatalf("stalled: task %d", ev.ID)
	}
}

// Under activity = "output" only output is progress: a task that sends
// STATUS= but prints nothing is stalled. The default for a task without
// ready = "notify" counts both.
func TestActivityModes(t *testing.T) {
	h := newWDHarness(t)
	script := "while :; do systemd-notify STATUS=busy; sleep 0.05; done"
	notifyOnly := h.start(TaskSpec{Name: "statuser", Command: script, StallTimeout: 10 * time.Second, Activity: ActivityOutput})
	h.state(notifyOnly, StateRunning)
	bothByDefault := h.start(TaskSpec{Name: "default", Command: "while :; do echo tick; sleep 0.02; done", StallTimeout: 10 * time.Second})
	h.state(bothByDefault, StateRunning)
	h.clock.Advance(6 * time.Second)
	h.freshActivity(func(a taskActivity) bool { return a.id == bothByDefault })
	h.clock.Advance(6 * time.Second) // 12s: the status sender is past its timeout
	ev := h.state(notifyOnly, StateStalled)
	if !strings.HasPrefix(ev.Message, "Stalled: no progress for") {
		t.Errorf("stalled: %q", ev.Message)
	}
	tasks, err := h.rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st := tasks[1].State; st != StateRunning {
		t.Errorf("the printing task is %s, want running", st)
	}
}

// stall_grace "0s" (NoStallGrace): the stall action comes with the stall,
// with no grace to wait for.
func TestNoStallGraceActsAtOnce(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "silent", Command: "exec sleep 1000", StallTimeout: 10 * time.Second,
		StallAction: StallKill, StallGrace: NoStallGrace})
	h.state(id, StateRunning)
	h.advance(10 * time.Second)
	ev := h.state(id, StateStalled)
	if !ev.Deadline.Equal(ev.Time) || ev.Message != "Stalled: no progress for 10s; kill in 0s" {
		t.Errorf("stalled: %q, action due %s after the stall", ev.Message, ev.Deadline.Sub(ev.Time))
	}
	h.state(id, StateKilled) // the clock has not moved
}
