package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// Render draws the model on s as it is at now; the caller shows it. It is a
// pure function of its arguments (the screen's size included), so that
// tests can compare its cells on a tcell.SimulationScreen.
func Render(s tcell.Screen, m *Model, th Theme, now time.Time) {
	w, h := s.Size()
	s.Fill(' ', th.Base)
	if w <= 0 || h <= 0 {
		return
	}
	m.queuePositions()
	if t := m.Task(m.View.ID); t != nil {
		renderView(s, m, th, t, w, h, now)
		renderOverlays(s, m, th, w, h)
		return
	}
	l := layoutFor(w, h, m.Detail, m.multi())
	cols := columnsFor(m, w)
	top := visibleTop(m.Top, m.selectedIndex(), len(m.Tasks), l.listH)

	renderHeader(s, m, th, w, top, l.listH, now)
	if m.multi() && h > 1 {
		renderNodes(s, m, th, w, 1, now)
	}
	if l.listY-1 < h {
		renderColumnHeads(s, th, cols, l.listY-1)
	}
	rowTheme, stale := th, th.stale()
	if m.Stale {
		rowTheme = stale // as last known: dimmed
	}
	for row := 0; row < l.listH && top+row < len(m.Tasks); row++ {
		t := m.Tasks[top+row]
		rt, lastHeard := rowTheme, time.Time{}
		if down, heard := m.nodeDown(&t.Event); down {
			rt, lastHeard = stale, heard
		}
		renderRow(s, rt, cols, l.listY+row, t, t.Event.ID == m.Selected, now, lastHeard)
	}
	if len(m.Tasks) == 0 {
		// The hint in full, on as many rows as it needs and the list has.
		for i, line := range wordWrap(emptyHint(m), w-2) {
			if i >= l.listH {
				break
			}
			put(s, 1, l.listY+i, w-2, line, th.Dim, th.ellipsis)
		}
	}
	if l.detailH > 0 {
		renderDetail(s, m, th, l, now)
	}
	if l.noticeY >= 2 {
		renderNotice(s, m, th, w, l.noticeY, now)
	}
	if l.keysY >= 0 {
		renderKeys(s, m, th, w, l.keysY)
	}
	renderOverlays(s, m, th, w, h)
}

// renderOverlays draws the picker and the help over the rest.
func renderOverlays(s tcell.Screen, m *Model, th Theme, w, h int) {
	if m.Picker.Open {
		renderPicker(s, m, th, w, h)
	}
	if m.Help {
		renderHelp(s, m, th, w, h)
	}
}

// layout is where the parts of the screen go: a header row, a row of
// column heads, the task list, the detail pane under it when shown, and
// the footer's two rows (the event line, the keys).
type layout struct {
	listY, listH     int
	detailY, detailH int
	noticeY, keysY   int
}

func layoutFor(w, h int, detail, nodes bool) layout {
	l := layout{listY: 2, noticeY: h - 2, keysY: h - 1}
	body := max(h-4, 0)
	if nodes { // the nodes' line under the header
		l.listY, body = 3, max(h-5, 0)
	}
	l.listH = body
	if detail && body > 0 {
		l.listH = max(body/2, min(3, body))
		l.detailY = l.listY + l.listH
		l.detailH = body - l.listH
	}
	return l
}

// visibleTop is the first row to show so that the selected row (sel, -1
// for none) is visible, scrolling as little as possible from top.
func visibleTop(top, sel, n, listH int) int {
	if listH <= 0 {
		return 0
	}
	if sel >= 0 {
		if sel < top {
			top = sel
		}
		if sel >= top+listH {
			top = sel - listH + 1
		}
	}
	top = min(top, n-listH)
	return max(top, 0)
}

// colKind names the task list's columns, in their order on screen.
type colKind int

const (
	colNode colKind = iota // with several nodes
	colID
	colState
	colName
	colBar
	colPct
	colSteps
	colPID
	colRestarts
	colRun
	colIdle
	colCPU // shown once a usage sample came
	colMem
	colInfo // takes the rest of the width
	numCols
)

