package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// NodeState is what an attached UI knows of one of its nodes' connections
// (Config.Nodes).
type NodeState struct {
	// Name is the node's, as the client calls it (escaped for the screen).
	Name string
	// Down: the connection to it is lost; its tasks are shown dimmed, as
	// last known.
	Down bool
	// LastHeard is when the node was last heard from: its last event or
	// heartbeat (Connection.LastHeard); zero: never.
	LastHeard time.Time
	// raw is the name as the events carry it.
	raw string
}

// multi reports whether the UI shows the tasks of several nodes.
func (m *Model) multi() bool { return len(m.Nodes) > 0 }

// attached reports whether the UI is a client of one node or more: q
// detaches.
func (m *Model) attached() bool { return m.Node != "" || m.multi() }

// SetNodes makes the model one of several nodes, named in order.
func (m *Model) SetNodes(names []string) {
	m.Nodes = m.Nodes[:0]
	for _, n := range names {
		m.Nodes = append(m.Nodes, NodeState{Name: termtext.Escape(n), raw: n})
		m.nodeW = max(m.nodeW, textWidth(termtext.Escape(n)))
	}
}

// nodeState is the state of the node of that name, or nil.
func (m *Model) nodeState(name string) *NodeState {
	for i := range m.Nodes {
		if m.Nodes[i].raw == name {
			return &m.Nodes[i]
		}
	}
	return nil
}

// nodeDown reports whether the task's node is out of reach.
func (m *Model) nodeDown(ev *actors.TaskEvent) (down bool, lastHeard time.Time) {
	if ev.Node == "" {
		return false, time.Time{}
	}
	if n := m.nodeState(ev.Node); n != nil && n.Down {
		return true, n.LastHeard
	}
	return false, time.Time{}
}

// nodeConnection applies a Connection of one of several nodes.
func (m *Model) nodeConnection(c Connection, now time.Time) {
	n := m.nodeState(c.Node)
	if n == nil {
		return
	}
	switch {
	case !c.Up && !n.Down:
		n.Down, n.LastHeard = true, c.heard(now)
		if c.Err != nil {
			m.Error(c.Err, now)
		}
	case !c.Up && c.Err != nil:
		// Still away: the news of each failed attempt is not news.
	case c.Up && n.Down:
		n.Down = false
		m.note("connection to node "+n.Name+" is back", false, now)
	}
}

// shownID is the ID the task is shown with: its node's, for a task of one
// of several nodes.
func shownID(ev *actors.TaskEvent) int {
	if ev.Node != "" {
		return ev.NodeTask
	}
	return ev.ID
}

// startNode is the node a start goes to: the selected task's.
func (m *Model) startNode() string {
	if t := m.Task(m.Selected); t != nil {
		return t.Event.Node
	}
	return ""
}

// renderNodes draws the line of the nodes' states under the header: each
// node's name, its task count, and for one out of reach how long since it
// was last heard from.
func renderNodes(s tcell.Screen, m *Model, th Theme, w, y int, now time.Time) {
	fill(s, 0, y, w, th.Base)
	counts := make(map[string]int, len(m.Nodes))
	for _, t := range m.Tasks {
		counts[t.Event.Node]++
	}
	x := 1
	for i, n := range m.Nodes {
		if i > 0 {
			x += put(s, x, y, w-x, "  ", th.Base, "")
		}
		var b strings.Builder
		b.WriteString(n.Name)
		style := th.Base
		switch {
		case n.Down && n.LastHeard.IsZero():
			style = th.Error
			b.WriteString(" unreachable, not heard from yet")
		case n.Down:
			style = th.Error
			b.WriteString(" unreachable, last heard " + wholeDuration(now.Sub(n.LastHeard)) + " ago")
		default:
			b.WriteString(" up")
		}
		b.WriteString(" (" + strconv.Itoa(counts[n.raw]) + ")")
		x += put(s, x, y, w-x, b.String(), style, th.ellipsis)
		if x >= w {
			return
		}
	}
}
