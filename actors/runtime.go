package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// DefaultRequestTimeout bounds a command's round trip when its context has no
// deadline.
const DefaultRequestTimeout = 10 * time.Second

// Defaults applied to the zero values of Config.
const (
	// DefaultName is the name of a runtime whose Config.Name is empty.
	DefaultName = "taskvisor"
	// DefaultKeepEnded is how many ended top-level tasks a runtime remembers
	// when Config.KeepEnded is zero.
	DefaultKeepEnded = 1000
)

// Config configures a Runtime. The zero value is usable: a new quiet actor
// system, an empty catalogue, the wall clock.
type Config struct {
	// System is the actor system to host the runtime in. Nil: a new one,
	// created with NewSystem(LogOutput) and shut down by Shutdown. A system
	// passed in is left running by Shutdown.
	System *actor.ActorSystem
	// LogOutput receives protoactor's own log when System is nil. Nil: the
	// log is discarded. It never goes to the terminal by default, where it
	// would tear a full-screen UI.
	LogOutput io.Writer
	// Catalogue holds the templates that Start finds by key or name. Those
	// with Autostart are started by Runtime.Autostart, in catalogue order.
	Catalogue Catalogue
	// Groups are the supervision groups that tasks name in TaskSpec.Group.
	Groups []GroupSpec
	// Clock is the time source of the timing rules. Nil: the wall clock.
	Clock Clock
	// Name names the supervisor actor and is stamped on the runtime's events
	// (TaskEvent.Runtime, GroupEvent.Runtime). Empty: DefaultName. Two
	// runtimes in one actor system need different names; a name is free
	// again once its runtime has shut down.
	Name string
	// KeepEnded is how many ended top-level tasks the runtime remembers, the
	// most recently ended ones, for List, Output and Restart. An older one is
	// forgotten: its actor stops, its output is freed, and commands for its
	// ID answer ErrUnknownTask; its events were published all the same. A
	// task counts as ended once it is cancelled, killed, completed, failed
	// or gave-up with no restart coming by its policy. Tasks in groups are
	// always kept, since their group may start them again. Zero:
	// DefaultKeepEnded; negative: all are kept, and a program that starts
	// tasks without end grows without end.
	KeepEnded int
	// Subreaper makes the program a child subreaper (proc.BecomeSubreaper),
	// so that processes orphaned by a task's death come back to taskvisor,
	// which reaps them, instead of going to init. Set it when the program's
	// other children, if any, reap their own; cmd/taskvisor does. Linux only;
	// elsewhere it is ignored.
	Subreaper bool
	// MaxParallel is how many tasks may hold a process at once (starting,
	// running, stalled, paused or stopping), over the whole runtime; a
	// start beyond it is queued, first come first (StateQueued), and starts
	// when a slot frees. A restart after a backoff queues again; an
	// immediate restart (Restart of a running task, the stall action
	// restart) keeps its slot. Zero: no limit. SetMaxParallel changes it.
	MaxParallel int
	// UsageInterval is how often the tasks' CPU, memory and process counts
	// are sampled while something subscribes to them (SubscribeUsage).
	// Zero: DefaultUsageInterval (1s).
	UsageInterval time.Duration

	// groupMiddleware wraps every group actor's Receive; the package's tests
	// set it to inject failures (groups are spawned by New).
	groupMiddleware []actor.ReceiverMiddleware
}

// NewSystem returns an actor system whose own log goes to w, or nowhere when
// w is nil, never to the terminal.
func NewSystem(w io.Writer) *actor.ActorSystem {
	var h slog.Handler = slog.DiscardHandler
	if w != nil {
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	logger := slog.New(h)
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond),
	)
}

// Runtime runs tasks under a supervisor actor. Its methods are safe for
// concurrent use; each sends one command and waits for the reply.
type Runtime struct {
	system    *actor.ActorSystem
	ownSystem bool
	pid       *actor.PID
	env       *runtimeEnv
	done      chan struct{} // closed when the supervisor has stopped

	// streams are the subscriptions of Events, ended by Shutdown.
	streamsMu     sync.Mutex
	streams       map[*eventStream]struct{}
	streamsClosed bool

	shutdownOnce sync.Once
	final        []TaskEvent
	shutdownErr  error
}

