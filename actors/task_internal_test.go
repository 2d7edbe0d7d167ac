package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// Messages about an older process generation change nothing.
func TestStaleGenerationMessagesAreDropped(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(e any) bool { _, ok := e.(TaskEvent); return ok })
	env := &runtimeEnv{clock: newRealClock(system)}
	spec := TaskSpec{Name: "sleeper", Command: "exec sleep 60"}
	task := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newTaskActor(env, 1, spec, proc.NewOutput(10))
	}))
	run := probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateRunning }, 10*time.Second)

	system.Root.Send(task, processExited{gen: run.Generation - 1, exit: proc.Exit{Code: 0}})
	system.Root.Send(task, notified{gen: run.Generation + 7, msg: notify.Message{HasStatus: true, Status: "stale"}})
	system.Root.Send(task, stopDeadline{gen: run.Generation - 1})
	p.ExpectNoMsg(200 * time.Millisecond)

	p.Request(task, Kill{ID: 1})
	if r := probe.FishForMsg(p, func(Reply) bool { return true }, 10*time.Second); r.Err != nil {
		t.Fatalf("kill: %v", r.Err)
	}
	probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateKilled }, 10*time.Second)
	p.Watch(task)
	system.Root.Stop(task)
	p.ExpectTerminated(task, 10*time.Second)
	waitDone(t, env)
}

func waitDone(t *testing.T, env *runtimeEnv) {
	done := make(chan struct{})
	go func() { env.procs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("process goroutines did not end")
	}
}
