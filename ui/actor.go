package ui

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// Timing of the UI actor.
const (
	// DefaultFrameInterval is the shortest time between two frames: events
	// that arrive faster are coalesced into at most ~30 frames a second.
	DefaultFrameInterval = 33 * time.Millisecond
	// countdownTick is how often a frame is drawn while a countdown
	// (stopping, backoff, stalled) is on screen.
	countdownTick = 100 * time.Millisecond
	// clockTick is how often a frame is drawn while only run times change.
	clockTick = 500 * time.Millisecond
	// outputEvery is how often the detail pane's output is fetched again.
	outputEvery = 500 * time.Millisecond
	// outputPatience is how long a fetch may go unanswered before another
	// is sent.
	outputPatience = 3 * time.Second
)

// Config configures the UI actor. The actor subscribes to the events of its
// runtime with Subscribe, from its start to its stop.
type Config struct {
	// Screen is drawn on by the UI actor only. The caller initialises and
	// finalises it, and forwards its events (keys, mouse, resize) to the
	// actor. Required.
	Screen tcell.Screen
	// Theme is drawn with. Zero: ThemeFor(Screen).
	Theme *Theme
	// Supervisor receives the commands (actors.Start, Cancel, Kill, Restart,
	// GetOutput, List) and answers them. Required.
	Supervisor *actor.PID
	// Subscribe sends the runtime's events (actors.TaskEvent, GroupEvent,
	// and the usage samples, actors.UsageEvent, which show the CPU and MEM
	// columns) to the UI actor, self, until unsubscribe is called: Runtime.SubscribePID,
	// which forwards only that runtime's events, so that a second runtime
	// in the actor system does not mix its tasks in. The actor calls it when
	// it starts, before it asks for the list of tasks, and unsubscribes
	// when it stops. Nil: the actor shows only the events sent to it.
	Subscribe func(self *actor.PID) (unsubscribe func())
	// Catalogue lists the templates the keys 1-9 start, for the help and
	// the empty screen. Nil: none known; the keys are sent regardless.
	Catalogue actors.Catalogue
	// Autostart starts the catalogue's templates marked Autostart once the
	// UI has subscribed to the events, so none of theirs is missed: their
	// ids follow the catalogue, their processes start at once. Run uses
	// Subscribed and Runtime.Autostart instead, which starts each process
	// after the one before it.
	Autostart bool
	// Subscribed, when set, is called on the actor's goroutine once the
	// actor has subscribed to the events and asked for the list of tasks.
	// It must not block.
	Subscribed func()
	// Now is the actor's clock: of the countdowns and run times drawn, and
	// of the pacing of frames and output fetches (whose timers still run on
	// the wall clock). Nil: time.Now.
	Now func() time.Time
	// FrameInterval is the shortest time between two frames. Zero:
	// DefaultFrameInterval.
	FrameInterval time.Duration
	// Quit is called, on the actor's goroutine, when the user quits: with
	// kill false for the first q (stop every task with escalation), true for
	// a second q or Q (SIGKILL to what is left). It must not block. Nil:
	// nothing happens.
	Quit func(kill bool)
	// Failed is called once, on the actor's goroutine, if the UI breaks (a
	// panic while updating or drawing); the actor draws nothing more and
	// the caller restores the terminal. It must not block. Nil: nothing.
	Failed func(error)
	// Node, when set, names the node the UI is attached to (taskvisor
	// attach): q calls Quit to detach and stops nothing, S stops the node
	// after asking, and Connection messages dim the tasks while it is out
	// of reach.
	Node string
	// NodeStopped is called, on the actor's goroutine and just before Quit,
	// when the node that the user stopped (S) has answered or gone. It
	// must not block. Nil: nothing.
	NodeStopped func()
	// Nodes, when set, names the nodes of a UI attached to several
	// (node/client.Multi), in order, instead of Node: a line under the
	// header says each one's state, the list has a NODE column, keys act
	// on the selected row's node (1-9 start there), q detaches, and
	// Connection messages naming a node dim its rows while it is out of
	// reach.
	Nodes []string
}

// Props returns the props of a UI actor with cfg.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newUIActor(cfg) })
}

// Messages of the UI actor to itself.
type (
	frameMsg struct{}
	tickMsg  struct{}
)