// New starts a runtime: its supervisor actor, and the private directory that
// holds the tasks' sd_notify sockets.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Catalogue.Validate(); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if err := ValidateGroups(cfg.Groups, cfg.Catalogue); err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	if cfg.MaxParallel < 0 {
		return nil, fmt.Errorf("MaxParallel: %d is negative", cfg.MaxParallel)
	}
	if cfg.Subreaper {
		if err := proc.BecomeSubreaper(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return nil, err
		}
	}
	r := &Runtime{system: cfg.System, done: make(chan struct{})}
	if r.system == nil {
		r.system, r.ownSystem = NewSystem(cfg.LogOutput), true
	}
	clock := cfg.Clock
	if clock == nil {
		clock = newRealClock(r.system)
	}
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	r.env = &runtimeEnv{name: name, keepEnded: cfg.KeepEnded, catalogue: cfg.Catalogue, groups: slices.Clone(cfg.Groups), clock: clock,
		groupMiddleware: cfg.groupMiddleware, dispatcher: newPooledDispatcher(defaultPoolWorkers()),
		progress: &notifyFlusher{}, subgroups: map[string][]GroupSpec{}, parents: map[string]string{}, groupSpecs: map[string]GroupSpec{}}
	for _, g := range r.env.groups {
		r.env.subgroups[g.Parent] = append(r.env.subgroups[g.Parent], g)
		r.env.parents[g.Name] = g.Parent
		r.env.groupSpecs[g.Name] = g
	}
	r.env.slots = newSlots(cfg.MaxParallel, r.env.groups, r.env.parents)
	r.env.usage = &usageSampler{env: r.env, system: r.system, interval: cfg.UsageInterval}
	if notify.Supported {
		dir, err := notify.NewDir()
		if err != nil {
			r.env.dispatcher.stop()
			r.closeOwnSystem()
			return nil, fmt.Errorf("create the notify socket directory: %w", err)
		}
		r.env.notifyDir = dir
		// Best effort: where there is a guard process (Linux), it removes the
		// directory even if this program is killed with SIGKILL.
		_ = proc.RemoveAtExit(dir)
	}
	// Task actors report to the top; the PID is known before the spawn, so
	// that no actor ever reads it while it is being set.
	r.env.top = actor.NewPID(r.system.Address(), name)
	env, done := r.env, r.done
	props := env.props(func() actor.Actor { return newRuntimeSupervisor(env) },
		actor.WithReceiverMiddleware(closeOnStopped(done)))
	pid, err := r.system.Root.SpawnNamed(props, name)
	if err != nil {
		r.env.dispatcher.stop()
		r.removeNotifyDir()
		r.closeOwnSystem()
		return nil, fmt.Errorf("spawn the runtime supervisor %q: %w", name, err)
	}
	r.pid = pid
	return r, nil
}

// Autostart starts the catalogue's templates marked Autostart, in catalogue
// order, and returns their IDs. The IDs follow that order, and so do the
// processes: each task's start waits until the task before it has started
// its process (or ended, or gone to backoff), at most autostartWait, so a
// task's process starts after those of the tasks above it; none waits for
// another's readiness (READY=1). New does not start them, so that a program
// can subscribe to the events first; the UI and the headless mode call
// Autostart once they listen.
func (r *Runtime) Autostart(ctx context.Context) ([]int, error) {
	var mu sync.Mutex
	launched := map[int]bool{}
	changed := make(chan struct{}, 1)
	unsubscribe := r.Subscribe(func(ev TaskEvent) {
		if ev.PID != 0 || ev.State.Ended() || ev.State == StateBackoff || ev.State == StateQueued || ev.State == StateWaiting {
			mu.Lock()
			launched[ev.ID] = true
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	defer unsubscribe()
	var ids []int
	for _, spec := range r.env.catalogue {
		if !spec.Autostart {
			continue
		}
		id, err := r.StartSpec(ctx, spec)
		if err != nil {
			return ids, fmt.Errorf("autostart %s: %w", spec.Name, err)
		}
		ids = append(ids, id)
		bound := time.NewTimer(autostartWait)
		for waiting := true; waiting; {
			mu.Lock()
			waiting = !launched[id]
			mu.Unlock()
			if !waiting {
				break
			}
			select {
			case <-changed:
			case <-bound.C:
				waiting = false
			case <-ctx.Done():
				bound.Stop()
				return ids, fmt.Errorf("autostart %s: %w", spec.Name, ctx.Err())
			}
		}
		bound.Stop()
	}
	return ids, nil
}

// autostartWait bounds how long Autostart waits for a task's process to
// start before it starts the next task (a start held up by its group).
const autostartWait = 5 * time.Second

// closeOnStopped closes done when the actor has stopped, so that Shutdown can
// wait for it without StopFuture's fixed 10 s timeout.
func closeOnStopped(done chan struct{}) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			next(ctx, env)
			if _, ok := env.Message.(*actor.Stopped); ok {
				close(done)
			}
		}
	}
}