var colTitles = [numCols]string{
	colNode: "NODE", colID: "ID", colState: "STATE", colName: "NAME", colBar: "PROGRESS", colPct: "%", colSteps: "STEP",
	colPID: "PID", colRestarts: "RST", colRun: "RUN", colIdle: "IDLE", colCPU: "CPU", colMem: "MEM", colInfo: "STATUS",
}

// colDropOrder is the order in which columns are dropped when the screen
// is too narrow: the first goes first. ID, state and status always stay.
var colDropOrder = []colKind{colIdle, colPID, colSteps, colMem, colCPU, colRun, colRestarts, colBar, colPct, colName, colNode}

// infoMinWidth is the narrowest the status column may get before other
// columns are dropped: a third of the screen, from 15 cells (room for
// "SIGKILL in 3.2s") to 30.
func infoMinWidth(w int) int { return min(max(w/3, 15), 30) }

// shortInfoWidth is the status column's width below which its texts take
// their short forms, countdown first.
const shortInfoWidth = 30

// column is a column as laid out: its kind, x and width.
type column struct {
	kind colKind
	x, w int
}

// columnsFor lays out the columns for a width of w cells.
func columnsFor(m *Model, w int) []column {
	var widths [numCols]int
	widths[colNode] = min(max(m.nodeW, 4), 12)
	widths[colID] = max(2, len(strconv.Itoa(m.maxShown)))
	widths[colState] = 2 + len("completed")
	widths[colName] = min(max(m.nameW, 4), 16)
	widths[colBar] = 10
	widths[colPct] = 4
	widths[colSteps] = max(4, 2*len(strconv.Itoa(m.maxSteps))+1)
	widths[colPID] = 7
	widths[colRestarts] = 3
	widths[colRun] = 6
	widths[colIdle] = 6
	widths[colCPU] = 4
	widths[colMem] = 5
	var present [numCols]bool
	for k := range present {
		present[k] = true
	}
	present[colCPU], present[colMem] = m.HasUsage, m.HasUsage
	present[colNode] = m.multi()
	fixed := func() int {
		n := 0
		for k := colKind(0); k < colInfo; k++ {
			if present[k] {
				n += widths[k] + 1
			}
		}
		return n
	}
	for _, k := range colDropOrder {
		if fixed()+infoMinWidth(w) <= w {
			break
		}
		if k == colName {
			// Before the name goes, which tells the rows apart: the
			// state's word (its symbol stays), then the name's width
			// down to 4 cells and the status's down to 8.
			widths[colState] = 1
			if room := w - (fixed() - widths[colName]) - 8; room >= 4 {
				widths[colName] = min(widths[colName], room)
				break
			}
		}
		present[k] = false
	}
	cols := make([]column, 0, numCols)
	x := 0
	for k := colKind(0); k < colInfo; k++ {
		if present[k] {
			cols = append(cols, column{kind: k, x: x, w: widths[k]})
			x += widths[k] + 1
		}
	}
	return append(cols, column{kind: colInfo, x: x, w: max(w-x, 0)})
}

func renderHeader(s tcell.Screen, m *Model, th Theme, w, top, listH int, now time.Time) {
	fill(s, 0, 0, w, th.Header)
	right := ""
	if len(m.Tasks) > listH && listH > 0 {
		right = fmt.Sprintf(" %d-%d/%d ", top+1, min(top+listH, len(m.Tasks)), len(m.Tasks))
	}
	rw := textWidth(right)
	if rw > w/3 {
		right, rw = "", 0
	}
	// The counts by state in words when they fit, else as symbols.
	var b strings.Builder
	counts := m.Counts()
	for _, compact := range []bool{false, true} {
		b.Reset()
		b.WriteString(" taskvisor")
		if m.Node != "" {
			b.WriteString(" node " + termtext.Escape(m.Node))
		}
		if m.multi() {
			fmt.Fprintf(&b, " %d nodes", len(m.Nodes))
		}
		if m.Stale {
			b.WriteString(" (connection lost: reconnecting)")
			if !m.LastHeard.IsZero() {
				b.WriteString(" last heard " + wholeDuration(now.Sub(m.LastHeard)) + " ago")
			}
		}
		if m.Quitting {
			b.WriteString(" (quitting)")
		}
		fmt.Fprintf(&b, "  %d task", len(m.Tasks))
		if len(m.Tasks) != 1 {
			b.WriteByte('s')
		}
		for i, c := range counts {
			switch {
			case compact:
				fmt.Fprintf(&b, " %s%d", th.Symbol(c.State), c.N)
			case i == 0:
				fmt.Fprintf(&b, ": %d %s", c.N, c.State)
			default:
				fmt.Fprintf(&b, ", %d %s", c.N, c.State)
			}
		}
		if m.HasUsage {
			fmt.Fprintf(&b, "  cpu %s mem %s", cpuText(m.Usage.CPU), termtext.Bytes(m.Usage.Memory))
		}
		if textWidth(b.String()) <= w-rw {
			break
		}
	}
	put(s, 0, 0, w-rw, b.String(), th.Header, th.ellipsis)
	put(s, w-rw, 0, rw, right, th.Header, "")
}

