package actors

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// supervision is what a group actor and the runtime supervisor share: their
// children, the group's strategy and restart limit, the restart plans, and
// the watchdog of their tasks.
type supervision struct {
	env      *runtimeEnv
	spec     GroupSpec // the top has no name and no limit
	top      bool
	children []*child
	tasks    map[int]*child
	byActor  map[string]*child     // by the child actor's PID.Id, for failures and Terminated
	watched  map[*child]bool       // the tasks the watchdog watches now
	kids     map[string]*actor.PID // the child groups, by name
	depth    int                   // 0 at the top, 1 for a top-level group

	limit    restartLimit
	restarts int
	state    GroupState
	current  *plan
	queued   []func(ctx actor.Context) // strategy restarts waiting for the current plan
	planTok  int
	shutting bool // a group's shutdown has begun (shuttingDown says it for the top)
	stopping bool // the actor itself is stopping (a group actor that failed)

	wdTok    int
	wdArmed  time.Time
	wdCancel func()
}

func newSupervision(env *runtimeEnv, spec GroupSpec, top bool) supervision {
	return supervision{env: env, spec: spec, top: top, tasks: map[int]*child{}, kids: map[string]*actor.PID{},
		byActor: map[string]*child{}, watched: map[*child]bool{}, state: GroupRunning}
}

// spawnGroups spawns the child groups of this supervisor, in declaration
// order.
func (s *supervision) spawnGroups(ctx actor.Context) {
	for _, g := range s.env.subgroups[s.spec.Name] {
		env, spec, depth := s.env, g, s.depth+1
		props := env.props(func() actor.Actor { return newGroupActor(env, spec, depth) },
			actor.WithReceiverMiddleware(env.groupMiddleware...))
		pid, err := ctx.SpawnNamed(props, "group-"+g.Name)
		if err != nil {
			// Names are unique (validated) and the parent is new: this is a bug.
			panic(fmt.Sprintf("spawn group %q: %v", g.Name, err))
		}
		c := &child{pid: pid, name: g.Name, group: g}
		s.children = append(s.children, c)
		s.byActor[pid.Id] = c
		s.kids[g.Name] = pid
	}
}

// path returns the names of the groups from the top level down to the
// group named name, which it ends with; nil for an unknown name or "".
func (env *runtimeEnv) path(name string) []string {
	var out []string
	for name != "" {
		parent, ok := env.parents[name]
		if !ok {
			return nil
		}
		out = append(out, name)
		name = parent
	}
	slices.Reverse(out)
	return out
}

// within reports whether group is ancestor or below it.
func (env *runtimeEnv) within(group, ancestor string) bool {
	for g := group; ; g = env.parents[g] {
		if g == ancestor {
			return true
		}
		if g == "" {
			return false
		}
	}
}

// descendants returns name and the names of all groups below it, parents
// before their children.
func (env *runtimeEnv) descendants(name string) []string {
	out := []string{name}
	for i := 0; i < len(out); i++ {
		for _, g := range env.subgroups[out[i]] {
			out = append(out, g.Name)
		}
	}
	return out
}

// spawnTask spawns a task actor as a child of this supervisor.
func (s *supervision) spawnTask(ctx actor.Context, m spawnTask) {
	env, id, spec, out := s.env, m.id, m.spec, m.out
	// A group starts its children one after the other, in order: the task
	// actor waits for its turn (a plan step) before its first start.
	deferred := !s.top
	props := env.props(func() actor.Actor {
		a := newTaskActor(env, id, spec, out)
		a.slot, a.waitFor, a.skip, a.restarts = m.slot, m.waitFor, m.skip, m.restarts
		if deferred {
			a.wait = waitGroup // its first start is a step of the group's plan
		}
		return a
	},
		actor.WithReceiverMiddleware(env.taskMiddleware...))
	pid, err := ctx.SpawnNamed(props, "task-"+strconv.Itoa(id))
	last := m.last
	if last == nil {
		first := spec.firstEvent(s.env.name, id)
		last = &first
	}
	c := &child{pid: pid, id: id, spec: spec, last: last}
	if err != nil {
		// IDs are unique, so this is a bug; the task ends failed rather than
		// leaving its caller waiting.
		c.gone = true
		if m.slot {
			env.slots.release(spec.Group)
		}
		*c.last = c.last.failedInternally(s.env.clock.Now(), err.Error())
		s.tasks[id] = c
		s.children = append(s.children, c)
		s.tellTop(ctx, taskUpdate{ev: *c.last, gone: true})
		ctx.ActorSystem().EventStream.Publish(*c.last)
		return
	}
	s.tasks[id] = c
	s.children = append(s.children, c)
	s.byActor[pid.Id] = c
	if s.shuttingDown() {
		ctx.Send(pid, stopForShutdown{})
		return
	}
	if deferred {
		c.held = true
		first := func(ctx actor.Context) {
			s.startPlan(ctx, []planStep{{kind: stepStart, c: c}}, "", func(actor.Context) {})
		}
		if s.current != nil {
			s.queued = append(s.queued, first)
			return
		}
		first(ctx)
	}
}

