package actors_test

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
)

// until reads events until task id's event satisfies done, and returns it.
// The examples use it to wait for a state; a program would do the same in
// its own loop.
func until(events <-chan actors.Event, id int, done func(actors.TaskEvent) bool) actors.TaskEvent {
	for e := range events {
		if ev, ok := e.(actors.TaskEvent); ok && ev.ID == id && done(ev) {
			return ev
		}
	}
	panic("the runtime shut down first")
}

func is(state actors.State) func(actors.TaskEvent) bool {
	return func(ev actors.TaskEvent) bool { return ev.State == state }
}

func ended(ev actors.TaskEvent) bool { return ev.State.Ended() }

// Start a task from the catalogue, wait until it ends, and read its output.
func ExampleRuntime_Start() {
	rt, err := actors.New(actors.Config{Catalogue: actors.Catalogue{
		{Key: "1", Name: "hello", Command: "echo hello from a child process"},
	}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := rt.Start(ctx, "hello") // by name or by key ("1")
	if err != nil {
		panic(err)
	}
	ev, err := rt.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Name, ev.Outcome())

	lines, err := rt.Output(ctx, id)
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l.Text)
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// hello completed (exit code 0)
	// hello from a child process
}

// Run a job and wait for its result, as with os/exec's Start and Wait; in
// between, its restart policy runs it again after each failure, up to its
// limit.
func ExampleRuntime_Wait() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := rt.StartSpec(ctx, actors.TaskSpec{
		Name:        "migrate",
		Command:     "echo migrating; exit 3",
		Restart:     actors.RestartOnFailure,
		Backoff:     actors.Backoff{Initial: 10 * time.Millisecond},
		MaxRestarts: 2,
	})
	if err != nil {
		panic(err)
	}
	ev, err := rt.Wait(ctx, id) // not at the first failure: once it has given up
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s after %d runs\n", ev.Name, ev.Outcome(), ev.Generation)
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// migrate: gave-up (exit code 3) after 3 runs
}

// Follow a task's output as it is written, as tail -f would; the channel
// closes once the task has ended and its last line is out.
func ExampleRuntime_Follow() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "build", Command: "echo compiling; echo linking; echo done"})
	if err != nil {
		panic(err)
	}
	lines, err := rt.Follow(ctx, id)
	if err != nil {
		panic(err)
	}
	for l := range lines {
		fmt.Println(l.Stream, l.Text)
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// stdout compiling
	// stdout linking
	// stdout done
}

// Kill a task that would run for a minute: SIGKILL goes to its whole
// process group at once.
func ExampleRuntime_Kill() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := rt.Events(ctx)

	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "stuck", Argv: []string{"sleep", "60"}})
	if err != nil {
		panic(err)
	}
	until(events, id, is(actors.StateRunning))
	if err := rt.Kill(ctx, id); err != nil {
		panic(err)
	}
	fmt.Println(until(events, id, ended).Outcome())

	// A command that does not fit the task's state is refused, with a reason.
	fmt.Println(rt.Kill(ctx, id))
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// killed (SIGKILL)
	// kill task 1: it has already ended (killed)
}

// Restart a running task: its process group is killed and a new process
// starts under the same ID.
func ExampleRuntime_Restart() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := rt.Events(ctx)

	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "server", Command: "exec sleep 60"})
	if err != nil {
		panic(err)
	}
	first := until(events, id, is(actors.StateRunning))
	if err := rt.Restart(ctx, id); err != nil {
		panic(err)
	}
	second := until(events, id, is(actors.StateRunning))
	fmt.Printf("task %d: generation %d, then %d; new pid: %v; restarts: %d\n",
		id, first.Generation, second.Generation, second.PID != first.PID, second.Restarts)

	// Shutdown stops what still runs: SIGTERM, and SIGKILL after the grace.
	final, err := rt.Shutdown(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(final[0].Name, final[0].Outcome())
	// Output:
	// task 1: generation 1, then 2; new pid: true; restarts: 1
	// server cancelled (SIGTERM)
}

