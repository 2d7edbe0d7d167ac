package actors

import (
	"container/list"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// runtimeEnv is what the supervisors and task actors of one runtime share:
// settings fixed at creation and the tracker of process goroutines. A
// Receive changes only the WaitGroup and, under finalMu, the shutdown's
// final list.
type runtimeEnv struct {
	// name is the runtime's (Config.Name), stamped on its events.
	name string
	// keepEnded is Config.KeepEnded.
	keepEnded int
	// final holds the tasks' final events once a shutdown is over, for a
	// Runtime.Shutdown that comes after a Shutdown message.
	finalMu   sync.Mutex
	final     []TaskEvent
	catalogue Catalogue
	groups    []GroupSpec
	// subgroups holds each group's child groups in declaration order (the
	// top level's under ""), and parents each group's parent (the top
	// level: ""). Built once, so that a walk of the tree costs the size of
	// the part walked, not of the whole file.
	subgroups map[string][]GroupSpec
	parents   map[string]string
	// groupSpecs holds the groups by name.
	groupSpecs map[string]GroupSpec
	// shuttingDown is set by the runtime supervisor, its only writer, when
	// a shutdown begins and before it tells anyone. A task whose first
	// start or restart is still on its way down a deep tree (behind the
	// shutdown's own messages, in every mailbox on the way) then starts no
	// process.
	shuttingDown atomic.Bool
	clock        Clock
	notifyDir    string
	// top is the runtime supervisor, to which every task reports its events.
	top *actor.PID
	// procs counts started processes whose goroutines have not ended yet, so
	// that Shutdown can wait for the last of them.
	procs sync.WaitGroup
	// taskMiddleware wraps every task actor's Receive; tests use it to
	// inject failures.
	taskMiddleware []actor.ReceiverMiddleware
	// groupMiddleware wraps every group actor's Receive, for the same reason.
	groupMiddleware []actor.ReceiverMiddleware
	// observe, when set (by tests), is called by a supervisor after it has
	// handled a task's activity report, which publishes no event.
	observe func(msg any)
	// dispatcher runs the runtime's actors' mailboxes; nil: protoactor's
	// default (a goroutine per mailbox run).
	dispatcher *pooledDispatcher
	// slots are the parallelism limits and the queue (MaxParallel).
	slots *slots
	// live holds the tasks' current processes, for the usage sampler.
	live liveSet
	// usage is the usage sampler (Runtime.SubscribeUsage); nil for an env
	// made without a runtime (tests).
	usage *usageSampler
	// progress delivers the progress the tasks' notify gates hold back;
	// nil: every datagram reaches its task actor at once.
	progress *notifyFlusher
}

func (e *runtimeEnv) setFinal(tasks []TaskEvent) {
	e.finalMu.Lock()
	e.final = tasks
	e.finalMu.Unlock()
}

func (e *runtimeEnv) finalTasks() []TaskEvent {
	e.finalMu.Lock()
	defer e.finalMu.Unlock()
	return e.final
}

// taskRef is the runtime supervisor's record of one task, wherever it is in
// the tree.
type taskRef struct {
	// last is the task's latest event; a top-level task's child record in
	// the supervision shares it (child.last points here).
	last TaskEvent
	// counted: the task is counted in runtimeSupervisor.open.
	counted bool
	output  *proc.Output
	// gone: the task actor is gone; the supervisor answers for it.
	gone bool
	// ended: the task said it has ended for good (taskEnded) and has not
	// started again since; endedAt is a top-level task's place in the list
	// of ended tasks to forget.
	ended   bool
	endedAt *list.Element
	// restarts counts the Restart commands routed to the task: a taskEnded
	// sent before the task saw the last of them is stale.
	restarts int
	// waiters are the senders of Wait, answered once the task has ended.
	waiters []*actor.PID
	// spawn is the task's spawn message while it has no actor: queued at
	// its Start, or ended there (lazy.go); nil once it has one. waiter is
	// its place in the queue while queued.
	spawn  *spawnTask
	waiter *slotWaiter
}

// open reports whether the task holds up the end of a shutdown: it has not
// ended, and its actor is not gone.
func (t *taskRef) open() bool { return !t.last.State.Ended() && !t.gone }

// update sets a task's latest event and whether its actor is gone, and
// keeps the count of open tasks in step: finishShutdownIfDone, which runs
// at every update of a shutdown, then costs O(1), not a scan of every task.
// What is counted is kept in counted, not read back from the event: a
// top-level task's event is also written by the supervision that shares it.
func (s *runtimeSupervisor) update(t *taskRef, last TaskEvent, gone bool) {
	t.last, t.gone = last, gone
	if now := t.open(); now != t.counted {
		t.counted = now
		if now {
			s.open++
		} else {
			s.open--
		}
	}
}

// runtimeSupervisor is the top of the tree. It numbers tasks, spawns the
// top-level tasks and groups, routes commands to tasks (through their
// groups), keeps the latest event of every task for List, and runs the
// shutdown. It must never fail: a top-level actor that fails is restarted by
// protoactor and loses its children. A group that fails to it
// is given up, not restarted.
type runtimeSupervisor struct {
	supervision
	nextID int
	all    map[int]*taskRef // by ID; IDs only grow, so their order is the start order
	open   int              // how many of all are open (taskRef.open)

	killAll bool
	waiters []*actor.PID

	// stopGuardWatch ends the OnGuardLoss subscription, which tells this
	// actor of each guard loss (guardLost), from Started to Stopped.
	stopGuardWatch func()

	// deps are the tasks waiting for their dependencies (TaskSpec.After).
	deps depTracker
	// lazy holds the tasks queued at their Start, which have no actor
	// yet, by their tickets in the queue (lazy.go).
	lazy map[uint64]int

	// ended lists the IDs of the ended top-level tasks, oldest first, of
	// which the registry keeps at most keep (all when keep < 0).
	keep  int
	ended *list.List
}

func newRuntimeSupervisor(env *runtimeEnv) *runtimeSupervisor {
	keep := env.keepEnded
	if keep == 0 {
		keep = DefaultKeepEnded
	}
	return &runtimeSupervisor{
		supervision: newSupervision(env, GroupSpec{Strategy: OneForOne, MaxRestarts: -1}, true),
		all:         map[int]*taskRef{},
		keep:        keep,
		ended:       list.New(),
		deps:        newDepTracker(),
		lazy:        map[uint64]int{},
	}
}

// Receive implements actor.Actor.
func (s *runtimeSupervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started(ctx)
	case *actor.Stopped:
		s.stopped()
	case guardLost:
		s.guardLost(ctx, m)
	case Start:
		id, err := s.start(ctx, m)
		respond(ctx, Reply{Op: OpStart, ID: id, Err: err, Tag: m.Tag})
	case Cancel:
		s.route(ctx, m.ID, m, OpCancel)
	case Kill:
		s.route(ctx, m.ID, m, OpKill)
	case Fail:
		s.route(ctx, m.ID, m, OpFail)
	case Pause:
		s.route(ctx, m.ID, m, OpPause)
	case Resume:
		s.route(ctx, m.ID, m, OpResume)
	case PauseGroup:
		respond(ctx, s.pauseGroup(ctx, m))
	case Restart:
		s.restart(ctx, m)
	case slotGranted:
		s.lazyGranted(ctx, m.w)
	case SetMaxParallel:
		n, err := s.setMaxParallel(m)
		respond(ctx, Reply{Op: OpSetMaxParallel, Err: err, Limit: n})
	case Wait:
		s.wait(ctx, m.ID)
	case outputOf:
		respond(ctx, s.outputBuffer(m.id))
	case unwait:
		s.unwait(m)
	case List:
		respond(ctx, TaskList{Tasks: s.list()})
	case GetOutput:
		respond(ctx, s.output(m))
	case Shutdown:
		s.shutdownAll(ctx, m)
	case taskUpdate:
		s.taskUpdate(ctx, m)
	case *actor.Stopping:
		s.stopping = true
	case groupGone:
		s.groupGone(ctx, m)
	case groupStopped:
		s.groupStopped(ctx, m)
	default:
		s.receive(ctx, m)
	}
}