// shuttingDown reports whether this supervisor's shutdown has begun: for
// the top, the runtime's own flag; for a group, its shutdownGroup.
func (s *supervision) shuttingDown() bool {
	if s.top {
		return s.env.shuttingDown.Load()
	}
	return s.shutting
}

// tellTop sends a message to the runtime supervisor, which may be this one:
// it keeps the registry of all tasks.
func (s *supervision) tellTop(ctx actor.Context, msg any) {
	ctx.Send(s.env.top, msg)
}

// receive handles the messages common to all supervisors; it reports
// whether msg was one of them.
func (s *supervision) receive(ctx actor.Context, msg any) bool {
	switch m := msg.(type) {
	case toGroup:
		s.passDown(ctx, m)
	case taskUpdate:
		s.childUpdate(ctx, m)
	case taskActivity:
		s.childActivity(ctx, m)
	case childFailed:
		s.onChildFailed(ctx, m)
	case groupFailed:
		s.onGroupFailed(ctx, m)
	case groupStopped:
		s.answered(ctx, m.id, m.name, m.tok)
	case groupStarted:
		s.answered(ctx, m.id, m.name, m.tok)
	case planTimer:
		s.planDelayOver(ctx, m)
	case watchdogTick:
		s.onWatchdogTick(ctx, m)
	case *actor.Terminated:
		s.childStopped(ctx, m.Who)
	default:
		return false
	}
	return true
}

// passDown passes a routed message on down the tree, or handles it here
// when this group is the last of its path.
func (s *supervision) passDown(ctx actor.Context, m toGroup) {
	if s.depth < len(m.path) {
		if next, ok := s.kids[m.path[s.depth]]; ok {
			ctx.Forward(next)
		}
		return
	}
	s.receiveRouted(ctx, m.msg)
}

// childUpdate records a child task's latest event, for the watchdog and the
// plan under way.
func (s *supervision) childUpdate(ctx actor.Context, m taskUpdate) {
	if c, ok := s.tasks[m.ev.ID]; ok {
		*c.last = m.ev
		s.watchUpdate(ctx, c)
		s.stepDone(ctx, c, m.ev)
	}
}

// childActivity is a child task's progress, for the watchdog.
func (s *supervision) childActivity(ctx actor.Context, m taskActivity) {
	if c, ok := s.tasks[m.id]; ok && c.wd.gen == m.gen {
		s.activity(ctx, c, m)
	}
	if s.env.observe != nil {
		s.env.observe(m)
	}
}

// onChildFailed is a child task's failure, if it is of its current process.
func (s *supervision) onChildFailed(ctx actor.Context, m childFailed) {
	if c, ok := s.tasks[m.id]; ok && c.last.Generation == m.gen {
		s.childFailed(ctx, c, m.delay, m.reason, m.escalate)
	}
}

// onGroupFailed is a child group's failure: it escalates to this group.
func (s *supervision) onGroupFailed(ctx actor.Context, m groupFailed) {
	if c := s.childGroup(m.name); c != nil {
		s.childFailed(ctx, c, 0, m.reason, true)
	}
}

// planDelayOver ends the delay step of the plan under way.
func (s *supervision) planDelayOver(ctx actor.Context, m planTimer) {
	if s.current != nil && m.tok == s.current.tok && len(s.current.steps) > 0 && s.current.steps[0].kind == stepDelay {
		s.current.steps = s.current.steps[1:]
		s.runPlan(ctx)
	}
}

func (s *supervision) onWatchdogTick(ctx actor.Context, m watchdogTick) {
	if m.tok == s.wdTok {
		s.wdArmed = time.Time{}
		s.watchdogTick(ctx)
	}
}

