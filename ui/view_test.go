package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// keyRune is a key event of a rune.
func keyRune(r rune) *tcell.EventKey { return tcell.NewEventKey(tcell.KeyRune, r, 0) }

// The key that closes the help overlay does nothing else: 1 does not start a
// task, K does not kill the selected one (both used to).
func TestHelpSwallowsTheClosingKey(t *testing.T) {
	for _, ev := range []*tcell.EventKey{keyRune('1'), keyRune('K'), keyRune('k'), keyRune('r'), keyRune('q'),
		tcell.NewEventKey(tcell.KeyEnter, 0, 0), tcell.NewEventKey(tcell.KeyDown, 0, 0)} {
		m := modelOf(80, 20, everyState()...)
		m.Help = true
		sel := m.Selected
		if cmds := m.Key(ev, t0); len(cmds) != 0 || m.Help || m.Detail || m.Quitting || m.Selected != sel {
			t.Errorf("%s with the help open: commands %v, help %v, detail %v, quitting %v, selected %d (was %d)",
				ev.Name(), cmds, m.Help, m.Detail, m.Quitting, m.Selected, sel)
		}
	}
}

// viewModel is a model of a running task restarted once (its second process,
// pid 4300, started at t0-5s) whose output holds 40 lines, the last 10 from
// the second process, and one long line.
func viewModel(w, h int) *Model {
	ev := everyState()[1] // running, id 2
	first := ev
	first.PID, first.Generation, first.Started, first.Time = 4200, 1, t0.Add(-60*time.Second), t0.Add(-60*time.Second)
	m := modelOf(w, h, first)
	ev.PID, ev.Generation, ev.Restarts, ev.Started = 4300, 2, 1, t0.Add(-5*time.Second)
	m.Event(ev)
	reply := actors.OutputReply{ID: 2}
	for i := range 40 {
		l := outLine(i%7 == 6, fmt.Sprintf("line %02d", i))
		l.Time = t0.Add(-50 * time.Second).Add(time.Duration(i) * time.Second)
		if i >= 30 {
			l.Time = t0.Add(-4 * time.Second).Add(time.Duration(i-30) * time.Millisecond)
		}
		reply.Lines = append(reply.Lines, l)
	}
	long := outLine(false, "long "+strings.Repeat("abcdefghij", 12)+" end")
	long.Time = t0
	reply.Lines = append(reply.Lines, long)
	m.ApplyOutput(reply)
	return m
}

// The output view (Enter) shows the selected task's output full screen,
// following its tail: long lines wrap (nothing cut), a separator marks the
// restart; PgUp, Home and the wheel scroll back, End follows again, Esc
// goes back to the list.
func TestOutputView(t *testing.T) {
	const w, h = 60, 12
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := viewModel(w, h)
	cmds := m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0)
	if len(cmds) != 1 || cmds[0] != (actors.GetOutput{ID: 2}) || m.View.ID != 2 || !m.View.Follow {
		t.Fatalf("Enter: commands %v, view %+v", cmds, m.View)
	}
	rows := render(s, m, th)
	text := strings.Join(rows, "\n")
	if !strings.HasPrefix(rows[0], " Task 2 standard ● running: output") || !strings.Contains(rows[0], "following") {
		t.Errorf("header %q", rows[0])
	}
	// The long line, wrapped in 57-cell rows with the mark on its first.
	want := []string{
		" │ long abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab",
		"   cdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi",
		"   jabcdefghij end",
	}
	if got := rows[h-5 : h-2]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("following, the last rows:\n%s\nwant\n%s\nscreen:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), text)
	}
	if strings.Contains(text, "…") {
		t.Errorf("a line was cut:\n%s", text)
	}

	m.Key(tcell.NewEventKey(tcell.KeyPgUp, 0, 0), t0)
	rows = render(s, m, th)
	text = strings.Join(rows, "\n")
	if m.View.Follow || !strings.Contains(text, "--- restart 1, pid 4300 ---") || strings.Contains(text, "following") {
		t.Errorf("after PgUp: follow %v, want the restart's separator and no following:\n%s", m.View.Follow, text)
	}
	if i := slices.Index(rows, "--- restart 1, pid 4300 ---"); i < 1 || rows[i-1] != "E│ line 27" && rows[i-1] != " │ line 29" {
		t.Errorf("separator not between the processes' lines:\n%s", text)
	}

	m.Key(tcell.NewEventKey(tcell.KeyHome, 0, 0), t0)
	rows = render(s, m, th)
	if rows[1] != " │ line 00" || !strings.Contains(rows[0], " 1-9/") {
		t.Errorf("after Home:\n%s", strings.Join(rows, "\n"))
	}
	m.Mouse(tcell.NewEventMouse(5, 5, tcell.WheelDown, 0))
	if rows = render(s, m, th); rows[1] != " │ line 03" {
		t.Errorf("after the wheel down, first row %q, want line 03", rows[1])
	}
	m.Key(tcell.NewEventKey(tcell.KeyEnd, 0, 0), t0)
	if rows = render(s, m, th); !m.View.Follow || rows[h-3] != "   jabcdefghij end" {
		t.Errorf("after End:\n%s", strings.Join(rows, "\n"))
	}

	// k acts on the task shown; Esc goes back.
	if cmds := m.Key(keyRune('k'), t0); len(cmds) != 1 || cmds[0] != (actors.Cancel{ID: 2}) {
		t.Errorf("k in the view: %v", cmds)
	}
	m.Key(tcell.NewEventKey(tcell.KeyEscape, 0, 0), t0)
	if rows = render(s, m, th); m.View.ID != 0 || rows[1] != "ID STATE       NAME     PROGRESS      % STEP  STATUS" && !strings.HasPrefix(rows[1], "ID STATE") {
		t.Errorf("after Esc, the list:\n%s", strings.Join(rows, "\n"))
	}
}

