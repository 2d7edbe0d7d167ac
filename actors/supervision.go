package actors

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// Messages between a supervisor (a group, or the runtime supervisor at the
// top) and its children. Each is answered or tagged so that a late one is
// recognised.
type (
	// taskUpdate carries a task's latest event to its supervisors. It is
	// unexported so that nothing outside the package can forge one.
	taskUpdate struct {
		ev   TaskEvent
		gone bool // the task actor has stopped; the supervisor answers for it
	}
	// taskActivity tells the watchdog that the task's generation gen
	// reported progress at at, or asked for extend more time.
	taskActivity struct {
		id     int
		gen    int
		at     time.Time
		extend time.Duration
	}
	// childFailed: the task's process ended and its policy wants a restart
	// after delay; escalate: it hit its own restart limit instead.
	childFailed struct {
		id       int
		gen      int
		delay    time.Duration
		reason   string
		escalate bool
	}
	// groupFailed: a child group hit its limit and has stopped its children.
	groupFailed struct {
		name   string
		reason string
	}
	// backoffGo lets a failed task wait out its backoff and start again.
	backoffGo struct{ gen int }
	// groupStop stops a child for a restart by its supervisor's strategy;
	// answered by groupStopped with the same tok.
	groupStop struct {
		tok    int
		reason string
	}
	groupStopped struct {
		id   int    // a task's ID, or 0
		name string // a group's name, or ""
		tok  int
	}
	// groupStart starts a child that groupStop stopped; answered by
	// groupStarted once it runs.
	groupStart struct {
		tok    int
		reason string
	}
	groupStarted struct {
		id   int
		name string
		tok  int
	}
	// giveUp ends a child for good.
	giveUp struct{ reason string }
	// shutdownGroup stops a group's children in reverse order (all at once
	// with kill) during a shutdown.
	shutdownGroup struct{ kill bool }
	// stallNotice tells a task that the watchdog finds it stalled; its stall
	// action is due at actAt (zero for warn).
	stallNotice struct {
		gen     int
		actAt   time.Time
		timeout time.Duration
		drained bool // the task has read its waiting notify datagrams first
	}
	// stallAct tells a stalled task to apply its stall action now.
	stallAct struct {
		gen     int
		drained bool // as for stallNotice
	}
	// watchdogTick is the watchdog's timed message to its supervisor.
	watchdogTick struct{ tok int }
	// planTimer ends a delay step of a restart plan.
	planTimer struct{ tok int }
	// spawnTask asks a group to spawn a task actor for a new task.
	spawnTask struct {
		id   int
		spec TaskSpec
		out  *proc.Output
	}
	// groupGone tells the runtime supervisor that the actors of these groups
	// have stopped.
	groupGone struct {
		groups []string
		reason string
	}
	// taskEnded: a task has ended and no restart is pending; only a
	// Restart starts it again.
	taskEnded struct {
		id       int
		restarts int // the Restart commands the task had handled
	}
	// unwait: the Wait sent from who for task id was abandoned.
	unwait struct {
		id  int
		who *actor.PID
	}
	// guardLost: proc found the guard process dead (proc.OnGuardLoss).
	guardLost struct{ loss proc.GuardLoss }
	// toGroup carries msg down the tree to the last group of path, which
	// names the groups on the way from the top level down (runtimeEnv.path):
	// each supervisor on the way finds the next by its own depth.
	toGroup struct {
		path []string
		msg  any
	}
)

