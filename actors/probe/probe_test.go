package probe_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/actors/probe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait is the timeout of expectations that should pass: generous, since a
// passing expectation returns as soon as its message arrives.
const wait = 5 * time.Second

// silence is how long ExpectNoMsg and expected timeouts wait: short, since
// they always take all of it.
const silence = 30 * time.Millisecond

// echoProps is the tiny actor under test: it responds to every user message
// that has a sender with the message itself.
var echoProps = actor.PropsFromFunc(func(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		if ctx.Sender() != nil {
			ctx.Respond(ctx.Message())
		}
	}
})

// askerProps asks its sender a question on "start" and says "thanks" to
// whoever answers.
var askerProps = actor.PropsFromFunc(func(ctx actor.Context) {
	switch ctx.Message() {
	case "start":
		ctx.Request(ctx.Sender(), "question")
	case "answer":
		ctx.Respond("thanks")
	}
})

// burst asks chatterProps to send the ints 0..n-1 to to, then stop itself.
type burst struct {
	to *actor.PID
	n  int
}

var chatterProps = actor.PropsFromFunc(func(ctx actor.Context) {
	if b, ok := ctx.Message().(burst); ok {
		for i := range b.n {
			ctx.Send(b.to, i)
		}
		ctx.Stop(ctx.Self())
	}
})

type jobDone struct{ job string }
type otherEvent struct{}

func TestExpectMsgGetsTheReply(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	echo := system.Root.Spawn(echoProps)

	p.Request(echo, "hello")
	if got := probe.ExpectMsg[string](p, wait); got != "hello" {
		t.Fatalf("ExpectMsg = %q, want hello", got)
	}
	// protoactor's ctx.Respond sends without a sender.
	if p.LastSender() != nil {
		t.Fatalf("LastSender = %v, want nil after a Respond", p.LastSender())
	}

	p.Send(echo, 42)
	if got := probe.ExpectMsg[int](p, wait); got != 42 {
		t.Fatalf("ExpectMsg = %d, want 42", got)
	}
	// An interface type parameter accepts any message implementing it.
	p.Send(echo, fmt.Errorf("boom"))
	if err := probe.ExpectMsg[error](p, wait); err.Error() != "boom" {
		t.Fatalf("ExpectMsg[error] = %v, want boom", err)
	}
}

func TestReplyAnswersTheLastSender(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	asker := system.Root.Spawn(askerProps)

	p.Send(asker, "start")
	if got := probe.ExpectMsg[string](p, wait); got != "question" {
		t.Fatalf("ExpectMsg = %q, want question", got)
	}
	if !asker.Equal(p.LastSender()) {
		t.Fatalf("LastSender = %v, want the asker %v", p.LastSender(), asker)
	}
	p.Reply("answer")
	if got := probe.ExpectMsg[string](p, wait); got != "thanks" {
		t.Fatalf("ExpectMsg = %q, want thanks", got)
	}
}

func TestRequestToAMissingActorGetsADeadLetterResponse(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)

	p.Request(system.NewLocalPID("nobody"), "hello")
	probe.ExpectMsg[*actor.DeadLetterResponse](p, wait)
}

func TestFishForSkips(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	echo := system.Root.Spawn(echoProps)

	for _, m := range []any{"a", 1, "b", 2, "c"} {
		p.Request(echo, m)
	}
	if got := p.FishFor(func(m any) bool { return m == "b" }, wait); got != "b" {
		t.Fatalf("FishFor = %v, want b", got)
	}
	if got := probe.FishForMsg(p, func(n int) bool { return n > 1 }, wait); got != 2 {
		t.Fatalf("FishForMsg = %d, want 2", got)
	}
	// nil match: the first T
	if got := probe.FishForMsg[string](p, nil, wait); got != "c" {
		t.Fatalf("FishForMsg = %q, want c", got)
	}
	// the skipped messages were dropped
	p.ExpectNoMsg(silence)
}

func TestExpectNoMsgPassesWithSilence(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	system.Root.Spawn(echoProps)

	start := time.Now()
	p.ExpectNoMsg(silence)
	if elapsed := time.Since(start); elapsed < silence {
		t.Fatalf("ExpectNoMsg returned after %v, before its %v", elapsed, silence)
	}
}

func TestLifecycleMessagesAreNotRecorded(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	// The probe has received *actor.Started by now: its first user message
	// is behind it in the mailbox.
	system.Root.Send(p.PID(), "first")
	if got := probe.ExpectMsg[string](p, wait); got != "first" {
		t.Fatalf("ExpectMsg = %q, want first", got)
	}
	if p.LastSender() != nil {
		t.Fatalf("LastSender = %v, want nil for Root.Send", p.LastSender())
	}
}

func TestExpectTerminatedSeesAStoppedActor(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	echo := system.Root.Spawn(echoProps)

	p.Watch(echo)
	system.Root.Stop(echo)
	term := p.ExpectTerminated(echo, wait)
	if term.Why != actor.TerminatedReason_Stopped {
		t.Fatalf("Terminated.Why = %v, want Stopped", term.Why)
	}
}

