package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
	// Whether the test gets to its end or not: stopped, the actor kills
	// its process, whose goroutines then end (before the system shuts
	// down, a cleanup registered earlier). After the end, both are done.
	t.Cleanup(func() {
		system.Root.Stop(task)
		waitDone(t, env)
	})
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

// boom makes a task actor panic, through the test middleware.
type boom struct{}

// A task actor that panics is stopped, not restarted: its process group is
// killed, the task ends failed with the panic as the reason, and commands
// for it get an answer instead of a timeout.
func TestPanickingTaskActorEndsFailed(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(e any) bool { _, ok := e.(TaskEvent); return ok })
	rt, err := New(Config{System: system, Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	shutDownAtEnd(t, rt)
	rt.env.taskMiddleware = []actor.ReceiverMiddleware{func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(boom); ok {
				panic("boom")
			}
			next(ctx, env)
		}
	}}
	ctx := context.Background()
	id, err := rt.StartSpec(ctx, TaskSpec{Name: "sleeper", Command: "exec sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	run := probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateRunning }, 10*time.Second)
	system.Root.Send(actor.NewPID(system.Address(), "taskvisor/task-1"), boom{})
	failed := probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateFailed }, 10*time.Second)
	if failed.ID != id || failed.Reason != "task actor stopped: boom" {
		t.Errorf("failed event: %+v", failed)
	}
	if err := rt.Cancel(ctx, id); !errors.Is(err, ErrWrongState) {
		t.Errorf("cancel of a crashed task: %v", err)
	}
	final, err := rt.Shutdown(ctx)
	if err != nil || len(final) != 1 || final[0].State != StateFailed {
		t.Fatalf("shutdown: %+v, %v", final, err)
	}
	if err := unix.Kill(-run.PID, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("the crashed task's process group %d still exists: %v", run.PID, err)
	}
}

