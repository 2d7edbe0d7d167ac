package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// TestRenderEveryStateWide: at 120x30 each state's row shows its symbol,
// its name, its numbers and the text that explains it, countdowns
// computed from the clock.
func TestRenderEveryStateWide(t *testing.T) {
	s := newScreen(t, 120, 30)
	th := NewTheme(false, false)
	m := modelOf(120, 30, everyState()...)
	rows := render(s, m, th)

	wantHead := "ID STATE       NAME     PROGRESS      % STEP     PID RST    RUN   IDLE STATUS"
	if rows[1] != wantHead {
		t.Errorf("column heads:\n got %q\nwant %q", rows[1], wantHead)
	}
	want := []string{
		" 1 ◌ starting  quick    ░░░░░░░░░░                                     Starting",
		" 2 ● running   standard ████░░░░░░  43%  3/7    4242        12s     1s Processing step 3/7",
		" 3 ‖ stalled   hang     ███░░░░░░░  29%  2/7    4243        12s    14s stalled for 14s, kill in 3.2s",
		" 4 ◐ stopping  stubborn ░░░░░░░░░░              4244        12s     1s SIGTERM sent, SIGKILL in 3.2s",
		" 5 ○ cancelled long     ░░░░░░░░░░              4245        11s        cancel asked; exit code 143",
		" 6 ✕ killed    stubborn ░░░░░░░░░░              4246        11s        stop grace of 5s ran out; killed by SIGKILL",
		" 7 ✓ completed standard ██████████ 100%  7/7    4247        11s        exit code 0",
		" 8 ✗ failed    crash    ███░░░░░░░  29%  2/7    4248        11s        exit code 3",
		" 9 ↻ backoff   flaky    ░░░░░░░░░░              4249   2    11s        next start in 1.4s (restart 3): exit code 1",
		"10 ⊘ gave-up   flaky    ░░░░░░░░░░              4250   5    11s        gave up: 5 restarts in 1m0s",
	}
	for i, w := range want {
		if got := rows[2+i]; got != w {
			t.Errorf("row of task %d:\n got %q\nwant %q", i+1, got, w)
		}
	}
	if !strings.HasPrefix(rows[0], " taskvisor  10 tasks") {
		t.Errorf("header: %q", rows[0])
	}
	if got, want := rows[29], "1-9 start n pick ↑↓ select k cancel K kill r restart p pause ⏎ output Tab detail ? help q quit"; got != want {
		t.Errorf("keys:\n got %q\nwant %q", got, want)
	}

	// Each state's symbol and name are drawn in its style; the selected
	// row (task 1) is reversed.
	for i, ev := range everyState() {
		y := 2 + i
		sym, st := cellAt(s, 3, y)
		wantSt := th.State(ev.State)
		if ev.ID == m.Selected {
			wantSt = wantSt.Reverse(true)
		}
		if sym != th.Symbol(ev.State) || st != wantSt {
			t.Errorf("state cell of %s: %q %v, want %q %v", ev.State, sym, st, th.Symbol(ev.State), wantSt)
		}
	}
	if _, st := cellAt(s, 0, 2); st != th.Base.Reverse(true) {
		t.Errorf("selected row's id cell style %v, want reversed", st)
	}
	if _, st := cellAt(s, 0, 3); st != th.Base {
		t.Errorf("unselected row's id cell style %v, want base", st)
	}
}

// TestRenderNarrow: at 40x10 the columns of least priority are dropped,
// the countdowns come first, and the footer shows the keys alone.
func TestRenderNarrow(t *testing.T) {
	s := newScreen(t, 40, 10)
	m := modelOf(40, 10, everyState()...)
	m.Select(3)
	rows := render(s, m, NewTheme(false, false))
	want := []string{
		" taskvisor  10 tasks ◌1 ●1 ‖1 ◐… 1-6/10",
		"ID STATE       NAME     STATUS",
		" 1 ◌ starting  quick    Starting",
		" 2 ● running   standard Processing step…",
		" 3 ‖ stalled   hang     kill in 3.2s",
		" 4 ◐ stopping  stubborn SIGKILL in 3.2s",
		" 5 ○ cancelled long     cancel asked; e…",
		" 6 ✕ killed    stubborn stop grace of 5…",
		"[Task 10] gave-up",
		"1-9 n ↑↓ k K r p ⏎ Tab ? help q quit",
	}
	compareRows(t, rows, want)

	// Scrolled to the end, with the detail pane.
	m.Detail = true
	m.Select(10)
	rows = render(s, m, NewTheme(false, false))
	want = []string{
		" taskvisor  10 tasks ◌1 ●1 ‖1 … 8-10/10",
		"ID STATE       NAME     STATUS",
		" 8 ✗ failed    crash    exit code 3",
		" 9 ↻ backoff   flaky    start in 1.4s",
		"10 ⊘ gave-up   flaky    gave up: 5 rest…",
		"─ Task 10 flaky ⊘ gave-up ──────────────",
		" pid 4250  run 11s  restarts 5  proces…",
		" now     gave up: 5 restarts in 1m0s",
		"[Task 10] gave-up",
		"1-9 n ↑↓ k K r p ⏎ Tab ? help q quit",
	}
	compareRows(t, rows, want)
}