func TestExpectTerminatedOfAMissingActor(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	ghost := system.NewLocalPID("ghost")

	p.Watch(ghost)
	if term := p.ExpectTerminated(ghost, wait); term.Why != actor.TerminatedReason_NotFound {
		t.Fatalf("Terminated.Why = %v, want NotFound", term.Why)
	}
}

// ExpectTerminated must find the Terminated behind buffered messages and
// leave those in place.
func TestExpectTerminatedKeepsOtherMessages(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	echo := system.Root.Spawn(echoProps)
	other := system.Root.Spawn(echoProps)

	system.Root.Send(p.PID(), "one")
	system.Root.Send(p.PID(), "two")
	// Watch goes through the probe's mailbox behind "one" and "two": when
	// it returns, both are buffered ahead of any Terminated.
	p.Watch(other)
	p.Watch(echo)
	system.Root.Stop(other)
	p.ExpectTerminated(other, wait)
	system.Root.Stop(echo)
	p.ExpectTerminated(echo, wait)

	for _, want := range []string{"one", "two"} {
		if got := probe.ExpectMsg[string](p, wait); got != want {
			t.Fatalf("ExpectMsg = %q, want %q", got, want)
		}
	}
	p.ExpectNoMsg(silence)
}

// An actor that sends and then stops: its Terminated, a system message, may
// overtake its last messages; the test must pass in either order.
func TestExpectTerminatedOfAChattyActor(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	chatter := system.Root.Spawn(chatterProps)
	const n = 50

	p.Watch(chatter)
	system.Root.Send(chatter, burst{to: p.PID(), n: n})
	p.ExpectTerminated(chatter, wait)
	for i := range n {
		if got := probe.ExpectMsg[int](p, wait); got != i {
			t.Fatalf("message %d: ExpectMsg = %d", i, got)
		}
	}
	p.ExpectNoMsg(silence)
}

func TestSubscribeEventsFilters(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(func(event any) bool {
		_, ok := event.(*jobDone)
		return ok
	})

	system.EventStream.Publish(&otherEvent{})
	system.EventStream.Publish(&jobDone{job: "a"})
	system.EventStream.Publish(&jobDone{job: "b"})
	got := probe.ExpectEvent(p, func(e *jobDone) bool { return e.job == "b" }, wait)
	if got.job != "b" {
		t.Fatalf("ExpectEvent = %+v, want job b", got)
	}
	// "a" was skipped; otherEvent was never forwarded.
	p.ExpectNoMsg(silence)
}

func TestSubscribeEventsNilFilterForwardsAll(t *testing.T) {
	system := probe.NewSystem(t)
	p := probe.New(t, system)
	p.SubscribeEvents(nil)

	system.EventStream.Publish(&otherEvent{})
	system.EventStream.Publish(actor.PoisonPill{}) // recorded, not obeyed
	system.EventStream.Publish(&jobDone{job: "a"})
	probe.ExpectMsg[*otherEvent](p, wait)
	probe.ExpectMsg[actor.PoisonPill](p, wait)
	probe.ExpectEvent[*jobDone](p, nil, wait)
	if p.LastSender() != nil {
		t.Fatalf("LastSender = %v, want nil for an event", p.LastSender())
	}
}

// Events published after the probe is gone are harmless: no panic, no
// endless dead-letter loop, nothing left running.
func TestEventsAfterCleanupAreHarmless(t *testing.T) {
	system := probe.NewSystem(t)
	t.Run("probe", func(t *testing.T) {
		p := probe.New(t, system)
		p.SubscribeEvents(nil)
		system.EventStream.Publish(&otherEvent{})
		probe.ExpectEvent[*otherEvent](p, nil, wait)
	})
	system.EventStream.Publish(&otherEvent{})

	// A probe stopped by someone else, while still subscribed.
	p := probe.New(t, system)
	p.SubscribeEvents(nil)
	watcher := probe.New(t, system)
	watcher.Watch(p.PID())
	system.Root.Stop(p.PID())
	watcher.ExpectTerminated(p.PID(), wait)
	system.EventStream.Publish(&otherEvent{})
}

// After the cleanups of NewSystem and New, nothing of the test is left
// running, even after dead letters (which start the throttle's goroutine).
func TestCleanupLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("work", func(t *testing.T) {
		system := probe.NewSystem(t)
		p := probe.New(t, system)
		p.SubscribeEvents(nil)
		echo := system.Root.Spawn(echoProps)
		p.Request(echo, "hello")
		probe.FishForMsg(p, func(s string) bool { return s == "hello" }, wait)
		for range 10 {
			p.Request(system.NewLocalPID("nobody"), "dead letter")
		}
		probe.ExpectEvent[*actor.DeadLetterEvent](p, nil, wait)
	})
	goleak.VerifyNone(t, before)
}

