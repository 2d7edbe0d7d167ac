package actors

import (
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// Dependencies between tasks (TaskSpec.After) are the runtime supervisor's:
// it sees every task's events, so it knows when a dependency holds. A task
// with dependencies is spawned waiting; once they all hold the supervisor
// sends it depsMet, and once one can no longer hold, depsFailed.

type (
	// depsMet tells a waiting task that its dependencies hold.
	depsMet struct{ id int }
	// depsWaiting tells a waiting task what it still waits for, when that
	// changed.
	depsWaiting struct {
		id      int
		message string
	}
	// depsFailed tells a waiting task that one of its dependencies can no
	// longer hold, and why.
	depsFailed struct {
		id     int
		reason string
	}
)

// depWait is a task waiting for its dependencies.
type depWait struct {
	id   int
	deps []*depOn
}

// depOn is one dependency of a waiting task.
type depOn struct {
	Dependency
	bound int // the task it is on; 0 while a name has no task yet
	held  bool
}

// depTracker is the runtime supervisor's record of the waiting tasks, by
// what they wait on.
type depTracker struct {
	waiting map[int]*depWait      // by the waiting task's id
	onID    map[int][]*depWait    // by the id of a task waited on
	onName  map[string][]*depWait // by the name of a task not started yet
}

func newDepTracker() depTracker {
	return depTracker{waiting: map[int]*depWait{}, onID: map[int][]*depWait{}, onName: map[string][]*depWait{}}
}

// describe says what a task waits for: "fetch (task 3) to complete".
func (d *depOn) describe() string {
	what := d.Name
	switch {
	case d.bound > 0 && d.Name != "":
		what = fmt.Sprintf("%s (task %d)", d.Name, d.bound)
	case d.bound > 0:
		what = fmt.Sprintf("task %d", d.bound)
	default:
		what += " (not started yet)"
	}
	return what + " to " + d.goal()
}

// goal is the condition as a verb: "complete", "start", "be ready", "end".
func (d *depOn) goal() string {
	switch d.Condition {
	case DepStarted:
		return "start"
	case DepReady:
		return "be ready"
	case DepEnded:
		return "end"
	}
	return "complete"
}

// waitingFor is the message of a waiting task: what it still waits for.
func (w *depWait) waitingFor() string {
	var parts []string
	for _, d := range w.deps {
		if !d.held {
			parts = append(parts, d.describe())
		}
	}
	return "Waiting for " + strings.Join(parts, ", ")
}

// addDeps records the dependencies of new task id (spec.After, valid),
// binding each to a task: by id, or the latest of its name. It returns the
// wait, nil when every dependency holds already, or the reason the task
// must be skipped at once.
func (s *runtimeSupervisor) addDeps(id int, spec TaskSpec) (w *depWait, skip string) {
	w = &depWait{id: id}
	for _, a := range spec.After {
		dep, _ := ParseDependency(a) // Validate has parsed it
		d := &depOn{Dependency: dep}
		switch {
		case dep.ID > 0:
			t, ok := s.all[dep.ID]
			if !ok || dep.ID == id {
				return nil, fmt.Sprintf("after %s: no task %d", a, dep.ID)
			}
			d.bound, d.Name = dep.ID, t.last.Name // the name, for the messages
		default:
			d.bound = s.latestNamed(dep.Name, id)
		}
		w.deps = append(w.deps, d)
	}
	for _, d := range w.deps {
		if d.bound == 0 {
			continue
		}
		if why := s.judge(d); why != "" {
			return nil, why
		}
	}
	if w.done() {
		return nil, ""
	}
	if cyc := s.cycle(w); cyc != "" {
		return nil, cyc
	}
	s.deps.waiting[id] = w
	for _, d := range w.deps {
		if d.bound > 0 {
			s.deps.onID[d.bound] = append(s.deps.onID[d.bound], w)
		} else {
			s.deps.onName[d.Name] = append(s.deps.onName[d.Name], w)
		}
	}
	return w, ""
}

// latestNamed is the id of the latest task named name, other than self; 0
// for none.
func (s *runtimeSupervisor) latestNamed(name string, self int) int {
	best := 0
	for id, t := range s.all {
		if id != self && t.last.Name == name && id > best {
			best = id
		}
	}
	return best
}

// done reports whether every dependency holds.
func (w *depWait) done() bool {
	for _, d := range w.deps {
		if !d.held {
			return false
		}
	}
	return true
}

// judge updates whether d holds from its task's latest event, and returns
// why it can no longer hold, if so.
func (s *runtimeSupervisor) judge(d *depOn) string {
	if d.held {
		return ""
	}
	t, ok := s.all[d.bound]
	if !ok {
		return fmt.Sprintf("%s: the task is gone", d.Dependency)
	}
	ev := t.last
	switch d.Condition {
	case DepStarted:
		d.held = ev.PID != 0
	case DepReady:
		d.held = ev.State == StateRunning
	case DepCompleted:
		d.held = ev.State == StateCompleted
	case DepEnded:
		d.held = ev.State.Ended() && (ev.Final || t.gone)
	}
	if d.held || !ev.State.Ended() || !(ev.Final || t.gone) {
		return ""
	}
	name := ev.Name
	if name == "" {
		name = "task"
	}
	how := ev.Outcome()
	if ev.State == StateSkipped || ev.State == StateGaveUp {
		how = string(ev.State)
	}
	return fmt.Sprintf("%s (task %d) ended %s: it will not %s", name, d.bound, how, d.goal())
}

// cycle reports a dependency cycle that w would close, as a reason to skip.
func (s *runtimeSupervisor) cycle(w *depWait) string {
	seen := map[int]bool{}
	var visit func(id int) bool
	visit = func(id int) bool {
		if id == w.id {
			return true
		}
		if seen[id] {
			return false
		}
		seen[id] = true
		if other, ok := s.deps.waiting[id]; ok {
			for _, d := range other.deps {
				if d.bound > 0 && !d.held && visit(d.bound) {
					return true
				}
			}
		}
		return false
	}
	for _, d := range w.deps {
		if d.bound > 0 && !d.held && visit(d.bound) {
			return fmt.Sprintf("after %s: a dependency cycle (task %d waits for this one)", d.Dependency, d.bound)
		}
	}
	return ""
}

// depNews applies a task's new event to the tasks that wait on it: those
// whose dependencies now all hold start, those with one that can no longer
// hold are skipped. A new task binds the waits on its name.
func (s *runtimeSupervisor) depNews(ctx actor.Context, id int) {
	if _, ok := s.deps.waiting[id]; ok {
		if t := s.all[id]; t == nil || t.last.State.Ended() || t.gone {
			s.dropWait(id) // ended while it waited: cancelled, say
		}
	}
	waits := s.deps.onID[id]
	if len(waits) == 0 {
		return
	}
	for _, w := range waits {
		if _, still := s.deps.waiting[w.id]; !still {
			continue
		}
		var why string
		for _, d := range w.deps {
			if d.bound == id {
				if why = s.judge(d); why != "" {
					break
				}
			}
		}
		switch {
		case why != "":
			s.dropWait(w.id)
			s.tellTask(ctx, w.id, depsFailed{id: w.id, reason: why})
		case w.done():
			s.dropWait(w.id)
			s.tellTask(ctx, w.id, depsMet{id: w.id})
		default:
			s.tellTask(ctx, w.id, depsWaiting{id: w.id, message: w.waitingFor()})
		}
	}
}

// bindName binds the waits on a name to the new task id of that name.
func (s *runtimeSupervisor) bindName(ctx actor.Context, id int, name string) {
	waits := s.deps.onName[name]
	if len(waits) == 0 {
		return
	}
	delete(s.deps.onName, name)
	for _, w := range waits {
		if w.id == id {
			s.deps.onName[name] = append(s.deps.onName[name], w) // not on itself
			continue
		}
		for _, d := range w.deps {
			if d.bound == 0 && d.Name == name {
				d.bound = id
			}
		}
		s.deps.onID[id] = append(s.deps.onID[id], w)
		s.tellTask(ctx, w.id, depsWaiting{id: w.id, message: w.waitingFor()})
	}
}

// dropWait forgets task id's wait.
func (s *runtimeSupervisor) dropWait(id int) {
	w, ok := s.deps.waiting[id]
	if !ok {
		return
	}
	delete(s.deps.waiting, id)
	for _, d := range w.deps {
		key := d.bound
		if key == 0 {
			s.deps.onName[d.Name] = removeWait(s.deps.onName[d.Name], w)
			if len(s.deps.onName[d.Name]) == 0 {
				delete(s.deps.onName, d.Name)
			}
			continue
		}
		s.deps.onID[key] = removeWait(s.deps.onID[key], w)
		if len(s.deps.onID[key]) == 0 {
			delete(s.deps.onID, key)
		}
	}
}

func removeWait(ws []*depWait, w *depWait) []*depWait {
	out := ws[:0]
	for _, x := range ws {
		if x != w {
			out = append(out, x)
		}
	}
	return out
}

// tellTask sends a message to task id's actor, through its groups.
func (s *runtimeSupervisor) tellTask(ctx actor.Context, id int, msg any) {
	if t, ok := s.all[id]; ok && !t.gone {
		s.routeQuietly(ctx, t, msg)
	}
}
