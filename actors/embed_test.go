package actors_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// counter is a host actor unrelated to taskvisor: it answers each int with
// the running total.
type counter struct{ n int }

func (c *counter) Receive(ctx actor.Context) {
	if d, ok := ctx.Message().(int); ok {
		c.n += d
		ctx.Respond(c.n)
	}
}

// hostPing asks the counter for its next total, as the host program's own
// work would.
func hostPing(system *actor.ActorSystem, pid *actor.PID) (int, error) {
	res, err := system.Root.RequestFuture(pid, 1, wait).Result()
	if err != nil {
		return 0, err
	}
	n, ok := res.(int)
	if !ok {
		return 0, errors.New("not an int")
	}
	return n, nil
}

// The embedding program's own actors keep working while taskvisor's tasks
// beside them are killed and restarted, by commands and by supervision;
// afterwards, shutting taskvisor down leaves the host's actor system
// running: its actors answer, its EventStream delivers, and a new runtime
// can take the old one's name.
func TestHostActorsKeepWorkingBesideTaskvisor(t *testing.T) {
	system := actors.NewSystem(nil) // the host's, not the probe's: shut down by the test
	t.Cleanup(system.Shutdown)
	count := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &counter{} }))

	rt, err := actors.New(actors.Config{System: system, Name: "embedded", Subreaper: true,
		Groups: []actors.GroupSpec{{Name: "pair", Strategy: actors.OneForAll, MaxRestarts: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rt.Shutdown(context.Background()) }) // if the test fails early
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()

	// A host actor that follows the tasks through its mailbox.
	watch := probe.New(t, system)
	defer rt.SubscribePID(watch.PID())()

	// The host's own work: a steady stream of requests to its counter, each
	// of which must be answered, in order, while the tasks are killed.
	var pings, slowest atomic.Int64 // slowest: the longest round trip, in ns
	pingErr := make(chan error, 1)
	stopPinging := make(chan struct{})
	var pinging sync.WaitGroup
	var stopOnce sync.Once
	endPinging := func() { stopOnce.Do(func() { close(stopPinging) }); pinging.Wait() }
	t.Cleanup(endPinging) // on an early failure too
	pinging.Add(1)
	go func() {
		defer pinging.Done()
		for last := 0; ; {
			select {
			case <-stopPinging:
				pingErr <- nil
				return
			default:
			}
			began := time.Now()
			n, err := hostPing(system, count)
			if d := int64(time.Since(began)); d > slowest.Load() {
				slowest.Store(d)
			}
			if err == nil && n != last+1 {
				err = errors.New("the counter skipped")
			}
			if err != nil {
				pingErr <- err
				return
			}
			last = n
			pings.Add(1)
		}
	}()

	sleeper := func(name, group string) actors.TaskSpec {
		return actors.TaskSpec{Name: name, Group: group, Command: "exec sleep 60",
			Restart: actors.RestartOnFailure, MaxRestarts: -1, Backoff: actors.Backoff{Initial: time.Millisecond}}
	}
	solo, err := rt.StartSpec(ctx, sleeper("solo", ""))
	if err != nil {
		t.Fatal(err)
	}
	a, err := rt.StartSpec(ctx, sleeper("a", "pair"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := rt.StartSpec(ctx, sleeper("b", "pair"))
	if err != nil {
		t.Fatal(err)
	}
	// running waits until each task has run in its generation, whatever the
	// order of their events.
	running := func(generations map[int]int) map[int]actors.TaskEvent {
		seen := map[int]actors.TaskEvent{}
		for len(seen) < len(generations) {
			ev := probe.FishForMsg(watch, func(ev actors.TaskEvent) bool {
				return ev.State == actors.StateRunning && generations[ev.ID] == ev.Generation
			}, wait)
			seen[ev.ID] = ev
		}
		return seen
	}
	bev := running(map[int]int{solo: 1, a: 1, b: 1})[b]

	const rounds = 10
	for i := 1; i <= rounds; i++ {
		// By command: Kill, then Restart the killed task.
		if err := rt.Kill(ctx, solo); err != nil {
			t.Fatalf("round %d: kill: %v", i, err)
		}
		probe.FishForMsg(watch, func(ev actors.TaskEvent) bool {
			return ev.ID == solo && ev.State == actors.StateKilled
		}, wait)
		if err := rt.Restart(ctx, solo); err != nil {
			t.Fatalf("round %d: restart: %v", i, err)
		}
		running(map[int]int{solo: i + 1})

		// By supervision: b dies of a signal nobody asked for; its group
		// (one-for-all) restarts a and b.
		if err := syscall.Kill(bev.PID, syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: kill b's process %d: %v", i, bev.PID, err)
		}
		// The group says it has restarted them once both run.
		bev = running(map[int]int{a: i + 1, b: i + 1})[b]
		probe.FishForMsg(watch, func(ev actors.GroupEvent) bool {
			return ev.Group == "pair" && ev.State == actors.GroupRunning && ev.Restarts == i
		}, wait)
	}
	endPinging()
	if err := <-pingErr; err != nil {
		t.Fatalf("the host's counter failed while tasks were killed: %v", err)
	}
	if pings.Load() == 0 {
		t.Fatal("the host's counter answered no request during the rounds")
	}
	t.Logf("%d rounds of kill and restart; the host's counter answered %d requests meanwhile, the slowest in %v",
		rounds, pings.Load(), time.Duration(slowest.Load()))

	final, err := rt.Shutdown(ctx)
	if err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if len(final) != 3 {
		t.Errorf("shutdown returned %d tasks, want 3", len(final))
	}
	if left := childProcesses(); len(left) > 0 {
		t.Errorf("processes left after taskvisor's shutdown: %v", left)
	}

	// The host system runs on: its actors answer ...
	before := pings.Load()
	if n, err := hostPing(system, count); err != nil || n != int(before)+1 {
		t.Fatalf("after taskvisor's shutdown the host's counter answered %d, %v; want %d", n, err, before+1)
	}
	// ... its EventStream delivers ...
	type hostNews struct{ text string }
	watch.SubscribeEvents(func(e any) bool { _, ok := e.(hostNews); return ok })
	system.EventStream.Publish(hostNews{"still here"})
	if got := probe.ExpectEvent(watch, func(hostNews) bool { return true }, wait); got.text != "still here" {
		t.Errorf("host event %+v", got)
	}
	// ... and the name is free for a new runtime in the same system.
	rt2, err := actors.New(actors.Config{System: system, Name: "embedded"})
	if err != nil {
		t.Fatalf("a second runtime of the same name: %v", err)
	}
	events := rt2.Events(ctx)
	id, err := rt2.StartSpec(ctx, actors.TaskSpec{Name: "again", Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if ev := until(events, id, ended); ev.State != actors.StateCompleted {
		t.Errorf("the second runtime's task ended %s", ev.Outcome())
	}
	if _, err := rt2.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if _, err := hostPing(system, count); err != nil {
		t.Fatalf("after the second shutdown the host's counter failed: %v", err)
	}
}