func renderColumnHeads(s tcell.Screen, th Theme, cols []column, y int) {
	for _, c := range cols {
		title := colTitles[c.kind]
		switch c.kind {
		case colID, colPct, colPID, colRestarts, colRun, colIdle, colSteps:
			putRight(s, c.x, y, c.w, title, th.ColumnHead, "")
		default:
			put(s, c.x, y, c.w, title, th.ColumnHead, "")
		}
	}
}

// renderRow draws a task's row; lastHeard, when set, is when its node was
// last heard from, said in the status column.
func renderRow(s tcell.Screen, th Theme, cols []column, y int, t *Task, selected bool, now, lastHeard time.Time) {
	ev := &t.Event
	base := th.Base
	stateStyle := th.State(ev.State)
	if selected {
		base = base.Reverse(true)
		stateStyle = stateStyle.Reverse(true)
		last := cols[len(cols)-1]
		fill(s, 0, y, last.x+last.w, base)
	}
	var num [24]byte
	for _, c := range cols {
		switch c.kind {
		case colID:
			putRight(s, c.x, y, c.w, string(strconv.AppendInt(num[:0], int64(shownID(ev)), 10)), base, "")
		case colNode:
			put(s, c.x, y, c.w, termtext.Escape(ev.Node), base, th.ellipsis)
		case colState:
			put(s, c.x, y, 1, th.Symbol(ev.State), stateStyle, "")
			if c.w > 2 {
				put(s, c.x+2, y, c.w-2, string(ev.State), stateStyle, "")
			}
		case colName:
			put(s, c.x, y, c.w, t.name, base, th.ellipsis)
		case colBar:
			renderBar(s, th, c.x, y, c.w, ev, stateStyle, base)
		case colPct:
			if hasProgress(ev) {
				pct := strconv.AppendInt(num[:0], int64(shownProgress(ev)*100+0.5), 10)
				putRight(s, c.x, y, c.w, string(append(pct, '%')), base, "")
			}
		case colSteps:
			if ev.Steps > 0 {
				b := strconv.AppendInt(num[:0], int64(ev.Step), 10)
				b = append(b, '/')
				b = strconv.AppendInt(b, int64(ev.Steps), 10)
				putRight(s, c.x, y, c.w, string(b), base, "")
			} else if ev.Step > 0 {
				putRight(s, c.x, y, c.w, string(strconv.AppendInt(num[:0], int64(ev.Step), 10)), base, "")
			}
		case colPID:
			if ev.PID > 0 {
				putRight(s, c.x, y, c.w, string(strconv.AppendInt(num[:0], int64(ev.PID), 10)), base, "")
			}
		case colRestarts:
			if ev.Restarts > 0 {
				putRight(s, c.x, y, c.w, string(strconv.AppendInt(num[:0], int64(ev.Restarts), 10)), base, "")
			}
		case colRun:
			if d, ok := runTime(ev, now); ok {
				putRight(s, c.x, y, c.w, wholeDuration(d), base, "")
			}
		case colIdle:
			if showsIdle(ev) {
				st := base
				if ev.State == actors.StateStalled {
					st = stateStyle
				}
				putRight(s, c.x, y, c.w, wholeDuration(now.Sub(ev.LastActivity)), st, "")
			}
		case colCPU:
			if t.hasUsage && t.usage.HasCPU {
				putRight(s, c.x, y, c.w, cpuText(t.usage.CPU), base, "")
			}
		case colMem:
			if t.hasUsage {
				putRight(s, c.x, y, c.w, termtext.Bytes(t.usage.Memory), base, "")
			}
		case colInfo:
			text, emphasised := describe(t, now, c.w < shortInfoWidth)
			if !lastHeard.IsZero() {
				text = "(as of " + wholeDuration(now.Sub(lastHeard)) + " ago) " + text
			}
			st := base
			if emphasised {
				st = stateStyle
			}
			put(s, c.x, y, c.w, text, st, th.ellipsis)
		}
	}
}

