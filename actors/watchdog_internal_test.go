package actors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

const wdWait = 15 * time.Second

// wdHarness is a runtime on a manual clock whose supervisors report every
// activity they handle, for the watchdog's tests.
type wdHarness struct {
	t        *testing.T
	rt       *Runtime
	p        *probe.Probe
	clock    *probe.Clock
	activity chan taskActivity
	dir      string
}

func newWDHarness(t *testing.T) *wdHarness {
	t.Helper()
	proctest.NeedSystemdNotify(t) // the tests' scripts run it
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(e any) bool { _, ok := e.(TaskEvent); return ok })
	clock := probe.NewClock(system)
	rt, err := New(Config{System: system, Clock: clock, Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &wdHarness{t: t, rt: rt, p: p, clock: clock, activity: make(chan taskActivity, 1000), dir: t.TempDir()}
	rt.env.observe = func(m any) {
		if a, ok := m.(taskActivity); ok {
			select {
			case h.activity <- a:
			default:
			}
		}
	}
	shutDownAtEnd(t, rt)
	return h
}

// shutDownAtEnd shuts rt down when the test ends, whether it passed or
// failed early, and then fails it if a child process is left, which it
// kills. A test that shuts rt down itself gets its result again.
func shutDownAtEnd(t *testing.T, rt *Runtime) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wdWait)
		defer cancel()
		if _, err := rt.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if left := proctest.Children(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left: %v", left)
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

func (h *wdHarness) start(spec TaskSpec) int {
	h.t.Helper()
	id, err := h.rt.StartSpec(context.Background(), spec)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *wdHarness) expect(id int, match func(TaskEvent) bool) TaskEvent {
	h.t.Helper()
	return probe.ExpectEvent(h.p, func(e TaskEvent) bool { return e.ID == id && match(e) }, wdWait)
}

func (h *wdHarness) state(id int, s State) TaskEvent {
	h.t.Helper()
	return h.expect(id, func(e TaskEvent) bool { return e.State == s })
}

func (h *wdHarness) advance(d time.Duration) {
	h.t.Helper()
	if !h.clock.WaitFor(d, wdWait) {
		h.t.Fatalf("no timer due within %s", d)
	}
	h.clock.Advance(d)
}

// freshActivity waits for an activity report stamped at the clock's now.
func (h *wdHarness) freshActivity(match func(taskActivity) bool) taskActivity {
	h.t.Helper()
	deadline := time.After(wdWait)
	for {
		select {
		case a := <-h.activity:
			if !a.at.Before(h.clock.Now()) && match(a) {
				return a
			}
		case <-deadline:
			h.t.Fatal("no activity report")
		}
	}
}

func (h *wdHarness) file(name string) string { return filepath.Join(h.dir, name) }

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A silent task is marked stalled after its timeout, with for how long and
// when its action comes; after the grace, the action (kill) is applied.
func TestWatchdogWarnsThenActs(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "silent", Command: "exec sleep 1000", StallTimeout: 10 * time.Second,
		StallAction: StallKill, StallGrace: 5 * time.Second})
	h.state(id, StateRunning)
	h.advance(10 * time.Second)
	ev := h.state(id, StateStalled)
	if ev.Message != "Stalled: no progress for 10s; kill in 5s" || ev.Deadline.Sub(ev.Time) != 5*time.Second {
		t.Errorf("stalled: %q, deadline in %s", ev.Message, ev.Deadline.Sub(ev.Time))
	}
	h.advance(5 * time.Second)
	ev = h.state(id, StateKilled)
	if ev.Message != "Task killed by its watchdog" || !strings.Contains(ev.Reason, "watchdog: no progress for 15s") {
		t.Errorf("killed: %q / %q", ev.Message, ev.Reason)
	}
}

// warn marks the task stalled and leaves it running.
func TestWatchdogWarnLeavesTaskRunning(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "silent", Command: "exec sleep 1000", StallTimeout: 10 * time.Second})
	h.state(id, StateRunning)
	h.advance(10 * time.Second)
	if ev := h.state(id, StateStalled); !ev.Deadline.IsZero() {
		t.Errorf("warn has no action deadline: %v", ev.Deadline)
	}
	h.clock.Advance(time.Hour)
	h.p.ExpectNoMsg(200 * time.Millisecond)
}

// WATCHDOG=1 pings, which publish no event, keep a silent task from
// stalling; once they stop, it stalls.
func TestWatchdogPingsKeepATaskAlive(t *testing.T) {
	h := newWDHarness(t)
	stop := h.file("stop")
	id := h.start(TaskSpec{Name: "pinger", StallTimeout: 10 * time.Second, Command: fmt.Sprintf(
		"while [ ! -e %s ]; do systemd-notify WATCHDOG=1; sleep 0.05; done; systemd-notify STATUS=stopped; exec sleep 1000", stop)})
	h.state(id, StateRunning)
	for range 4 { // 24s of pings, each within the 10s timeout
		h.freshActivity(func(a taskActivity) bool { return a.id == id })
		h.clock.Advance(6 * time.Second)
	}
	touch(t, stop)
	// The last datagram, after every ping: the task actor handles them in
	// order, and reports the activity of the pings to the supervisor
	// before it publishes the status; so once the event is here, no ping
	// is left to come after the clock is advanced, which would re-arm the
	// watchdog and keep the task from stalling.
	h.expect(id, func(e TaskEvent) bool { return e.Status == "stopped" })
	h.advance(10 * time.Second)
	ev := h.state(id, StateStalled)
	if ev.Time.Sub(h.clockStart(ev)) < 24*time.Second {
		t.Errorf("stalled too early: %v", ev.Time)
	}
}