// child is a supervisor's view of one of its children: a task actor or a
// group actor.
type child struct {
	pid   *actor.PID
	id    int    // a task's ID; 0 for a group
	name  string // a group's name; "" for a task
	spec  TaskSpec
	group GroupSpec
	last  TaskEvent // a task's latest event
	held  bool      // stopped by this supervisor, to be started again
	crash any       // the panic of a task actor that failed
	gone  bool      // the task actor has stopped
	wd    watch     // the watchdog's record of a task
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

// planStep is one step of a restart plan.
type planStep struct {
	kind  stepKind
	c     *child
	delay time.Duration
}

type stepKind uint8

const (
	stepStop stepKind = iota
	stepStart
	stepDelay
	stepShutdown
)

// plan is a sequence of stops (in reverse order), an optional delay and
// starts (in order) that a supervisor runs one step at a time.
type plan struct {
	tok    int
	steps  []planStep
	reason string
	wait   *child // the child whose answer the current step awaits
	done   func(ctx actor.Context)
}

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
	shutting bool
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
		a.deferred = deferred
		return a
	},
		actor.WithReceiverMiddleware(env.taskMiddleware...))
	pid, err := ctx.SpawnNamed(props, "task-"+strconv.Itoa(id))
	c := &child{pid: pid, id: id, spec: spec, last: spec.firstEvent(s.env.name, id)}
	if err != nil {
		// IDs are unique, so this is a bug; the task ends failed rather than
		// leaving its caller waiting.
		c.gone = true
		c.last = c.last.failedInternally(s.env.clock.Now(), err.Error())
		s.tasks[id] = c
		s.children = append(s.children, c)
		ctx.ActorSystem().EventStream.Publish(c.last)
		s.tellTop(ctx, taskUpdate{ev: c.last, gone: true})
		return
	}
	s.tasks[id] = c
	s.children = append(s.children, c)
	s.byActor[pid.Id] = c
	if s.shutting {
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
		if s.depth < len(m.path) {
			if next, ok := s.kids[m.path[s.depth]]; ok {
				ctx.Forward(next)
			}
			return true
		}
		s.receiveRouted(ctx, m.msg)
	case taskUpdate:
		if c, ok := s.tasks[m.ev.ID]; ok {
			c.last = m.ev
			s.watchUpdate(ctx, c)
			s.stepDone(ctx, c, m.ev)
		}
	case taskActivity:
		if c, ok := s.tasks[m.id]; ok && c.wd.gen == m.gen {
			s.activity(ctx, c, m)
		}
		if s.env.observe != nil {
			s.env.observe(m)
		}
	case childFailed:
		if c, ok := s.tasks[m.id]; ok && c.last.Generation == m.gen {
			s.childFailed(ctx, c, m.delay, m.reason, m.escalate)
		}
	case groupFailed:
		if c := s.childGroup(m.name); c != nil {
			s.childFailed(ctx, c, 0, m.reason, true)
		}
	case groupStopped:
		s.answered(ctx, m.id, m.name, m.tok)
	case groupStarted:
		s.answered(ctx, m.id, m.name, m.tok)
	case planTimer:
		if s.current != nil && m.tok == s.current.tok && len(s.current.steps) > 0 && s.current.steps[0].kind == stepDelay {
			s.current.steps = s.current.steps[1:]
			s.runPlan(ctx)
		}
	case watchdogTick:
		if m.tok == s.wdTok {
			s.wdArmed = time.Time{}
			s.watchdogTick(ctx)
		}
	case *actor.Terminated:
		s.childStopped(ctx, m.Who)
	default:
		return false
	}
	return true
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
				s.tellTop(ctx, taskUpdate{ev: c.last, gone: true})
			}
			return
		}
		reason := fmt.Sprintf("task actor stopped: %v", c.crash)
		if s.stopping && c.crash == nil {
			reason = fmt.Sprintf("the actor of group %s stopped", s.spec.Name)
		}
		ev := c.last.failedInternally(s.env.clock.Now(), reason)
		c.last = ev
		c.wd = watch{}
		delete(s.watched, c)
		ctx.ActorSystem().EventStream.Publish(ev)
		s.tellTop(ctx, taskUpdate{ev: ev, gone: true})
		s.stepDone(ctx, c, ev)
	}
}

// childFailed applies the restart limit and the strategy to a failed child.
func (s *supervision) childFailed(ctx actor.Context, c *child, delay time.Duration, reason string, escalate bool) {
	if s.shutting {
		if !c.isGroup() {
			ctx.Send(c.pid, stopForShutdown{})
		}
		return
	}
	if s.state == GroupFailed || s.state == GroupGaveUp {
		return // the group is on its way out; its children follow
	}
	if s.top {
		if c.isGroup() {
			s.giveUpGroup(ctx, c, reason)
			return
		}
		// The runtime never fails; a task that hit its own limit gave up by
		// itself, so here the answer is always one-for-one.
		ctx.Send(c.pid, backoffGo{gen: c.last.Generation})
		return
	}
	now := s.env.clock.Now()
	if !s.limit.allow(now, s.spec.maxRestarts(), s.spec.restartWindow()) {
		s.fail(ctx, fmt.Sprintf("restart limit of %d within %s reached; last: %s",
			s.spec.maxRestarts(), s.spec.restartWindow(), reason))
		return
	}
	strategy := s.spec.strategy()
	if strategy == OneForOne && !escalate && !c.isGroup() {
		ctx.Send(c.pid, backoffGo{gen: c.last.Generation})
		return
	}
	restart := func(ctx actor.Context) { s.strategyRestart(ctx, c, delay, reason) }
	if s.current != nil {
		s.queued = append(s.queued, restart)
		return
	}
	restart(ctx)
}