// uiActor is the UI actor: Receive is the update, draw renders the model.
type uiActor struct {
	cfg   Config
	theme Theme
	m     *Model

	self        *actor.PID
	root        *actor.RootContext
	unsubscribe func()

	framePending bool
	frameTimer   *time.Timer
	lastFrame    time.Time
	sync         bool // the next frame redraws every cell (after a resize)

	tickTimer *time.Timer
	tickArmed bool

	fetching  bool // a GetOutput is unanswered
	fetchedAt time.Time

	broken bool
}

func newUIActor(cfg Config) *uiActor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FrameInterval <= 0 {
		cfg.FrameInterval = DefaultFrameInterval
	}
	th := ThemeFor(cfg.Screen)
	if cfg.Theme != nil {
		th = *cfg.Theme
	}
	w, h := cfg.Screen.Size()
	m := NewModel(cfg.Catalogue, w, h)
	m.Node = cfg.Node
	if len(cfg.Nodes) > 0 {
		m.Node = ""
		m.SetNodes(cfg.Nodes)
	}
	return &uiActor{cfg: cfg, theme: th, m: m}
}

// Receive implements actor.Actor: it updates the model, sends the commands
// the update asks for, and schedules a frame.
func (u *uiActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Stopping); ok {
		u.stopping() // also when broken: no event is to reach a stopped actor
		return
	}
	if u.broken {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			u.fail(fmt.Errorf("terminal UI: panic: %v\n%s", r, debug.Stack()))
		}
	}()
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		u.started(ctx)
	case frameMsg:
		u.frame()
	default:
		if cmds, ok := u.update(msg); ok {
			u.run(ctx, cmds)
			u.invalidate()
			u.armTick()
		}
	}
}

func (u *uiActor) stopping() {
	if u.unsubscribe != nil {
		u.unsubscribe()
	}
	u.stopTimers()
}

// started subscribes to the events, then asks for the list of tasks, so
// that no event falls between the two (events older than the model's are
// ignored), and draws the first frame.
func (u *uiActor) started(ctx actor.Context) {
	u.self, u.root = ctx.Self(), ctx.ActorSystem().Root
	if u.cfg.Subscribe != nil {
		u.unsubscribe = u.cfg.Subscribe(u.self)
	}
	ctx.Request(u.cfg.Supervisor, actors.List{})
	if u.cfg.Subscribed != nil {
		u.cfg.Subscribed()
	}
	if u.cfg.Autostart {
		// Now that the UI listens: in catalogue order, so the ids follow
		// it (requests from one actor arrive in order).
		for _, spec := range u.cfg.Catalogue {
			if spec.Autostart {
				ctx.Request(u.cfg.Supervisor, actors.Start{Spec: &spec})
			}
		}
	}
	u.draw()
	u.armTick()
}

func (u *uiActor) frame() {
	u.framePending = false
	u.draw()
	u.armTick()
}

// update applies a message to the model and returns the commands that
// follow; ok is false for a message the UI does not know (nothing to draw).
func (u *uiActor) update(msg any) (cmds []any, ok bool) {
	now := u.cfg.Now()
	switch msg := msg.(type) {
	case tickMsg:
		cmds = u.tick(now)
	case *tcell.EventKey:
		cmds = u.m.Key(msg, now)
	case *tcell.EventMouse:
		cmds = u.m.Mouse(msg)
	case *tcell.EventResize:
		u.resize(msg)
	case QuitRequest:
		cmds = u.m.Quit(msg, now)
	case actors.TaskEvent:
		cmds = u.m.Event(msg)
	case actors.GroupEvent:
		u.m.ApplyGroup(msg)
	case actors.NoticeEvent:
		u.m.ApplyNotice(msg)
	case actors.UsageEvent:
		u.m.ApplyUsage(msg)
	case actors.TaskList:
		cmds = u.m.ApplyList(msg)
	case Connection:
		cmds = u.m.Connection(msg, now)
	case actors.Reply:
		u.m.ApplyReply(msg, now)
	case actors.OutputReply:
		u.fetching = false
		u.m.ApplyOutput(msg)
	case *actor.DeadLetterResponse:
		u.deadLetter(now)
	default:
		return nil, false
	}
	return cmds, true
}

// tick is the clock's frame: it also fetches the shown output again.
func (u *uiActor) tick(now time.Time) []any {
	u.tickArmed = false
	if u.m.showsOutput() &&
		(!u.fetching && now.Sub(u.fetchedAt) >= outputEvery || now.Sub(u.fetchedAt) >= outputPatience) {
		return []any{actors.GetOutput{ID: u.m.Selected}}
	}
	return nil
}

