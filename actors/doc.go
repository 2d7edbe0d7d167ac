// Package actors is taskvisor's runtime: a tree of supervisor actors, each
// task an actor owning one child process generation at a time (package
// proc), and the events that say what happens to them.
//
// The tree (docs/supervision.md explains the rules):
//
//	root ── runtime supervisor ──┬── task actor 1 ── child process (own process group)
//	                             ├── group "pipeline" (rest-for-one) ──┬── task actor 2
//	                             │                                     └── group "index" ── task actor 3
//	                             └── ...
//	EventStream ──> the UI, the headless printer, tests' probes, an embedding program
//
// Commands (Start, Cancel, Kill, Restart, Wait, List, GetOutput, Shutdown) go to the
// runtime supervisor, which numbers tasks, routes each command through the
// groups to the task that owns its state, and answers with a reply saying it
// was accepted or why not. A task whose process ends on its own applies its
// restart policy (TaskSpec.Restart, Backoff, MaxRestarts); a group applies
// its strategy (one-for-one, one-for-all, rest-for-one) and its own limit,
// failing to its parent over it; the runtime supervisor never fails. Each
// supervisor runs the watchdog of its tasks as timed messages to itself.
//
// Every state change of a task is a TaskEvent, every decision of a group a
// GroupEvent, on the actor system's EventStream. A Receive never blocks:
// process exits, sd_notify datagrams and timers arrive as messages, tagged
// with the generation (or token) they concern so that late ones are
// recognised and dropped. Timing rules run on a Clock that tests replace
// (probe.Clock).
//
// # Embedding
//
// [Runtime] is the facade that a program uses: [New] creates the supervisor in a
// new actor system or in the program's own (Config.System), next to the
// program's actors, and [Runtime.Shutdown] stops every task within a context's
// deadline and leaves a system it did not create running. Tasks and groups
// are defined with [TaskSpec] and [GroupSpec], the types the task-file loader
// (package actors/taskfile) fills; every zero value means a documented
// default. The methods [Runtime.Start], [Runtime.StartSpec], [Runtime.Cancel],
// [Runtime.Kill], [Runtime.Restart], [Runtime.Wait], [Runtime.List] and
// [Runtime.Output] each send one command and wait for its reply (Wait until the
// task has ended for good, as os/exec's Cmd.Wait); [Runtime.Follow] streams a
// task's output, and [Runtime.OutputBufferOf] lets one goroutine follow many;
// an actor of the program sends the same commands ([Start], [Cancel], ...)
// to [Runtime.PID] and gets the replies in its mailbox.
//
// Events reach a program four ways: a function ([Runtime.Subscribe],
// [Runtime.SubscribeAll]), an actor's mailbox ([Runtime.SubscribePID]), a
// channel ([Runtime.Events]), or, for every runtime in a system,
// [SubscribeEvents] and [SubscribeAllEvents]. None of them can slow the tasks down.
//
// Package actors/probe tests actors that use taskvisor: a probe stands in
// for the runtime supervisor or records its events, and probe.Clock runs
// backoff and the watchdog without waiting. docs/embedding.md is the guide;
// cmd/taskvisor-host is a program that hosts taskvisor beside its own
// actors; the examples below run as tests.
package actors
