//go:build linux

package actors_test

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// The jobs benchmarks (parallelism limit, pause):
//
//	go test -run '^$' -bench 'Queue|Pause' -benchtime 20x ./actors/
//
// Nothing here asserts a timing; each reports its figure against a
// baseline measured in the same run.

// BenchmarkQueuedStart: how soon a queued task starts once a slot frees,
// against a plain start, both read from the events' own times: a plain
// start is the Start command until the running event; a queued start the
// killed event of the task that held the only slot until the queued task's
// running event (the slot is given back before that killed event is
// stamped, so the figure errs long). x-plain is the ratio.
func BenchmarkQueuedStart(b *testing.B) {
	rt, events := benchRuntimeWith(b, actors.Config{Subreaper: true, MaxParallel: 1})
	ctx := context.Background()
	spec := actors.TaskSpec{Name: "sleeper", Command: "exec sleep 1000"}
	var plain, queued time.Duration
	for b.Loop() {
		b.StopTimer()
		t0 := time.Now()
		holder, err := rt.StartSpec(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		run := waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == holder && e.State == actors.StateRunning })
		plain += run.Time.Sub(t0)
		next, err := rt.StartSpec(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, next, actors.StateQueued)
		b.StartTimer()
		if err := rt.Kill(ctx, holder); err != nil {
			b.Fatal(err)
		}
		killed := waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == holder && e.State == actors.StateKilled })
		started := waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == next && e.State == actors.StateRunning })
		queued += started.Time.Sub(killed.Time)
		b.StopTimer()
		_ = rt.Kill(ctx, next)
		waitState(b, events, next, actors.StateKilled)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(plain.Nanoseconds())/n, "plain-ns")
	b.ReportMetric(float64(queued.Nanoseconds())/n, "queued-ns")
	if plain > 0 {
		b.ReportMetric(float64(queued)/float64(plain), "x-plain")
	}
}

// BenchmarkQueue10k: 10,000 tasks queued behind one that holds the only
// slot; the heap they add (after a GC), against the runtime idle.
func BenchmarkQueue10k(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		rt, events := benchRuntimeWith(b, actors.Config{Subreaper: true, MaxParallel: 1})
		ctx := context.Background()
		holder, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "holder", Command: "exec sleep 1000"})
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, holder, actors.StateRunning)
		idle := heapInUse()
		b.StartTimer()
		spec := actors.TaskSpec{Name: "queued", Command: "true"}
		var last int
		for range n {
			if last, err = rt.StartSpec(ctx, spec); err != nil {
				b.Fatal(err)
			}
		}
		waitState(b, events, last, actors.StateQueued)
		b.StopTimer()
		b.ReportMetric(float64(heapInUse()-idle)/(1<<20), "MiB-over-idle")
		if _, err := rt.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkPauseResume: pause then resume of a task with 100 processes (a
// shell and 99 children), each until its event; the baseline (x-bare) is
// the two kill(2) calls of SIGSTOP then SIGCONT to the same process group
// by hand, which is all a bare program would do (taskvisor also freezes the
// run cgroup and signals each of its members).
func BenchmarkPauseResume(b *testing.B) {
	rt, events := benchRuntimeWith(b, actors.Config{Subreaper: true})
	ctx := context.Background()
	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "hundred",
		Command: "for i in $(seq 99); do sleep 1000 & done; echo up; wait"})
	if err != nil {
		b.Fatal(err)
	}
	run := waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == id && e.State == actors.StateRunning })
	pgid := run.PID
	waitMembers(b, pgid, 100)

	var bare time.Duration
	for range 20 {
		t0 := time.Now()
		_ = syscall.Kill(-pgid, syscall.SIGSTOP)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		bare += time.Since(t0)
		waitGroupState(b, pgid, func(s byte) bool { return s != 'T' })
	}
	bareNs := float64(bare.Nanoseconds()) / 20

	for b.Loop() {
		if err := rt.Pause(ctx, id); err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StatePaused)
		if err := rt.Resume(ctx, id); err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateRunning)
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/2/1e6, "ms/op-each")
	b.ReportMetric(bareNs/2/1e6, "bare-ms-each")
	b.ReportMetric(per/bareNs, "x-bare")
}

func waitMembers(b *testing.B, pgid, n int) {
	deadline := time.Now().Add(wait)
	for len(proctest.GroupMembers(pgid)) < n {
		if time.Now().After(deadline) {
			b.Fatalf("group %d has %d members, want %d", pgid, len(proctest.GroupMembers(pgid)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitGroupState(b *testing.B, pgid int, ok func(byte) bool) {
	deadline := time.Now().Add(wait)
	for {
		all := true
		for _, pid := range proctest.GroupMembers(pgid) {
			if st, alive := proctest.ReadStat(pid); alive && !ok(st.State) {
				all = false
				break
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("group %d did not reach the state", pgid)
		}
	}
}

// BenchmarkUsageSample1000: the CPU time (of this process: the sampler
// and the runtime) that sampling 1,000 sleeping tasks costs per sample,
// over two seconds of samples every 100 ms, against the same runtime idle
// for the same two seconds (idle-ms); pct-core-at-1s is what one sample a
// second costs.
func BenchmarkUsageSample1000(b *testing.B) {
	const n = 1000
	rt, events := benchRuntimeWith(b, actors.Config{Subreaper: true, UsageInterval: 100 * time.Millisecond})
	ctx := context.Background()
	var last int
	for range n {
		id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "sleeper", Command: "exec sleep 1000"})
		if err != nil {
			b.Fatal(err)
		}
		last = id
	}
	waitState(b, events, last, actors.StateRunning)
	time.Sleep(time.Second) // the starts' work is over
	for b.Loop() {
		c0 := proctest.CPUTime()
		time.Sleep(2 * time.Second)
		idle := proctest.CPUTime() - c0

		var mu sync.Mutex
		samples, tasks := 0, 0
		c1 := proctest.CPUTime()
		stop := rt.SubscribeUsage(func(ev actors.UsageEvent) {
			mu.Lock()
			samples++
			tasks = len(ev.Tasks)
			mu.Unlock()
		})
		time.Sleep(2 * time.Second)
		stop()
		busy := proctest.CPUTime() - c1
		mu.Lock()
		if tasks != n {
			b.Fatalf("a sample held %d tasks, want %d", tasks, n)
		}
		per := float64((busy - idle).Nanoseconds()) / float64(samples)
		mu.Unlock()
		b.ReportMetric(per/1e6, "ms-cpu/sample")
		b.ReportMetric(float64(idle.Nanoseconds())/1e6, "idle-ms-per-2s")
		b.ReportMetric(per/1e9*100, "pct-core-at-1s")
	}
}
