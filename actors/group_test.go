package actors_test

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// startGroup starts n sleepers in group g with restart=always and returns
// their ids and running events.
func (m *manual) startGroup(g string, names ...string) ([]int, []actors.TaskEvent) {
	m.t.Helper()
	var ids []int
	var runs []actors.TaskEvent
	for _, n := range names {
		id := m.startSpec(actors.TaskSpec{Name: n, Group: g, Command: "exec sleep 1000", Restart: actors.RestartAlways,
			Backoff: actors.Backoff{Initial: time.Second, Factor: 1}})
		ids = append(ids, id)
		runs = append(runs, m.expect(id, actors.StateRunning))
	}
	return ids, runs
}

// crash kills a task's process from outside, as a crash would.
func crash(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

// events collects task events until the group reports it restarted.
func (m *manual) untilGroup(state actors.GroupState) ([]actors.TaskEvent, actors.GroupEvent) {
	m.t.Helper()
	var seen []actors.TaskEvent
	var last actors.GroupEvent
	m.p.FishFor(func(e any) bool {
		switch ev := e.(type) {
		case actors.TaskEvent:
			seen = append(seen, ev)
		case actors.GroupEvent:
			if ev.State == state {
				last = ev
				return true
			}
		}
		return false
	}, wait)
	return seen, last
}

func (m *manual) pids() map[int]int {
	m.t.Helper()
	list, err := m.rt.List(m.ctx())
	if err != nil {
		m.t.Fatal(err)
	}
	out := map[int]int{}
	for _, ev := range list {
		out[ev.ID] = ev.PID
	}
	return out
}

// one-for-one restarts only the task that failed.
func TestOneForOneLeavesSiblingsAlone(t *testing.T) {
	m := newManual(t, []actors.GroupSpec{{Name: "g", Strategy: actors.OneForOne}})
	ids, runs := m.startGroup("g", "a", "b", "c")
	crash(t, runs[1].PID)
	m.advance(m.backoffDelay(ids[1]))
	b := m.expectWhere(ids[1], func(e actors.TaskEvent) bool { return e.State == actors.StateRunning && e.Restarts == 1 })
	pids := m.pids()
	if pids[ids[0]] != runs[0].PID || pids[ids[2]] != runs[2].PID || b.PID == runs[1].PID {
		t.Errorf("pids before %v/%v/%v, after %v", runs[0].PID, runs[1].PID, runs[2].PID, pids)
	}
}

// one-for-all stops the others in reverse order and starts all in order,
// each with a new pid.
func TestOneForAllRestartsAllInOrder(t *testing.T) {
	m := newManual(t, []actors.GroupSpec{{Name: "g", Strategy: actors.OneForAll}})
	ids, runs := m.startGroup("g", "a", "b", "c")
	crash(t, runs[1].PID)
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.State == actors.GroupRestarting }, wait)
	m.advance(time.Second) // b's backoff, once a and c have stopped
	seen, done := m.untilGroup(actors.GroupRunning)

	var stops, starts []int
	for _, ev := range seen {
		if ev.State == actors.StateStopping {
			stops = append(stops, ev.ID)
		}
		if ev.State == actors.StateRunning {
			starts = append(starts, ev.ID)
		}
	}
	if want := []int{ids[2], ids[0]}; !slices.Equal(stops, want) {
		t.Errorf("stopped %v, want %v (reverse order)", stops, want)
	}
	if !slices.Equal(starts, ids) {
		t.Errorf("started %v, want %v (in order)", starts, ids)
	}
	if !slices.Equal(done.Tasks, ids) || done.Strategy != actors.OneForAll {
		t.Errorf("group event: %+v", done)
	}
	pids := m.pids()
	for i, id := range ids {
		if pids[id] == runs[i].PID || pids[id] == 0 {
			t.Errorf("task %d kept pid %d", id, pids[id])
		}
	}
}

// rest-for-one restarts the failed task and those started after it only.
func TestRestForOneRestartsLaterSiblings(t *testing.T) {
	m := newManual(t, []actors.GroupSpec{{Name: "g", Strategy: actors.RestForOne}})
	ids, runs := m.startGroup("g", "a", "b", "c")
	crash(t, runs[1].PID)
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.State == actors.GroupRestarting }, wait)
	m.advance(time.Second)
	_, done := m.untilGroup(actors.GroupRunning)
	if want := []int{ids[1], ids[2]}; !slices.Equal(done.Tasks, want) {
		t.Errorf("restarted %v, want %v", done.Tasks, want)
	}
	pids := m.pids()
	if pids[ids[0]] != runs[0].PID {
		t.Errorf("a earlier than the failed task was restarted: pid %d -> %d", runs[0].PID, pids[ids[0]])
	}
	if pids[ids[1]] == runs[1].PID || pids[ids[2]] == runs[2].PID {
		t.Errorf("b and c not restarted: %v", pids)
	}
}

