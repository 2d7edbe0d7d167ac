package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// errorNoticeHold is how long an error stays on the footer's event line
// before an ordinary event may replace it: long enough to be read.
const errorNoticeHold = 5 * time.Second

// Task is the model of one task: its latest event, and the texts of it that
// are drawn, escaped once when the event arrives.
type Task struct {
	// Event is the latest event of the task.
	Event actors.TaskEvent
	// Escaped texts of Event, safe to draw.
	name, status, message, reason, policy, group string
	// starts are where its processes began, for the output view.
	starts []procStart
	// queuePos is its place in the queue while queued, 1 for the next to
	// start (Model.queuePositions).
	queuePos int
	// usage is its process's latest usage sample; hasUsage is false when
	// there is none (no process, or no sample yet).
	usage    actors.TaskUsage
	hasUsage bool
}

// OutputLine is one line of a task's output, escaped.
type OutputLine struct {
	Stderr bool      // written to stderr, not stdout
	Text   string    // escaped, safe to draw; without its SGR sequences
	Time   time.Time // when it was read
	// runs are the colours its SGR sequences set (parseSGR); nil: none.
	runs []colorRun
}

// Template is a catalogue entry that a key starts.
type Template struct {
	Key, Name, Description string // as in actors.TaskSpec, escaped
	name                   string // as in the catalogue, for actors.Start
}

// Notice is the footer's line for the latest event or error.
type Notice struct {
	Text string    // escaped, safe to draw
	Err  bool      // an error, drawn as one
	Time time.Time // when it happened
}

// Model is everything the UI shows; Render draws it and nothing else.
// The UI actor is its only writer.
type Model struct {
	// Tasks in ID order.
	Tasks []*Task
	index map[int]int // ID -> position in Tasks
	// Groups holds the latest event of each supervision group.
	Groups map[string]actors.GroupEvent
	// Templates are the catalogue entries, in catalogue order.
	Templates []Template

	// Selected is the ID of the selected task; 0 for none.
	Selected int
	// Top is the position in Tasks of the first row shown.
	Top int
	// Detail shows the detail pane of the selected task; Help the help overlay.
	Detail, Help bool
	// View is the full-screen output view, open when View.ID is not 0.
	View OutputView
	// Picker is the overlay that starts any template, open when
	// Picker.Open.
	Picker Picker

	// OutputID is the task whose last output lines Output holds.
	OutputID int
	Output   []OutputLine // oldest first
	// OutputErr says why the output could not be fetched.
	OutputErr string

	// Notice is the footer's event or error line.
	Notice Notice

	// Quitting: the user asked to quit and the shutdown is under way;
	// Killing: the user asked for SIGKILL to what is left.
	Quitting, Killing bool

	// queueDirty: a task entered or left the queue since queuePositions.
	queueDirty bool
	// Usage is the latest usage sample's total over all tasks.
	Usage UsageTotal
	// HasUsage: a sample came (the CPU and MEM columns are shown from
	// then on).
	HasUsage bool

	// Node names the node the UI is attached to (taskvisor attach); empty
	// when the UI runs in the runtime's own process. Attached, q detaches
	// and S stops the node, once the user has said yes.
	Node string
	// ConfirmStop: S was pressed, and the UI asks whether to stop the node.
	ConfirmStop bool
	// StoppingNode: the answer was yes, and the node's shutdown is asked.
	StoppingNode bool
	// StopNode is the node S asks about in a UI of several: the selected
	// row's.
	StopNode string
	// Stale: the connection to the node is lost; the tasks are shown as
	// last known, dimmed, until it is back.
	Stale bool
	// LastHeard is when the node was last heard from, while Stale.
	LastHeard time.Time
	// Nodes are the nodes of a UI attached to several (Config.Nodes), in
	// order, with the state of each one's connection; empty otherwise.
	Nodes []NodeState
	// QuitTime is when the user asked to quit.
	QuitTime time.Time

	// Width and Height are the screen's size.
	Width, Height int

	// Column widths kept up to date by ApplyEvent, so that a frame need not
	// measure every task: the largest ID and step count, the widest name.
	maxID, maxSteps, nameW int
	// maxShown is the largest ID shown (a node's own IDs with several
	// nodes), nodeW the widest node name.
	maxShown, nodeW int
}

// NewModel returns an empty model for a screen of w x h cells and a
// catalogue.
func NewModel(cat actors.Catalogue, w, h int) *Model {
	m := &Model{index: map[int]int{}, Groups: map[string]actors.GroupEvent{}, Width: w, Height: h}
	for _, s := range cat {
		m.Templates = append(m.Templates, Template{Key: termtext.Escape(s.Key), Name: termtext.Escape(s.Name),
			Description: termtext.Escape(s.Description), name: s.Name})
	}
	return m
}

