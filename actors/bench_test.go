package actors_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

// The paired benchmarks compare taskvisor with the bare operating system in
// the same run: each Task benchmark reports its ratio to its Bare twin when
// both run (go test -bench 'Start|Kill' ./actors/).

var bareNs = map[string]float64{}

func reportRatio(b *testing.B, pair string) {
	if bare, ok := bareNs[pair]; ok && bare > 0 && b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bare, "x-bare")
	}
}

func recordBare(b *testing.B, pair string) {
	if b.N > 0 {
		bareNs[pair] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	}
}

// BenchmarkStartBare: os/exec Start of sleep in its own process group; the
// kill and wait that clean up are outside the timer.
func BenchmarkStartBare(b *testing.B) {
	for b.Loop() {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.StartTimer()
	}
	recordBare(b, "start")
}

// BenchmarkStartTask: the start command until the task's running event.
func BenchmarkStartTask(b *testing.B) {
	rt, events := benchRuntime(b)
	ctx := context.Background()
	for b.Loop() {
		id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "sleep", Argv: []string{"sleep", "60"}})
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateRunning)
		b.StopTimer()
		_ = rt.Kill(ctx, id)
		waitState(b, events, id, actors.StateKilled)
		b.StartTimer()
	}
	reportRatio(b, "start")
}

// BenchmarkKillBare: SIGKILL until reaped.
func BenchmarkKillBare(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	recordBare(b, "kill")
}

// BenchmarkKillTask: the kill command until the task's killed event.
func BenchmarkKillTask(b *testing.B) {
	rt, events := benchRuntime(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "sleep", Argv: []string{"sleep", "60"}})
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateRunning)
		b.StartTimer()
		if err := rt.Kill(ctx, id); err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateKilled)
	}
	reportRatio(b, "kill")
}

func benchRuntime(b *testing.B) (*actors.Runtime, chan actors.TaskEvent) {
	rt, err := actors.New(actors.Config{Subreaper: true})
	if err != nil {
		b.Fatal(err)
	}
	events := make(chan actors.TaskEvent, 1024)
	unsubscribe := rt.Subscribe(func(e actors.TaskEvent) { events <- e })
	b.Cleanup(func() {
		if _, err := rt.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
		unsubscribe()
	})
	return rt, events
}

func waitState(b *testing.B, events chan actors.TaskEvent, id int, state actors.State) {
	for e := range events {
		if e.ID == id && e.State == state {
			return
		}
	}
}