// started spawns the top-level groups and follows the guard process's
// losses (guardLost) until the supervisor stops.
func (s *runtimeSupervisor) started(ctx actor.Context) {
	s.spawnGroups(ctx)
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.stopGuardWatch = proc.OnGuardLoss(func(l proc.GuardLoss) { root.Send(self, guardLost{l}) })
}

func (s *runtimeSupervisor) stopped() {
	if s.stopGuardWatch != nil {
		s.stopGuardWatch()
	}
}

// guardLost says a loss of the guard process as a NoticeEvent.
func (s *runtimeSupervisor) guardLost(ctx actor.Context, m guardLost) {
	ctx.ActorSystem().EventStream.Publish(NoticeEvent{Runtime: s.env.name, Kind: NoticeGuardLost,
		Message: m.loss.String(), Time: s.env.clock.Now()})
}

// restart routes a Restart, unless a shutdown has begun.
func (s *runtimeSupervisor) restart(ctx actor.Context, m Restart) {
	if s.env.shuttingDown.Load() {
		respond(ctx, Reply{Op: OpRestart, ID: m.ID, Err: fmt.Errorf("restart task %d: %w", m.ID, ErrShuttingDown)})
		return
	}
	if t, ok := s.all[m.ID]; ok && !t.gone {
		// Not to be forgotten while it starts again; it says when it has
		// ended anew, and a taskEnded it sent before this Restart is
		// stale.
		t.restarts++
		s.unmarkEnded(t)
	}
	s.route(ctx, m.ID, m, OpRestart)
}

