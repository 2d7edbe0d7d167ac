package actors

import (
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
)

// runtimeEnv is what the supervisor and its task actors share: settings fixed
// at creation and the tracker of process goroutines. Nothing in it is mutated
// by Receive except through the WaitGroup.
type runtimeEnv struct {
	catalogue Catalogue
	clock     Clock
	notifyDir string
	// procs counts started processes whose goroutines have not ended yet, so
	// that Shutdown can wait for the last of them.
	procs sync.WaitGroup
	// taskMiddleware wraps every task actor's Receive; tests use it to
	// inject failures.
	taskMiddleware []actor.ReceiverMiddleware
}

// taskRef is the supervisor's view of one task.
type taskRef struct {
	pid    *actor.PID
	last   TaskEvent
	output *proc.Output
	// crash is the panic value of a task actor that failed, until its
	// Terminated arrives.
	crash any
	// stopped: the task actor is gone; the supervisor answers for it.
	stopped bool
}

// runtimeSupervisor is the top of the tree. It numbers tasks, spawns a task
// actor for each, routes commands to them, keeps the latest event of each for
// List, and runs the shutdown. It must never fail: a top-level actor that
// fails is restarted by protoactor and loses its children (DESIGN.md §5).
type runtimeSupervisor struct {
	env    *runtimeEnv
	nextID int
	tasks  map[int]*taskRef
	order  []int
	// byActor finds a task by its actor's PID.Id, for failures and
	// Terminated, which name the actor.
	byActor map[string]*taskRef

	shuttingDown bool
	killAll      bool
	waiters      []*actor.PID
}

func newRuntimeSupervisor(env *runtimeEnv) *runtimeSupervisor {
	return &runtimeSupervisor{env: env, tasks: map[int]*taskRef{}, byActor: map[string]*taskRef{}}
}

// Receive implements actor.Actor.
func (s *runtimeSupervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case Start:
		id, err := s.start(ctx, m)
		respond(ctx, Reply{ID: id, Err: err})
	case Cancel:
		s.route(ctx, m.ID, "cancel")
	case Kill:
		s.route(ctx, m.ID, "kill")
	case Restart:
		if s.shuttingDown {
			respond(ctx, Reply{ID: m.ID, Err: fmt.Errorf("restart task %d: %w", m.ID, ErrShuttingDown)})
			return
		}
		s.route(ctx, m.ID, "restart")
	case List:
		respond(ctx, TaskList{Tasks: s.list()})
	case GetOutput:
		t, ok := s.tasks[m.ID]
		if !ok {
			respond(ctx, OutputReply{ID: m.ID, Err: fmt.Errorf("output of task %d: %w", m.ID, ErrUnknownTask)})
			return
		}
		respond(ctx, OutputReply{ID: m.ID, Lines: t.output.Lines()})
	case Shutdown:
		s.shutdown(ctx, m)
	case TaskEvent:
		if t, ok := s.tasks[m.ID]; ok && ctx.Sender() != nil && ctx.Sender().Equal(t.pid) {
			t.last = m
		}
		s.finishShutdownIfDone(ctx)
	case *actor.Terminated:
		s.taskActorStopped(ctx, m.Who)
	}
}

// HandleFailure implements actor.SupervisorStrategy for the task actors. A
// task actor that panics has a bug; it is stopped, never restarted: a new
// instance would start a second process for the task while the first may
// still run, with its generations counted from 1 again. Its Stopping kills
// the process group, and the task ends failed (see taskActorStopped).
func (s *runtimeSupervisor) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	if t, ok := s.byActor[child.Id]; ok {
		t.crash = reason
	}
	supervisor.StopChildren(child)
}