// Task returns the task with the given ID, or nil.
func (m *Model) Task(id int) *Task {
	if i, ok := m.index[id]; ok {
		return m.Tasks[i]
	}
	return nil
}

// selectedIndex is the position of the selected task in Tasks, or -1.
func (m *Model) selectedIndex() int {
	if i, ok := m.index[m.Selected]; ok {
		return i
	}
	return -1
}

// Event updates the model with a task's event and returns the commands
// that follow. A task seen for the first time is selected when it is the
// newest: the one the user most likely wants to watch.
func (m *Model) Event(ev actors.TaskEvent) []any {
	if m.ApplyEvent(ev) && ev.ID == m.maxID {
		return m.Select(ev.ID)
	}
	m.scroll()
	return nil
}

// ApplyEvent updates the model with a task's event and reports whether the
// task is new. Events older than the task's latest are ignored.
func (m *Model) ApplyEvent(ev actors.TaskEvent) (isNew bool) {
	t := m.Task(ev.ID)
	prevState := actors.State("")
	if t == nil {
		isNew = true
		t = &Task{}
		pos, _ := slices.BinarySearchFunc(m.Tasks, ev.ID, func(t *Task, id int) int { return t.Event.ID - id })
		m.Tasks = slices.Insert(m.Tasks, pos, t)
		for i := pos + 1; i < len(m.Tasks); i++ {
			m.index[m.Tasks[i].Event.ID] = i
		}
		m.index[ev.ID] = pos
	} else {
		prevState = t.Event.State
		if ev.Time.Before(t.Event.Time) {
			return false // an older event overtaken by a newer one
		}
	}
	old := t.Event
	t.Event = ev
	t.noteStart(&ev)
	if isNew || ev.Name != old.Name {
		t.name = termtext.Escape(ev.Name)
		m.nameW = max(m.nameW, textWidth(t.name))
	}
	m.maxID = max(m.maxID, ev.ID)
	m.maxShown = max(m.maxShown, shownID(&ev))
	m.maxSteps = max(m.maxSteps, ev.Steps, ev.Step)
	if isNew || ev.Status != old.Status {
		t.status = termtext.Escape(ev.Status)
	}
	if isNew || ev.Message != old.Message {
		t.message = termtext.Escape(ev.Message)
	}
	if isNew || ev.Reason != old.Reason {
		t.reason = termtext.Escape(ev.Reason)
	}
	if isNew || ev.Policy != old.Policy {
		t.policy = termtext.Escape(ev.Policy)
	}
	if isNew || ev.Group != old.Group {
		t.group = termtext.Escape(ev.Group)
	}
	if ev.State == actors.StateQueued || prevState == actors.StateQueued {
		m.queueDirty = true
	}
	if ev.State != prevState {
		note := ev
		if note.Message == "" {
			note.Message = string(ev.State)
		}
		m.note(termtext.Escape(note.String()), false, ev.Time)
	}
	return isNew
}

// queuePositions numbers the queued tasks 1, 2, 3 ... by their tickets
// (the queue is first come first), if the queue changed since the last
// count: once a frame at most, not once an event.
func (m *Model) queuePositions() {
	if !m.queueDirty {
		return
	}
	m.queueDirty = false
	var queued []*Task
	for _, t := range m.Tasks {
		t.queuePos = 0
		if t.Event.State == actors.StateQueued {
			queued = append(queued, t)
		}
	}
	slices.SortFunc(queued, func(a, b *Task) int { return cmp.Compare(a.Event.QueueTicket, b.Event.QueueTicket) })
	for i, t := range queued {
		t.queuePos = i + 1
	}
}

// UsageTotal sums a usage sample over its tasks.
type UsageTotal struct {
	CPU    float64 // in cores
	Memory uint64  // bytes
	Procs  int     // processes
}

// ApplyUsage takes a usage sample: each task's figures for its current
// process, and their total.
func (m *Model) ApplyUsage(ev actors.UsageEvent) {
	m.HasUsage = true
	m.Usage = UsageTotal{}
	for _, t := range m.Tasks {
		t.hasUsage = false
	}
	for _, u := range ev.Tasks {
		m.Usage.CPU += u.CPU
		m.Usage.Memory += u.Memory
		m.Usage.Procs += u.Procs
		if t := m.Task(u.ID); t != nil && t.Event.Generation == u.Generation && t.Event.State.HasProcess() {
			t.usage, t.hasUsage = u, true
		}
	}
}

// ApplyGroup updates the model with a group's event.
func (m *Model) ApplyGroup(ev actors.GroupEvent) {
	m.Groups[ev.Group] = ev
	m.note(termtext.Escape(ev.String()), false, ev.Time)
}

