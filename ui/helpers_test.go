package ui

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/actors"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every expectation generously: the machines are shared and
// noisy, and a passing test never waits that long.
const wait = 20 * time.Second

// t0 is the fixed "now" of the render tests.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// newScreen returns an initialised simulation screen of w x h cells,
// finalised by t.Cleanup.
func newScreen(t testing.TB, w, h int) tcell.SimulationScreen {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(w, h)
	t.Cleanup(s.Fini)
	return s
}

// screenRows returns the text of each row of s as last shown, trailing
// spaces trimmed.
func screenRows(s tcell.SimulationScreen) []string {
	cells, w, h := s.GetContents()
	rows := make([]string, h)
	for y := 0; y < h; y++ {
		var b strings.Builder
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(c.Runes))
		}
		rows[y] = strings.TrimRight(b.String(), " ")
	}
	return rows
}

// cellAt returns the text and style of the cell at (x, y) as last shown.
func cellAt(s tcell.SimulationScreen, x, y int) (string, tcell.Style) {
	cells, w, _ := s.GetContents()
	c := cells[y*w+x]
	return string(c.Runes), c.Style
}

// render draws m on s at t0 and shows it.
func render(s tcell.SimulationScreen, m *Model, th Theme) []string {
	Render(s, m, th, t0)
	s.Show()
	return screenRows(s)
}

// everyState returns one event per state, IDs 1 to 10, as of t0.
func everyState() []actors.TaskEvent {
	ev := func(id int, name string, st actors.State) actors.TaskEvent {
		return actors.TaskEvent{ID: id, Name: name, State: st, ExitCode: -1, Generation: 1,
			Time: t0.Add(-time.Second), Started: t0.Add(-12 * time.Second), LastActivity: t0.Add(-time.Second),
			Policy: "restart never", StopSignal: syscall.SIGTERM, StallAction: actors.StallWarn}
	}
	starting := ev(1, "quick", actors.StateStarting)
	starting.Started, starting.Message = time.Time{}, "Starting"
	running := ev(2, "standard", actors.StateRunning)
	running.PID, running.Step, running.Steps, running.Progress = 4242, 3, 7, 3.0/7
	running.Status, running.Message = "Processing step 3/7", "Processing step 3/7 (43%)"
	stalled := ev(3, "hang", actors.StateStalled)
	stalled.PID, stalled.Step, stalled.Steps, stalled.Progress = 4243, 2, 7, 2.0/7
	stalled.LastActivity, stalled.Deadline = t0.Add(-14*time.Second), t0.Add(3200*time.Millisecond)
	stalled.Policy = "restart on-failure, at most 5 in 1m0s; stall 10s: kill"
	stalled.StallAction = actors.StallKill
	stopping := ev(4, "stubborn", actors.StateStopping)
	stopping.PID, stopping.Deadline = 4244, t0.Add(3200*time.Millisecond)
	stopping.Message = "Cancelling: SIGTERM sent, SIGKILL in 5s"
	cancelled := ev(5, "long", actors.StateCancelled)
	cancelled.PID, cancelled.ExitCode, cancelled.Reason = 4245, 143, "cancel asked; exit code 143"
	killed := ev(6, "stubborn", actors.StateKilled)
	killed.PID, killed.Signal, killed.Reason = 4246, syscall.SIGKILL, "stop grace of 5s ran out; killed by SIGKILL"
	completed := ev(7, "standard", actors.StateCompleted)
	completed.PID, completed.ExitCode, completed.Step, completed.Steps, completed.Progress = 4247, 0, 7, 7, 1
	completed.Reason = "exit code 0"
	failed := ev(8, "crash", actors.StateFailed)
	failed.PID, failed.ExitCode, failed.Step, failed.Steps, failed.Progress = 4248, 3, 2, 7, 2.0/7
	failed.Reason = "exit code 3"
	backoff := ev(9, "flaky", actors.StateBackoff)
	backoff.PID, backoff.Restarts, backoff.Deadline, backoff.Reason = 4249, 2, t0.Add(1400*time.Millisecond), "exit code 1"
	gaveUp := ev(10, "flaky", actors.StateGaveUp)
	gaveUp.PID, gaveUp.Restarts, gaveUp.Reason = 4250, 5, "5 restarts in 1m0s"
	return []actors.TaskEvent{starting, running, stalled, stopping, cancelled, killed, completed, failed, backoff, gaveUp}
}

// modelOf returns a model of w x h holding events, the first task selected.
func modelOf(w, h int, events ...actors.TaskEvent) *Model {
	m := NewModel(nil, w, h)
	for _, ev := range events {
		m.Event(ev)
	}
	if len(events) > 0 {
		m.Select(events[0].ID)
	}
	return m
}

// recScreen is a simulation screen that keeps a copy of what each Show
// drew, so that a test can read it while the UI actor draws.
type recScreen struct {
	tcell.SimulationScreen
	mu     sync.Mutex
	rows   []string
	frames int
}

func (r *recScreen) Show() { r.SimulationScreen.Show(); r.capture() }
func (r *recScreen) Sync() { r.SimulationScreen.Sync(); r.capture() }

func (r *recScreen) capture() {
	rows := screenRows(r.SimulationScreen)
	r.mu.Lock()
	r.rows, r.frames = rows, r.frames+1
	r.mu.Unlock()
}

// text returns the rows of the last frame and how many frames were shown.
func (r *recScreen) text() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows, r.frames
}

// waitFor waits until a frame shows a row containing want, and returns the
// frame.
func (r *recScreen) waitFor(t testing.TB, want string) []string {
	t.Helper()
	return r.waitUntil(t, fmt.Sprintf("shows %q", want), func(rows []string) bool { return shows(rows, want) })
}

// waitUntil waits until a frame satisfies ok, which what describes, and
// returns the frame.
func (r *recScreen) waitUntil(t testing.TB, what string, ok func(rows []string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		rows, _ := r.text()
		if rows != nil && ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame %s within %v; last frame:\n%s", what, wait, strings.Join(rows, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// shows reports whether a row of the frame contains want.
func shows(rows []string, want string) bool {
	for _, row := range rows {
		if strings.Contains(row, want) {
			return true
		}
	}
	return false
}

// outLine is a line of output on stdout or stderr.
func outLine(stderr bool, text string) actors.Line {
	l := actors.Line{Stream: actors.Stdout, Text: text}
	if stderr {
		l.Stream = actors.Stderr
	}
	return l
}