// taskActorStopped settles a task whose actor stopped on its own: it ends
// failed, with the reason, so that nobody waits for it.
func (s *runtimeSupervisor) taskActorStopped(ctx actor.Context, who *actor.PID) {
	if t, ok := s.byActor[who.Id]; ok && !t.last.State.Ended() {
		t.stopped = true
		ev := t.last
		ev.State, ev.Time = StateFailed, s.env.clock.Now()
		ev.Message = "Task failed: internal error"
		ev.Reason = fmt.Sprintf("task actor stopped: %v", t.crash)
		t.last = ev
		ctx.ActorSystem().EventStream.Publish(ev)
	}
	s.finishShutdownIfDone(ctx)
}

func (s *runtimeSupervisor) start(ctx actor.Context, m Start) (int, error) {
	if s.shuttingDown {
		return 0, fmt.Errorf("start: %w", ErrShuttingDown)
	}
	var spec TaskSpec
	switch {
	case m.Spec != nil && m.Template != "":
		return 0, fmt.Errorf("start: give a template or a spec, not both")
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
		return 0, fmt.Errorf("start: %w", err)
	}
	spec.Argv = slices.Clone(spec.Argv)

	s.nextID++
	id := s.nextID
	out := proc.NewOutput(spec.outputLines())
	env := s.env
	props := actor.PropsFromProducer(func() actor.Actor { return newTaskActor(env, id, spec, out) },
		actor.WithReceiverMiddleware(env.taskMiddleware...))
	pid, err := ctx.SpawnNamed(props, "task-"+strconv.Itoa(id))
	if err != nil {
		s.nextID--
		return 0, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	t := &taskRef{pid: pid, output: out, last: TaskEvent{ID: id, Name: spec.Name, Group: spec.Group, State: StateStarting, ExitCode: -1}}
	s.tasks[id] = t
	s.byActor[pid.Id] = t
	s.order = append(s.order, id)
	return id, nil
}

// route forwards a command to its task actor, which answers it: only the
// task knows its state at the moment the command arrives.
func (s *runtimeSupervisor) route(ctx actor.Context, id int, op string) {
	t, ok := s.tasks[id]
	switch {
	case !ok:
		respond(ctx, Reply{ID: id, Err: fmt.Errorf("%s task %d: %w", op, id, ErrUnknownTask)})
	case t.stopped:
		respond(ctx, Reply{ID: id, Err: &StateError{Op: op, ID: id, State: t.last.State}})
	default:
		ctx.Forward(t.pid)
	}
}

// respond answers the sender of the current message, if it has one: a command
// sent with Send instead of Request gets no answer rather than a dead letter.
func respond(ctx actor.Context, msg any) {
	if ctx.Sender() != nil {
		ctx.Respond(msg)
	}
}

func (s *runtimeSupervisor) list() []TaskEvent {
	out := make([]TaskEvent, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.tasks[id].last)
	}
	return out
}

func (s *runtimeSupervisor) shutdown(ctx actor.Context, m Shutdown) {
	if ctx.Sender() != nil {
		s.waiters = append(s.waiters, ctx.Sender())
	}
	first := !s.shuttingDown
	s.shuttingDown = true
	if first || (m.Kill && !s.killAll) {
		s.killAll = s.killAll || m.Kill
		for _, id := range s.order {
			if t := s.tasks[id]; !t.stopped {
				ctx.Send(t.pid, stopForShutdown{kill: s.killAll})
			}
		}
	}
	s.finishShutdownIfDone(ctx)
}

// finishShutdownIfDone answers the shutdown's waiters and stops the
// supervisor, and with it the task actors, once every task has ended.
func (s *runtimeSupervisor) finishShutdownIfDone(ctx actor.Context) {
	if !s.shuttingDown {
		return
	}
	for _, t := range s.tasks {
		if t.last.State.hasProcess() || t.last.State == StateStarting {
			return
		}
	}
	tasks := s.list()
	for _, w := range s.waiters {
		ctx.Send(w, TaskList{Tasks: tasks})
	}
	s.waiters = nil
	ctx.Stop(ctx.Self())
}