// / searches the output (case-insensitive): the matching line is shown and
// highlighted, the footer says which match it is; n and N go to the next
// and the previous one, round the end.
func TestOutputViewSearch(t *testing.T) {
	const w, h = 60, 12
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := viewModel(w, h)
	m.Key(keyRune('o'), t0)
	m.Key(keyRune('/'), t0)
	for _, r := range "LINE 0" {
		m.Key(keyRune(r), t0)
	}
	if rows := render(s, m, th); rows[h-2] != "/LINE 0" {
		t.Errorf("while typing, footer %q", rows[h-2])
	}
	m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0)
	rows := render(s, m, th)
	if rows[h-2] != "/LINE 0: match 1 of 10 (n next, N previous)" {
		t.Errorf("footer %q", rows[h-2])
	}
	y := slices.Index(rows, " │ line 00")
	if y < 0 {
		t.Fatalf("the match is not shown:\n%s", strings.Join(rows, "\n"))
	}
	if _, st := cellAt(s, 5, y); st != th.Base.Reverse(true) {
		t.Errorf("the match's row is not highlighted: %v", st)
	}
	m.Key(keyRune('n'), t0)
	if render(s, m, th); m.View.Match != 1 {
		t.Errorf("n: match on line %d, want 1", m.View.Match)
	}
	m.Key(keyRune('N'), t0)
	m.Key(keyRune('N'), t0)
	if rows = render(s, m, th); m.View.Match != 9 || !slices.Contains(rows, " │ line 09") {
		t.Errorf("N twice: match on line %d, want 9 (round the start):\n%s", m.View.Match, strings.Join(rows, "\n"))
	}
	m.Key(keyRune('/'), t0)
	for _, r := range "nowhere" {
		m.Key(keyRune(r), t0)
	}
	m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0)
	if m.View.Match != -1 || !m.Notice.Err || !strings.Contains(m.Notice.Text, "no line holds nowhere") {
		t.Errorf("a search without a match: match %d, notice %+v", m.View.Match, m.Notice)
	}
}

// The picker (n or :) lists every template, keyed or not, filters them as
// the user types, and Enter starts the chosen one by name.
func TestPickerStartsAnyTemplate(t *testing.T) {
	var cat actors.Catalogue
	for i := range 12 {
		spec := actors.TaskSpec{Name: fmt.Sprintf("job%02d", i), Description: "a job", Argv: []string{"true"}}
		if i < 9 {
			spec.Key = strconv.Itoa(i + 1)
		}
		cat = append(cat, spec)
	}
	cat = append(cat, actors.TaskSpec{Name: "backup", Description: "keyless", Argv: []string{"true"}})
	const w, h = 80, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := NewModel(cat, w, h)
	if rows := render(s, m, th); !shows(rows, "No tasks yet. n: pick one to start; or a key: 1\u00a0job00") {
		t.Errorf("the empty screen does not say how to start a keyless task:\n%s", strings.Join(rows, "\n"))
	}
	m.Key(keyRune('n'), t0)
	rows := render(s, m, th)
	for _, want := range []string{"Start a task (Enter), Esc: close. Filter:", "1  job00: a job", "-  job11: a job", "-  backup: keyless"} {
		if !shows(rows, want) {
			t.Errorf("picker lacks %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}
	for _, r := range "KEYL" {
		m.Key(keyRune(r), t0)
	}
	rows = render(s, m, th)
	if !shows(rows, "Filter: KEYL") || !shows(rows, "-  backup: keyless") || shows(rows, "1  job00") {
		t.Errorf("filtered picker:\n%s", strings.Join(rows, "\n"))
	}
	if cmds := m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0); len(cmds) != 1 || cmds[0] != (actors.Start{Template: "backup"}) || m.Picker.Open {
		t.Errorf("Enter: %v, picker open %v", cmds, m.Picker.Open)
	}

	// ':' opens it too; Down then Enter starts the second; a filter that
	// matches nothing says so and Enter starts nothing.
	m.Key(keyRune(':'), t0)
	m.Key(tcell.NewEventKey(tcell.KeyDown, 0, 0), t0)
	if cmds := m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0); len(cmds) != 1 || cmds[0] != (actors.Start{Template: "job01"}) {
		t.Errorf("Down, Enter: %v", cmds)
	}
	m.Key(keyRune('n'), t0)
	m.Key(keyRune('z'), t0)
	if rows = render(s, m, th); !shows(rows, "no template matches") {
		t.Errorf("no match:\n%s", strings.Join(rows, "\n"))
	}
	if cmds := m.Key(tcell.NewEventKey(tcell.KeyEnter, 0, 0), t0); len(cmds) != 0 {
		t.Errorf("Enter with no match: %v", cmds)
	}
}
