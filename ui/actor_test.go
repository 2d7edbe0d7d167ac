package ui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
)

// uiUnderTest is a UI actor whose supervisor is a probe.
type uiUnderTest struct {
	t      *testing.T
	system *actor.ActorSystem
	sup    *probe.Probe
	pid    *actor.PID
	screen *recScreen
	quits  chan bool
	fails  chan error
}

var testCatalogue = actors.Catalogue{
	{Key: "1", Name: "quick", Description: "3 short steps", Argv: []string{"true"}},
	{Key: "2", Name: "standard", Description: "7 steps", Argv: []string{"true"}},
}

// startUI spawns a UI actor on a 120x30 simulation screen with a probe for
// supervisor, and answers its first List with tasks.
func startUI(t *testing.T, screen tcell.SimulationScreen, tasks ...actors.TaskEvent) *uiUnderTest {
	t.Helper()
	return startUIIn(t, probe.NewSystem(t), nil, screen, tasks...)
}

// startUIIn is startUI in system, with its Config changed by edit (if not
// nil).
func startUIIn(t *testing.T, system *actor.ActorSystem, edit func(*Config), screen tcell.SimulationScreen, tasks ...actors.TaskEvent) *uiUnderTest {
	t.Helper()
	u := &uiUnderTest{t: t, system: system, sup: probe.New(t, system), quits: make(chan bool, 8), fails: make(chan error, 1)}
	if screen == nil {
		screen = newScreen(t, 120, 30)
	}
	u.screen = &recScreen{SimulationScreen: screen}
	th := NewTheme(false, false)
	cfg := Config{
		Screen: u.screen, Theme: &th, Supervisor: u.sup.PID(), Catalogue: testCatalogue,
		Quit:   func(kill bool) { u.quits <- kill },
		Failed: func(err error) { u.fails <- err },
	}
	if edit != nil {
		edit(&cfg)
	}
	u.pid = system.Root.Spawn(Props(cfg))
	t.Cleanup(func() {
		if err := system.Root.StopFuture(u.pid).Wait(); err != nil {
			t.Errorf("stop the UI actor: %v", err)
		}
	})
	probe.ExpectMsg[actors.List](u.sup, wait)
	u.sup.Reply(actors.TaskList{Tasks: tasks})
	return u
}

func (u *uiUnderTest) key(k tcell.Key, r rune) {
	u.system.Root.Send(u.pid, tcell.NewEventKey(k, r, tcell.ModNone))
}

func (u *uiUnderTest) rune(r rune) { u.key(tcell.KeyRune, r) }

func (u *uiUnderTest) send(msg any) { u.system.Root.Send(u.pid, msg) }

func (u *uiUnderTest) expectQuit(kill bool) {
	u.t.Helper()
	select {
	case got := <-u.quits:
		if got != kill {
			u.t.Fatalf("Quit(kill=%v), want kill=%v", got, kill)
		}
	case <-time.After(wait):
		u.t.Fatalf("no Quit(kill=%v) within %v", kill, wait)
	}
}

func (u *uiUnderTest) expectNoQuit() {
	u.t.Helper()
	select {
	case got := <-u.quits:
		u.t.Fatalf("unexpected Quit(kill=%v)", got)
	case <-time.After(50 * time.Millisecond):
	}
}

func running(id int, name string) actors.TaskEvent {
	return actors.TaskEvent{ID: id, Name: name, State: actors.StateRunning, PID: 1000 + id, ExitCode: -1,
		Time: time.Now(), Started: time.Now(), LastActivity: time.Now(), Message: "Started"}
}

// TestKeysStartTemplates: 1-9 send Start with the key as template; a key
// without a template sends nothing and says so; a refusal is shown.
func TestKeysStartTemplates(t *testing.T) {
	u := startUI(t, nil)
	u.screen.waitFor(t, "No tasks yet. n: pick one to start; or a key: 1\u00a0quick, 2\u00a0standard")
	u.rune('2')
	if got := probe.ExpectMsg[actors.Start](u.sup, wait); got != (actors.Start{Template: "2"}) {
		t.Errorf("got %+v", got)
	}
	u.sup.Reply(actors.Reply{Err: errors.New(`start "2": shutting down`)})
	u.screen.waitFor(t, `✗ start "2": shutting down`)

	u.rune('7')
	u.screen.waitFor(t, "no task template on key 7 (keys: 1 2)")
	u.sup.ExpectNoMsg(50 * time.Millisecond)
}

