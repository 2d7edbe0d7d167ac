package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// attachedModel is a model attached to node "box", with two tasks.
func attachedModel(w, h int) *Model {
	evs := everyState()
	m := modelOf(w, h, evs[1], evs[2])
	m.Node = "box"
	return m
}

// Attached, q detaches at once and stops nothing: no shutdown, no
// "quitting". The footer and the help say so.
func TestAttachedQDetaches(t *testing.T) {
	const w, h = 100, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := attachedModel(w, h)
	rows := render(s, m, th)
	if !strings.HasPrefix(rows[0], " taskvisor node box") {
		t.Errorf("header %q does not name the node", rows[0])
	}
	if last := rows[h-1]; !strings.HasSuffix(last, "S stop node q detach") {
		t.Errorf("footer %q, want it to end in 'S stop node q detach'", last)
	}
	m.Key(keyRune('?'), t0)
	text := strings.Join(render(s, m, th), "\n")
	for _, want := range []string{"q Ctrl-C     detach: the node and its tasks keep running", "S            stop the node and every task (asks first)"} {
		if !strings.Contains(text, want) {
			t.Errorf("help lacks %q:\n%s", want, text)
		}
	}
	m.Key(keyRune('x'), t0) // closes the help
	cmds := m.Key(keyRune('q'), t0)
	if !slices.Equal(cmds, []any{quitCmd{}}) || m.Quitting {
		t.Errorf("q: commands %v, quitting %v; want a detach alone", cmds, m.Quitting)
	}
	if cmds := m.Key(tcell.NewEventKey(tcell.KeyCtrlC, 0, 0), t0); !slices.Equal(cmds, []any{quitCmd{}}) {
		t.Errorf("Ctrl-C: commands %v, want a detach", cmds)
	}
}

// S asks before it stops the node: any key but y says no; y sends the
// shutdown, and its answer detaches.
func TestAttachedStopAsksFirst(t *testing.T) {
	const w, h = 100, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := attachedModel(w, h)
	if cmds := m.Key(keyRune('S'), t0); cmds != nil || !m.ConfirmStop {
		t.Fatalf("S: commands %v, asking %v", cmds, m.ConfirmStop)
	}
	if rows := render(s, m, th); rows[h-2] != "Stop node box and every task on it? y: stop it, any other key: no" {
		t.Errorf("the question: %q", rows[h-2])
	}
	if cmds := m.Key(keyRune('K'), t0); cmds != nil || m.ConfirmStop || m.StoppingNode {
		t.Fatalf("K as the answer: commands %v; it must say no and kill nothing", cmds)
	}
	if rows := render(s, m, th); rows[h-2] != "node box goes on" {
		t.Errorf("after no: %q", rows[h-2])
	}
	m.Key(keyRune('S'), t0)
	if cmds := m.Key(keyRune('y'), t0); !slices.Equal(cmds, []any{actors.Shutdown{}}) || !m.StoppingNode {
		t.Fatalf("y: commands %v, stopping %v; want the node's shutdown", cmds, m.StoppingNode)
	}
	if cmds := m.NodeStopped(); !slices.Equal(cmds, []any{quitCmd{nodeStopped: true}}) {
		t.Errorf("the shutdown's answer: commands %v, want a detach", cmds)
	}
	// Not attached, S does nothing.
	local := modelOf(w, h, everyState()[1])
	if cmds := local.Key(keyRune('S'), t0); cmds != nil || local.ConfirmStop {
		t.Errorf("S in a local UI: commands %v, asking %v", cmds, local.ConfirmStop)
	}
}

// While the connection is lost the tasks stay on screen, dimmed, and the
// header says so; once it is back they are drawn as before.
func TestLostConnectionDimsTheTasks(t *testing.T) {
	const w, h = 100, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := attachedModel(w, h)
	rows := render(s, m, th)
	y := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "hang") })
	x := strings.Index(rows[y], "hang")
	_, live := cellAt(s, x, y)
	m.Connection(Connection{Up: false, Err: errors.New("connection to node \"box\" lost (EOF): reconnecting"), LastHeard: t0.Add(-7 * time.Second)}, t0)
	rows = render(s, m, th)
	if !strings.Contains(rows[0], "(connection lost: reconnecting) last heard 7s ago") || !strings.Contains(rows[y], "hang") {
		t.Errorf("lost: header %q, row %q", rows[0], rows[y])
	}
	if _, st := cellAt(s, x, y); st != live.Dim(true) {
		t.Errorf("lost: the row is drawn in %v, want %v (dimmed)", st, live.Dim(true))
	}
	if !strings.Contains(rows[h-2], "lost (EOF)") {
		t.Errorf("lost: footer %q does not say why", rows[h-2])
	}
	m.Connection(Connection{Up: true}, t0)
	rows = render(s, m, th)
	if _, st := cellAt(s, x, y); st != live || strings.Contains(rows[0], "connection lost") {
		t.Errorf("back: row style %v (want %v), header %q", st, live, rows[0])
	}
	// A lost connection after the user stopped the node: the node has
	// gone, the UI detaches.
	m.StoppingNode = true
	if cmds := m.Connection(Connection{Up: false}, t0); !slices.Equal(cmds, []any{quitCmd{nodeStopped: true}}) {
		t.Errorf("lost after a stop: commands %v, want a detach", cmds)
	}
}
