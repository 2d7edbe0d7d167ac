// Package proc is taskvisor's operating-system layer: it starts a command in
// its own process group, waits for it without an OS thread per child, signals
// the whole group, captures its output into a bounded buffer and receives its
// sd_notify datagrams. It knows nothing of actors: callers get callbacks, run on
// proc's own goroutines, and turn them into messages.
//
// Safety rules that every function here keeps:
//   - a signal goes to the process group only while the group leader is not yet
//     reaped, so the group id cannot have been recycled (DESIGN.md §3);
//   - exactly one goroutine reaps a child, through its pidfd, never wait4(-1);
//   - when the leader ends, whatever it left in its process group is killed with
//     SIGKILL before the leader is reaped, so a task leaves no orphans behind.
//
// What a waiting task costs: on Linux the leader is watched through a
// PIDFD_NONBLOCK pidfd and its pipes are read, all three through Go's
// netpoller, so an idle task holds no OS thread and no read buffer (buffers
// are pooled and taken only while data is there). Elsewhere (macOS) a kqueue
// NOTE_EXIT wait blocks one thread per task; sd_notify is Linux only.
//
// What it does not catch: a descendant that calls setsid or setpgid leaves
// the group and survives it; it only loses its pipes WaitDelay after the
// leader's exit.
package proc
