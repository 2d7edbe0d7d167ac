// Package proc is taskvisor's operating-system layer: it starts a command in
// its own process group, waits for it without an OS thread per child, signals
// the whole group, captures its output into a bounded buffer and receives its
// sd_notify datagrams. It knows nothing of actors: callers get callbacks, run on
// proc's own goroutines, and turn them into messages.
//
// Safety rules that every function here keeps:
//   - a signal goes to the process group only while the group leader is not yet
//     reaped, so the group id cannot have been recycled (an unreaped leader
//     keeps its pid, and with it the group's id, from reuse); a
//     process found outside the group is signalled through a pidfd opened
//     before it was checked, never by a pid that may have been recycled;
//   - each child is reaped by exactly one owner, by its own pid, never by
//     wait4(-1): a leader by its waiter, an orphan adopted as a subreaper
//     (BecomeSubreaper) by the orphan reaper or by the run that killed it;
//   - when the leader ends, whatever the run left is killed with SIGKILL
//     before the leader is reaped (its process group, and its run cgroup),
//     and Done waits until none of it runs any more (or 5 s), so a task leaves
//     no process and no zombie behind.
//
// What the run is: on Linux with cgroup v2 (kernel 5.14+, and not
// TASKVISOR_CGROUPS=off) each run is started straight into a cgroup of its
// own (clone3 CLONE_INTO_CGROUP), so a descendant that calls setsid or
// setpgid, or is forked twice and orphaned, is still in it and dies with one
// write to cgroup.kill. Without cgroups every process of the run carries the
// run's marker (RunEnv) in its environment, and the escapees are found by it
// in /proc. The same notion decides whose sd_notify datagrams are trusted
// (Process.Contains). A guard process kills every run's processes if the
// program itself dies, even of SIGKILL. What still escapes: without cgroups,
// a descendant that clears its environment and leaves the group; it only
// loses its pipes WaitDelay after the leader's exit.
//
// What a waiting task costs: on Linux the leader's pidfd (PIDFD_NONBLOCK) and
// its output pipes are watched by the program's one poller, a goroutine
// blocked in an epoll set of its own (with TASKVISOR_POLLER=off, by
// goroutines parked in Go's netpoller instead), and its sd_notify socket by
// the program's one notify reader; a task's own goroutine starts only when
// its leader exits. So an idle task holds no OS thread, no goroutine and no
// read buffer (buffers are pooled and taken only while data is there).
// Elsewhere (macOS) a kqueue NOTE_EXIT wait blocks one thread per task, only
// the process group is killed, and sd_notify is Linux only.
package proc