// showsIdle reports whether the time since the task's last activity is
// worth showing: it has a process that has reported something since its
// start (a task that never reports would count up for ever), or it is
// stalled.
func showsIdle(ev *actors.TaskEvent) bool {
	if !ev.State.HasProcess() || ev.LastActivity.IsZero() {
		return false
	}
	return ev.State == actors.StateStalled || ev.LastActivity.After(ev.Started)
}

// hasProgress reports whether the task has reported any progress to show.
func hasProgress(ev *actors.TaskEvent) bool {
	return ev.Steps > 0 || ev.Progress > 0 || ev.State == actors.StateCompleted
}

// shownProgress is the fraction the bar and the % column show: a task
// that completed without reporting any counts as done.
func shownProgress(ev *actors.TaskEvent) float64 {
	if ev.State == actors.StateCompleted && ev.Progress == 0 {
		return 1
	}
	return ev.Progress
}

func renderBar(s tcell.Screen, th Theme, x, y, w int, ev *actors.TaskEvent, full, empty tcell.Style) {
	n := 0
	if hasProgress(ev) {
		n = int(shownProgress(ev)*float64(w) + 0.5)
		n = min(max(n, 0), w)
	}
	for i := 0; i < w; i++ {
		if i < n {
			s.Put(x+i, y, th.barFull, full)
		} else {
			s.Put(x+i, y, th.barEmpty, empty.Dim(true))
		}
	}
}

// runTime is how long the task's current process has run, or its last one
// ran when it has ended.
func runTime(ev *actors.TaskEvent, now time.Time) (time.Duration, bool) {
	if ev.Started.IsZero() {
		return 0, false
	}
	if ev.State.HasProcess() {
		return now.Sub(ev.Started), true
	}
	if ev.Time.After(ev.Started) {
		return ev.Time.Sub(ev.Started), true
	}
	return 0, false
}

// describe is the text of the status column: what the task is doing or
// why it ended, with the live countdowns. emphasised says to draw it in the
// state's style (something needs attention or is under way). short puts the
// countdowns first, for a narrow column.
func describe(t *Task, now time.Time, short bool) (text string, emphasised bool) {
	ev := &t.Event
	if short {
		switch {
		case ev.State == actors.StateStopping && !ev.Deadline.IsZero():
			return "SIGKILL in " + countdown(ev.Deadline, now), true
		case ev.State == actors.StateBackoff && !ev.Deadline.IsZero():
			return "start in " + countdown(ev.Deadline, now), true
		case ev.State == actors.StateStalled && !ev.Deadline.IsZero():
			return stallAction(ev) + " in " + countdown(ev.Deadline, now), true
		case ev.State == actors.StateStalled:
			return "stalled " + wholeDuration(now.Sub(ev.LastActivity)), true
		}
	}
	switch ev.State {
	case actors.StateQueued:
		text = "queued, " + termtext.Ordinal(t.queuePos) + " in line"
		if t.reason != "" && !short {
			text += ": " + strings.TrimPrefix(t.reason, "waiting for a slot: ")
		}
		return text, false
	case actors.StateStalled:
		text = "stalled for " + wholeDuration(now.Sub(ev.LastActivity))
		if !ev.Deadline.IsZero() {
			text += ", " + stallAction(ev) + " in " + countdown(ev.Deadline, now)
		}
		if t.status != "" {
			text += ": " + t.status
		}
		return text, true
	case actors.StateStopping:
		if ev.Deadline.IsZero() {
			return "SIGKILL sent, waiting for the process group to end", true
		}
		return cmp.Or(actors.SignalName(ev.StopSignal), "stop signal") + " sent, SIGKILL in " + countdown(ev.Deadline, now), true
	case actors.StateBackoff:
		text = "next start"
		if !ev.Deadline.IsZero() {
			text += " in " + countdown(ev.Deadline, now)
		}
		text += " (restart " + strconv.Itoa(ev.Restarts+1) + ")"
		if t.reason != "" {
			text += ": " + t.reason
		}
		return text, true
	case actors.StateGaveUp:
		if t.reason != "" {
			return "gave up: " + t.reason, true
		}
		return t.message, true
	case actors.StateFailed, actors.StateKilled:
		if t.reason != "" {
			return t.reason, true
		}
		return t.message, true
	case actors.StateCancelled, actors.StateCompleted:
		if t.reason != "" {
			return t.reason, false
		}
		return t.message, false
	}
	text = cmp.Or(t.status, t.message)
	if !ev.TimeoutAt.IsZero() && ev.State.HasProcess() {
		left := "timeout in " + countdown(ev.TimeoutAt, now)
		if short {
			return left, false
		}
		return left + ": " + text, false
	}
	return text, false
}