// System returns the actor system that hosts the runtime.
func (r *Runtime) System() *actor.ActorSystem { return r.system }

// PID returns the supervisor actor, to which the commands (Start, Cancel,
// Kill, Restart, List, GetOutput, Wait, Shutdown) can be sent directly; it
// answers each as the method of the same name does.
func (r *Runtime) PID() *actor.PID { return r.pid }

// Catalogue returns the templates that Start knows.
func (r *Runtime) Catalogue() Catalogue { return r.env.catalogue }

// Start starts a task from the catalogue template with the given key or name
// and returns its ID.
func (r *Runtime) Start(ctx context.Context, keyOrName string) (int, error) {
	return r.startReply(ctx, Start{Template: keyOrName})
}

// StartSpec starts a task defined by spec and returns its ID.
func (r *Runtime) StartSpec(ctx context.Context, spec TaskSpec) (int, error) {
	return r.startReply(ctx, Start{Spec: &spec})
}

func (r *Runtime) startReply(ctx context.Context, m Start) (int, error) {
	res, err := request[Reply](ctx, r, m)
	if err != nil {
		return 0, err
	}
	return res.ID, res.Err
}

// Cancel stops task id gracefully: its stop signal, then SIGKILL when its
// grace period runs out.
func (r *Runtime) Cancel(ctx context.Context, id int) error { return r.command(ctx, Cancel{ID: id}) }

// Kill sends SIGKILL to task id's process group.
func (r *Runtime) Kill(ctx context.Context, id int) error { return r.command(ctx, Kill{ID: id}) }

// Fail ends task id's process as a failure, for the reason given: SIGKILL
// to its process group, and the task ends failed, so that its restart
// policy applies as to any failure (a Kill never counts as one). It is for
// a program's own detector of a task gone wrong.
func (r *Runtime) Fail(ctx context.Context, id int, reason string) error {
	return r.command(ctx, Fail{ID: id, Reason: reason})
}

// Restart kills task id's process group and starts a new process under the
// same ID. A task that has ended, or waits in backoff, is started at once,
// with its restart policy afresh: backoff and restart limit count from zero.
func (r *Runtime) Restart(ctx context.Context, id int) error { return r.command(ctx, Restart{ID: id}) }

// Pause stops task id's processes: SIGSTOP to its process group and, where
// cgroups are in force, to every process of its run (escapees too). Its
// watchdog and run-time limit wait until Resume.
func (r *Runtime) Pause(ctx context.Context, id int) error { return r.command(ctx, Pause{ID: id}) }

// Resume continues a paused task: SIGCONT to what Pause stopped.
func (r *Runtime) Resume(ctx context.Context, id int) error { return r.command(ctx, Resume{ID: id}) }

// PauseGroup pauses every running task of group and the groups below it;
// with resume set it resumes those that are paused instead.
func (r *Runtime) PauseGroup(ctx context.Context, group string, resume bool) error {
	return r.command(ctx, PauseGroup{Group: group, Resume: resume})
}

// SetMaxParallel sets the parallelism limit of group ("" for the whole
// runtime) to n; n = 0 lifts it. It takes effect at once: a raised limit
// starts as many queued tasks as it frees slots; a lowered one stops no
// process but holds new starts until the tasks over it have ended.
func (r *Runtime) SetMaxParallel(ctx context.Context, group string, n int) error {
	return r.command(ctx, SetMaxParallel{Group: group, Limit: n})
}

// AdjustMaxParallel moves the parallelism limit of group ("" for the whole
// runtime) by delta, never below 1, and returns the limit now in force (0:
// none). Lowering no limit starts from the tasks holding a process now.
func (r *Runtime) AdjustMaxParallel(ctx context.Context, group string, delta int) (int, error) {
	res, err := request[Reply](ctx, r, SetMaxParallel{Group: group, Adjust: delta})
	if err != nil {
		return 0, err
	}
	return res.Limit, res.Err
}

func (r *Runtime) command(ctx context.Context, m any) error {
	res, err := request[Reply](ctx, r, m)
	if err != nil {
		return err
	}
	return res.Err
}

// Wait waits until task id has ended with no restart pending: it is
// cancelled, killed, completed, failed or gave-up, and neither its restart
// policy nor its group will start it again. It returns the task's event at
// that point; ev.Outcome() says how it ended. A task that has ended so
// returns at once. Unlike the other methods, Wait has no default bound: it
// waits for as long as ctx allows, and ends with ErrStopped if the runtime
// shuts down without the task's end being known.
func (r *Runtime) Wait(ctx context.Context, id int) (TaskEvent, error) {
	res, err := requestWithin[WaitReply](ctx, r, Wait{ID: id}, 0, func(to *actor.PID) { r.unwait(id, to) })
	if err != nil {
		return TaskEvent{}, err
	}
	return res.Event, res.Err
}

