package ui

import (
	"context"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// runCatalogue: a task that ends on SIGTERM and one that ignores it for a
// grace far longer than any wait of these tests.
var runCatalogue = actors.Catalogue{
	{Key: "1", Name: "sleeper", Argv: []string{"sleep", "60"}},
	{Key: "2", Name: "stubborn", Command: "trap '' TERM; while :; do sleep 0.05; done", StopGrace: time.Hour},
}

// running Run is a Run on a simulation screen, with a real runtime.
type runningUI struct {
	t      *testing.T
	screen *finiScreen
	out    *syncBuffer
	done   chan error
	cancel context.CancelFunc
	force  context.CancelFunc
}

func startRun(t *testing.T, screen tcell.SimulationScreen) *runningUI {
	t.Helper()
	rt, err := actors.New(actors.Config{Catalogue: runCatalogue})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	force, forceNow := context.WithCancel(context.Background())
	if screen == nil {
		screen = tcell.NewSimulationScreen("UTF-8")
	}
	r := &runningUI{t: t, screen: &finiScreen{recScreen: recScreen{SimulationScreen: screen}}, out: &syncBuffer{},
		done: make(chan error, 1), cancel: cancel, force: forceNow}
	th := NewTheme(false, false)
	go func() { r.done <- Run(ctx, force, rt, Options{Screen: r.screen, Theme: &th, Out: r.out}) }()
	t.Cleanup(func() {
		forceNow()
		cancel()
		select {
		case <-r.done:
		case <-time.After(wait):
			t.Error("Run did not return")
		}
		_, _ = rt.Shutdown(force) // in case Run failed early; returns at once otherwise
	})
	r.screen.waitFor(t, " taskvisor") // the screen is initialised: keys can be injected
	return r
}

func (r *runningUI) key(k tcell.Key, ch rune) { r.screen.InjectKey(k, ch, tcell.ModNone) }

func (r *runningUI) wait() error {
	r.t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(wait):
		rows, _ := r.screen.text()
		r.t.Fatalf("Run did not return within %v; screen:\n%s", wait, strings.Join(rows, "\n"))
		return nil
	}
}

// finiScreen records Fini, to check that the terminal is restored.
type finiScreen struct {
	recScreen
	finis atomic.Int32
}

func (f *finiScreen) Fini() { f.finis.Add(1); f.recScreen.SimulationScreen.Fini() }

// syncBuffer is a buffer safe for the printer and the test at once.
type syncBuffer = syncbuf.Buffer

// TestRunQuit: q with a live task stops it with escalation, restores the
// screen and prints how the task ended.
func TestRunQuit(t *testing.T) {
	r := startRun(t, nil)
	r.screen.waitFor(t, "No tasks yet")
	r.key(tcell.KeyRune, '1')
	r.screen.waitFor(t, "1 ● running   sleeper")
	r.key(tcell.KeyRune, 'q')
	if err := r.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := r.screen.finis.Load(); n != 1 {
		t.Errorf("Fini called %d times", n)
	}
	if got := r.out.String(); !strings.Contains(got, "[Task 1] sleeper ended: cancelled") {
		t.Errorf("summary %q", got)
	}
}

// TestRunSecondQKills: the first q waits for a task that ignores SIGTERM
// and says so; the second kills it.
func TestRunSecondQKills(t *testing.T) {
	r := startRun(t, nil)
	r.key(tcell.KeyRune, '2')
	r.screen.waitFor(t, "1 ● running   stubborn")
	r.key(tcell.KeyRune, 'q')
	r.screen.waitFor(t, "Quitting: waiting for 1 task (q again or Q: kill now): 1 stubborn (SIGKILL in")
	r.key(tcell.KeyRune, 'q')
	if err := r.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := r.out.String(); !strings.Contains(got, "[Task 1] stubborn ended: killed (SIGKILL)") {
		t.Errorf("summary %q", got)
	}
}

// TestRunContexts: the end of ctx (SIGTERM, SIGHUP) is q, the end of force
// (a second signal) kills.
func TestRunContexts(t *testing.T) {
	r := startRun(t, nil)
	r.key(tcell.KeyRune, '2')
	r.screen.waitFor(t, "1 ● running   stubborn")
	r.cancel()
	r.screen.waitFor(t, "Quitting: waiting for 1 task")
	r.force()
	if err := r.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := r.out.String(); !strings.Contains(got, "stubborn ended: killed (SIGKILL)") {
		t.Errorf("summary %q", got)
	}
}

// TestRunRestoresTheTerminalAfterAPanic: a panic while drawing ends the UI
// with an error, restores the terminal at once and still stops the tasks.
func TestRunRestoresTheTerminalAfterAPanic(t *testing.T) {
	s := &panicAfter{SimulationScreen: tcell.NewSimulationScreen("UTF-8")}
	r := startRun(t, s)
	r.key(tcell.KeyRune, '1')
	r.screen.waitFor(t, "1 ● running   sleeper")
	s.armed.Store(true)
	r.key(tcell.KeyDown, 0)
	err := r.wait()
	if err == nil || !strings.Contains(err.Error(), "panic: drawing failed") {
		t.Fatalf("Run: %v, want the panic", err)
	}
	if n := r.screen.finis.Load(); n != 1 {
		t.Errorf("Fini called %d times", n)
	}
	if got := r.out.String(); !strings.Contains(got, "sleeper ended: cancelled") {
		t.Errorf("summary %q", got)
	}
}

// panicAfter panics in Show once armed.
type panicAfter struct {
	tcell.SimulationScreen
	armed atomic.Bool
}

func (p *panicAfter) Show() {
	if p.armed.Load() {
		panic("drawing failed")
	}
	p.SimulationScreen.Show()
}
