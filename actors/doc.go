// Package actors is taskvisor's runtime: a supervisor actor that owns one task
// actor per task, each task actor owning one child process generation at a time
// (package proc), and the events that say what happens to them.
//
// The tree, as in DESIGN.md §2:
//
//	root ── runtime supervisor ──┬── task actor 1 ── child process (own process group)
//	                             ├── task actor 2 ── child process
//	                             └── ...
//	EventStream ──> the UI, the headless printer, tests' probes, an embedding program
//
// Commands (Start, Cancel, Kill, Restart, List, GetOutput, Shutdown) go to the
// supervisor, which answers each with a reply saying it was accepted or why not.
// Every state change of a task is published as a TaskEvent on the actor
// system's EventStream. A Receive never blocks: process exits, sd_notify
// datagrams and timers arrive as messages, tagged with the generation of the
// process they concern so that news of an older process is recognised and
// dropped.
//
// Runtime is the facade that a program uses: it creates the supervisor in a new
// or an existing actor system and wraps the commands in methods.
package actors
