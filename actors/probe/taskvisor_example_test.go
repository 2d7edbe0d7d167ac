package probe_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// deploy asks the deployer to deploy a version.
type deploy struct{ version string }

// deployer is an actor of a program that embeds taskvisor, and the actor
// under test: it runs each deployment as a taskvisor task and restarts it
// when it fails. It knows the runtime only by its PID (rt.PID() in the
// program), so a test can give it a probe instead. In the program, its
// TaskEvents come from rt.SubscribePID(its PID).
type deployer struct {
	runtime *actor.PID
	id      int // the task of the current deployment; 0 before the first
}

func (d *deployer) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case deploy:
		spec := actors.TaskSpec{Name: "deploy", Argv: []string{"./deploy.sh", m.version}}
		// Request, not Send: the runtime answers the sender.
		ctx.Request(d.runtime, actors.Start{Spec: &spec})
	case actors.Reply: // to Start and to Restart
		if m.Err == nil {
			d.id = m.ID
		}
	case actors.TaskEvent:
		if m.ID == d.id && m.State == actors.StateFailed {
			ctx.Request(d.runtime, actors.Restart{ID: m.ID})
		}
	}
}

// testDeployer is a test function, func TestDeployer(t *testing.T): a probe
// stands in for the runtime supervisor, so no process is started.
func testDeployer(t testing.TB) {
	system := probe.NewSystem(t)
	runtime := probe.New(t, system)
	d := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &deployer{runtime: runtime.PID()}
	}))

	system.Root.Send(d, deploy{version: "v2"})
	start := probe.ExpectMsg[actors.Start](runtime, time.Second)
	fmt.Println("runtime got Start:", start.Spec.Name, start.Spec.Argv)
	runtime.Reply(actors.Reply{ID: 7}) // to the deployer, the Start's sender

	// Events as rt.SubscribePID would deliver them: another task's failure
	// is none of the deployer's business, its own is.
	system.Root.Send(d, actors.TaskEvent{ID: 8, State: actors.StateFailed})
	system.Root.Send(d, actors.TaskEvent{ID: 7, State: actors.StateFailed})
	// The deployer handles its messages in order: had it restarted task 8,
	// that Restart would come first.
	restart := probe.ExpectMsg[actors.Restart](runtime, time.Second)
	fmt.Printf("runtime got Restart{ID: %d}\n", restart.ID)
	runtime.Reply(actors.Reply{ID: 7})
	runtime.ExpectNoMsg(10 * time.Millisecond)
}

// A probe stands in for taskvisor's runtime supervisor: the actor under test
// is given the probe's PID, the probe takes the commands it sends with
// ExpectMsg and answers them with Reply, and the test feeds the actor
// TaskEvents of its choosing.
func Example_taskvisorCommands() {
	t := &exampleT{}
	defer t.cleanup()
	testDeployer(t)
	// Output:
	// runtime got Start: deploy [./deploy.sh v2]
	// runtime got Restart{ID: 7}
}

// testRuntimeEvents is a test function with a real runtime in the test's
// actor system, a probe subscribed to its TaskEvents, and a manual clock:
// the backoff before the restart passes when the test says so, not in real
// time.
func testRuntimeEvents(t testing.TB) {
	system := probe.NewSystem(t)
	clock := probe.NewClock(system)
	events := probe.New(t, system)
	events.SubscribeEvents(func(e any) bool { _, ok := e.(actors.TaskEvent); return ok })
	rt, err := actors.New(actors.Config{System: system, Clock: clock})
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	defer func() { // before the probe's cleanup: no process outlives the test
		if _, err := rt.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()

	id, err := rt.StartSpec(context.Background(), actors.TaskSpec{
		Name: "flaky", Command: "exit 3",
		Restart: actors.RestartOnFailure, MaxRestarts: 1,
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	in := func(state actors.State) func(actors.TaskEvent) bool {
		return func(ev actors.TaskEvent) bool { return ev.ID == id && ev.State == state }
	}
	ev := probe.ExpectEvent(events, in(actors.StateFailed), 10*time.Second)
	fmt.Println(ev.Outcome())
	ev = probe.ExpectEvent(events, in(actors.StateBackoff), 10*time.Second)
	fmt.Println("backoff:", ev.Deadline.Sub(ev.Time))

	if !clock.WaitFor(500*time.Millisecond, 10*time.Second) { // the backoff's timer is armed
		t.Fatalf("no timer armed for the restart")
	}
	clock.Advance(500 * time.Millisecond)
	ev = probe.ExpectEvent(events, in(actors.StateGaveUp), 10*time.Second)
	fmt.Println(ev.Outcome(), "after", ev.Restarts, "restart")
}

// A real runtime in the test's actor system: the probe receives its
// TaskEvents (ExpectEvent), and probe.Clock stands in for the wall clock
// (Config.Clock), so that a backoff or a watchdog deadline passes at once.
func Example_taskvisorEvents() {
	t := &exampleT{}
	defer t.cleanup()
	testRuntimeEvents(t)
	// Output:
	// failed (exit code 3)
	// backoff: 500ms
	// gave-up (exit code 3) after 1 restart
}