// A group over its limit stops its children and fails to its parent, which
// restarts it; the parent over its own limit fails to the top, which gives
// the whole subtree up.
func TestEscalationThroughTwoLevels(t *testing.T) {
	m := newManual(t, []actors.GroupSpec{
		{Name: "outer", Strategy: actors.OneForOne, MaxRestarts: 1},
		{Name: "inner", Parent: "outer", Strategy: actors.OneForAll, MaxRestarts: 1},
	})
	ids, runs := m.startGroup("inner", "x")
	x := ids[0]

	// 1: inner restarts x (its one allowed restart).
	crash(t, runs[0].PID)
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.Group == "inner" && e.State == actors.GroupRestarting }, wait)
	m.advance(time.Second)
	run := m.expectWhere(x, func(e actors.TaskEvent) bool { return e.State == actors.StateRunning && e.Restarts == 1 })

	// 2: inner is over its limit: it fails to outer, which restarts it.
	crash(t, run.PID)
	failed := probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.Group == "inner" && e.State == actors.GroupFailed }, wait)
	if !strings.Contains(failed.Reason, "restart limit of 1 within 1m0s reached") {
		t.Errorf("inner failed: %q", failed.Reason)
	}
	run = m.expectWhere(x, func(e actors.TaskEvent) bool { return e.State == actors.StateRunning && e.Restarts == 2 })

	// 3: inner, started afresh, restarts x again.
	crash(t, run.PID)
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.Group == "inner" && e.State == actors.GroupRestarting }, wait)
	m.advance(time.Second)
	run = m.expectWhere(x, func(e actors.TaskEvent) bool { return e.State == actors.StateRunning && e.Restarts == 3 })

	// 4: inner fails again; outer is over its limit and fails to the top,
	// which gives up: x ends gave-up.
	crash(t, run.PID)
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.Group == "outer" && e.State == actors.GroupFailed }, wait)
	ev := m.expect(x, actors.StateGaveUp)
	if !strings.Contains(ev.Reason, "group outer failed") {
		t.Errorf("gave-up reason: %q", ev.Reason)
	}
	list, _ := m.rt.List(m.ctx())
	if list[0].State != actors.StateGaveUp {
		t.Errorf("x after the give-up: %s", list[0].State)
	}
}

// A task that hits its own restart limit inside a group hands the failure
// to the group, whose strategy restarts it with a fresh limit.
func TestTaskLimitInGroupGoesToTheGroup(t *testing.T) {
	m := newManual(t, []actors.GroupSpec{{Name: "g", Strategy: actors.OneForOne, MaxRestarts: -1}})
	id := m.startSpec(actors.TaskSpec{Name: "crasher", Group: "g", Command: "exit 3", Restart: actors.RestartOnFailure,
		MaxRestarts: 1, Backoff: actors.Backoff{Initial: time.Second}})
	m.advance(m.backoffDelay(id))
	// The second failure is over the task's limit: the group restarts it.
	probe.ExpectEvent(m.p, func(e actors.GroupEvent) bool { return e.State == actors.GroupRestarting }, wait)
	m.expectWhere(id, func(e actors.TaskEvent) bool { return e.State == actors.StateStarting && e.Restarts == 2 })
}

// A group starts its children one after the other, in order: the next
// starts once the one before it runs (for ready=notify, once it is ready).
func TestGroupStartsChildrenInOrder(t *testing.T) {
	haveSystemdNotify(t)
	m := newManual(t, []actors.GroupSpec{{Name: "g"}})
	gate := t.TempDir() + "/ready"
	a := m.startSpec(actors.TaskSpec{Name: "a", Group: "g", Ready: actors.ReadyNotify,
		Command: "while [ ! -e " + gate + " ]; do sleep 0.05; done; systemd-notify --ready; exec sleep 1000"})
	b := m.startSpec(actors.TaskSpec{Name: "b", Group: "g", Command: "exec sleep 1000"})
	m.expectWhere(a, func(e actors.TaskEvent) bool { return e.State == actors.StateStarting && e.PID != 0 })
	time.Sleep(300 * time.Millisecond) // time for b to start, were it not waiting for a
	list, _ := m.rt.List(m.ctx())
	if list[1].PID != 0 || list[1].Message != "Waiting for group g to start it" {
		t.Fatalf("b before a is ready: %+v", list[1])
	}
	mustCreate(t, gate)
	m.expect(a, actors.StateRunning)
	m.expect(b, actors.StateRunning)
}
