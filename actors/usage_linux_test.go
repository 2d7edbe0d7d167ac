package actors_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// allocEnv makes the test binary an allocator (see init): it allocates
// and touches 50 MiB, says "allocated N MiB", waits 700 ms, N times, then
// sleeps until killed.
const allocEnv = "TASKVISOR_TEST_ALLOC_STEPS"

var kept [][]byte

func init() {
	n, err := strconv.Atoi(os.Getenv(allocEnv))
	if err != nil {
		return
	}
	for i := 1; i <= n; i++ {
		b := make([]byte, 50<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		kept = append(kept, b)
		fmt.Printf("allocated %d MiB\n", 50*i)
		time.Sleep(700 * time.Millisecond)
	}
	time.Sleep(time.Hour)
	os.Exit(0)
}

// usageRecorder keeps the samples a subscription gets.
type usageRecorder struct {
	mu      sync.Mutex
	samples []actors.UsageEvent
}

func (u *usageRecorder) add(ev actors.UsageEvent) {
	u.mu.Lock()
	u.samples = append(u.samples, ev)
	u.mu.Unlock()
}

// of returns task id's figures in each sample that has them, from the n-th
// sample on.
func (u *usageRecorder) of(id, from int) []actors.TaskUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []actors.TaskUsage
	for i, s := range u.samples {
		if i < from {
			continue
		}
		for _, t := range s.Tasks {
			if t.ID == id {
				out = append(out, t)
			}
		}
	}
	return out
}

func (u *usageRecorder) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.samples)
}

func usageHarness(t *testing.T) (*harness, *usageRecorder) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{UsageInterval: 200 * time.Millisecond})
	rec := &usageRecorder{}
	t.Cleanup(h.rt.SubscribeUsage(rec.add))
	return h, rec
}

// A busy loop's figures are its process's CPU time as the kernel counts
// it in /proc; a sleeping task reads next to none; and a setsid escapee's
// CPU counts in its task's figures. The figures are checked against /proc,
// not against a share of a core, which a loaded machine does not give.
func TestUsageCPU(t *testing.T) {
	h, rec := usageHarness(t)
	busy := h.startSpec(shell("busy", "while :; do :; done"))
	idle := h.startSpec(shell("idle", "exec sleep 60"))
	escapes := h.startSpec(shell("escapes", `setsid sh -c 'while :; do :; done' & echo $!; exec sleep 60`))
	busyPID := h.expect(busy, actors.StateRunning).PID
	h.waitState(idle, actors.StateRunning)
	escapee, err := strconv.Atoi(h.firstLine(escapes))
	if err != nil {
		t.Fatal(err)
	}
	from := rec.count() + 2 // the processes are under way
	eventually(t, "five samples of each", func() bool { return len(rec.of(escapes, from)) >= 5 })
	cpuOf := func(pid int) time.Duration {
		st, _ := proctest.ReadStat(pid)
		return time.Duration(st.UTime+st.STime) * 10 * time.Millisecond
	}
	last := func(id int) actors.TaskUsage { u := rec.of(id, from); return u[len(u)-1] }
	// The last sample, then /proc: the kernel's count is a little later.
	b, e := last(busy), last(escapes)
	kb, ke := cpuOf(busyPID), cpuOf(escapee)
	t.Logf("busy: %v sampled, %v in /proc; escapee: %v sampled for its task, %v in /proc; last CPU %.2f, %.2f cores",
		b.CPUTime, kb, e.CPUTime, ke, b.CPU, e.CPU)
	// /proc's count is made of clock ticks, the cgroup's of nanoseconds.
	near := func(sampled, kernel time.Duration) bool {
		return sampled <= kernel*12/10+100*time.Millisecond && sampled >= kernel*8/10-100*time.Millisecond
	}
	if !near(b.CPUTime, kb) {
		t.Errorf("busy loop: %v of CPU sampled, %v in /proc", b.CPUTime, kb)
	}
	if !near(e.CPUTime, ke) || e.Procs < 2 {
		t.Errorf("task with a busy escapee: %v of CPU sampled, the escapee's %v in /proc, %d processes", e.CPUTime, ke, e.Procs)
	}
	for _, u := range rec.of(busy, from) {
		if u.HasCPU && u.CPU < 0.05 {
			t.Errorf("busy loop read %.2f cores in a sample", u.CPU)
		}
	}
	for _, u := range rec.of(idle, from) {
		if u.HasCPU && u.CPU > 0.05 {
			t.Errorf("sleeping task read %.2f cores in a sample, want under 0.05", u.CPU)
		}
	}
}