// pauseGroup routes a Pause (or Resume) to every task of the group and the
// groups below it that can take it; the tasks answer nobody.
func (s *runtimeSupervisor) pauseGroup(ctx actor.Context, m PauseGroup) Reply {
	op := OpPause
	if m.Resume {
		op = OpResume
	}
	if _, ok := s.env.parents[m.Group]; !ok {
		return Reply{Op: op, Err: fmt.Errorf("%s group %q: %w", op, m.Group, ErrUnknownGroup)}
	}
	for _, id := range s.ids() {
		t := s.all[id]
		if t.gone || !s.env.within(t.last.Group, m.Group) {
			continue
		}
		switch {
		case m.Resume && t.last.State == StatePaused:
			s.routeQuietly(ctx, t, Resume{ID: id})
		case !m.Resume && (t.last.State == StateRunning || t.last.State == StateStalled):
			s.routeQuietly(ctx, t, Pause{ID: id})
		}
	}
	return Reply{Op: op}
}

// routeQuietly sends a command to a task with no one to answer.
func (s *runtimeSupervisor) routeQuietly(ctx actor.Context, t *taskRef, msg any) {
	if t.last.Group == "" {
		if c, ok := s.tasks[t.last.ID]; ok {
			ctx.Send(c.pid, msg)
		}
		return
	}
	s.toGroup(ctx, t.last.Group, msg, nil)
}

// setMaxParallel changes a parallelism limit (SetMaxParallel).
func (s *runtimeSupervisor) setMaxParallel(m SetMaxParallel) (int, error) {
	if _, ok := s.env.parents[m.Group]; m.Group != "" && !ok {
		return 0, fmt.Errorf("max-parallel of %q: %w", m.Group, ErrUnknownGroup)
	}
	if m.Adjust != 0 {
		return s.env.slots.adjust(m.Group, m.Adjust), nil
	}
	if m.Limit < 0 {
		return 0, fmt.Errorf("max-parallel: %w: %d is negative", ErrInvalidSpec, m.Limit)
	}
	s.env.slots.setLimit(m.Group, m.Limit)
	return m.Limit, nil
}

// outputBuffer answers outputOf: the task's output buffer, for Follow and
// OutputBufferOf.
func (s *runtimeSupervisor) outputBuffer(id int) outputBuffer {
	t, ok := s.all[id]
	if !ok {
		return outputBuffer{err: fmt.Errorf("follow task %d: %w", id, ErrUnknownTask)}
	}
	return outputBuffer{out: t.output}
}

