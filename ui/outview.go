package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// OutputView is the full-screen view of one task's output (Enter or o on a
// task): scrolled by rows of wrapped lines, following the tail until the
// user scrolls up, searched with / and n/N.
type OutputView struct {
	// ID is the task shown; 0 when the view is closed.
	ID int
	// Top is the first row shown when not following.
	Top int
	// Follow keeps the last row in view as lines come.
	Follow bool
	// Search is the text searched for (case-insensitive).
	Search string
	// Match is the index in Model.Output of the line of the current match,
	// -1 for none.
	Match int
	// Typing: the user is typing a search.
	Typing bool
	// Input is the search typed so far.
	Input string
}

// procStart is where a process of a task began, for the output view's
// separator lines.
type procStart struct {
	generation, pid int
	at              time.Time
}

// outRow is one screen row of the output view: part of an output line
// (line is its index in Model.Output) or a separator (line -1).
type outRow struct {
	text   string
	stderr bool
	line   int
	off    int // where text starts in its line's Text, for the line's colours
}

// noteStart records the start of a task's process from its event, once
// per generation.
func (t *Task) noteStart(ev *actors.TaskEvent) {
	if ev.PID == 0 || ev.Generation == 0 {
		return
	}
	if n := len(t.starts); n > 0 && t.starts[n-1].generation == ev.Generation {
		return
	}
	at := ev.Started
	if at.IsZero() {
		at = ev.Time
	}
	t.starts = append(t.starts, procStart{generation: ev.Generation, pid: ev.PID, at: at})
}

// separator is the row that marks a restart.
func separator(s procStart) string {
	return fmt.Sprintf("--- restart %d, pid %d ---", s.generation-1, s.pid)
}

// outputRows lays out the output of the view's task in rows of w cells
// (w includes the two cells of the stream's mark): long lines wrap, and a
// separator row goes before the first line of each restarted process.
func (m *Model) outputRows(w int) []outRow {
	tw := max(w-3, 1)
	var starts []procStart
	if t := m.Task(m.View.ID); t != nil {
		starts = t.starts
	}
	next := 0 // the next start to place
	for next < len(starts) && starts[next].generation <= 1 {
		next++
	}
	rows := make([]outRow, 0, len(m.Output))
	for i, l := range m.Output {
		for next < len(starts) && !l.Time.IsZero() && !l.Time.Before(starts[next].at) {
			rows = append(rows, outRow{text: separator(starts[next]), line: -1})
			next++
		}
		off := 0
		for _, part := range wrap(l.Text, tw) {
			rows = append(rows, outRow{text: part, stderr: l.Stderr, line: i, off: off})
			off += len(part)
		}
	}
	for ; next < len(starts); next++ {
		rows = append(rows, outRow{text: separator(starts[next]), line: -1})
	}
	return rows
}

// wrap cuts text into pieces of at most w cells, at grapheme boundaries.
func wrap(text string, w int) []string {
	if textWidth(text) <= w || w <= 0 {
		return []string{text}
	}
	var parts []string
	if termtext.IsPlain(text) {
		for len(text) > w {
			parts = append(parts, text[:w])
			text = text[w:]
		}
		return append(parts, text)
	}
	var b strings.Builder
	used, state := 0, -1
	for text != "" {
		var cluster string
		var cw int
		cluster, text, cw, state = uniseg.FirstGraphemeClusterInString(text, state)
		if used+cw > w && used > 0 {
			parts = append(parts, b.String())
			b.Reset()
			used = 0
		}
		b.WriteString(cluster)
		used += cw
	}
	return append(parts, b.String())
}

// viewBodyH is the number of output rows the view shows: the screen less
// its header and the footer's two rows.
func (m *Model) viewBodyH() int { return max(m.Height-3, 1) }

// showsOutput reports whether the selected task's output is on screen
// (the detail pane or the output view), to be fetched again while it is.
func (m *Model) showsOutput() bool {
	return (m.Detail || m.View.ID != 0) && m.Task(m.Selected) != nil
}

