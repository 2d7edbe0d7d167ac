package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

// TestRenderTinyKeepsNames: at 20x5 the rows still tell the tasks apart by
// name; the state's word goes first (its symbol stays). Before, NAME was
// dropped and STATE kept.
func TestRenderTinyKeepsNames(t *testing.T) {
	s := newScreen(t, 20, 5)
	m := modelOf(20, 5, everyState()...)
	m.Select(2)
	rows := render(s, m, NewTheme(false, false))
	if !strings.Contains(rows[1], "NAME") {
		t.Errorf("column heads %q: no NAME", rows[1])
	}
	if !strings.HasPrefix(rows[2], " 2 ● stand") {
		t.Errorf("row of task 2 %q: want its symbol and the start of its name", rows[2])
	}
}

// TestRenderIdleOnlyAfterActivity: a task that has reported nothing since
// its start shows no idle time (it would count up for ever); one that has
// reported shows the time since.
func TestRenderIdleOnlyAfterActivity(t *testing.T) {
	quiet := actors.TaskEvent{ID: 1, Name: "quiet", State: actors.StateRunning, PID: 4300, Generation: 1,
		Started: t0.Add(-30 * time.Second), LastActivity: t0.Add(-30 * time.Second), Message: "Started"}
	busy := quiet
	busy.ID, busy.Name, busy.PID, busy.LastActivity = 2, "busy", 4301, t0.Add(-7*time.Second)
	for _, c := range []struct {
		ev   actors.TaskEvent
		idle bool
	}{{quiet, false}, {busy, true}} {
		s := newScreen(t, 100, 10)
		m := modelOf(100, 10, c.ev)
		m.Detail = true
		rows := render(s, m, NewTheme(false, false))
		pane := strings.Join(rows, "\n")
		if got := strings.Contains(pane, "idle 7s"); got != c.idle {
			t.Errorf("task %s: detail shows idle %v, want %v:\n%s", c.ev.Name, got, c.idle, pane)
		}
		if !c.idle && strings.Contains(pane, "idle ") {
			t.Errorf("task %s: an idle time shown for a task that never reported:\n%s", c.ev.Name, pane)
		}
	}
}

// TestRenderEmptyHintWraps: the hint of the empty screen lists every keyed
// template, on more than one row when the terminal is narrow; before, it was
// one row cut at the screen's edge.
func TestRenderEmptyHintWraps(t *testing.T) {
	var cat actors.Catalogue
	for i := 1; i <= 9; i++ {
		cat = append(cat, actors.TaskSpec{Key: fmt.Sprint(i), Name: fmt.Sprintf("template-%d", i), Command: "true"})
	}
	s := newScreen(t, 60, 12)
	m := NewModel(cat, 60, 12)
	rows := render(s, m, NewTheme(false, false))
	all := strings.Join(rows, "\n")
	for i := 1; i <= 9; i++ {
		if want := fmt.Sprintf("%d\u00a0template-%d", i, i); !strings.Contains(all, want) {
			t.Errorf("the empty screen does not offer %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}
}

// TestRenderDetailWrapsLongLines: the detail pane shows a long status in
// full, wrapped under its label, not cut with an ellipsis.
func TestRenderDetailWrapsLongLines(t *testing.T) {
	long := "connecting to the database at db.internal:5432 failed three times, retrying with backoff"
	ev := actors.TaskEvent{ID: 1, Name: "web", State: actors.StateRunning, PID: 4300, Generation: 1,
		Started: t0.Add(-3 * time.Second), LastActivity: t0.Add(-time.Second), Status: long, Message: "x"}
	s := newScreen(t, 40, 24)
	m := modelOf(40, 24, ev)
	m.Detail = true
	rows := render(s, m, NewTheme(false, false))
	var text strings.Builder
	in := false
	for _, r := range rows {
		if strings.HasPrefix(r, " status  ") {
			in = true
			text.WriteString(strings.TrimPrefix(r, " status  "))
			continue
		}
		if in && strings.HasPrefix(r, "         ") {
			text.WriteString(strings.TrimSpace(r))
			continue
		}
		in = false
	}
	if got := strings.ReplaceAll(text.String(), " ", ""); got != strings.ReplaceAll(long, " ", "") {
		t.Errorf("status in the detail pane reads %q, want all of %q:\n%s", text.String(), long, strings.Join(rows, "\n"))
	}

	// Where the pane has no room for all of it, its last row says so.
	s = newScreen(t, 40, 16)
	m = modelOf(40, 16, ev)
	m.Detail = true
	rows = render(s, m, NewTheme(false, false))
	cut := false
	for _, r := range rows {
		cut = cut || (strings.HasPrefix(r, "         ") && strings.HasSuffix(r, "…"))
	}
	if !cut {
		t.Errorf("a status cut short has no ellipsis:\n%s", strings.Join(rows, "\n"))
	}
}