func (u *uiActor) resize(ev *tcell.EventResize) {
	w, h := ev.Size()
	u.m.Resize(w, h)
	u.sync = true
}

// deadLetter is the answer to a command sent to a supervisor that has
// stopped.
func (u *uiActor) deadLetter(now time.Time) {
	u.fetching = false
	if !u.m.Quitting {
		u.m.Error(errors.New("the taskvisor runtime does not answer: it has stopped"), now)
	}
}

// nodeShutdownWait bounds the wait for the answer to a node's shutdown.
const nodeShutdownWait = 2 * time.Minute

// run carries out the commands of an update.
func (u *uiActor) run(ctx actor.Context, cmds []any) {
	for _, c := range cmds {
		switch c := c.(type) {
		case quitCmd:
			if c.nodeStopped && u.cfg.NodeStopped != nil {
				u.cfg.NodeStopped()
			}
			if u.cfg.Quit != nil {
				u.cfg.Quit(c.kill)
			}
		case actors.GetOutput:
			u.fetching, u.fetchedAt = true, u.cfg.Now()
			ctx.Request(u.cfg.Supervisor, c)
		case actors.Shutdown:
			// The node's shutdown (S, attached): its answer, the tasks'
			// final events, comes once every task has stopped; then the
			// UI detaches.
			f := ctx.RequestFuture(u.cfg.Supervisor, c, nodeShutdownWait)
			ctx.ReenterAfter(f, func(res any, err error) {
				var cmds []any
				if l, ok := res.(actors.TaskList); ok {
					for _, ev := range l.Tasks {
						cmds = append(cmds, u.m.Event(ev)...)
					}
				} else if r, ok := res.(actors.Reply); ok && r.Err != nil {
					err = r.Err
				}
				switch {
				case err != nil:
					u.m.StoppingNode = false
					u.m.Error(fmt.Errorf("stop node %s: %w", u.m.stopName(), err), u.cfg.Now())
				case c.Node != "":
					// One of several: the UI stays with the others.
					u.m.note("stopped node "+termtext.Escape(c.Node)+" and every task on it", false, u.cfg.Now())
				default:
					cmds = append(cmds, u.m.NodeStopped()...)
				}
				u.run(ctx, cmds)
				u.invalidate()
			})
		default:
			ctx.Request(u.cfg.Supervisor, c)
		}
	}
}

// invalidate schedules a frame, no sooner than FrameInterval after the
// last one: what changes meanwhile is drawn in the same frame.
func (u *uiActor) invalidate() {
	if u.framePending {
		return
	}
	u.framePending = true
	wait := u.cfg.FrameInterval - u.cfg.Now().Sub(u.lastFrame)
	if wait <= 0 {
		u.root.Send(u.self, frameMsg{})
		return
	}
	self, root := u.self, u.root
	u.frameTimer = time.AfterFunc(wait, func() { root.Send(self, frameMsg{}) })
}

// armTick schedules the next frame that only the clock asks for: while a
// countdown or a run time is on screen, the detail pane's output is to be
// fetched again, or a quit is under way.
func (u *uiActor) armTick() {
	if u.tickArmed {
		return
	}
	live, fast := u.m.needsClock()
	if !live && !u.m.showsOutput() && !u.m.Quitting {
		return
	}
	d := clockTick
	if fast || u.m.Quitting {
		d = countdownTick
	}
	u.tickArmed = true
	self, root := u.self, u.root
	u.tickTimer = time.AfterFunc(d, func() { root.Send(self, tickMsg{}) })
}

func (u *uiActor) stopTimers() {
	if u.frameTimer != nil {
		u.frameTimer.Stop()
	}
	if u.tickTimer != nil {
		u.tickTimer.Stop()
	}
}

// draw renders the model and shows it. Only the UI actor calls it.
func (u *uiActor) draw() {
	s := u.cfg.Screen
	w, h := s.Size()
	if w != u.m.Width || h != u.m.Height {
		u.m.Resize(w, h)
	}
	Render(s, u.m, u.theme, u.cfg.Now())
	if u.sync {
		u.sync = false
		s.Sync()
	} else {
		s.Show()
	}
	u.lastFrame = u.cfg.Now()
}

// fail marks the UI broken and tells Config.Failed, once.
func (u *uiActor) fail(err error) {
	if u.broken {
		return
	}
	u.broken = true
	u.stopTimers()
	if u.cfg.Failed != nil {
		u.cfg.Failed(err)
	}
}