// stallAction names what the watchdog will do, for "kill in 3.2s".
func stallAction(ev *actors.TaskEvent) string {
	if ev.StallAction == "" {
		return "stall action"
	}
	return string(ev.StallAction)
}

// wordWrap cuts text at its ASCII spaces (not at no-break spaces) into rows
// of at most w cells; a word longer than w has a row of its own (and is cut
// where it is drawn).
func wordWrap(text string, w int) []string {
	var rows []string
	row := ""
	for _, word := range strings.Split(text, " ") {
		switch {
		case word == "":
		case row == "":
			row = word
		case textWidth(row)+1+textWidth(word) <= w:
			row += " " + word
		default:
			rows = append(rows, row)
			row = word
		}
	}
	if row != "" {
		rows = append(rows, row)
	}
	return rows
}

// emptyHint says how to start a task when there is none.
func emptyHint(m *Model) string {
	if len(m.Templates) == 0 {
		return "No tasks. Press ? for help."
	}
	var b strings.Builder
	b.WriteString("No tasks yet. n: pick one to start")
	keyed := 0
	for _, t := range m.Templates {
		if t.Key != "" {
			if keyed == 0 {
				b.WriteString("; or a key:")
			}
			fmt.Fprintf(&b, " %s\u00a0%s,", t.Key, t.Name) // a key stays beside its name
			keyed++
		}
	}
	return strings.TrimSuffix(b.String(), ",")
}

func renderDetail(s tcell.Screen, m *Model, th Theme, l layout, now time.Time) {
	w, _ := s.Size()
	y, end := l.detailY, l.detailY+l.detailH
	t := m.Task(m.Selected)
	renderDetailTitle(s, th, t, w, y)
	y++
	if t == nil || y >= end {
		return
	}
	// Keep at least two rows for the output when the pane has room for it.
	maxInfo := end - y
	if maxInfo >= 5 {
		maxInfo -= 2
	}
	y = renderDetailInfo(s, th, detailInfo(m, t, now), w, y, min(end, y+maxInfo))
	if y < end {
		renderDetailOutput(s, m, th, t.Event.ID, w, y, end)
	}
}

// renderDetailTitle draws the pane's top border, with the task's name.
func renderDetailTitle(s tcell.Screen, th Theme, t *Task, w, y int) {
	title := " no task selected "
	if t != nil {
		title = fmt.Sprintf(" Task %s %s %s %s ", termtext.Escape(t.Event.Ref()), t.name, th.Symbol(t.Event.State), t.Event.State)
	}
	for x := 0; x < w; x++ {
		s.Put(x, y, th.sep, th.Border)
	}
	put(s, 1, y, w-2, title, th.Border, th.ellipsis)
}

