// Package probe is a test probe for actor-level tests, in the manner of
// Akka's TestProbe: an actor that records what it receives so that a test
// can assert on it, with a deadline, from the test goroutine.
//
// The protoactor-go version taskvisor is built on has no testkit; this is ours.
//
// A typical test:
//
//	system := probe.NewSystem(t)          // quiet, shut down at cleanup
//	p := probe.New(t, system)             // stopped at cleanup
//	echo := system.Root.Spawn(echoProps)
//
//	p.Request(echo, "hello")              // the probe is the sender
//	reply := probe.ExpectMsg[string](p, time.Second)
//
//	p.Watch(echo)
//	system.Root.Stop(echo)
//	p.ExpectTerminated(echo, time.Second)
//
// # What the probe records
//
// Every user message the probe actor receives, and every *actor.Terminated
// of a watched actor, is appended to an unbounded buffer; the probe's
// Receive never blocks. Lifecycle messages (*actor.Started,
// *actor.Stopping, *actor.Stopped, *actor.Restarting) are not recorded.
// Events of the system's EventStream are recorded only after
// [Probe.SubscribeEvents].
//
// # Expectations
//
// [ExpectMsg], [Probe.FishFor], [FishForMsg], [ExpectEvent] and
// [Probe.ExpectNoMsg] take messages from the front of the buffer, in
// arrival order. [Probe.ExpectTerminated] is the exception: protoactor
// delivers system messages ahead of queued user messages, so a Terminated
// may arrive before the last messages the dead actor sent. ExpectTerminated
// therefore picks the Terminated out of the buffer wherever it is and
// leaves the other messages in place for later expectations.
//
// Every expectation takes its timeout as an argument; the probe never
// sleeps on its own. A failed expectation calls t.Fatalf with the type and
// value of what arrived instead, so it must be called from the test
// goroutine, one expectation at a time.
//
// # Testing an actor that uses taskvisor
//
// An actor of a program that embeds taskvisor sends commands (actors.Start,
// actors.Cancel, actors.Restart ...) to the runtime supervisor, whose PID it
// is given (Runtime.PID), and receives TaskEvents in its mailbox
// (Runtime.SubscribePID). Two ways to test it:
//
//   - A probe stands in for the runtime supervisor. Give the actor under
//     test the probe's PID, take each command it sends with ExpectMsg
//     (ExpectMsg[actors.Start]) and answer with [Probe.Reply]
//     (actors.Reply{ID: 7}); then send the actor the actors.TaskEvent values
//     the case needs (a failure, a gave-up) and expect its next command. No
//     process runs and no time passes. See Example_taskvisorCommands.
//   - A real runtime in the test's system (actors.Config{System: system}),
//     with the probe subscribed to its events (SubscribeEvents, then
//     ExpectEvent[actors.TaskEvent] or FishForMsg with a match on ID and
//     State), and a [Clock] as actors.Config.Clock, so that backoff, restart
//     windows and watchdog deadlines pass when the test calls
//     [Clock.Advance]. Real processes run: shut the runtime down
//     (Runtime.Shutdown) before the test ends. See Example_taskvisorEvents.
//
// # Cleanup
//
// [NewSystem] and [New] register their teardown with t.Cleanup: the probe
// unsubscribes from the event stream and stops before the system shuts
// down. After cleanup no goroutine of the probe remains, which tests check
// with go.uber.org/goleak.
package probe
