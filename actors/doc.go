// Package actors is taskvisor's runtime: a tree of supervisor actors, each
// task an actor owning one child process generation at a time (package
// proc), and the events that say what happens to them.
//
// The tree, as in DESIGN.md §2 (docs/supervision.md explains the rules):
//
//	root ── runtime supervisor ──┬── task actor 1 ── child process (own process group)
//	                             ├── group "pipeline" (rest-for-one) ──┬── task actor 2
//	                             │                                     └── group "index" ── task actor 3
//	                             └── ...
//	EventStream ──> the UI, the headless printer, tests' probes, an embedding program
//
// Commands (Start, Cancel, Kill, Restart, List, GetOutput, Shutdown) go to the
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
// Runtime is the facade that a program uses: it creates the supervisor in a
// new or an existing actor system and wraps the commands in methods.
package actors