// ApplyList applies the tasks of a List answer; it returns the commands
// that follow (a new task's output, when shown).
func (m *Model) ApplyList(l actors.TaskList) []any {
	var cmds []any
	for _, ev := range l.Tasks {
		cmds = append(cmds, m.Event(ev)...)
	}
	return cmds
}

// ApplyReply shows a refused command's error, or the limit a
// SetMaxParallel put in force.
func (m *Model) ApplyReply(r actors.Reply, now time.Time) {
	switch {
	case r.Err != nil:
		m.Error(r.Err, now)
	case r.Op == actors.OpSetMaxParallel && r.Limit == 0:
		m.note("max-parallel: no limit (- sets one)", false, now)
	case r.Op == actors.OpSetMaxParallel:
		m.note(fmt.Sprintf("max-parallel: %d at once, the rest queued (+ and - change it)", r.Limit), false, now)
	}
}

// ApplyNotice shows a notice about the runtime as a whole, held as an
// error is: it says something the user must know (a lost guard).
func (m *Model) ApplyNotice(ev actors.NoticeEvent) {
	m.note(termtext.Escape(ev.String()), true, ev.Time)
}

// ApplyOutput keeps the output lines of a task, if it is still the one
// whose output is shown.
func (m *Model) ApplyOutput(r actors.OutputReply) {
	if r.ID != m.Selected {
		return
	}
	m.OutputID = r.ID
	m.OutputErr = ""
	if r.Err != nil {
		m.OutputErr = termtext.Escape(r.Err.Error())
	}
	m.Output = m.Output[:0]
	for _, l := range r.Lines {
		text, runs := parseSGR(l.Text)
		if l.Cut {
			text += " [cut]"
		}
		m.Output = append(m.Output, OutputLine{Stderr: l.Stream == actors.Stderr, Text: text, Time: l.Time, runs: runs})
	}
}

// Error puts an error on the footer's event line.
func (m *Model) Error(err error, now time.Time) {
	m.note(termtext.Escape(err.Error()), true, now)
}

// note sets the footer's event line; an ordinary event does not replace an
// error younger than errorNoticeHold.
func (m *Model) note(text string, isErr bool, now time.Time) {
	if !isErr && m.Notice.Err && now.Sub(m.Notice.Time) < errorNoticeHold {
		return
	}
	m.Notice = Notice{Text: text, Err: isErr, Time: now}
}

// Live returns the tasks that have not ended, in ID order.
func (m *Model) Live() []*Task {
	var live []*Task
	for _, t := range m.Tasks {
		if !t.Event.State.Ended() {
			live = append(live, t)
		}
	}
	return live
}

// Counts returns how many tasks are in each state, live states first,
// skipping states without tasks.
func (m *Model) Counts() []StateCount {
	var n [len(stateOrder)]int
	for _, t := range m.Tasks {
		if i := slices.Index(stateOrder[:], t.Event.State); i >= 0 {
			n[i]++
		}
	}
	var out []StateCount
	for i, s := range stateOrder {
		if n[i] > 0 {
			out = append(out, StateCount{State: s, N: n[i]})
		}
	}
	return out
}

// StateCount is a number of tasks in one state.
type StateCount struct {
	State actors.State // a task state
	N     int          // how many tasks are in it
}

// stateOrder is the order of the states in the header's counts.
var stateOrder = [...]actors.State{
	actors.StateWaiting, actors.StateQueued, actors.StateStarting, actors.StateRunning, actors.StateStalled, actors.StatePaused, actors.StateStopping,
	actors.StateBackoff, actors.StateCompleted, actors.StateCancelled, actors.StateKilled,
	actors.StateFailed, actors.StateGaveUp, actors.StateSkipped,
}

// needsClock reports whether what is shown changes with time alone: a
// countdown (stopping, backoff, stalled) needs frames at a tenth of a
// second; fast is false when only run times (whole seconds) change.
func (m *Model) needsClock() (any, fast bool) {
	for _, t := range m.Tasks {
		switch t.Event.State {
		case actors.StateStopping, actors.StateBackoff, actors.StateStalled:
			return true, true
		case actors.StateStarting, actors.StateRunning:
			any = true // run times, and a timeout's countdown, in whole seconds
		}
	}
	return any, false
}

// template returns the template on key, if any.
func (m *Model) template(key string) (Template, bool) {
	for _, t := range m.Templates {
		if t.Key == key {
			return t, true
		}
	}
	return Template{}, false
}

// templateKeys lists the keys of the templates, for an error message.
func (m *Model) templateKeys() string {
	var keys []string
	for _, t := range m.Templates {
		if t.Key != "" {
			keys = append(keys, t.Key)
		}
	}
	if len(keys) == 0 {
		return "the catalogue has no keys"
	}
	return "keys: " + strings.Join(keys, " ")
}
