package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/ui/internal/tasktext"
)

// ErrNoTerminal is returned by Run, before it has done anything, when the
// terminal cannot be used (an unknown TERM, no tty): the caller may fall
// back to the headless mode.
var ErrNoTerminal = errors.New("no usable terminal")

// Options configures Run.
type Options struct {
	// Screen to draw on. Nil: the terminal (tcell.NewScreen). Run
	// initialises and finalises it either way.
	Screen tcell.Screen
	// Theme overrides ThemeFor(Screen). Nil: ThemeFor.
	Theme *Theme
	// Out receives, once the terminal is restored, a line for each task
	// saying how it ended. Nil: nothing is printed.
	Out io.Writer
	// Ended, when set, is called once after the shutdown with how each
	// task ended (the final event of each), before Run returns.
	Ended func(final []actors.TaskEvent)
}

// Run shows the terminal UI for rt until the user quits (q, Ctrl-C) or ctx
// ends (which counts as q), then shuts rt down: every task is stopped with
// escalation while the UI shows which ones hold up the quit; a second q, Q,
// or the end of force kills what is left at once. The terminal is restored
// before Run returns, also when the UI fails or panics.
func Run(ctx, force context.Context, rt *actors.Runtime, opts Options) (err error) {
	screen := opts.Screen
	if screen == nil {
		if screen, err = tcell.NewScreen(); err != nil {
			return fmt.Errorf("terminal UI: open the terminal: %w: %w", ErrNoTerminal, err)
		}
	}
	if err := screen.Init(); err != nil {
		return fmt.Errorf("terminal UI: initialise the terminal: %w: %w", ErrNoTerminal, err)
	}
	var finiOnce sync.Once
	fini := func() { finiOnce.Do(screen.Fini) }
	defer fini() // also on a panic: the terminal is always restored
	screen.EnableMouse()
	screen.HideCursor()

	quits := make(chan bool, 4)
	failed := make(chan error, 1)
	subscribed := make(chan struct{})
	var subscribedOnce sync.Once // an actor restarted would say it again
	cfg := Config{
		Subscribed: func() { subscribedOnce.Do(func() { close(subscribed) }) },
		Screen:     screen,
		Theme:      opts.Theme,
		Supervisor: rt.PID(),
		Subscribe: func(self *actor.PID) func() {
			events, usage := rt.SubscribePID(self), rt.SubscribeUsagePID(self)
			return func() { usage(); events() }
		},
		Catalogue: rt.Catalogue(),
		Quit: func(kill bool) {
			select {
			case quits <- kill:
			default: // one is pending: the loop below sees it
			}
		},
		Failed: func(err error) {
			select {
			case failed <- err:
			default:
			}
		},
	}
	system := rt.System()
	pid := system.Root.SpawnPrefix(Props(cfg), "ui")
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			ev := screen.PollEvent()
			if ev == nil {
				return // the screen was finalised
			}
			system.Root.Send(pid, ev)
		}
	}()

	killCtx, kill := context.WithCancel(force)
	defer kill()
	type result struct {
		final []actors.TaskEvent
		err   error
	}
	var done chan result
	startShutdown := func() {
		if done != nil {
			return
		}
		done = make(chan result, 1)
		go func() {
			final, err := rt.Shutdown(killCtx)
			done <- result{final, err}
		}()
	}

	ctxDone, forceDone := ctx.Done(), force.Done()
	var uiErr error
	var res result
	// The autostart tasks, once the UI listens: in catalogue order, each
	// process after the one before it (Runtime.Autostart). A refusal is
	// shown as a refused start; a quit ends it (the runtime refuses starts
	// once it shuts down).
	autostarted := make(chan struct{})
	go func() {
		defer close(autostarted)
		select {
		case <-subscribed:
		case <-killCtx.Done():
			return
		}
		if _, err := rt.Autostart(killCtx); err != nil {
			system.Root.Send(pid, actors.Reply{Op: actors.OpStart, Err: err})
		}
	}()
	defer func() { kill(); <-autostarted }() // kill: it may still wait to begin
wait:
	for {
		select {
		case <-ctxDone:
			ctxDone = nil
			system.Root.Send(pid, QuitRequest{})
		case <-forceDone:
			forceDone = nil
			system.Root.Send(pid, QuitRequest{Kill: true})
			startShutdown()
		case k := <-quits:
			startShutdown()
			if k {
				kill()
			}
		case err := <-failed:
			// Nothing more is drawn: give the terminal back at once, and
			// stop the tasks as q would.
			uiErr = err
			fini()
			startShutdown()
		case res = <-done:
			break wait
		}
	}

	_ = system.Root.StopFuture(pid).Wait() // nothing draws after this
	fini()
	<-polled
	if opts.Out != nil {
		tasktext.WriteSummary(opts.Out, res.final)
	}
	if opts.Ended != nil {
		opts.Ended(res.final)
	}
	return errors.Join(uiErr, res.err)
}
