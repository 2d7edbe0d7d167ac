package probe_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors/probe"
)

// greeter is the actor under test: it answers a greeting and stops on "bye".
type greeter struct{}

func (greeter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case string:
		if msg == "bye" {
			ctx.Stop(ctx.Self())
			return
		}
		ctx.Respond("hello, " + msg)
	}
}

// testGreeter is what a test function looks like: func TestGreeter(t *testing.T).
func testGreeter(t testing.TB) {
	system := probe.NewSystem(t) // quiet; shut down at cleanup
	p := probe.New(t, system)    // stopped at cleanup
	g := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return greeter{} }))

	p.Request(g, "probe") // the probe is the sender: the response comes back to it
	fmt.Println(probe.ExpectMsg[string](p, time.Second))

	p.ExpectNoMsg(10 * time.Millisecond) // nothing else

	p.Watch(g)
	p.Send(g, "bye")
	term := p.ExpectTerminated(g, time.Second)
	fmt.Println("terminated:", term.Why)
}

func Example() {
	t := &exampleT{}
	defer t.cleanup()
	testGreeter(t)
	// Output:
	// hello, probe
	// terminated: Stopped
}

// exampleT stands in for the *testing.T an Example does not have.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (*exampleT) Helper() {}

func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (*exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