// openView opens the output view on the selected task, following its tail.
func (m *Model) openView() []any {
	if m.Task(m.Selected) == nil {
		return nil
	}
	m.View = OutputView{ID: m.Selected, Follow: true, Match: -1}
	return []any{actors.GetOutput{ID: m.Selected}}
}

// viewTop is the first row shown, for n rows in all.
func (m *Model) viewTop(n int) int {
	bodyH := m.viewBodyH()
	if m.View.Follow {
		return max(n-bodyH, 0)
	}
	return min(max(m.View.Top, 0), max(n-bodyH, 0))
}

// scrollView moves the view by delta rows; reaching the end follows the
// tail again.
func (m *Model) scrollView(delta int) {
	n := len(m.outputRows(m.Width))
	top := m.viewTop(n) + delta
	last := max(n-m.viewBodyH(), 0)
	m.View.Top = min(max(top, 0), last)
	m.View.Follow = m.View.Top >= last
}

// viewKey is Key while the output view is open.
func (m *Model) viewKey(ev *tcell.EventKey, now time.Time) []any {
	v := &m.View
	if v.Typing {
		switch ev.Key() {
		case tcell.KeyEscape:
			v.Typing = false
		case tcell.KeyEnter:
			v.Typing, v.Search, v.Match = false, v.Input, -1
			m.findMatch(1, now)
		case tcell.KeyBackspace, tcell.KeyBackspace2:
			if r := []rune(v.Input); len(r) > 0 {
				v.Input = string(r[:len(r)-1])
			}
		case tcell.KeyRune:
			v.Input += string(ev.Rune())
		}
		return nil
	}
	page := m.viewBodyH()
	switch ev.Key() {
	case tcell.KeyEscape:
		m.View = OutputView{}
	case tcell.KeyUp:
		m.scrollView(-1)
	case tcell.KeyDown:
		m.scrollView(1)
	case tcell.KeyPgUp:
		m.scrollView(-page)
	case tcell.KeyPgDn:
		m.scrollView(page)
	case tcell.KeyHome:
		v.Follow, v.Top = false, 0
	case tcell.KeyEnd:
		v.Follow = true
	case tcell.KeyRune:
		switch ev.Rune() {
		case 'q', 'o':
			m.View = OutputView{}
		case '/':
			v.Typing, v.Input = true, ""
		case 'n':
			m.findMatch(1, now)
		case 'N':
			m.findMatch(-1, now)
		case 'k', 'K', 'r':
			return m.taskKey(ev.Rune(), now) // act on the task shown
		case '?':
			m.Help = true
		}
	}
	return nil
}

// findMatch moves the current match to the next line (dir 1) or the
// previous one (dir -1) that holds the search text, and scrolls to it.
func (m *Model) findMatch(dir int, now time.Time) {
	v := &m.View
	if v.Search == "" {
		return
	}
	needle := strings.ToLower(v.Search)
	n := len(m.Output)
	start := v.Match
	if start < 0 {
		// From the top row shown, forward; or its end, backward.
		rows := m.outputRows(m.Width)
		top := m.viewTop(len(rows))
		start = -1
		if top < len(rows) {
			start = rows[top].line - 1
		}
		if dir < 0 {
			start = n
		}
	}
	for i := 1; i <= n; i++ {
		j := ((start+dir*i)%n + n) % n
		if strings.Contains(strings.ToLower(m.Output[j].Text), needle) {
			v.Match = j
			rows := m.outputRows(m.Width)
			for r, row := range rows {
				if row.line == j {
					v.Follow, v.Top = false, max(r-m.viewBodyH()/3, 0)
					break
				}
			}
			last := max(len(rows)-m.viewBodyH(), 0)
			v.Top = min(v.Top, last)
			return
		}
	}
	v.Match = -1
	m.note("no line holds "+termtext.Escape(v.Search), true, now)
}