func (h *wdHarness) clockStart(ev TaskEvent) time.Time { return ev.Started }

// Progress after a stall clears it.
func TestWatchdogStallClearsOnProgress(t *testing.T) {
	h := newWDHarness(t)
	resume := h.file("resume")
	id := h.start(TaskSpec{Name: "hang", StallTimeout: 10 * time.Second, Command: fmt.Sprintf(
		"while [ ! -e %s ]; do sleep 0.05; done; systemd-notify STATUS=resumed; exec sleep 1000", resume)})
	h.state(id, StateRunning)
	h.advance(10 * time.Second)
	h.state(id, StateStalled)
	touch(t, resume)
	ev := h.state(id, StateRunning)
	if !strings.HasPrefix(ev.Message, "Stall cleared: resumed") {
		t.Errorf("cleared: %q", ev.Message)
	}
	// Watched again from the progress on.
	h.advance(10 * time.Second)
	h.state(id, StateStalled)
}

// WATCHDOG=trigger applies the stall action at once.
func TestWatchdogTriggerActsAtOnce(t *testing.T) {
	h := newWDHarness(t)
	once := h.file("once")
	id := h.start(TaskSpec{Name: "trigger", StallTimeout: time.Hour, StallAction: StallRestart, Command: fmt.Sprintf(
		"if [ ! -e %s ]; then touch %s; systemd-notify WATCHDOG=trigger; fi; exec sleep 1000", once, once)})
	ev := h.expect(id, func(e TaskEvent) bool { return e.State == StateStarting && e.Restarts == 1 })
	h.expect(id, func(e TaskEvent) bool { return e.State == StateRunning && e.Restarts == 1 })
	if !strings.Contains(ev.Reason, "watchdog: WATCHDOG=trigger") {
		t.Errorf("restart reason: %q", ev.Reason)
	}
}

// EXTEND_TIMEOUT_USEC pushes the deadline out.
func TestWatchdogExtendTimeout(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "extend", StallTimeout: 10 * time.Second,
		Command: "systemd-notify EXTEND_TIMEOUT_USEC=30000000; exec sleep 1000"})
	h.state(id, StateRunning)
	h.freshActivity(func(a taskActivity) bool { return a.id == id && a.extend == 30*time.Second })
	h.clock.Advance(20 * time.Second)
	h.p.ExpectNoMsg(200 * time.Millisecond)
	h.advance(10 * time.Second)
	h.state(id, StateStalled)
}

// A ready=notify task stays starting until READY=1; without it within its
// start timeout it is stalled.
func TestReadyNotifyStartTimeout(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "mute", Command: "exec sleep 1000", Ready: ReadyNotify, StartTimeout: 5 * time.Second})
	h.expect(id, func(e TaskEvent) bool { return e.State == StateStarting && e.PID != 0 })
	h.advance(5 * time.Second)
	if ev := h.state(id, StateStalled); ev.Message != "Stalled: no READY=1 within 5s" {
		t.Errorf("stalled: %q", ev.Message)
	}
}

// systemd-notify --ready, the real client, makes a ready=notify task running.
func TestReadyNotifyWithSystemdNotify(t *testing.T) {
	h := newWDHarness(t)
	id := h.start(TaskSpec{Name: "ready", Ready: ReadyNotify, Command: "systemd-notify --ready --status=up; exec sleep 1000"})
	ev := h.state(id, StateRunning)
	if ev.Status != "up" || ev.Message != "Ready" {
		t.Errorf("running: status %q, message %q", ev.Status, ev.Message)
	}
}

// A watched task gets WATCHDOG_USEC, and WATCHDOG_PID is its own pid, for a
// shell command and for an argv alike.
func TestWatchdogEnvironment(t *testing.T) {
	h := newWDHarness(t)
	shellID := h.start(TaskSpec{Name: "sh", StallTimeout: 2 * time.Second,
		Command: `echo "$WATCHDOG_USEC $WATCHDOG_PID $$"; exec sleep 1000`})
	runs := []TaskEvent{h.state(shellID, StateRunning)}
	argvID := h.start(TaskSpec{Name: "argv", StallTimeout: 2 * time.Second,
		Argv: []string{"/bin/sh", "-c", `echo "$WATCHDOG_USEC $WATCHDOG_PID $$"; exec sleep 1000`}})
	runs = append(runs, h.state(argvID, StateRunning))
	for _, run := range runs {
		WaitOutput(t, h.rt, run.ID, fmt.Sprintf("2000000 %d %d", run.PID, run.PID))
	}
}

// WaitOutput waits until task id of rt has printed a line equal to text (a
// script's way to say that it got somewhere), and fails the test if it does
// not within 15s. It is exported for the external tests' harness.waitOutput:
// a test file of package actors is part of the package that they import.
func WaitOutput(t testing.TB, rt *Runtime, id int, text string) {
	t.Helper()
	proctest.Eventually(t, wdWait, fmt.Sprintf("task %d to print %q", id, text), func() bool {
		lines, _ := rt.Output(context.Background(), id)
		for _, l := range lines {
			if l.Text == text {
				return true
			}
		}
		return false
	})
}
