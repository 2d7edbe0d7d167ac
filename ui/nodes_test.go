package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

// localID stands for the IDs of a client of several nodes
// (node/localID), which the UI takes as they come.
func localID(node, id int) int { return 100*(node+1) + id }

// nodesModel is a model of three nodes with two tasks each: IDs 1 and 2 on
// each node, Multi's IDs for them.
func nodesModel(w, h int) *Model {
	m := NewModel(nil, w, h)
	m.SetNodes([]string{"box1", "box2", "box3"})
	evs := everyState()
	for i, node := range []string{"box1", "box2", "box3"} {
		for _, ev := range evs[1:3] {
			ev.Node, ev.NodeTask, ev.ID = node, ev.ID-1, localID(i, ev.ID-1)
			m.Event(ev)
		}
	}
	m.Select(localID(1, 1)) // box2's task 1
	return m
}

// With several nodes: a NODE column, each node's own IDs, a line of the
// nodes' states; the keys act on the selected row's task and its node.
func TestSeveralNodes(t *testing.T) {
	const w, h = 120, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := nodesModel(w, h)
	rows := render(s, m, th)
	if !strings.Contains(rows[0], "3 nodes") {
		t.Errorf("header %q does not count the nodes", rows[0])
	}
	if want := " box1 up (2)  box2 up (2)  box3 up (2)"; !strings.HasPrefix(rows[1], want) {
		t.Errorf("nodes line %q, want it to start %q", rows[1], want)
	}
	if !strings.HasPrefix(rows[2], "NODE ID") {
		t.Errorf("column heads %q, want NODE first, then ID", rows[2])
	}
	for i, want := range []string{"box1  1", "box1  2", "box2  1", "box2  2", "box3  1", "box3  2"} {
		if !strings.HasPrefix(rows[3+i], want) {
			t.Errorf("row %d %q, want it to start %q", i, rows[3+i], want)
		}
	}
	if cmds := m.Key(keyRune('K'), t0); len(cmds) != 1 || cmds[0] != (actors.Kill{ID: localID(1, 1)}) {
		t.Errorf("K on box2/1: %v", cmds)
	}
	if cmds := m.Key(keyRune('1'), t0); len(cmds) != 1 || cmds[0] != (actors.Start{Template: "1", Node: "box2"}) {
		t.Errorf("1 with box2's task selected: %v, want a start on box2", cmds)
	}
	if cmds := m.Key(keyRune('q'), t0); len(cmds) != 1 || cmds[0] != (quitCmd{}) {
		t.Errorf("q: %v, want a detach", cmds)
	}
	if last := rows[h-1]; !strings.HasSuffix(last, "? help S stop its node q detach") {
		t.Errorf("footer %q, want it to end in '? help S stop its node q detach'", last)
	}
	// S asks about the selected row's node, and stops that one only.
	if cmds := m.Key(keyRune('S'), t0); cmds != nil || !m.ConfirmStop {
		t.Fatalf("S: %v, confirm %v; want the question", cmds, m.ConfirmStop)
	}
	if rows := render(s, m, th); !strings.Contains(rows[h-2], "Stop node box2 and every task on it? y: stop it") {
		t.Errorf("the question %q does not name box2", rows[h-2])
	}
	if cmds := m.Key(keyRune('y'), t0); len(cmds) != 1 || cmds[0] != (actors.Shutdown{Node: "box2"}) || m.StoppingNode {
		t.Errorf("y: %v (stopping %v), want box2's shutdown, the UI staying with the others", cmds, m.StoppingNode)
	}
	if cmds := m.Connection(Connection{Node: "box2", Err: errors.New("gone")}, t0); cmds != nil {
		t.Errorf("box2 gone after its stop: %v, want the UI to stay", cmds)
	}
	m.Selected = 0
	if cmds := m.Key(keyRune('S'), t0); cmds != nil || m.ConfirmStop {
		t.Errorf("S with no row selected: %v, confirm %v; want neither", cmds, m.ConfirmStop)
	}
}

// A node out of reach: its rows are dimmed and say how long ago it was last
// heard from; the other nodes' rows are as they were; its return undoes it.
func TestNodeOutOfReach(t *testing.T) {
	const w, h = 120, 24
	s := newScreen(t, w, h)
	th := NewTheme(false, false)
	m := nodesModel(w, h)
	lost := t0.Add(-12 * time.Second)
	m.Connection(Connection{Node: "box2", Err: errors.New("connection to node \"box2\" lost"), LastHeard: lost}, t0)
	rows := render(s, m, th)
	if !strings.Contains(rows[1], "box2 unreachable, last heard 12s ago (2)") {
		t.Errorf("nodes line %q does not say box2 is unreachable", rows[1])
	}
	for i := range 6 {
		row := rows[3+i]
		stale := strings.Contains(row, "(as of 12s ago)")
		if stale != onBox2(row) {
			t.Errorf("row %q: marked stale %v", row, stale)
		}
		if i == 2 {
			continue // the selected row: reversed
		}
		_, style := cellAt(s, 0, 3+i)
		if dimmed := style == th.stale().Base; dimmed != onBox2(row) {
			t.Errorf("row %q: dimmed %v", row, dimmed)
		}
	}
	// A node never heard from says so.
	m.Connection(Connection{Node: "box3", Err: errors.New("does not answer")}, t0)
	if rows := render(s, m, th); !strings.Contains(rows[1], "box3 unreachable, not heard from yet") {
		t.Errorf("nodes line %q: box3 was never heard from", rows[1])
	}
	m.Connection(Connection{Node: "box3", Up: true}, t0)
	// A second failed attempt is no news; the return is.
	m.Connection(Connection{Node: "box2", Err: errors.New("again")}, t0)
	m.Connection(Connection{Node: "box2", Up: true}, t0)
	rows = render(s, m, th)
	if strings.Contains(strings.Join(rows, "\n"), "as of") || !strings.Contains(rows[1], "box2 up") {
		t.Errorf("box2 is back, but:\n%s", strings.Join(rows, "\n"))
	}
}

func onBox2(row string) bool { return strings.HasPrefix(row, "box2") }

// On a narrow screen the NODE column goes last: after NAME, never before.
func TestNodeColumnGoesLast(t *testing.T) {
	nodeGone := 0
	for w := 120; w >= 10; w-- {
		m := nodesModel(w, 24)
		var names []string
		for _, c := range columnsFor(m, w) {
			names = append(names, colTitles[c.kind])
		}
		h := strings.Join(names, " ")
		hasName, hasNode := strings.Contains(h, "NAME"), strings.Contains(h, "NODE")
		if hasName && !hasNode {
			t.Errorf("width %d: columns %q: NODE dropped before NAME", w, h)
		}
		if !hasNode && nodeGone == 0 {
			nodeGone = w
		}
	}
	if nodeGone == 0 || nodeGone > 30 {
		t.Errorf("NODE dropped at width %d; want it kept down to narrow screens", nodeGone)
	}
}
