package ui

import (
	"errors"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// QuitRequest asks the UI to quit as the q key does: a first one stops
// every task with escalation, a second one (or one with Kill set) kills
// what is left at once. Run sends it when its context ends (SIGTERM,
// SIGHUP) and, with Kill, when its force context ends.
type QuitRequest struct {
	Kill bool // kill what is left at once
}

// quitCmd is the command of an update that asks Config.Quit to run;
// nodeStopped says that the node the user stopped has (Config.NodeStopped).
type quitCmd struct{ kill, nodeStopped bool }

// Connection tells an attached UI about its connection to the node: Up
// false when it is lost (Err says why; the tasks are then shown dimmed, as
// last known), true once it is back.
type Connection struct {
	// Node names the node, for a UI of several (Config.Nodes); empty for
	// the one node of Config.Node.
	Node string
	// Up: the connection is there (again).
	Up bool
	// Err says why it was lost; nil when Up.
	Err error
	// LastHeard is when the node was last heard from (its last event or
	// heartbeat); zero: never.
	LastHeard time.Time
}

// heard is when the node was last heard from, as of a message at now
// (zero: never).
func (c Connection) heard(now time.Time) time.Time {
	if c.LastHeard.After(now) {
		return now
	}
	return c.LastHeard
}

// Connection applies a Connection; it returns the commands that follow (a
// detach, once the node the user stopped has gone).
func (m *Model) Connection(c Connection, now time.Time) []any {
	if c.Node != "" && m.multi() {
		m.nodeConnection(c, now)
		return nil
	}
	switch {
	case !c.Up && m.StoppingNode:
		return []any{quitCmd{nodeStopped: true}} // the node the user stopped has ended
	case !c.Up:
		if !m.Stale {
			m.LastHeard = c.heard(now)
		}
		m.Stale = true
		if c.Err != nil {
			m.Error(c.Err, now)
		}
	case m.Stale:
		m.Stale = false
		m.note("connection to node "+termtext.Escape(m.Node)+" is back", false, now)
	}
	return nil
}

// NodeStopped is called with the answer to the node's shutdown that S
// asked for: the attached UI detaches.
func (m *Model) NodeStopped() []any {
	if m.StoppingNode {
		return []any{quitCmd{nodeStopped: true}}
	}
	return nil
}

// errNoSelection is shown for a task key pressed with no task selected.
var errNoSelection = errors.New("no task selected: start one with a key from 1 to 9, or n to pick one")

// Key updates the model for a key and returns the commands it asks for:
// messages for the supervisor (actors.Start, Cancel, Kill, Restart,
// GetOutput) and requests to quit, which the UI actor passes to
// Config.Quit.
func (m *Model) Key(ev *tcell.EventKey, now time.Time) []any {
	switch {
	case ev.Key() == tcell.KeyCtrlC:
		m.Help = false
		return m.quit(false, now)
	case m.Help:
		m.Help = false // any key closes the help, and does nothing else
		return nil
	case m.ConfirmStop:
		return m.confirmStopKey(ev, now)
	case m.Picker.Open:
		return m.pickerKey(ev)
	case m.View.ID != 0 && m.Task(m.View.ID) != nil:
		return m.viewKey(ev, now)
	}
	if m.View.ID != 0 {
		m.View = OutputView{} // its task is gone
	}
	if ev.Key() == tcell.KeyRune {
		return m.runeKey(ev.Rune(), now)
	}
	return m.listKey(ev.Key())
}

// confirmStopKey is the answer to "Stop node ...?": y stops it, any other
// key keeps it.
func (m *Model) confirmStopKey(ev *tcell.EventKey, now time.Time) []any {
	m.ConfirmStop = false
	name := termtext.Escape(m.stopName())
	if r := ev.Rune(); ev.Key() == tcell.KeyRune && (r == 'y' || r == 'Y') {
		m.note("stopping node "+name+": every task with escalation", false, now)
		if m.multi() {
			// One of several: the others stay attached.
			return []any{actors.Shutdown{Node: m.StopNode}}
		}
		m.StoppingNode = true
		return []any{actors.Shutdown{}}
	}
	m.note("node "+name+" goes on", false, now)
	return nil
}

// stopName is the node S asks about.
func (m *Model) stopName() string {
	if m.multi() {
		return m.StopNode
	}
	return m.Node
}

// listKey is a key that is no character, on the task list.
func (m *Model) listKey(k tcell.Key) []any {
	switch k {
	case tcell.KeyUp:
		return m.move(-1)
	case tcell.KeyDown:
		return m.move(1)
	case tcell.KeyPgUp:
		return m.move(-max(m.layout().listH, 1))
	case tcell.KeyPgDn:
		return m.move(max(m.layout().listH, 1))
	case tcell.KeyHome:
		return m.move(-len(m.Tasks))
	case tcell.KeyEnd:
		return m.move(len(m.Tasks))
	case tcell.KeyTab:
		return m.toggleDetail()
	case tcell.KeyEnter:
		return m.openView()
	case tcell.KeyEscape:
		m.Detail = false
		m.scroll()
	}
	return nil
}

// runeKey is a character key on the task list.
func (m *Model) runeKey(r rune, now time.Time) []any {
	switch r {
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return m.startKey(string(r), now)
	case 'k', 'K', 'r', 'p':
		return m.taskKey(r, now)
	case '+', '=':
		return []any{actors.SetMaxParallel{Adjust: 1}}
	case '-':
		return []any{actors.SetMaxParallel{Adjust: -1}}
	case 'o':
		return m.openView()
	case 'n', ':':
		m.openPicker()
	case '!':
		m.openPrompt()
	case 'q':
		return m.quit(false, now)
	case 'Q':
		return m.quit(true, now)
	case 'S':
		switch {
		case m.multi() && m.startNode() == "":
			m.Error(errors.New("select a task of the node to stop (S stops the selected row's node)"), now)
		case m.multi():
			m.StopNode, m.ConfirmStop = m.startNode(), true
		case m.Node != "" && !m.StoppingNode:
			m.ConfirmStop = true
		}
	case '?':
		m.Help = true
	}
	return nil
}

// startKey starts the template on a key 1-9, if the catalogue has one.
func (m *Model) startKey(key string, now time.Time) []any {
	if _, ok := m.template(key); !ok && len(m.Templates) > 0 {
		m.note("no task template on key "+key+" ("+m.templateKeys()+")", true, now)
		return nil
	}
	return []any{actors.Start{Template: key, Node: m.startNode()}}
}

// taskKey is k, K, r or p on the selected task.
func (m *Model) taskKey(r rune, now time.Time) []any {
	if m.Task(m.Selected) == nil {
		m.Error(errNoSelection, now)
		return nil
	}
	switch r {
	case 'k':
		return []any{actors.Cancel{ID: m.Selected}}
	case 'K':
		return []any{actors.Kill{ID: m.Selected}}
	case 'p':
		if m.Task(m.Selected).Event.State == actors.StatePaused {
			return []any{actors.Resume{ID: m.Selected}}
		}
		return []any{actors.Pause{ID: m.Selected}}
	}
	return []any{actors.Restart{ID: m.Selected}}
}

// quit moves the quit along: the first asks for a shutdown with
// escalation, the next (or kill) for SIGKILL to what is left.
func (m *Model) quit(kill bool, now time.Time) []any {
	if m.attached() {
		return []any{quitCmd{}} // attached: a detach, which stops nothing
	}
	if !m.Quitting {
		m.Quitting, m.QuitTime = true, now
		m.Killing = kill
		return []any{quitCmd{kill: kill}}
	}
	if m.Killing {
		return nil
	}
	m.Killing = true
	return []any{quitCmd{kill: true}}
}

// Quit applies a QuitRequest.
func (m *Model) Quit(r QuitRequest, now time.Time) []any { return m.quit(r.Kill, now) }

// Mouse updates the model for a mouse event: a click on a task's row
// selects it, the wheel moves the selection.
func (m *Model) Mouse(ev *tcell.EventMouse) []any {
	btn := ev.Buttons()
	if m.View.ID != 0 && !m.Help {
		switch {
		case btn&tcell.WheelUp != 0:
			m.scrollView(-3)
		case btn&tcell.WheelDown != 0:
			m.scrollView(3)
		}
		return nil
	}
	switch {
	case btn&tcell.WheelUp != 0:
		return m.move(-1)
	case btn&tcell.WheelDown != 0:
		return m.move(1)
	case btn&tcell.Button1 == 0:
		return nil
	}
	if m.Help {
		m.Help = false
		return nil
	}
	_, y := ev.Position()
	l := m.layout()
	row := y - l.listY
	if row < 0 || row >= l.listH {
		return nil
	}
	top := visibleTop(m.Top, m.selectedIndex(), len(m.Tasks), l.listH)
	if i := top + row; i < len(m.Tasks) {
		return m.selectIndex(i)
	}
	return nil
}

// Resize records the screen's new size.
func (m *Model) Resize(w, h int) {
	m.Width, m.Height = w, h
	m.scroll()
}

func (m *Model) layout() layout { return layoutFor(m.Width, m.Height, m.Detail, m.multi()) }

// move moves the selection by delta rows, clamped to the list.
func (m *Model) move(delta int) []any {
	if len(m.Tasks) == 0 {
		return nil
	}
	i := m.selectedIndex()
	if i < 0 {
		i = 0
	} else {
		i = min(max(i+delta, 0), len(m.Tasks)-1)
	}
	return m.selectIndex(i)
}

// selectIndex selects the task at position i and asks for its output when
// the detail pane shows it.
func (m *Model) selectIndex(i int) []any {
	id := m.Tasks[i].Event.ID
	changed := id != m.Selected
	m.Selected = id
	m.scroll()
	if changed && m.Detail {
		return []any{actors.GetOutput{ID: id}}
	}
	return nil
}

// Select selects the task id, as ApplyEvent does for a new task; it
// returns the commands that follow (the new task's output, when shown).
func (m *Model) Select(id int) []any {
	if i, ok := m.index[id]; ok {
		m.Selected = -1 // force "changed"
		return m.selectIndex(i)
	}
	return nil
}

func (m *Model) toggleDetail() []any {
	m.Detail = !m.Detail
	m.scroll()
	if m.Detail && m.Task(m.Selected) != nil {
		return []any{actors.GetOutput{ID: m.Selected}}
	}
	return nil
}

// scroll keeps the selected row in view.
func (m *Model) scroll() {
	m.Top = visibleTop(m.Top, m.selectedIndex(), len(m.Tasks), m.layout().listH)
}