// unwait drops a Wait that its sender gave up.
func (s *runtimeSupervisor) unwait(m unwait) {
	if t, ok := s.all[m.id]; ok {
		t.waiters = slices.DeleteFunc(t.waiters, func(w *actor.PID) bool { return w.Equal(m.who) })
	}
}

// output answers GetOutput: the task's last Last lines (all for Last <= 0).
func (s *runtimeSupervisor) output(m GetOutput) OutputReply {
	t, ok := s.all[m.ID]
	if !ok {
		return OutputReply{ID: m.ID, Err: fmt.Errorf("output of task %d: %w", m.ID, ErrUnknownTask)}
	}
	n := m.Last
	if n <= 0 {
		n = -1 // all
	}
	return OutputReply{ID: m.ID, Lines: t.output.Last(n)}
}

// taskUpdate records a task's latest event, for List and Wait, then gives
// it to the top-level tasks' own supervision.
func (s *runtimeSupervisor) taskUpdate(ctx actor.Context, m taskUpdate) {
	if m.final {
		// The same event again, now known final: recorded, and no news
		// for the supervision, which had it.
		if t, ok := s.all[m.ev.ID]; ok && t.last.Generation == m.ev.Generation && t.last.Time.Equal(m.ev.Time) {
			t.last.Final = true
			s.depNews(ctx, m.ev.ID)
		}
		s.taskEnded(ctx, m.ev.ID, m.restarts)
		s.finishShutdownIfDone(ctx)
		return
	}
	if t, ok := s.all[m.ev.ID]; ok {
		s.update(t, m.ev, t.gone || m.gone)
		if t.gone {
			t.answerWaiters(ctx)
		}
		if !m.ev.State.Ended() {
			s.unmarkEnded(t) // started again, by its group
		}
		s.depNews(ctx, m.ev.ID)
	}
	s.receive(ctx, m)
	s.finishShutdownIfDone(ctx)
}

func (s *runtimeSupervisor) groupStopped(ctx actor.Context, m groupStopped) {
	if m.name != "" && m.tok == 0 {
		return // a group's shutdown is over; its tasks have said so already
	}
	s.receive(ctx, m)
}

// wait answers Wait: at once for a task that has ended for good, else once
// it has.
func (s *runtimeSupervisor) wait(ctx actor.Context, id int) {
	t, ok := s.all[id]
	switch {
	case !ok:
		respond(ctx, WaitReply{ID: id, Err: fmt.Errorf("wait for task %d: %w", id, ErrUnknownTask)})
	case t.ended || t.gone:
		respond(ctx, WaitReply{ID: id, Event: t.last})
	case ctx.Sender() != nil:
		t.waiters = append(t.waiters, ctx.Sender())
	}
}

// answerWaiters answers the task's Waits with its latest event.
func (t *taskRef) answerWaiters(ctx actor.Context) {
	for _, w := range t.waiters {
		ctx.Send(w, WaitReply{ID: t.last.ID, Event: t.last})
	}
	t.waiters = nil
}

// taskEnded records that a task has ended for good (an event with Final,
// sent when it had handled restarts Restart commands), answers its Waits,
// and forgets the oldest ended top-level tasks over the limit.
func (s *runtimeSupervisor) taskEnded(ctx actor.Context, id, restarts int) {
	t, ok := s.all[id]
	if !ok || t.ended || !t.last.State.Ended() || restarts < t.restarts {
		return
	}
	t.ended = true
	t.answerWaiters(ctx)
	if t.last.Group != "" || s.env.shuttingDown.Load() || s.keep < 0 {
		return
	}
	t.endedAt = s.ended.PushBack(id)
	for s.ended.Len() > s.keep {
		s.forget(ctx, s.ended.Remove(s.ended.Front()).(int))
	}
}

// unmarkEnded takes a task that starts again off the list of ended tasks.
func (s *runtimeSupervisor) unmarkEnded(t *taskRef) {
	t.ended = false
	if t.endedAt != nil {
		s.ended.Remove(t.endedAt)
		t.endedAt = nil
	}
}