// Follow a task's events: this one fails, is restarted once after its
// backoff, fails again and is given up.
func ExampleRuntime_Events() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel() // ends the channel and the goroutine that feeds it
	events := rt.Events(ctx)

	id, err := rt.StartSpec(ctx, actors.TaskSpec{
		Name:        "flaky",
		Command:     "exit 3",
		Restart:     actors.RestartOnFailure,
		Backoff:     actors.Backoff{Initial: 10 * time.Millisecond},
		MaxRestarts: 1,
	})
	if err != nil {
		panic(err)
	}
	for e := range events {
		ev, ok := e.(actors.TaskEvent)
		if !ok || ev.ID != id {
			continue
		}
		fmt.Println(ev.Generation, ev.State)
		if ev.State == actors.StateGaveUp {
			break
		}
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// 1 starting
	// 1 running
	// 1 failed
	// 1 backoff
	// 2 starting
	// 2 running
	// 2 failed
	// 2 gave-up
}

// Subscribe calls a function with every TaskEvent, on an actor of its own.
func ExampleRuntime_Subscribe() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	done := make(chan struct{})
	unsubscribe := rt.Subscribe(func(ev actors.TaskEvent) {
		fmt.Println(ev.ID, ev.Name, ev.State)
		if ev.State.Ended() {
			close(done)
		}
	})
	if _, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "true", Argv: []string{"true"}}); err != nil {
		panic(err)
	}
	<-done
	unsubscribe()
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// 1 true starting
	// 1 true running
	// 1 true completed
}

// watcher is an actor of the embedding program: it starts a task by sending
// Start to the runtime supervisor, and gets the task's events in its
// mailbox, with its other messages, so it needs no locks.
type watcher struct {
	runtime *actor.PID // rt.PID()
	done    chan struct{}
}

// runJob asks the watcher to start a task.
type runJob struct{ spec actors.TaskSpec }

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case runJob:
		// Request, not Send: the reply comes back to this actor.
		ctx.Request(w.runtime, actors.Start{Spec: &m.spec})
	case actors.Reply:
		fmt.Printf("watcher: started task %d (err %v)\n", m.ID, m.Err)
	case actors.TaskEvent:
		fmt.Printf("watcher: task %d %s\n", m.ID, m.State)
		if m.State.Ended() {
			close(w.done)
		}
	}
}

// An actor of the embedding program drives taskvisor by messages: Start to
// the runtime supervisor (rt.PID), a Reply back, and the task's events in
// its mailbox (SubscribePID).
func ExampleRuntime_SubscribePID() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	w := &watcher{runtime: rt.PID(), done: make(chan struct{})}
	pid := rt.System().Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return w }))
	unsubscribe := rt.SubscribePID(pid)

	rt.System().Root.Send(pid, runJob{actors.TaskSpec{Name: "job", Command: "exit 0"}})
	<-w.done
	unsubscribe()
	if err := rt.System().Root.StopFuture(pid).Wait(); err != nil {
		panic(err)
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// The Reply and the events come from different actors, so their order
	// is not fixed; the events of one task are in order.

	// Unordered output:
	// watcher: started task 1 (err <nil>)
	// watcher: task 1 starting
	// watcher: task 1 running
	// watcher: task 1 completed
}

// echo is an actor of the host program, unrelated to taskvisor.
func echo(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		ctx.Respond("echo: " + s)
	}
}

