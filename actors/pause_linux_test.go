package actors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// pidsIn reads the pids a script wrote to path, one a line.
func pidsIn(t *testing.T, path string, want int) []int {
	t.Helper()
	var pids []int
	eventually(t, fmt.Sprintf("%d pids in %s", want, path), func() bool {
		b, _ := os.ReadFile(path)
		pids = pids[:0]
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) >= want
	})
	return pids
}

// Pause of a task with busy grandchildren and a setsid escapee stops every
// process of its run (state T in /proc) and gives none of them CPU time
// (utime unchanged over a second); resume continues them all; a paused task
// is not flagged stalled however long it is silent; cancel of a paused task
// ends it.
func TestPauseStopsTheWholeRun(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{})
	pidfile := filepath.Join(t.TempDir(), "pids")
	script := fmt.Sprintf(`busy='while :; do :; done'
sh -c "$busy" & echo $! >> %[1]s
sh -c "$busy" & echo $! >> %[1]s
setsid sh -c "$busy" & echo $! >> %[1]s
echo $$ >> %[1]s
wait`, pidfile)
	id := h.startSpec(actors.TaskSpec{Name: "busy", Command: script, StallTimeout: 300 * time.Millisecond,
		StallAction: actors.StallKill, Activity: actors.ActivityNotify})
	pids := pidsIn(t, pidfile, 4)
	h.expect(id, actors.StateStalled) // silent by its activity mode: the watchdog runs

	if err := h.rt.Pause(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StatePaused)
	// A signal reaches a process running on another CPU a moment later.
	before := map[int]uint64{}
	for _, pid := range pids {
		eventually(t, fmt.Sprintf("pid %d stopped (state T)", pid), func() bool {
			st, ok := proctest.ReadStat(pid)
			before[pid] = st.UTime
			return ok && st.State == 'T'
		})
	}
	// A second paused: three stall timeouts, and no CPU for any of them.
	h.p.ExpectNoMsg(time.Second)
	for _, pid := range pids {
		if st, _ := proctest.ReadStat(pid); st.UTime != before[pid] {
			t.Errorf("pid %d ran while paused: utime %d -> %d", pid, before[pid], st.UTime)
		}
	}
	tasks, err := h.rt.List(h.ctx())
	if err != nil || tasks[0].State != actors.StatePaused {
		t.Fatalf("after a second paused: %v, %v", tasks, err)
	}

	if err := h.rt.Resume(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StateRunning)
	for _, pid := range pids[:3] { // the busy ones
		eventually(t, fmt.Sprintf("pid %d running again", pid), func() bool {
			st, ok := proctest.ReadStat(pid)
			return ok && st.State != 'T' && st.UTime > before[pid]
		})
	}

	if err := h.rt.Pause(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StatePaused)
	if err := h.rt.Cancel(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	if ev, err := h.rt.Wait(h.ctx(), id); err != nil || !ev.State.Ended() {
		t.Fatalf("cancel of a paused task: %v, %v", ev.State, err)
	}
	// The task ends with its leader; the rest, sent SIGKILL by then, are
	// gone a moment later.
	for _, pid := range pids {
		eventually(t, fmt.Sprintf("pid %d gone after its task ended", pid), func() bool {
			st, ok := proctest.ReadStat(pid)
			return !ok || st.Zombie()
		})
	}
}

// A group is paused and resumed whole, the groups below it included; Fail
// reaches a task in a group (it was dropped on the way before).
func TestPauseGroupAndFailInAGroup(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{
		Groups: []actors.GroupSpec{{Name: "outer"}, {Name: "inner", Parent: "outer"}},
	})
	a := h.startSpec(actors.TaskSpec{Name: "a", Command: "exec sleep 60", Group: "outer"})
	b := h.startSpec(actors.TaskSpec{Name: "b", Command: "exec sleep 60", Group: "inner"})
	other := h.startSpec(shell("other", "exec sleep 60"))
	for _, id := range []int{a, b, other} {
		h.waitState(id, actors.StateRunning)
	}
	if err := h.rt.PauseGroup(h.ctx(), "outer", false); err != nil {
		t.Fatal(err)
	}
	h.waitState(a, actors.StatePaused)
	h.waitState(b, actors.StatePaused)
	if tasks, _ := h.rt.List(h.ctx()); tasks[2].State != actors.StateRunning {
		t.Errorf("a task outside the group is %s", tasks[2].State)
	}
	if err := h.rt.PauseGroup(h.ctx(), "outer", true); err != nil {
		t.Fatal(err)
	}
	h.waitState(a, actors.StateRunning)
	h.waitState(b, actors.StateRunning)
	if err := h.rt.PauseGroup(h.ctx(), "nosuch", false); err == nil {
		t.Error("pause of an unknown group was accepted")
	}
	if err := h.rt.Fail(h.ctx(), b, "detector says so"); err != nil {
		t.Fatal(err)
	}
	ev := h.expect(b, actors.StateFailed)
	if !strings.Contains(ev.Reason, "detector says so") {
		t.Errorf("failed: %q", ev.Reason)
	}
}