// TestKeysCommandTheSelectedTask: k, K and r send Cancel, Kill and Restart
// for the selected task; the newest task is selected when it appears; up
// and down move the selection; a refusal is shown on the event line.
func TestKeysCommandTheSelectedTask(t *testing.T) {
	u := startUI(t, nil, running(1, "quick"))
	u.send(running(2, "standard"))
	u.screen.waitFor(t, "2 ● running   standard")

	u.rune('k')
	if got := probe.ExpectMsg[actors.Cancel](u.sup, wait); got.ID != 2 {
		t.Errorf("cancel %d, want 2 (the newest)", got.ID)
	}
	u.sup.Reply(actors.Reply{ID: 2, Err: &actors.StateError{Op: actors.OpCancel, ID: 2, State: actors.StateStopping}})
	u.screen.waitFor(t, "cancel task 2: it is already stopping")

	u.rune('K')
	if got := probe.ExpectMsg[actors.Kill](u.sup, wait); got.ID != 2 {
		t.Errorf("kill %d, want 2", got.ID)
	}
	u.sup.Reply(actors.Reply{ID: 2})

	u.key(tcell.KeyUp, 0)
	u.rune('r')
	if got := probe.ExpectMsg[actors.Restart](u.sup, wait); got.ID != 1 {
		t.Errorf("restart %d, want 1", got.ID)
	}
	u.sup.Reply(actors.Reply{ID: 1})

	u.key(tcell.KeyEnd, 0)
	u.rune('K')
	if got := probe.ExpectMsg[actors.Kill](u.sup, wait); got.ID != 2 {
		t.Errorf("kill %d after End, want 2", got.ID)
	}
	u.sup.Reply(actors.Reply{ID: 2})
	u.key(tcell.KeyHome, 0)
	u.key(tcell.KeyPgDn, 0)
	u.key(tcell.KeyPgUp, 0)
	u.rune('k')
	if got := probe.ExpectMsg[actors.Cancel](u.sup, wait); got.ID != 1 {
		t.Errorf("cancel %d after Home, PgDn, PgUp; want 1", got.ID)
	}
	u.sup.Reply(actors.Reply{ID: 1})
	u.sup.ExpectNoMsg(50 * time.Millisecond)
}

// TestKeysWithoutTask: k, K and r with no task send nothing and say why.
func TestKeysWithoutTask(t *testing.T) {
	u := startUI(t, nil)
	for _, r := range "kKr" {
		u.rune(r)
	}
	u.screen.waitFor(t, "no task selected")
	u.sup.ExpectNoMsg(50 * time.Millisecond)
}

// TestMouseClickSelects: a click on a row selects its task.
func TestMouseClickSelects(t *testing.T) {
	u := startUI(t, nil, running(1, "quick"), running(2, "standard"), running(3, "long"))
	u.screen.waitFor(t, "3 ● running   long")
	u.send(tcell.NewEventMouse(5, 3, tcell.Button1, tcell.ModNone)) // row of task 2
	u.rune('K')
	if got := probe.ExpectMsg[actors.Kill](u.sup, wait); got.ID != 2 {
		t.Errorf("kill %d after a click on task 2's row", got.ID)
	}
}

// TestDetailPaneFetchesOutput: Tab shows the detail pane and asks for the
// selected task's output, again while it is shown and on each selection.
func TestDetailPaneFetchesOutput(t *testing.T) {
	u := startUI(t, nil, running(1, "quick"), running(2, "standard"))
	u.screen.waitFor(t, "2 ● running   standard")
	u.key(tcell.KeyTab, 0)
	if got := probe.ExpectMsg[actors.GetOutput](u.sup, wait); got.ID != 2 {
		t.Errorf("output of %d, want 2", got.ID)
	}
	// The SGR colour is drawn, the screen clear shown escaped.
	u.sup.Reply(actors.OutputReply{ID: 2, Lines: []actors.Line{outLine(false, "hello"), outLine(true, "oops \x1b[31mred\x1b[2J")}})
	u.screen.waitFor(t, `E│ oops red\x1b[2J`)
	u.screen.waitFor(t, "─ Task 2 standard ● running")

	// While shown, the output is fetched again.
	if got := probe.ExpectMsg[actors.GetOutput](u.sup, wait); got.ID != 2 {
		t.Errorf("output of %d, want 2 again", got.ID)
	}
	u.sup.Reply(actors.OutputReply{ID: 2})
	u.key(tcell.KeyUp, 0)
	probe.FishForMsg(u.sup, func(m actors.GetOutput) bool { return m.ID == 1 }, wait)

	// Tab hides it (before the fetch is answered, so that no fetch is
	// under way when it does); then no more fetches.
	u.key(tcell.KeyTab, 0)
	u.screen.waitUntil(t, "without the detail pane after Tab", func(rows []string) bool { return !shows(rows, "─ Task") })
	u.sup.Reply(actors.OutputReply{ID: 1})
	u.sup.ExpectNoMsg(3 * outputEvery)
}