// Host taskvisor in the program's own actor system: the runtime's actors
// live beside the program's, and Shutdown leaves the system running.
func ExampleNew_hostSystem() {
	system := actors.NewSystem(nil) // or actor.NewActorSystem()
	defer system.Shutdown()
	echoPID := system.Root.Spawn(actor.PropsFromFunc(echo))
	ask := func(s string) any {
		reply, err := system.Root.RequestFuture(echoPID, s, 5*time.Second).Result()
		if err != nil {
			return err
		}
		return reply
	}

	rt, err := actors.New(actors.Config{System: system, Name: "jobs"})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := rt.Events(ctx)
	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "sleeper", Argv: []string{"sleep", "60"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(ask("while a task runs"), "/", until(events, id, is(actors.StateRunning)).Runtime)

	final, err := rt.Shutdown(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("taskvisor shut down:", final[0].Outcome())
	fmt.Println(ask("after taskvisor"))
	_, err = rt.StartSpec(ctx, actors.TaskSpec{Name: "late", Argv: []string{"true"}})
	fmt.Println(err)
	// Output:
	// echo: while a task runs / jobs
	// taskvisor shut down: cancelled (SIGTERM)
	// echo: after taskvisor
	// taskvisor runtime has stopped
}

// The zero values of a TaskSpec's policy fields are the documented defaults;
// Policy says in a few words what they add up to.
func ExampleTaskSpec_Policy() {
	fmt.Println(actors.TaskSpec{Name: "once", Command: "make"}.Policy())
	fmt.Println(actors.TaskSpec{
		Name:         "worker",
		Command:      "worker --queue jobs",
		Restart:      actors.RestartOnFailure,
		StallTimeout: 30 * time.Second,
		StallAction:  actors.StallRestart,
	}.Policy())
	// Output:
	// restart never
	// restart on-failure, at most 5 in 1m0s; stall 30s: restart
}

// Start the catalogue's autostart templates, in catalogue order (each
// process after the one before it), and list the tasks.
func ExampleRuntime_Autostart() {
	rt, err := actors.New(actors.Config{Catalogue: actors.Catalogue{
		{Name: "db", Argv: []string{"sleep", "600"}, Autostart: true},
		{Name: "tool", Command: "echo by hand only"},
		{Name: "web", Argv: []string{"sleep", "600"}, Autostart: true},
	}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ids, err := rt.Autostart(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("started", ids)
	tasks, err := rt.List(ctx)
	if err != nil {
		panic(err)
	}
	for _, t := range tasks {
		fmt.Println(t.ID, t.Name, t.PID != 0)
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// started [1 2]
	// 1 db true
	// 2 web true
}

// Follow the output of many tasks with one goroutine: each task's buffer
// tells of new lines, and Since reads them. (Follow is the simpler way for
// one task.)
func ExampleRuntime_OutputBufferOf() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "count", Command: "sleep 0.1; echo one; echo two"})
	if err != nil {
		panic(err)
	}
	buf, err := rt.OutputBufferOf(ctx, id)
	if err != nil {
		panic(err)
	}
	wake := make(chan struct{}, 1)
	stop := buf.Notify(func() {
		select {
		case wake <- struct{}{}: // never block the task's output reader
		default:
		}
	})
	defer stop()
	// Read what is there, then wait for more: lines written before
	// Notify are read by the first Since.
	var seen uint64
	for {
		var lines []actors.Line
		lines, seen, _ = buf.Since(seen)
		for _, l := range lines {
			fmt.Println(l.Text)
		}
		if seen >= 2 {
			break
		}
		<-wake
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// one
	// two
}

// A program's own detector fails a task it finds gone wrong: unlike a Kill,
// that is a failure, so the task's restart policy starts it again.
func ExampleRuntime_Fail() {
	rt, err := actors.New(actors.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := rt.Events(ctx)

	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "worker", Argv: []string{"sleep", "600"},
		Restart: actors.RestartOnFailure, Backoff: actors.Backoff{Initial: time.Millisecond}})
	if err != nil {
		panic(err)
	}
	until(events, id, is(actors.StateRunning))
	if err := rt.Fail(ctx, id, "no heartbeat"); err != nil {
		panic(err)
	}
	failed := until(events, id, is(actors.StateFailed))
	fmt.Println(failed.Message, "- final:", failed.Final)
	again := until(events, id, is(actors.StateRunning))
	fmt.Println("running again, restarts:", again.Restarts)
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// Task failed: no heartbeat - final: false
	// running again, restarts: 1
}

// Every event of a runtime, task, group and notice alike, through one
// function.
func ExampleRuntime_SubscribeAll() {
	rt, err := actors.New(actors.Config{Groups: []actors.GroupSpec{{Name: "pipeline"}}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	unsubscribe := rt.SubscribeAll(func(e actors.Event) {
		switch ev := e.(type) {
		case actors.TaskEvent:
			if ev.Final {
				fmt.Println("task", ev.Name, ev.State, "(group "+ev.Group+")")
				close(done)
			}
		case actors.GroupEvent:
			fmt.Println("group", ev.Group, ev.State)
		}
	})
	defer unsubscribe()

	if _, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "step", Command: "true", Group: "pipeline"}); err != nil {
		panic(err)
	}
	<-done
	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// task step completed (group pipeline)
}
