package actors

// State is where a task is in its life. The names are part of the event
// protocol (headless output, JSON) and never change.
//
//	waiting -> starting | queued  (its dependencies hold: TaskSpec.After)
//	waiting -> skipped            (a dependency can no longer hold)
//	queued -> starting            (a slot under max_parallel freed)
//	starting -> running <-> stalled
//	running|stalled <-> paused   (Pause, Resume)
//	running|stalled|paused -> stopping -> cancelled | killed
//	running|stalled -> completed | failed
//	failed|completed -> backoff -> starting
//	backoff|failed -> gave-up
type State string

// The task states.
const (
	// StateWaiting: the task waits for its dependencies (TaskSpec.After)
	// before its first start; it has no process.
	StateWaiting State = "waiting"
	// StateSkipped: the task never started, because one of its
	// dependencies can no longer hold (it failed for good, say); the reason
	// says which.
	StateSkipped State = "skipped"
	// StateQueued: the task waits for a slot: a parallelism limit
	// (Config.MaxParallel, GroupSpec.MaxParallel) on its way is full. It has
	// no process; TaskEvent.QueueTicket orders the queue.
	StateQueued State = "queued"
	// StateStarting: a process is being started.
	StateStarting State = "starting"
	// StateRunning: the process runs.
	StateRunning State = "running"
	// StateStalled: the process runs but has reported no progress for its stall timeout.
	StateStalled State = "stalled"
	// StatePaused: the task's processes are stopped (SIGSTOP) until Resume;
	// its watchdog and run-time limit wait.
	StatePaused State = "paused"
	// StateStopping: a stop signal was sent and the process has not ended yet.
	StateStopping State = "stopping"
	// StateCancelled: the process ended after its stop signal, without SIGKILL.
	StateCancelled State = "cancelled"
	// StateKilled: the process ended by SIGKILL, asked for or sent when its grace ran out.
	StateKilled State = "killed"
	// StateCompleted: the process exited with code 0 on its own.
	StateCompleted State = "completed"
	// StateFailed: the process exited non-zero, was killed by an unexpected signal, or could not start.
	StateFailed State = "failed"
	// StateBackoff: the task waits before its next start, as its restart policy says.
	StateBackoff State = "backoff"
	// StateGaveUp: the task hit its restart limit and will not be started again.
	StateGaveUp State = "gave-up"
)

// Ended reports whether a task in state s has no process and none is coming.
func (s State) Ended() bool {
	switch s {
	case StateCancelled, StateKilled, StateCompleted, StateFailed, StateGaveUp, StateSkipped:
		return true
	}
	return false
}

// HasProcess reports whether a task in state s owns a live process: running,
// stalled, paused or stopping.
func (s State) HasProcess() bool {
	switch s {
	case StateRunning, StateStalled, StatePaused, StateStopping:
		return true
	}
	return false
}