// TestOutputFetchesFollowTheClock: the detail pane's output is fetched
// again by Config.Now, not by the wall clock: while it stands still, the
// ticks fetch nothing; once it has moved on by outputEvery, they do.
func TestOutputFetchesFollowTheClock(t *testing.T) {
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	u := startUIIn(t, probe.NewSystem(t), func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	}, nil, running(1, "quick"))
	u.screen.waitFor(t, "1 ● running   quick")
	u.key(tcell.KeyTab, 0)
	if got := probe.ExpectMsg[actors.GetOutput](u.sup, wait); got.ID != 1 {
		t.Errorf("output of %d, want 1", got.ID)
	}
	u.sup.Reply(actors.OutputReply{ID: 1})
	u.sup.ExpectNoMsg(2 * outputEvery) // several ticks, on a clock that stands still
	clock.Add(int64(outputEvery))
	if got := probe.ExpectMsg[actors.GetOutput](u.sup, wait); got.ID != 1 {
		t.Errorf("output of %d, want 1 again", got.ID)
	}
	u.sup.Reply(actors.OutputReply{ID: 1})
}

// TestQuitKeys: q asks to quit with escalation, a second q to kill;
// Ctrl-C is q; Q kills at once; QuitRequest (from SIGTERM, SIGHUP) is q.
func TestQuitKeys(t *testing.T) {
	t.Run("q twice", func(t *testing.T) {
		u := startUI(t, nil, running(1, "quick"))
		u.rune('q')
		u.expectQuit(false)
		u.screen.waitFor(t, "Quitting: waiting for 1 task (q again or Q: kill now): 1 quick (running)")
		u.rune('q')
		u.expectQuit(true)
		u.screen.waitFor(t, "Quitting: SIGKILL sent; waiting for 1 task: 1 quick (running)")
		u.rune('q')
		u.expectNoQuit()
		u.sup.ExpectNoMsg(20 * time.Millisecond)
	})
	t.Run("ctrl-c then Q", func(t *testing.T) {
		u := startUI(t, nil)
		u.key(tcell.KeyCtrlC, 0)
		u.expectQuit(false)
		u.rune('Q')
		u.expectQuit(true)
	})
	t.Run("Q", func(t *testing.T) {
		u := startUI(t, nil)
		u.rune('Q')
		u.expectQuit(true)
		u.rune('q')
		u.expectNoQuit()
	})
	t.Run("QuitRequest", func(t *testing.T) {
		u := startUI(t, nil)
		u.send(QuitRequest{})
		u.expectQuit(false)
		u.send(QuitRequest{Kill: true})
		u.expectQuit(true)
	})
}