// TestRenderMonochrome: with NO_COLOR no cell has a colour, and states
// still differ by symbol and attribute.
func TestRenderMonochrome(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	s := newScreen(t, 120, 30)
	th := ThemeFor(s)
	if !th.Mono {
		t.Fatal("ThemeFor ignores NO_COLOR")
	}
	m := modelOf(120, 30, everyState()...)
	m.Detail, m.Help = true, true
	m.Error(actors.ErrShuttingDown, t0)
	rows := render(s, m, th)
	cells, w, _ := s.GetContents()
	for i, c := range cells {
		if c.Style != c.Style.Foreground(tcell.ColorDefault).Background(tcell.ColorDefault) {
			t.Fatalf("cell (%d,%d) %q has a colour: %v", i%w, i/w, string(c.Runes), c.Style)
		}
	}
	if !strings.Contains(strings.Join(rows, "\n"), "taskvisor keys") {
		t.Error("the help overlay is not drawn")
	}
	if _, st := cellAt(s, 3, 4); st != th.State(actors.StateStalled) || st == th.Base {
		t.Errorf("stalled is not emphasised without colour: %v", st)
	}
}

// TestRenderMonochromeTerminal: a terminal without colours gets the
// monochrome theme too; a non-UTF-8 one, ASCII glyphs.
func TestRenderMonochromeTerminal(t *testing.T) {
	s := tcell.NewSimulationScreen("US-ASCII")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	defer s.Fini()
	th := ThemeFor(s)
	if !th.ASCII {
		t.Error("ThemeFor: US-ASCII screen gets Unicode glyphs")
	}
	s.SetSize(80, 14)
	rows := render(s, modelOf(80, 14, everyState()...), th)
	for _, r := range rows {
		for _, c := range r {
			if c > '~' {
				t.Fatalf("non-ASCII %q in %q", c, r)
			}
		}
	}
	if mono := (&fewColors{s}); !ThemeFor(mono).Mono {
		t.Error("ThemeFor: an 8-colour-less terminal is not monochrome")
	}
}

type fewColors struct{ tcell.Screen }

func (fewColors) Colors() int { return 0 }

// TestRenderEscapesTaskText: control characters, invalid UTF-8 and bidi
// overrides from a task are drawn as escapes, never raw.
func TestRenderEscapesTaskText(t *testing.T) {
	s := newScreen(t, 120, 12)
	ev := everyState()[1]
	ev.Name = "ev\til"
	ev.Status = "a\x1b[2Jb\x07c\xffd\u202ee"
	m := modelOf(120, 12, ev)
	m.Detail = true
	m.ApplyOutput(actors.OutputReply{ID: ev.ID, Lines: nil})
	rows := render(s, m, NewTheme(false, false))
	got := rows[2]
	if !strings.Contains(got, `a\x1b[2Jb\x07c\xffd\u202ee`) || !strings.Contains(got, `ev\til`) {
		t.Errorf("row %q does not show the escapes", got)
	}
	cells, _, _ := s.GetContents()
	for _, c := range cells {
		for _, r := range c.Runes {
			if r < ' ' || r == 0x7f || r == '\u202e' {
				t.Fatalf("raw control character %U on screen", r)
			}
		}
	}
}

// TestNoticeEscapesTaskText: the footer's event line is the event's String,
// escaped once; a task without a message is named by its state.
func TestNoticeEscapesTaskText(t *testing.T) {
	ev := everyState()[1]
	ev.Message = "bad \x1b[2J \"q\""
	m := modelOf(80, 20, ev)
	if want := `[Task 2] bad \x1b[2J "q"`; m.Notice.Text != want {
		t.Errorf("notice %q, want %q", m.Notice.Text, want)
	}
	ev.State, ev.Message, ev.Time = actors.StateFailed, "", ev.Time.Add(time.Second)
	m.Event(ev)
	if want := "[Task 2] failed"; m.Notice.Text != want {
		t.Errorf("notice %q, want %q", m.Notice.Text, want)
	}
}

