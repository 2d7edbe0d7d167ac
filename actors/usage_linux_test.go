package actors_test

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
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

// A busy loop reads about one core, a sleeping task next to none, and a
// setsid escapee's CPU counts in its task's figures.
func TestUsageCPU(t *testing.T) {
	h, rec := usageHarness(t)
	busy := h.startSpec(shell("busy", "while :; do :; done"))
	idle := h.startSpec(shell("idle", "exec sleep 60"))
	escapes := h.startSpec(shell("escapes", `setsid sh -c 'while :; do :; done' & exec sleep 60`))
	for _, id := range []int{busy, idle, escapes} {
		h.waitState(id, actors.StateRunning)
	}
	from := rec.count() + 2 // the processes are under way
	eventually(t, "five samples of each", func() bool { return len(rec.of(escapes, from)) >= 5 })
	mean := func(id int) (float64, int) {
		sum, n, procs := 0.0, 0, 0
		for _, u := range rec.of(id, from) {
			if u.HasCPU {
				sum += u.CPU
				n++
			}
			procs = max(procs, u.Procs)
		}
		return sum / float64(max(n, 1)), procs
	}
	cb, _ := mean(busy)
	ci, _ := mean(idle)
	ce, pe := mean(escapes)
	t.Logf("busy %.2f cores, idle %.3f, with an escapee %.2f (%d processes)", cb, ci, ce, pe)
	if c, _ := mean(busy); c < 0.5 || c > 1.2 {
		t.Errorf("busy loop: %.2f cores, want about 1 (0.5-1.2 on a shared machine)", c)
	}
	if c, _ := mean(idle); c > 0.05 {
		t.Errorf("sleeping task: %.2f cores, want under 0.05", c)
	}
	if c, procs := mean(escapes); c < 0.4 || procs < 2 {
		t.Errorf("task with a busy escapee: %.2f cores, %d processes; want its escapee counted", c, procs)
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