// TestOnlyItsRuntimesEvents: with Subscribe set to Runtime.SubscribePID, the
// UI shows the events of its runtime and ignores those of another runtime in
// the same actor system, task and group events alike.
func TestOnlyItsRuntimesEvents(t *testing.T) {
	system := probe.NewSystem(t)
	rt, err := actors.New(actors.Config{System: system, Name: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := rt.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	u := startUIIn(t, system, func(c *Config) { c.Subscribe = rt.SubscribePID }, nil)
	ours := running(2, "ours")
	ours.Runtime, ours.Group = "mine", "g"
	publish := system.EventStream.Publish
	publish(ours)
	publish(actors.GroupEvent{Runtime: "mine", Group: "g", Strategy: actors.OneForOne, State: actors.GroupRunning,
		Restarts: 1, Message: "ours restarted", Time: time.Now()})
	theirs := running(1, "theirs")
	theirs.Runtime = "other"
	publish(theirs)
	publish(actors.GroupEvent{Runtime: "other", Group: "g", Strategy: actors.OneForAll, State: actors.GroupFailed,
		Restarts: 99, Message: "theirs failed", Time: time.Now()})
	// The last event, of the same state: the notice stays the group's.
	ours.Message, ours.Time = "ours again", time.Now()
	publish(ours)

	u.key(tcell.KeyTab, 0)
	if got := probe.ExpectMsg[actors.GetOutput](u.sup, wait); got.ID != 2 {
		t.Errorf("output of %d, want 2", got.ID)
	}
	u.sup.Reply(actors.OutputReply{ID: 2})
	rows := u.screen.waitFor(t, "event   ours again")
	frame := strings.Join(rows, "\n")
	for _, want := range []string{"2 ● running   ours", "group   g (one-for-one, running, 1 restarts)", "[Group g] ours restarted"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, "theirs") || strings.Contains(frame, "99") {
		t.Errorf("another runtime's events shown:\n%s", frame)
	}
}

// TestHelpOverlay: ? shows the keys; q closes the help without quitting.
func TestHelpOverlay(t *testing.T) {
	u := startUI(t, nil)
	u.rune('?')
	u.screen.waitFor(t, "taskvisor keys")
	u.screen.waitFor(t, "2  standard: 7 steps")
	u.rune('q')
	// The first frame without the help is drawn after q was handled, and
	// Quit would have been called while it was: no need to wait for it.
	rows := u.screen.waitUntil(t, "without the help after q", func(rows []string) bool { return !shows(rows, "taskvisor keys") })
	if !shows(rows, "No tasks yet") {
		t.Errorf("after the help, the empty screen should show:\n%s", strings.Join(rows, "\n"))
	}
	select {
	case got := <-u.quits:
		t.Fatalf("q in the help quit (kill=%v)", got)
	default:
	}
}

// TestResizeRedraws: after a resize the frame has the new size.
func TestResizeRedraws(t *testing.T) {
	u := startUI(t, nil, running(1, "quick"))
	u.screen.waitFor(t, "PROGRESS")
	u.screen.SetSize(40, 10)
	u.send(tcell.NewEventResize(40, 10))
	u.screen.waitFor(t, "1-9 n ↑↓ k K r p ⏎ Tab ? help q quit")
	rows, _ := u.screen.text()
	if len(rows) != 10 || strings.Contains(rows[1], "PROGRESS") {
		t.Errorf("after resizing to 40x10:\n%s", strings.Join(rows, "\n"))
	}
}

// TestFramesAreCoalesced: a burst of events is drawn in far fewer frames.
func TestFramesAreCoalesced(t *testing.T) {
	u := startUI(t, nil)
	const n = 2000
	ev := running(1, "busy")
	for i := range n {
		ev.Step, ev.Steps, ev.Progress = i+1, n, float64(i+1)/n
		ev.Time = ev.Time.Add(time.Microsecond)
		u.send(ev)
	}
	u.screen.waitFor(t, "2000/2000")
	if _, frames := u.screen.text(); frames > n/4 {
		t.Errorf("%d events drawn in %d frames", n, frames)
	}
}

// panicScreen panics in Show.
type panicScreen struct{ tcell.SimulationScreen }

func (panicScreen) Show() { panic("boom") }

// TestPanicInDrawFails: a panic while drawing is reported to Failed, and
// the actor draws nothing more.
func TestPanicInDrawFails(t *testing.T) {
	u := startUI(t, panicScreen{newScreen(t, 80, 20)})
	select {
	case err := <-u.fails:
		if !strings.Contains(err.Error(), "panic: boom") {
			t.Errorf("Failed(%v)", err)
		}
	case <-time.After(wait):
		t.Fatal("Failed was not called")
	}
	u.rune('1')
	u.sup.ExpectNoMsg(50 * time.Millisecond)
}

// With Autostart, the UI starts the templates marked Autostart, in order,
// after it has subscribed and asked for the list.
func TestAutostartAfterSubscribing(t *testing.T) {
	system := probe.NewSystem(t)
	sup := probe.New(t, system)
	cat := actors.Catalogue{
		{Name: "a", Argv: []string{"true"}, Autostart: true},
		{Name: "b", Argv: []string{"true"}},
		{Name: "c", Argv: []string{"true"}, Autostart: true},
	}
	th := NewTheme(false, false)
	pid := system.Root.Spawn(Props(Config{Screen: newScreen(t, 80, 20), Theme: &th, Supervisor: sup.PID(),
		Catalogue: cat, Autostart: true}))
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	probe.ExpectMsg[actors.List](sup, wait)
	for _, want := range []string{"a", "c"} {
		if got := probe.ExpectMsg[actors.Start](sup, wait); got.Spec == nil || got.Spec.Name != want {
			t.Fatalf("autostart: got %+v, want %s", got, want)
		}
	}
	sup.ExpectNoMsg(50 * time.Millisecond)
}