// strategyRestart stops the children the strategy names (in reverse order),
// waits for the failed child's delay, and starts them again (in order).
func (s *supervision) strategyRestart(ctx actor.Context, failed *child, delay time.Duration, reason string) {
	strategy := s.spec.strategy()
	var affected []*child
	after := false
	for _, c := range s.children {
		switch {
		case c == failed:
			after = true
			affected = append(affected, c)
		case strategy == OneForAll && c.live(), strategy == RestForOne && after && c.live():
			affected = append(affected, c)
		}
	}
	failed.held = true // it has stopped already
	s.restarts++
	why := fmt.Sprintf("%s restart in group %s after %s", strategy, s.spec.Name, reason)
	ids := taskIDs(affected)
	steps := stopInReverse(affected, stepStop, func(c *child) bool { return c != failed })
	if delay > 0 {
		steps = append(steps, planStep{kind: stepDelay, delay: delay})
	}
	for _, c := range affected {
		steps = append(steps, planStep{kind: stepStart, c: c})
	}
	s.state = GroupRestarting
	s.publish(ctx, GroupRestarting, ids, fmt.Sprintf("Restarting %s (%s, restart %d)", describe(affected), strategy, s.restarts), why)
	s.startPlan(ctx, steps, why, func(ctx actor.Context) {
		s.state = GroupRunning
		s.publish(ctx, GroupRunning, ids, fmt.Sprintf("Restarted %s", describe(affected)), why)
	})
}

func describe(cs []*child) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.key())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return joinAnd(parts)
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 1:
		return parts[0]
	case 2:
		return parts[0] + " and " + parts[1]
	}
	out := ""
	for i, p := range parts {
		switch {
		case i == len(parts)-1:
			out += ", and " + p
		case i > 0:
			out += ", " + p
		default:
			out = p
		}
	}
	return out
}

// fail stops every child in reverse order and fails the group to its parent.
func (s *supervision) fail(ctx actor.Context, reason string) {
	s.state = GroupFailed
	s.queued = nil
	ids := taskIDs(slices.DeleteFunc(slices.Clone(s.children), func(c *child) bool { return !c.live() }))
	steps := stopInReverse(s.children, stepStop, (*child).live)
	s.publish(ctx, GroupFailed, ids, "Group failed: "+reason, reason)
	s.startPlan(ctx, steps, reason, func(ctx actor.Context) {
		ctx.Send(ctx.Parent(), groupFailed{name: s.spec.Name, reason: fmt.Sprintf("group %s failed: %s", s.spec.Name, reason)})
	})
}

// giveUpGroup is the top's answer to a failed group: it restarts nothing more.
func (s *supervision) giveUpGroup(ctx actor.Context, c *child, reason string) {
	ctx.Send(c.pid, giveUp{reason: reason})
}

// groupGiveUp ends this group and everything in it for good.
func (s *supervision) groupGiveUp(ctx actor.Context, reason string) {
	s.state = GroupGaveUp
	s.current, s.queued = nil, nil
	var ids []int
	for _, c := range s.children {
		ctx.Send(c.pid, giveUp{reason: reason})
		if c.id != 0 {
			ids = append(ids, c.id)
		}
	}
	s.publish(ctx, GroupGaveUp, ids, "Group gave up: "+reason, reason)
}

// startPlan runs steps, then done; a plan already running is replaced (its
// late answers find a new token).
func (s *supervision) startPlan(ctx actor.Context, steps []planStep, reason string, done func(actor.Context)) {
	s.planTok++
	s.current = &plan{tok: s.planTok, steps: steps, reason: reason, done: done}
	s.runPlan(ctx)
}