// receiveRouted handles a message routed to this group through the tree.
func (s *supervision) receiveRouted(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case spawnTask:
		s.spawnTask(ctx, m)
	case Cancel:
		s.forwardToTask(ctx, m.ID, m, OpCancel)
	case Kill:
		s.forwardToTask(ctx, m.ID, m, OpKill)
	case Restart:
		s.forwardToTask(ctx, m.ID, m, OpRestart)
	case Fail:
		s.forwardToTask(ctx, m.ID, m, OpFail)
	case Pause:
		s.forwardToTask(ctx, m.ID, m, OpPause)
	case Resume:
		s.forwardToTask(ctx, m.ID, m, OpResume)
	case depsMet:
		s.forwardToTask(ctx, m.id, m, "")
	case depsWaiting:
		s.forwardToTask(ctx, m.id, m, "")
	case depsFailed:
		s.forwardToTask(ctx, m.id, m, "")
	}
}

// forwardToTask passes a command on to the task actor, which answers the
// original sender.
func (s *supervision) forwardToTask(ctx actor.Context, id int, msg any, op Op) {
	c, ok := s.tasks[id]
	switch {
	case !ok:
		respond(ctx, Reply{Op: op, ID: id, Err: fmt.Errorf("%s task %d: %w", op, id, ErrUnknownTask)})
	case c.gone:
		respond(ctx, Reply{Op: op, ID: id, Err: &StateError{Op: op, ID: id, State: c.last.State}})
	case ctx.Sender() != nil:
		ctx.RequestWithCustomSender(c.pid, msg, ctx.Sender())
	default:
		ctx.Send(c.pid, msg)
	}
}

func (s *supervision) childGroup(name string) *child {
	for _, c := range s.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// HandleFailure is the supervisor strategy for the task actors: a task actor
// that panics has a bug; it is stopped, never restarted: a new instance would
// start a second process for the task while the first may still run, with
// its generations counted from 1 again. Its Stopping kills the process group,
// and the task ends failed (childStopped). A group actor that panics is
// stopped too; its tasks' actors stop with it and end failed.
func (s *supervision) handleFailure(supervisor actor.Supervisor, who *actor.PID, reason any) {
	if c, ok := s.byActor[who.Id]; ok {
		c.crash = reason
	}
	supervisor.StopChildren(who)
}

// childStopped settles a task whose actor stopped on its own: it ends failed,
// with the reason, so that nobody waits for it.
func (s *supervision) childStopped(ctx actor.Context, who *actor.PID) {
	// A map, not a scan: when the tree stops, every one of possibly
	// thousands of ended task actors sends its Terminated.
	if c, ok := s.byActor[who.Id]; ok && !c.gone {
		if c.isGroup() {
			c.gone = true
			if s.stopping && c.crash == nil {
				// Stopped with this one: the news is carried by the group
				// that failed, or needs none at the end of a shutdown.
				return
			}
			// A group actor that failed took its task actors with it (each
			// killed its process group): their tasks end failed.
			s.tellTop(ctx, groupGone{groups: s.env.descendants(c.name), reason: fmt.Sprintf("group actor stopped: %v", c.crash)})
			return
		}
		c.gone = true
		if c.last.State.Ended() {
			if !s.stopping { // the whole tree stopping needs no news
				s.tellTop(ctx, taskUpdate{ev: *c.last, gone: true})
			}
			return
		}
		reason := fmt.Sprintf("task actor stopped: %v", c.crash)
		if s.stopping && c.crash == nil {
			reason = fmt.Sprintf("the actor of group %s stopped", s.spec.Name)
		}
		ev := c.last.failedInternally(s.env.clock.Now(), reason)
		*c.last = ev
		c.wd = watch{}
		delete(s.watched, c)
		// The registry first, as a task does: a command sent by whoever
		// saw the event finds the task gone.
		s.tellTop(ctx, taskUpdate{ev: ev, gone: true})
		ctx.ActorSystem().EventStream.Publish(ev)
		s.stepDone(ctx, c, ev)
	}
}

func (s *supervision) publish(ctx actor.Context, state GroupState, ids []int, message, reason string) {
	if s.top {
		return
	}
	ctx.ActorSystem().EventStream.Publish(GroupEvent{
		Runtime: s.env.name, Group: s.spec.Name, Parent: s.spec.Parent, Strategy: s.spec.strategy(), State: state,
		Restarts: s.restarts, Tasks: ids, Message: message, Reason: reason, Time: s.env.clock.Now(),
	})
}
