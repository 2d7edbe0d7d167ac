package actors

import (
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
)

// child is a supervisor's view of one of its children: a task actor or a
// group actor.
type child struct {
	pid   *actor.PID
	id    int    // a task's ID; 0 for a group
	name  string // a group's name; "" for a task
	spec  TaskSpec
	group GroupSpec
	// last is a task's latest event. For a top-level task it is the
	// runtime supervisor's record itself (taskRef.last, the same actor), so
	// that the fact is kept once; a group keeps its own.
	last  *TaskEvent
	held  bool  // stopped by this supervisor, to be started again
	crash any   // the panic of a task actor that failed
	gone  bool  // the task actor has stopped
	wd    watch // the watchdog's record of a task
}

func (c *child) key() string {
	if c.name != "" {
		return "group " + c.name
	}
	return "task " + strconv.Itoa(c.id)
}

func (c *child) isGroup() bool { return c.name != "" }

// live reports whether a strategy restart concerns the child: a group, or a
// task that has a process or waits to start again.
func (c *child) live() bool {
	if c.isGroup() {
		return true
	}
	return !c.gone && !c.last.State.Ended()
}
