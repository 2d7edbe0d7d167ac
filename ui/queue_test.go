package ui

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// Queued tasks show their place in line, counted from their tickets, and +
// and - move the parallelism limit, whose answer is said in the footer.
func TestQueuedRowsAndLimitKeys(t *testing.T) {
	ev := func(id int, ticket uint64) actors.TaskEvent {
		return actors.TaskEvent{ID: id, Name: "job", State: actors.StateQueued, ExitCode: -1, QueueTicket: ticket,
			Time: t0, Message: "Queued", Reason: "waiting for a slot: max_parallel 1 of the top level reached"}
	}
	running := actors.TaskEvent{ID: 1, Name: "job", State: actors.StateRunning, PID: 7, ExitCode: -1, Time: t0, Started: t0}
	m := modelOf(140, 10, running, ev(2, 9), ev(3, 4))
	rows := render(newScreen(t, 140, 10), m, NewTheme(false, false))
	find := func(id string) string {
		for _, r := range rows {
			if strings.HasPrefix(strings.TrimSpace(r), id+" ") {
				return r
			}
		}
		t.Fatalf("no row of task %s in:\n%s", id, strings.Join(rows, "\n"))
		return ""
	}
	if r := find("3"); !strings.Contains(r, "queued, 1st in line: max_parallel 1 of the top level reached") {
		t.Errorf("task 3 (the lower ticket): %q", r)
	}
	if r := find("2"); !strings.Contains(r, "queued, 2nd in line") {
		t.Errorf("task 2: %q", r)
	}
	// Task 3 leaves the queue: task 2 moves up.
	started := ev(3, 0)
	started.State, started.Time = actors.StateStarting, t0.Add(1)
	m.Event(started)
	rows = render(newScreen(t, 140, 10), m, NewTheme(false, false))
	if r := find("2"); !strings.Contains(r, "queued, 1st in line") {
		t.Errorf("task 2 after task 3 started: %q", r)
	}

	if cmds := m.Key(keyRune('+'), t0); len(cmds) != 1 || cmds[0] != (actors.SetMaxParallel{Adjust: 1}) {
		t.Errorf("+ gave %v", cmds)
	}
	if cmds := m.Key(keyRune('-'), t0); len(cmds) != 1 || cmds[0] != (actors.SetMaxParallel{Adjust: -1}) {
		t.Errorf("- gave %v", cmds)
	}
	m.ApplyReply(actors.Reply{Op: actors.OpSetMaxParallel, Limit: 3}, t0)
	if !strings.Contains(m.Notice.Text, "max-parallel: 3 at once") {
		t.Errorf("notice after the reply: %q", m.Notice.Text)
	}
}

// ! opens a prompt whose line Enter starts as an ad-hoc shell task; Esc
// closes it and starts nothing.
func TestCommandPrompt(t *testing.T) {
	m := modelOf(80, 12)
	m.Key(keyRune('!'), t0)
	for _, r := range "make -j4 test" {
		m.Key(keyRune(r), t0)
	}
	rows := render(newScreen(t, 80, 12), m, NewTheme(false, false))
	if !shows(rows, "$ make -j4 test") {
		t.Errorf("the prompt is not shown:\n%s", strings.Join(rows, "\n"))
	}
	cmds := m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0)
	if len(cmds) != 1 {
		t.Fatalf("Enter gave %v", cmds)
	}
	st, ok := cmds[0].(actors.Start)
	if !ok || st.Spec == nil || st.Spec.Name != "make" || st.Spec.Command != "make -j4 test" {
		t.Errorf("Enter gave %#v", cmds[0])
	}
	if m.Picker.Open {
		t.Error("the prompt stayed open")
	}
	m.Key(keyRune('!'), t0)
	m.Key(keyRune('x'), t0)
	if cmds := m.Key(tcell.NewEventKey(tcell.KeyEscape, 0, 0), t0); len(cmds) != 0 || m.Picker.Open {
		t.Errorf("Esc gave %v, open %v", cmds, m.Picker.Open)
	}
}

// A usage sample shows the CPU and MEM columns, the total in the header and
// the figures in the detail pane; a task whose process is not the sample's
// shows none.
func TestUsageColumns(t *testing.T) {
	run := actors.TaskEvent{ID: 1, Name: "busy", State: actors.StateRunning, PID: 7, Generation: 2, ExitCode: -1, Time: t0, Started: t0}
	old := actors.TaskEvent{ID: 2, Name: "old", State: actors.StateRunning, PID: 8, Generation: 3, ExitCode: -1, Time: t0, Started: t0}
	m := modelOf(120, 14, run, old)
	rows := render(newScreen(t, 120, 14), m, NewTheme(false, false))
	if strings.Contains(rows[1], "CPU") {
		t.Errorf("a CPU column before any sample: %q", rows[1])
	}
	m.ApplyUsage(actors.UsageEvent{Tasks: []actors.TaskUsage{
		{ID: 1, Generation: 2, CPU: 0.97, HasCPU: true, Memory: 12 << 20, MemoryPeak: 20 << 20, Procs: 3, FromCgroup: true},
		{ID: 2, Generation: 2, CPU: 0.5, HasCPU: true, Memory: 1 << 20, Procs: 1},
	}})
	m.Detail = true
	rows = render(newScreen(t, 120, 14), m, NewTheme(false, false))
	if !strings.Contains(rows[1], "CPU  MEM") {
		t.Errorf("column heads: %q", rows[1])
	}
	if !strings.Contains(rows[2], " 97%   12M") {
		t.Errorf("task 1's row: %q", rows[2])
	}
	if strings.Contains(rows[3], "50%") {
		t.Errorf("task 2 shows the figures of another process: %q", rows[3])
	}
	if !strings.Contains(rows[0], "cpu 147% mem 13M") {
		t.Errorf("header: %q", rows[0])
	}
	if !shows(rows, "usage   cpu 97%  mem 12M (peak 20M)  3 processes") {
		t.Errorf("detail:\n%s", strings.Join(rows, "\n"))
	}
}