// TestNoticeEventIsHeld: a notice about the runtime (a lost guard) is shown
// as an error is, so a task's next event does not hide it at once.
func TestNoticeEventIsHeld(t *testing.T) {
	ev := everyState()[1]
	m := modelOf(80, 20, ev)
	m.ApplyNotice(actors.NoticeEvent{Kind: actors.NoticeGuardLost, Message: "guard process 7 killed by SIGKILL\x1b", Time: ev.Time})
	if want := `[taskvisor] guard process 7 killed by SIGKILL\x1b`; m.Notice.Text != want || !m.Notice.Err {
		t.Errorf("notice %+v, want %q held as an error", m.Notice, want)
	}
	ev.Time = ev.Time.Add(time.Second)
	m.Event(ev)
	if !strings.HasPrefix(m.Notice.Text, "[taskvisor]") {
		t.Errorf("a task's event 1 s later replaced the notice: %q", m.Notice.Text)
	}
}

// TestRenderDetailOutput: the detail pane shows the last output lines
// that fit, stderr marked, and how the task ended.
func TestRenderDetailOutput(t *testing.T) {
	s := newScreen(t, 80, 20)
	ev := everyState()[7] // failed
	ev.Group = "pipeline"
	m := modelOf(80, 20, ev)
	m.ApplyGroup(actors.GroupEvent{Group: "pipeline", Strategy: actors.RestForOne, State: actors.GroupRunning, Restarts: 1, Message: "restarted", Time: t0})
	m.Detail = true
	reply := actors.OutputReply{ID: ev.ID}
	for i := range 30 {
		reply.Lines = append(reply.Lines, outLine(i%5 == 4, "line "+string(rune('a'+i%26))))
	}
	m.ApplyOutput(reply)
	rows := render(s, m, NewTheme(false, false))
	text := strings.Join(rows, "\n")
	for _, want := range []string{
		"─ Task 8 crash ✗ failed",
		"exit    exit code 3",
		"group   pipeline (rest-for-one, running, 1 restarts)",
		"policy  restart never",
		" E│ line d",
		"  │ line c",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("detail pane lacks %q:\n%s", want, text)
		}
	}
	if last := rows[17]; last != " E│ line d" {
		t.Errorf("last row of the pane %q, want the last output line", last)
	}
}

// TestRenderQuitting: the footer says which tasks hold the quit up and
// when SIGKILL comes for them.
func TestRenderQuitting(t *testing.T) {
	s := newScreen(t, 120, 16)
	m := modelOf(120, 16, everyState()...)
	m.Quit(QuitRequest{}, t0)
	rows := render(s, m, NewTheme(false, false))
	want := "Quitting: waiting for 5 tasks (q again or Q: kill now): 1 quick (starting), 2 standard (running), 3 hang (stalled),"
	if !strings.HasPrefix(rows[14], want) {
		t.Errorf("quit line:\n got %q\nwant prefix %q", rows[14], want)
	}
	if !strings.Contains(rows[0], "(quitting)") {
		t.Errorf("header does not say quitting: %q", rows[0])
	}
	// Only the stopping one left.
	m2 := modelOf(120, 16, everyState()[3])
	m2.Quit(QuitRequest{}, t0)
	rows = render(s, m2, NewTheme(false, false))
	if want := "Quitting: waiting for 1 task (q again or Q: kill now): 4 stubborn (SIGKILL in 3.2s)"; rows[14] != want {
		t.Errorf("quit line:\n got %q\nwant %q", rows[14], want)
	}
	if want := "q kill all now"; rows[15] != want {
		t.Errorf("keys while quitting: %q, want %q", rows[15], want)
	}
}

// TestRenderTinyScreens: no size, however small, makes Render fail.
func TestRenderTinyScreens(t *testing.T) {
	s := newScreen(t, 1, 1)
	for w := 0; w <= 12; w++ {
		for h := 0; h <= 6; h++ {
			s.SetSize(w, h)
			m := modelOf(w, h, everyState()...)
			m.Detail, m.Help = h%2 == 0, w%2 == 0
			Render(s, m, NewTheme(false, false), t0)
			s.Show()
		}
	}
}

// TestRenderCountdownMoves: the countdowns come from the clock, not from
// the event.
func TestRenderCountdownMoves(t *testing.T) {
	s := newScreen(t, 120, 8)
	m := modelOf(120, 8, everyState()[3])
	Render(s, m, NewTheme(false, false), t0.Add(2*time.Second))
	s.Show()
	if got := screenRows(s)[2]; !strings.HasSuffix(got, "SIGTERM sent, SIGKILL in 1.2s") {
		t.Errorf("row %q", got)
	}
}

func compareRows(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