// Memory rises in the samples within two of each step of an allocation.
func TestUsageMemoryFollowsAllocation(t *testing.T) {
	h, rec := usageHarness(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id := h.startSpec(actors.TaskSpec{Name: "alloc", Argv: []string{exe}, Env: map[string]string{allocEnv: "4"}})
	for step := 1; step <= 4; step++ {
		h.waitOutput(id, fmt.Sprintf("allocated %d MiB", 50*step))
		from := rec.count()
		want := uint64(50*step) << 20
		eventually(t, fmt.Sprintf("memory over %d MiB", 50*step), func() bool {
			for i, u := range rec.of(id, from) {
				if u.Memory >= want*9/10 {
					if i > 2 {
						t.Errorf("step %d: memory seen in sample %d after the step, want within 2", step, i+1)
					}
					return true
				}
			}
			return false
		})
	}
	last := rec.of(id, 0)
	if peak := last[len(last)-1].MemoryPeak; peak < 180<<20 {
		t.Errorf("peak %d MiB, want about 200", peak>>20)
	}
}

// No subscriber, no sampling: the first sample comes at the subscription,
// and none after its end.
func TestUsageOnlyWhileSubscribed(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{UsageInterval: 50 * time.Millisecond})
	rec := &usageRecorder{}
	stop := h.rt.SubscribeUsage(rec.add)
	eventually(t, "two samples", func() bool { return rec.count() >= 2 })
	stop()
	n := rec.count()
	time.Sleep(200 * time.Millisecond)
	if rec.count() != n {
		t.Errorf("%d samples after the end of the subscription", rec.count()-n)
	}
}

// A task that allocates past its memory_max is ended by the kernel's OOM
// killer: it fails with the reason, and restarts under on-failure.
func TestMemoryMaxOOMRestarts(t *testing.T) {
	h, _ := usageHarness(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id := h.startSpec(actors.TaskSpec{Name: "alloc", Argv: []string{exe}, Env: map[string]string{allocEnv: "4"},
		MemoryMax: 100 << 20, Restart: actors.RestartOnFailure, MaxRestarts: -1, Backoff: actors.Backoff{Initial: time.Hour}})
	ev := h.expect(id, actors.StateFailed)
	if ev.PID == 0 {
		t.Skipf("no memory controller here: %s", ev.Reason)
	}
	if !strings.HasPrefix(ev.Reason, "killed by the kernel's OOM killer at its memory_max of 100MiB (peak ") {
		t.Errorf("failed: %q", ev.Reason)
	}
	if b := h.expect(id, actors.StateBackoff); !strings.Contains(b.Reason, "OOM killer") {
		t.Errorf("backoff: %q", b.Reason)
	}
}

// memory_restart: a task whose memory stays above it for two samples is
// restarted, gracefully, with the reason.
func TestMemoryRestart(t *testing.T) {
	h := newHarnessWith(t, probe.NewSystem(t), actors.Config{UsageInterval: 100 * time.Millisecond})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id := h.startSpec(actors.TaskSpec{Name: "alloc", Argv: []string{exe}, Env: map[string]string{allocEnv: "2"},
		MemoryRestart: 60 << 20, MaxRestarts: -1})
	ev := h.expect(id, actors.StateStopping)
	if !strings.Contains(ev.Reason, "stayed above its memory_restart of 60MiB for 2 samples") {
		t.Errorf("stopping: %q", ev.Reason)
	}
	ev = h.expectWhere(id, func(e actors.TaskEvent) bool { return e.State == actors.StateStarting && e.Generation == 2 })
	if ev.Restarts != 1 || !strings.Contains(ev.Reason, "memory_restart") {
		t.Errorf("restarted: restarts %d, %q", ev.Restarts, ev.Reason)
	}
}

// cpu_max 1 holds a task with three busy grandchildren to about one core,
// where they would take both of this machine's.
func TestCPUMaxHoldsTheWholeRun(t *testing.T) {
	h, rec := usageHarness(t)
	busy := `sh -c 'while :; do :; done' &`
	id := h.startSpec(actors.TaskSpec{Name: "three", Command: busy + busy + busy + " wait", CPUMax: 1})
	ev := h.expectWhere(id, func(e actors.TaskEvent) bool { return e.State == actors.StateRunning || e.State.Ended() })
	if ev.State.Ended() {
		t.Skipf("no cpu controller here: %s", ev.Reason)
	}
	from := rec.count() + 2
	eventually(t, "five samples", func() bool { return len(rec.of(id, from)) >= 5 })
	sum, n := 0.0, 0
	for _, u := range rec.of(id, from) {
		if u.HasCPU {
			sum += u.CPU
			n++
		}
	}
	mean := sum / float64(max(n, 1))
	t.Logf("three busy grandchildren under cpu_max 1: %.2f cores", mean)
	if mean > 1.15 {
		t.Errorf("%.2f cores under cpu_max 1", mean)
	}
}