// runPlan starts the current step, skipping those with nothing to do.
func (s *supervision) runPlan(ctx actor.Context) {
	for s.current != nil {
		p := s.current
		if len(p.steps) == 0 {
			s.current = nil
			p.done(ctx)
			s.nextQueued(ctx)
			return
		}
		st := p.steps[0]
		switch st.kind {
		case stepDelay:
			s.env.clock.SendOnce(st.delay, ctx.Self(), planTimer{tok: p.tok})
			return
		case stepStop:
			if !st.c.isGroup() && !st.c.live() {
				p.steps = p.steps[1:]
				continue
			}
			st.c.held = true
			p.wait = st.c
			ctx.Send(st.c.pid, groupStop{tok: p.tok, reason: p.reason})
			return
		case stepStart:
			if !st.c.held || (!st.c.isGroup() && st.c.gone) {
				p.steps = p.steps[1:]
				continue
			}
			st.c.held = false
			p.wait = st.c
			ctx.Send(st.c.pid, groupStart{tok: p.tok, reason: p.reason})
			return
		case stepShutdown:
			if !st.c.isGroup() && (st.c.gone || st.c.last.State.Ended()) {
				p.steps = p.steps[1:]
				continue
			}
			p.wait = st.c
			if st.c.isGroup() {
				ctx.Send(st.c.pid, shutdownGroup{})
			} else {
				ctx.Send(st.c.pid, stopForShutdown{})
			}
			return
		}
	}
}

// answered moves the plan on when the child it waits for answers.
func (s *supervision) answered(ctx actor.Context, id int, name string, tok int) {
	p := s.current
	if p == nil || tok != p.tok || p.wait == nil || p.wait.id != id || p.wait.name != name {
		return
	}
	p.wait = nil
	p.steps = p.steps[1:]
	s.runPlan(ctx)
}

// stepDone moves a shutdown step on when its task has ended, and a stop or
// start step on when its task actor is gone.
func (s *supervision) stepDone(ctx actor.Context, c *child, ev TaskEvent) {
	p := s.current
	if p == nil || p.wait != c || len(p.steps) == 0 {
		return
	}
	kind := p.steps[0].kind
	if (kind == stepShutdown && ev.State.Ended()) || c.gone {
		p.wait = nil
		p.steps = p.steps[1:]
		s.runPlan(ctx)
	}
}

func (s *supervision) nextQueued(ctx actor.Context) {
	if len(s.queued) == 0 || s.current != nil {
		return
	}
	next := s.queued[0]
	s.queued = s.queued[1:]
	next(ctx)
}

// shutdown stops the children: at once with kill, else in reverse order, one
// after the other; done runs when all have ended.
func (s *supervision) shutdown(ctx actor.Context, kill bool, done func(actor.Context)) {
	first := !s.shutting
	s.shutting = true
	s.queued = nil
	if kill {
		for _, c := range s.children {
			if c.isGroup() {
				ctx.Send(c.pid, shutdownGroup{kill: true})
			} else if !c.gone {
				ctx.Send(c.pid, stopForShutdown{kill: true})
			}
		}
		if !first {
			return // the plan under way finishes as the tasks end
		}
	} else if !first {
		return
	}
	s.startPlan(ctx, stopInReverse(s.children, stepShutdown, nil), "taskvisor is shutting down", done)
}

// stopInReverse returns the steps of kind (a stop or a shutdown) for the
// children cs that keep accepts (nil: all), in reverse order: the last
// started is stopped first, as OTP's supervisors do.
func stopInReverse(cs []*child, kind stepKind, keep func(*child) bool) []planStep {
	var steps []planStep
	for _, c := range slices.Backward(cs) {
		if keep == nil || keep(c) {
			steps = append(steps, planStep{kind: kind, c: c})
		}
	}
	return steps
}

// taskIDs returns the ids of the tasks among cs, sorted.
func taskIDs(cs []*child) []int {
	var ids []int
	for _, c := range cs {
		if c.id != 0 {
			ids = append(ids, c.id)
		}
	}
	slices.Sort(ids)
	return ids
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