// detailInfo is what the pane says of the task, a line each: its figures,
// then labelled lines (now, status, event, exit, group, policy).
func detailInfo(m *Model, t *Task, now time.Time) []string {
	ev := &t.Event
	var b strings.Builder
	if ev.PID > 0 {
		fmt.Fprintf(&b, "pid %d  ", ev.PID)
	}
	if d, ok := runTime(ev, now); ok {
		fmt.Fprintf(&b, "run %s  ", wholeDuration(d))
	}
	if showsIdle(ev) {
		fmt.Fprintf(&b, "idle %s  ", wholeDuration(now.Sub(ev.LastActivity)))
	}
	fmt.Fprintf(&b, "restarts %d  process %d", ev.Restarts, ev.Generation)
	if ev.NotifyDropped > 0 {
		fmt.Fprintf(&b, "  notify dropped %d", ev.NotifyDropped)
	}
	info := []string{b.String()}
	if t.hasUsage {
		u := t.usage
		line := "mem " + termtext.Bytes(u.Memory) + " (peak " + termtext.Bytes(u.MemoryPeak) + ")  " + strconv.Itoa(u.Procs) + " process"
		if u.Procs != 1 {
			line += "es"
		}
		if u.HasCPU {
			line = "cpu " + cpuText(u.CPU) + "  " + line
		}
		if !u.FromCgroup {
			line += " (from /proc: escapees not seen)"
		}
		info = append(info, "usage   "+line)
	}
	labelled := func(label, text string) {
		if text != "" {
			info = append(info, label+text)
		}
	}
	switch ev.State {
	case actors.StateStalled, actors.StateStopping, actors.StateBackoff, actors.StateGaveUp:
		text, _ := describe(t, now, false)
		labelled("now     ", text)
	}
	labelled("status  ", t.status)
	labelled("event   ", t.message)
	labelled("exit    ", exitText(t))
	if ev.Group != "" {
		g := t.group
		if ge, ok := m.Groups[ev.Group]; ok {
			g += fmt.Sprintf(" (%s, %s, %d restarts)", ge.Strategy, ge.State, ge.Restarts)
		}
		labelled("group   ", g)
	}
	labelled("policy  ", t.policy)
	return info
}

// renderDetailInfo draws the info lines from row y to before end: each
// labelled line in full, what does not fit wrapped under its text (the
// figures of the first line are cut instead). It returns the next row.
func renderDetailInfo(s tcell.Screen, th Theme, info []string, w, y, end int) int {
	for i, line := range info {
		parts := []string{line}
		if i > 0 {
			parts = wrapIndented(line, w-2, 8)
		}
		for j, part := range parts {
			if y >= end {
				return y
			}
			x := 1
			if j > 0 {
				x += 8
			}
			if j < len(parts)-1 && y == end-1 {
				part += th.ellipsis // the rest does not fit: say so
			}
			put(s, x, y, w-1-x, part, th.Base, th.ellipsis)
			y++
		}
	}
	return y
}

// renderDetailOutput draws task id's last output lines (or why there are
// none) from row y to before end.
func renderDetailOutput(s tcell.Screen, m *Model, th Theme, id, w, y, end int) {
	switch {
	case m.OutputErr != "" && m.OutputID == id:
		put(s, 1, y, w-2, "output: "+m.OutputErr, th.Error, th.ellipsis)
		return
	case m.OutputID != id:
		put(s, 1, y, w-2, "output: loading...", th.Dim, th.ellipsis)
		return
	case len(m.Output) == 0:
		put(s, 1, y, w-2, "output: none yet", th.Dim, th.ellipsis)
		return
	}
	lines := m.Output
	if len(lines) > end-y {
		lines = lines[len(lines)-(end-y):]
	}
	for _, ol := range lines {
		mark, st := th.stdoutMark, th.Dim
		if ol.Stderr {
			mark, st = th.stderrMark, th.Stderr
		}
		n := put(s, 1, y, 2, mark, st, "")
		putRuns(s, 1+n+1, y, w-n-3, ol.Text, ol.runs, 0, len(ol.Text), th.Base, th.Mono, th.ellipsis)
		y++
	}
}