// A group actor that panics is stopped with its task actors, which kill
// their process groups; its tasks end failed and the shutdown completes.
func TestPanickingGroupActorEndsItsTasksFailed(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(e any) bool { _, ok := e.(TaskEvent); return ok })
	rt, err := New(Config{System: system, Subreaper: true, Groups: []GroupSpec{{Name: "g"}},
		groupMiddleware: []actor.ReceiverMiddleware{func(next actor.ReceiverFunc) actor.ReceiverFunc {
			return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
				if _, ok := env.Message.(boom); ok {
					panic("group boom")
				}
				next(ctx, env)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	shutDownAtEnd(t, rt)
	ctx := context.Background()
	id, err := rt.StartSpec(ctx, TaskSpec{Name: "sleeper", Group: "g", Command: "exec sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	run := probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateRunning }, 10*time.Second)
	system.Root.Send(actor.NewPID(system.Address(), "taskvisor/group-g"), boom{})
	failed := probe.ExpectEvent(p, func(e TaskEvent) bool { return e.State == StateFailed }, 10*time.Second)
	if failed.ID != id || failed.Reason != "the actor of group g stopped" {
		t.Errorf("failed event: %s (%s)", failed, failed.Reason)
	}
	if err := rt.Kill(ctx, id); !errors.Is(err, ErrWrongState) {
		t.Errorf("kill of a task of a crashed group: %v", err)
	}
	final, err := rt.Shutdown(ctx)
	if err != nil || len(final) != 1 || final[0].State != StateFailed {
		t.Fatalf("shutdown: %+v, %v", final, err)
	}
	if err := unix.Kill(-run.PID, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("the task's process group %d still exists: %v", run.PID, err)
	}
}

// A request ends with its context, cancelled or past its deadline, while no
// reply comes; the process that waited for the reply is removed either way.
func TestRequestEndsWithItsContext(t *testing.T) {
	system := probe.NewSystem(t)
	// The group loses every Kill routed to it: no reply ever comes.
	rt, err := New(Config{System: system, Subreaper: true, Groups: []GroupSpec{{Name: "g"}},
		groupMiddleware: []actor.ReceiverMiddleware{func(next actor.ReceiverFunc) actor.ReceiverFunc {
			return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
				if m, ok := env.Message.(toGroup); ok {
					if _, ok := m.msg.(Kill); ok {
						return
					}
				}
				next(ctx, env)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := rt.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	bg, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	events := rt.Events(bg)
	id, err := rt.StartSpec(bg, TaskSpec{Name: "sleeper", Group: "g", Command: "exec sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	for e := range events {
		if ev, ok := e.(TaskEvent); ok && ev.State == StateRunning {
			break
		}
	}
	processes := func() int {
		n := 0
		for _, m := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
			n += m.Count()
		}
		return n
	}
	before := processes()

	ctx, cancel := context.WithCancel(bg)
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := rt.Kill(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("kill with a context cancelled while waiting: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := rt.Kill(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("kill past its context's deadline: %v, want context.DeadlineExceeded", err)
	}
	if err := rt.Kill(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("kill with a context already past its deadline: %v, want context.DeadlineExceeded", err)
	}
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	if _, err := rt.List(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("list with a cancelled context: %v, want context.Canceled", err)
	}
	if after := processes(); after != before {
		t.Errorf("%d processes in the registry after the requests, %d before", after, before)
	}
	if _, err := rt.List(bg); err != nil {
		t.Errorf("list after the abandoned requests: %v", err)
	}
}

// nestedGroups returns n groups, each the parent of the next: g0 > g1 > ...
func nestedGroups(n int) []GroupSpec {
	groups := make([]GroupSpec, n)
	for i := range groups {
		groups[i].Name = fmt.Sprintf("g%d", i)
		if i > 0 {
			groups[i].Parent = groups[i-1].Name
		}
	}
	return groups
}

// A quit while a start is still on its way down a deep tree starts no
// process: the task ends cancelled. The deepest group is held until its
// parent has its shutdown order, so that the start reaches it after the
// shutdown began and before the shutdown's order to stop does (the order
// of its mailbox); before, the process started then and was stopped.
func TestShutdownStartsNoPendingStart(t *testing.T) {
	const depth = 1000
	last, parent := fmt.Sprintf("/group-g%d", depth-1), fmt.Sprintf("/group-g%d", depth-2)
	release := make(chan struct{})
	var once sync.Once
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(e any) bool { _, ok := e.(TaskEvent); return ok })
	rt, err := New(Config{System: system, Subreaper: true, Groups: nestedGroups(depth),
		groupMiddleware: []actor.ReceiverMiddleware{func(next actor.ReceiverFunc) actor.ReceiverFunc {
			return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
				switch m := env.Message.(type) {
				case toGroup:
					if _, ok := m.msg.(spawnTask); ok && strings.HasSuffix(ctx.Self().Id, last) {
						<-release
					}
				case shutdownGroup:
					if strings.HasSuffix(ctx.Self().Id, parent) {
						once.Do(func() { close(release) })
					}
				}
				next(ctx, env)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	shutDownAtEnd(t, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := rt.StartSpec(ctx, TaskSpec{Name: "deep", Group: fmt.Sprintf("g%d", depth-1), Command: "exec sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	final, err := rt.Shutdown(ctx)
	if err != nil || len(final) != 1 {
		t.Fatalf("shutdown: %+v, %v", final, err)
	}
	if f := final[0]; f.ID != id || f.State != StateCancelled || f.PID != 0 || f.Reason != "taskvisor is shutting down" {
		t.Errorf("final event: %s pid %d (%s), want cancelled before a start, because of the shutdown", f, f.PID, f.Reason)
	}
	p.FishFor(func(e any) bool {
		ev := e.(TaskEvent)
		if ev.PID != 0 {
			t.Errorf("a process started after the shutdown began: %s pid %d", ev, ev.PID)
		}
		return ev.State.Ended()
	}, wdWait)
}