// fakeTB records failures instead of failing the test. Like the real
// testing.T, Fatalf ends the calling goroutine; run each expectation with
// run. Everything else (Helper, Cleanup, Logf) goes to the real test.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (f *fakeTB) record(s string) {
	f.mu.Lock()
	f.failures = append(f.failures, s)
	f.mu.Unlock()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) {
	f.record(fmt.Sprint(args...))
	runtime.Goexit()
}

func (f *fakeTB) FailNow() {
	f.record("FailNow")
	runtime.Goexit()
}

func (f *fakeTB) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }
func (f *fakeTB) Error(args ...any)                 { f.record(fmt.Sprint(args...)) }
func (f *fakeTB) Fail()                             { f.record("Fail") }

// run runs fn in its own goroutine, as Fatalf's Goexit requires, and
// returns the failures it recorded and whether fn ran to its end.
func (f *fakeTB) run(fn func()) (failures []string, completed bool) {
	f.mu.Lock()
	f.failures = nil
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
		completed = true
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures, completed
}

// expectFailure runs fn against f and checks that it failed once, stopped
// at the failure, and said each of wants.
func expectFailure(t *testing.T, f *fakeTB, fn func(), wants ...string) {
	t.Helper()
	failures, completed := f.run(fn)
	if completed {
		t.Errorf("the expectation went on after failing")
	}
	if len(failures) != 1 {
		t.Fatalf("failures = %q, want exactly one", failures)
	}
	for _, want := range wants {
		if !strings.Contains(failures[0], want) {
			t.Errorf("failure %q does not say %q", failures[0], want)
		}
	}
	t.Logf("failure message: %s", failures[0])
}

func TestFailures(t *testing.T) {
	system := probe.NewSystem(t)
	f := &fakeTB{TB: t}
	p := probe.New(f, system)
	echo := system.Root.Spawn(echoProps)

	t.Run("harness passes a passing expectation", func(t *testing.T) {
		p.Request(echo, "hello")
		failures, completed := f.run(func() { probe.ExpectMsg[string](p, wait) })
		if len(failures) != 0 || !completed {
			t.Fatalf("failures = %q, completed = %v; want none, true", failures, completed)
		}
	})
	t.Run("ExpectMsg of the wrong type", func(t *testing.T) {
		p.Request(echo, "hello")
		expectFailure(t, f, func() { probe.ExpectMsg[int](p, wait) },
			"ExpectMsg[int]", "got string hello")
	})
	t.Run("ExpectMsg timeout", func(t *testing.T) {
		expectFailure(t, f, func() { probe.ExpectMsg[*jobDone](p, silence) },
			"ExpectMsg[*probe_test.jobDone]", "no message within "+silence.String())
	})
	// Watch(echo) goes through the probe's mailbox: when it returns, the
	// messages sent to the probe before it are buffered. The subtests use
	// it as a barrier so that a short timeout cannot beat the messages.
	barrier := func() { p.Watch(echo) }
	t.Run("FishFor timeout lists what it skipped", func(t *testing.T) {
		system.Root.Send(p.PID(), "a")
		system.Root.Send(p.PID(), &jobDone{job: "x"})
		barrier()
		expectFailure(t, f, func() { p.FishFor(func(any) bool { return false }, silence) },
			"FishFor: no matching message within", "skipped 2:", "1. string a", "2. *probe_test.jobDone &{job:x}")
	})
	t.Run("FishFor lists a bounded number", func(t *testing.T) {
		for i := range 15 {
			system.Root.Send(p.PID(), i)
		}
		barrier()
		expectFailure(t, f, func() { probe.FishForMsg(p, func(n int) bool { return n < 0 }, silence) },
			"FishForMsg[int]:", "skipped 15:", "10. int 9", "... and 5 more")
	})
	t.Run("ExpectNoMsg gets a message", func(t *testing.T) {
		p.Request(echo, "noise")
		expectFailure(t, f, func() { p.ExpectNoMsg(wait) },
			"ExpectNoMsg(5s): got string noise")
	})
	t.Run("ExpectTerminated of a live actor", func(t *testing.T) {
		system.Root.Send(p.PID(), "pending")
		barrier()
		expectFailure(t, f, func() { p.ExpectTerminated(echo, silence) },
			"ExpectTerminated(", echo.Id, "no Terminated within", "buffered: 1:", "string pending")
		probe.ExpectMsg[string](p, wait) // ExpectTerminated left it buffered
	})
	t.Run("ExpectEvent timeout", func(t *testing.T) {
		p.SubscribeEvents(func(e any) bool { _, ok := e.(*otherEvent); return ok })
		system.EventStream.Publish(&otherEvent{}) // forwarded on this goroutine
		barrier()
		expectFailure(t, f, func() { probe.ExpectEvent[*jobDone](p, nil, silence) },
			"ExpectEvent[*probe_test.jobDone]", "skipped 1:", "*probe_test.otherEvent")
	})
	t.Run("Reply without a sender", func(t *testing.T) {
		system.Root.Send(p.PID(), "anonymous")
		expectFailure(t, f, func() {
			probe.ExpectMsg[string](p, wait)
			p.Reply("back")
		}, "Reply(string back)", "no sender")
	})
}