// wrapIndented cuts line into rows of w cells, the rows after the first
// indented by indent cells (when w leaves room for it).
func wrapIndented(line string, w, indent int) []string {
	if textWidth(line) <= w || w-indent < 8 {
		return []string{line}
	}
	first := wrap(line, w)
	if len(first) < 2 {
		return first
	}
	rest := strings.Join(first[1:], "")
	return append(first[:1], wrap(rest, w-indent)...)
}

// exitText says how the task's last process ended.
func exitText(t *Task) string {
	ev := &t.Event
	var parts []string
	switch {
	case ev.Signal != 0:
		parts = append(parts, "signal "+ev.SignalName())
	case ev.ExitCode >= 0:
		parts = append(parts, "exit code "+strconv.Itoa(ev.ExitCode))
	}
	if ev.Reason == "" || !(ev.State.Ended() || ev.State == actors.StateBackoff || len(parts) > 0) {
		return strings.Join(parts, "; ")
	}
	// The reason often says the same and more ("exit code 3", "killed by
	// SIGKILL"): then it says it alone.
	reason := t.reason
	if len(parts) > 0 && (strings.Contains(reason, parts[0]) || ev.Signal != 0 && strings.Contains(reason, ev.SignalName())) {
		return reason
	}
	parts = append(parts, reason)
	return strings.Join(parts, "; ")
}

func renderNotice(s tcell.Screen, m *Model, th Theme, w, y int, now time.Time) {
	if m.ConfirmStop {
		put(s, 0, y, w, "Stop node "+termtext.Escape(m.stopName())+" and every task on it? y: stop it, any other key: no", th.Error, th.ellipsis)
		return
	}
	if m.Quitting {
		put(s, 0, y, w, quitText(m, th, now), th.Error, th.ellipsis)
		return
	}
	st := th.Notice
	text := m.Notice.Text
	if m.Notice.Err {
		st = th.Error
		text = th.Symbol(actors.StateFailed) + " " + text
	}
	put(s, 0, y, w, text, st, th.ellipsis)
}

// quitText says what the quit waits for: which tasks hold it up, and when
// SIGKILL comes for them.
func quitText(m *Model, th Theme, now time.Time) string {
	live := m.Live()
	if len(live) == 0 {
		return "Quitting..."
	}
	var b strings.Builder
	if m.Killing {
		b.WriteString("Quitting: SIGKILL sent; waiting for ")
	} else {
		b.WriteString("Quitting: waiting for ")
	}
	fmt.Fprintf(&b, "%d task", len(live))
	if len(live) > 1 {
		b.WriteByte('s')
	}
	if !m.Killing {
		b.WriteString(" (q again or Q: kill now)")
	}
	b.WriteString(":")
	for i, t := range live {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %d %s", t.Event.ID, t.name)
		if t.Event.State == actors.StateStopping && !t.Event.Deadline.IsZero() {
			fmt.Fprintf(&b, " (SIGKILL in %s)", countdown(t.Event.Deadline, now))
		} else if t.Event.State != actors.StateStopping {
			fmt.Fprintf(&b, " (%s)", t.Event.State)
		}
	}
	return b.String()
}

// keyHint is one key and what it does, for the footer.
type keyHint struct{ key, label string }

func renderKeys(s tcell.Screen, m *Model, th Theme, w, y int) {
	up, enter := "↑↓", "⏎"
	if th.ASCII {
		up, enter = "up/dn", "enter"
	}
	hints := []keyHint{{"1-9", "start"}, {"n", "pick"}, {up, "select"}, {"k", "cancel"}, {"K", "kill"}, {"r", "restart"}, {"p", "pause"}, {enter, "output"}, {"Tab", "detail"}}
	tail := []keyHint{{"?", "help"}, {"q", "quit"}}
	switch {
	case m.multi():
		tail = []keyHint{{"?", "help"}, {"S", "stop its node"}, {"q", "detach"}}
	case m.Node != "":
		tail = []keyHint{{"?", "help"}, {"S", "stop node"}, {"q", "detach"}}
	}
	if m.Quitting {
		hints = nil
		tail = []keyHint{{"q", "kill all now"}}
	}
	renderHints(s, th, w, y, hints, tail)
}