// List returns the latest event of every task, by ID.
func (r *Runtime) List(ctx context.Context) ([]TaskEvent, error) {
	res, err := request[TaskList](ctx, r, List{})
	return res.Tasks, err
}

// Output returns the last output lines of task id, oldest first.
func (r *Runtime) Output(ctx context.Context, id int) ([]Line, error) {
	res, err := request[OutputReply](ctx, r, GetOutput{ID: id})
	if err != nil {
		return nil, err
	}
	return res.Lines, res.Err
}

// ErrStopped is returned by commands sent after the runtime has shut down.
var ErrStopped = errors.New("taskvisor runtime has stopped")

// request sends m to the supervisor and waits for a reply of type T until
// ctx is done, or for DefaultRequestTimeout when ctx has no deadline. The
// error of a request that ctx ended wraps ctx.Err().
func request[T any](ctx context.Context, r *Runtime, m any) (T, error) {
	return requestWithin[T](ctx, r, m, DefaultRequestTimeout, nil)
}

// requestWithin is request with bound in place of DefaultRequestTimeout; a
// bound of 0 waits for as long as ctx allows, or until the supervisor stops.
// abandon, if set, is called with the reply's address when ctx ends first.
func requestWithin[T any](ctx context.Context, r *Runtime, m any, bound time.Duration, abandon func(to *actor.PID)) (T, error) {
	var zero T
	select {
	case <-r.done:
		return zero, ErrStopped
	default:
	}
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s: %w", commandName(m), err)
	}
	if _, ok := ctx.Deadline(); !ok && bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	// A one-shot process receives the reply, so that the wait can end with
	// ctx; protoactor's Future can only be waited on by blocking, for its
	// own timeout, and would need a goroutine per request to be cancelled.
	slot, to := r.newReplySlot()
	defer r.system.ProcessRegistry.Remove(to)
	r.system.Root.RequestWithCustomSender(r.pid, m, to)
	var res any
	select {
	case res = <-slot:
	case <-ctx.Done():
		if abandon != nil {
			abandon(to)
		}
		return zero, fmt.Errorf("%s: no reply: %w", commandName(m), ctx.Err())
	case <-r.done:
		// The supervisor answers before it stops, and a reply is in the
		// slot as soon as it is sent.
		select {
		case res = <-slot:
		default:
			return zero, fmt.Errorf("%s: %w", commandName(m), ErrStopped)
		}
	}
	if _, ok := res.(*actor.DeadLetterResponse); ok {
		return zero, fmt.Errorf("%s: %w", commandName(m), ErrStopped)
	}
	v, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s: unexpected reply %T", commandName(m), res)
	}
	return v, nil
}

// commandName says what a command asks for, as its errors begin: "kill task 3".
func commandName(m any) string {
	switch m := m.(type) {
	case Start:
		if m.Spec != nil {
			return fmt.Sprintf("start %q", m.Spec.Name)
		}
		return fmt.Sprintf("start %q", m.Template)
	case Cancel:
		return fmt.Sprintf("cancel task %d", m.ID)
	case Kill:
		return fmt.Sprintf("kill task %d", m.ID)
	case Restart:
		return fmt.Sprintf("restart task %d", m.ID)
	case Wait:
		return fmt.Sprintf("wait for task %d", m.ID)
	case GetOutput:
		return fmt.Sprintf("output of task %d", m.ID)
	case outputOf:
		return fmt.Sprintf("follow task %d", m.id)
	case List:
		return "list"
	case Shutdown:
		return "shutdown"
	}
	return "command"
}

// replySlot is a process that passes the first message sent to it to a
// channel with room for one; later ones are dropped.
type replySlot chan any

// newReplySlot registers a reply slot; the caller removes it from the
// process registry when done with it.
func (r *Runtime) newReplySlot() (replySlot, *actor.PID) {
	slot := replySlot(make(chan any, 1))
	reg := r.system.ProcessRegistry
	to, _ := reg.Add(slot, "reply"+reg.NextId())
	return slot, to
}

// unwait tells the supervisor that the Wait sent from who for task id was
// abandoned, so that it need not remember to answer it; after the runtime
// has stopped there is nobody to tell.
func (r *Runtime) unwait(id int, who *actor.PID) {
	select {
	case <-r.done:
	default:
		r.system.Root.Send(r.pid, unwait{id: id, who: who})
	}
}