// matchCount returns how many lines hold the search text and the current
// match's place among them (1-based; 0 for none).
func (m *Model) matchCount() (place, total int) {
	if m.View.Search == "" {
		return 0, 0
	}
	needle := strings.ToLower(m.View.Search)
	for i, l := range m.Output {
		if strings.Contains(strings.ToLower(l.Text), needle) {
			total++
			if i == m.View.Match {
				place = total
			}
		}
	}
	return place, total
}

// renderView draws the output view of task t.
func renderView(s tcell.Screen, m *Model, th Theme, t *Task, w, h int, now time.Time) {
	rows := m.outputRows(w)
	bodyH := m.viewBodyH()
	top := m.viewTop(len(rows))

	fill(s, 0, 0, w, th.Header)
	title := fmt.Sprintf(" Task %s %s %s %s: output", termtext.Escape(t.Event.Ref()), t.name, th.Symbol(t.Event.State), t.Event.State)
	right := ""
	if len(rows) > 0 {
		right = fmt.Sprintf(" %d-%d/%d ", top+1, min(top+bodyH, len(rows)), len(rows))
	}
	if m.View.Follow {
		right = " following" + right
	}
	rw := textWidth(right)
	if rw > w/2 {
		right, rw = "", 0
	}
	put(s, 0, 0, w-rw, title, th.Header, th.ellipsis)
	put(s, w-rw, 0, rw, right, th.Header, "")

	switch {
	case m.OutputErr != "" && m.OutputID == t.Event.ID:
		put(s, 1, 1, w-2, "output: "+m.OutputErr, th.Error, th.ellipsis)
	case m.OutputID != t.Event.ID:
		put(s, 1, 1, w-2, "output: loading...", th.Dim, th.ellipsis)
	case len(rows) == 0:
		put(s, 1, 1, w-2, "output: none yet", th.Dim, th.ellipsis)
	}
	prevLine := -2
	for i := 0; i < bodyH && top+i < len(rows); i++ {
		r, y := rows[top+i], 1+i
		if r.line < 0 {
			put(s, 0, y, w, r.text, th.Border, th.ellipsis)
			prevLine = -2
			continue
		}
		base := th.Base
		if r.line == m.View.Match {
			base = base.Reverse(true)
			fill(s, 0, y, w, base)
		}
		if r.line != prevLine { // the mark on a line's first row only
			mark, st := th.stdoutMark, th.Dim
			if r.stderr {
				mark, st = th.stderrMark, th.Stderr
			}
			put(s, 0, y, 2, mark, st, "")
		}
		prevLine = r.line
		l := &m.Output[r.line]
		putRuns(s, 3, y, w-3, r.text, l.runs, r.off, len(l.Text), base, th.Mono, "")
	}

	// The footer: the search being typed, or the search's place, or the
	// event line; then the keys.
	y := h - 2
	if y > 0 {
		switch place, total := m.matchCount(); {
		case m.View.Typing:
			n := put(s, 0, y, w-1, "/"+termtext.Escape(m.View.Input), th.Notice, th.ellipsis)
			s.SetContent(n, y, ' ', nil, th.Notice.Reverse(true)) // the cursor
		case m.View.Search != "" && total > 0:
			put(s, 0, y, w, fmt.Sprintf("/%s: match %d of %d (n next, N previous)", termtext.Escape(m.View.Search), place, total), th.Notice, th.ellipsis)
		default:
			renderNotice(s, m, th, w, y, now)
		}
	}
	if h > 1 {
		renderHints(s, th, w, h-1, []keyHint{{"Esc", "back"}, {"PgUp PgDn", "scroll"}, {"Home End", "top, follow"},
			{"/", "search"}, {"n N", "next, previous"}, {"k K r", "cancel kill restart"}}, []keyHint{{"?", "help"}})
	}
}