// forget removes an ended top-level task: the registry and the supervision
// drop it and its actor stops, which frees its output. Commands for its ID
// then answer ErrUnknownTask. Poison, not Stop: a command already routed to
// the actor is still answered.
func (s *runtimeSupervisor) forget(ctx actor.Context, id int) {
	if t, ok := s.all[id]; ok {
		s.update(t, t.last, true) // out of the count of open tasks
	}
	delete(s.all, id)
	c, ok := s.tasks[id]
	if !ok {
		return
	}
	delete(s.tasks, id)
	delete(s.byActor, c.pid.Id) // so its Terminated is not news
	delete(s.watched, c)
	s.children = slices.DeleteFunc(s.children, func(x *child) bool { return x == c })
	ctx.Poison(c.pid)
}

// groupGone settles the tasks of groups whose actors have stopped: they end
// failed, so that nobody waits for them.
func (s *runtimeSupervisor) groupGone(ctx actor.Context, m groupGone) {
	gone := make(map[string]bool, len(m.groups))
	for _, g := range m.groups {
		gone[g] = true
	}
	for _, id := range s.ids() {
		t := s.all[id]
		if t.gone || !gone[t.last.Group] {
			continue
		}
		s.leaveQueue(t) // queued without an actor: it will never be spawned
		last := t.last
		if !last.State.Ended() {
			last = last.failedInternally(s.env.clock.Now(), m.reason)
			ctx.ActorSystem().EventStream.Publish(last)
		}
		s.update(t, last, true)
		t.answerWaiters(ctx)
		s.depNews(ctx, id)
	}
	s.finishShutdownIfDone(ctx)
}

// HandleFailure implements actor.SupervisorStrategy for the top-level tasks
// and groups.
func (s *runtimeSupervisor) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	s.handleFailure(supervisor, child, reason)
}

func (s *runtimeSupervisor) start(ctx actor.Context, m Start) (int, error) {
	if s.env.shuttingDown.Load() {
		return 0, fmt.Errorf("start: %w", ErrShuttingDown)
	}
	var spec TaskSpec
	switch {
	case m.Spec != nil && m.Template != "":
		return 0, fmt.Errorf("start: %w: give a template or a spec, not both", ErrInvalidSpec)
	case m.Spec != nil:
		spec = *m.Spec
	default:
		t, ok := s.env.catalogue.Lookup(m.Template)
		if !ok {
			return 0, fmt.Errorf("start %q: %w (%s)", m.Template, ErrUnknownTemplate, s.env.catalogue.describe())
		}
		spec = t
	}
	if err := spec.Validate(); err != nil {
		return 0, fmt.Errorf("start: %w: %w", ErrInvalidSpec, err)
	}
	if _, ok := s.env.parents[spec.Group]; spec.Group != "" && !ok {
		return 0, fmt.Errorf("start %s: %w: %q", spec.Name, ErrUnknownGroup, spec.Group)
	}
	spec.Argv = slices.Clone(spec.Argv)

	s.nextID++
	id := s.nextID
	out := proc.NewOutput(spec.outputLines())
	s.all[id] = &taskRef{output: out, last: spec.firstEvent(s.env.name, id), counted: true}
	s.open++ // a new task has not ended
	msg := spawnTask{id: id, spec: spec, out: out}
	// The waits on its name first, so that a wait of its own that would
	// close a cycle through them is seen.
	s.bindName(ctx, id, spec.Name)
	if len(spec.After) > 0 {
		w, skip := s.addDeps(id, spec)
		msg.skip = skip
		if w != nil {
			msg.waitFor = w.waitingFor()
		}
	}
	if msg.waitFor != "" || msg.skip != "" {
		s.spawn(ctx, msg) // it queues, if it must, once its dependencies hold
		return id, nil
	}
	s.startOrQueue(ctx, s.all[id], msg)
	return id, nil
}