// SendUserMessage implements actor.Process.
func (s replySlot) SendUserMessage(_ *actor.PID, message any) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	select {
	case s <- msg:
	default:
	}
}

// SendSystemMessage implements actor.Process; a reply slot watches nothing.
func (s replySlot) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process; the requester removes the slot.
func (s replySlot) Stop(*actor.PID) {}

// Shutdown stops every task with escalation (stop signal, then SIGKILL after
// its grace), waits until all have ended, stops the supervisor and removes the
// notify directory; an actor system created by New is shut down too. If ctx
// ends first, the tasks still running get SIGKILL at once (the caller knows
// from ctx.Err; it is not an error), and Shutdown returns within 11.5 s of
// it: a task that SIGKILL cannot end is given up on after
// proc.DefaultUnkillableAfter. It returns the final event of each task,
// and an error only if something did not end. Calling it again returns the
// same result.
func (r *Runtime) Shutdown(ctx context.Context) ([]TaskEvent, error) {
	r.shutdownOnce.Do(func() { r.final, r.shutdownErr = r.shutdown(ctx) })
	return r.final, r.shutdownErr
}

func (r *Runtime) shutdown(ctx context.Context) ([]TaskEvent, error) {
	defer r.closeOwnSystem()
	defer r.removeNotifyDir()
	// Its workers end; an actor still running afterwards (a subscriber not
	// yet unsubscribed) gets a goroutine per mailbox run, as by default.
	defer r.env.dispatcher.stop()
	// First of the deferred: the channels of Events get every event up to
	// here while the system still runs.
	defer r.closeStreams()
	defer r.env.usage.close()

	select {
	case <-r.done:
		// The supervisor has stopped already (a Shutdown sent to it
		// directly): its tasks have ended, and it left their final events.
		return r.env.finalTasks(), nil
	default:
	}
	slot, to := r.newReplySlot()
	defer r.system.ProcessRegistry.Remove(to)
	r.system.Root.RequestWithCustomSender(r.pid, Shutdown{}, to)
	// The supervisor answers before it stops, and a reply is in the slot as
	// soon as it is sent; a request that came after another caller's
	// Shutdown gets a dead letter, and the final events the supervisor left.
	finalOf := func(res any) []TaskEvent {
		if l, ok := res.(TaskList); ok {
			return l.Tasks
		}
		return r.env.finalTasks()
	}

	// Once the tasks have ended (the answer), or SIGKILL went out (ctx),
	// what is left to wait for has one deadline: shutdownKillBound.
	var deadline <-chan time.Time
	var timer *time.Timer
	startDeadline := func() {
		timer = time.NewTimer(shutdownKillBound)
		deadline = timer.C
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var errs []error
	var final []TaskEvent
	select {
	case res := <-slot:
		final = finalOf(res)
	case <-r.done:
		select {
		case res := <-slot:
			final = finalOf(res)
		default:
			final = r.env.finalTasks()
		}
	case <-ctx.Done():
		// As documented, not an error: the caller can tell from ctx.
		r.system.Root.Send(r.pid, Shutdown{Kill: true})
		startDeadline()
		select {
		case res := <-slot:
			final = finalOf(res)
		case <-deadline:
			errs = append(errs, fmt.Errorf("shutdown: tasks did not end %s after SIGKILL", shutdownKillBound))
		}
	}
	if deadline == nil {
		startDeadline()
	}
	select {
	case <-r.done:
	case <-deadline:
		errs = append(errs, errors.New("shutdown: the supervisor did not stop"))
	}
	waited := make(chan struct{})
	go func() { r.env.procs.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-deadline:
		errs = append(errs, errors.New("shutdown: process goroutines did not end"))
	}
	return final, errors.Join(errs...)
}

// shutdownKillBound is how long Shutdown waits, once SIGKILL has gone out
// to every task (its ctx ended) or every task has ended, for the rest: a
// task that SIGKILL cannot end is given up on after
// proc.DefaultUnkillableAfter, and its output is read for
// proc.DefaultWaitDelay more. So Shutdown returns at most this long after
// its ctx ends.
const shutdownKillBound = proc.DefaultUnkillableAfter + proc.DefaultWaitDelay + time.Second

func (r *Runtime) removeNotifyDir() {
	if r.env != nil && r.env.notifyDir != "" {
		_ = os.RemoveAll(r.env.notifyDir)
	}
}

func (r *Runtime) closeOwnSystem() {
	if r.ownSystem {
		r.system.Shutdown()
	}
}