// renderHints draws the footer's keys: hints as far as they fit, tail
// always.
func renderHints(s tcell.Screen, th Theme, w, y int, hints, tail []keyHint) {
	width := func(hs []keyHint) int {
		n := 0
		for _, h := range hs {
			n += textWidth(h.key) + 1
			if h.label != "" {
				n += textWidth(h.label) + 1
			}
		}
		if n > 0 {
			n-- // no space after the last
		}
		return n
	}
	// All hints with their labels when they fit, else the keys alone (the
	// help overlay says what they do), else as many as fit.
	shown := append(hints, tail...)
	if width(shown) > w {
		shown = shown[:0:0]
		for _, h := range hints {
			shown = append(shown, keyHint{h.key, ""})
		}
		shown = append(shown, tail...)
	}
	for width(shown) > w && len(shown) > len(tail) {
		shown = slices.Delete(shown, len(shown)-len(tail)-1, len(shown)-len(tail))
	}
	x := 0
	for _, h := range shown {
		x += put(s, x, y, w-x, h.key, th.Keys, "")
		x++
		if h.label != "" {
			x += put(s, x, y, w-x, h.label, th.Footer, "")
			x++
		}
	}
}

func renderHelp(s tcell.Screen, m *Model, th Theme, w, h int) {
	up, down := "↑", "↓"
	if th.ASCII {
		up, down = "Up", "Down"
	}
	lines := []string{
		"taskvisor keys",
		"",
		"1-9          start the catalogue's task on that key",
		"n :          pick any template to start, filtered as you type",
		"!            run a command line as an ad-hoc task",
		up + " " + down + "          select a task (mouse: click selects)",
		"PgUp PgDn    scroll a page; Home End: first, last",
		"Enter o      the task's output, full screen: PgUp PgDn Home",
		"             End scroll (End follows), / search, n N next,",
		"             previous, Esc or q back",
		"Tab          show or hide the detail pane",
		"k            cancel: stop signal, SIGKILL after its grace",
		"K            kill: SIGKILL to its process group now",
		"r            restart: kill, start again under the same id",
		"p            pause (SIGSTOP to all its processes), p again resumes",
		"+ -          one more, one fewer process at once (max-parallel;",
		"             the rest wait queued, first come first)",
		"q Ctrl-C     quit: stop all tasks with escalation",
		"q again, Q   quit now: SIGKILL to every task",
		"any key      close this help",
	}
	switch {
	case m.multi():
		i := slices.Index(lines, "q Ctrl-C     quit: stop all tasks with escalation")
		lines = slices.Replace(lines, i, i+2,
			"q Ctrl-C     detach: the nodes and their tasks keep running",
			"S            stop the selected row's node and every task (asks first)",
			"             (keys act on the selected row's node; 1-9 start there)")
	case m.Node != "":
		i := slices.Index(lines, "q Ctrl-C     quit: stop all tasks with escalation")
		lines = slices.Replace(lines, i, i+2,
			"q Ctrl-C     detach: the node and its tasks keep running",
			"S            stop the node and every task (asks first)")
	}
	if len(m.Templates) > 0 {
		lines = append(lines, "", "Templates")
		for _, t := range m.Templates {
			if t.Key == "" {
				continue
			}
			line := t.Key + "  " + t.Name
			if t.Description != "" {
				line += ": " + t.Description
			}
			lines = append(lines, line)
		}
	}
	bw := 0
	for _, l := range lines {
		bw = max(bw, textWidth(l))
	}
	bw = min(bw+4, w)
	bh := min(len(lines)+2, h)
	x0, y0 := (w-bw)/2, (h-bh)/2
	for y := y0; y < y0+bh; y++ {
		fill(s, x0, y, bw, th.Help)
	}
	for i, l := range lines {
		y := y0 + 1 + i
		if y >= y0+bh-1 {
			break
		}
		st := th.Help
		if i == 0 {
			st = st.Bold(true)
		}
		put(s, x0+2, y, bw-4, l, st, th.ellipsis)
	}
}