// spawn has a new task's actor spawned: by this supervisor for a top-level
// task, else by its group.
func (s *runtimeSupervisor) spawn(ctx actor.Context, msg spawnTask) {
	if msg.spec.Group == "" {
		msg.last = &s.all[msg.id].last // this actor's own: shared, never across actors
		s.spawnTask(ctx, msg)
		return
	}
	s.toGroup(ctx, msg.spec.Group, msg, nil)
}

// route sends a command to the task's actor, through its groups, and the
// task actor answers it: only the task knows its state at the moment the
// command arrives.
func (s *runtimeSupervisor) route(ctx actor.Context, id int, msg any, op Op) {
	t, ok := s.all[id]
	switch {
	case ok && t.spawn != nil:
		respond(ctx, Reply{Op: op, ID: id, Err: s.lazyCommand(ctx, t, op)})
	case !ok:
		respond(ctx, Reply{Op: op, ID: id, Err: fmt.Errorf("%s task %d: %w", op, id, ErrUnknownTask)})
	case t.gone:
		respond(ctx, Reply{Op: op, ID: id, Err: &StateError{Op: op, ID: id, State: t.last.State}})
	case t.last.Group == "":
		s.forwardToTask(ctx, id, msg, op)
	case ctx.Sender() != nil:
		// Wrapped so that the groups on the way know where it goes; the
		// sender is kept, so the task answers the caller.
		s.toGroup(ctx, t.last.Group, msg, ctx.Sender())
	default:
		s.toGroup(ctx, t.last.Group, msg, nil)
	}
}

// toGroup sends msg down the tree to the group named group, from sender
// (nil: from the runtime supervisor).
func (s *runtimeSupervisor) toGroup(ctx actor.Context, group string, msg any, sender *actor.PID) {
	path := s.env.path(group)
	next, ok := s.kids[path[0]]
	if !ok {
		return
	}
	m := toGroup{path: path, msg: msg}
	if sender != nil {
		ctx.RequestWithCustomSender(next, m, sender)
	} else {
		ctx.Send(next, m)
	}
}

// respond answers the sender of the current message, if it has one: a command
// sent with Send instead of Request gets no answer rather than a dead letter.
func respond(ctx actor.Context, msg any) {
	if ctx.Sender() != nil {
		ctx.Respond(msg)
	}
}

// ids returns the IDs of the tasks the registry holds, in start order.
func (s *runtimeSupervisor) ids() []int { return slices.Sorted(maps.Keys(s.all)) }

func (s *runtimeSupervisor) list() []TaskEvent {
	out := make([]TaskEvent, 0, len(s.all))
	for _, id := range s.ids() {
		out = append(out, s.all[id].last)
	}
	return out
}

func (s *runtimeSupervisor) shutdownAll(ctx actor.Context, m Shutdown) {
	if ctx.Sender() != nil {
		s.waiters = append(s.waiters, ctx.Sender())
	}
	first := !s.env.shuttingDown.Swap(true)
	if first || (m.Kill && !s.killAll) {
		s.killAll = s.killAll || m.Kill
		s.queued, s.current = nil, nil
		s.lazyShutdown(ctx)
		// Top-level tasks stop all at once; each group stops its own children
		// in reverse order.
		for _, c := range s.children {
			switch {
			case c.isGroup():
				ctx.Send(c.pid, shutdownGroup{kill: s.killAll})
			case !c.gone:
				ctx.Send(c.pid, stopForShutdown{kill: s.killAll})
			}
		}
	}
	s.finishShutdownIfDone(ctx)
}

// finishShutdownIfDone answers the shutdown's waiters and stops the
// supervisor, and with it the whole tree, once every task has ended.
func (s *runtimeSupervisor) finishShutdownIfDone(ctx actor.Context) {
	if !s.env.shuttingDown.Load() || s.open > 0 {
		return
	}
	tasks := s.list()
	s.env.setFinal(tasks)
	for _, t := range s.all {
		t.answerWaiters(ctx)
	}
	for _, w := range s.waiters {
		ctx.Send(w, TaskList{Tasks: tasks})
	}
	s.waiters = nil
	ctx.Stop(ctx.Self())
}
