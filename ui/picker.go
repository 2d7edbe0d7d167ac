package ui

import (
	"path"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// Picker is the overlay that starts any template of the catalogue, keyed or
// not (n or :): the templates whose key, name or description holds Filter,
// Sel the one Enter starts.
type Picker struct {
	// Open: the picker is shown and takes the keys.
	Open bool
	// Filter is the text typed so far.
	Filter string
	// Sel is the index, among the templates that pass the filter, of the
	// one Enter starts.
	Sel int
	// Command: the picker is a prompt (!) for a command line, which Enter
	// starts as an ad-hoc task run by /bin/sh -c; Filter holds the line.
	Command bool
}

func (m *Model) openPicker() { m.Picker = Picker{Open: true} }

func (m *Model) openPrompt() { m.Picker = Picker{Open: true, Command: true} }

// adHoc is the Start of a prompt's command line: named after its first
// word, as the headless run names it.
func adHoc(line, node string) []any {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	name := path.Base(strings.Fields(line)[0])
	return []any{actors.Start{Spec: &actors.TaskSpec{Name: name, Command: line}, Node: node}}
}

// picked returns the templates that match the picker's filter.
func (m *Model) picked() []Template {
	f := strings.ToLower(m.Picker.Filter)
	var out []Template
	for _, t := range m.Templates {
		if f == "" || strings.Contains(strings.ToLower(t.Key+" "+t.Name+" "+t.Description), f) {
			out = append(out, t)
		}
	}
	return out
}

// pickerKey is Key while the picker is open: text filters, Up and Down
// choose, Enter starts, Esc closes.
func (m *Model) pickerKey(ev *tcell.EventKey) []any {
	p := &m.Picker
	list := m.picked()
	switch ev.Key() {
	case tcell.KeyEscape:
		m.Picker = Picker{}
	case tcell.KeyEnter:
		sel, prompt := p.Sel, *p
		m.Picker = Picker{}
		if prompt.Command {
			return adHoc(prompt.Filter, m.startNode())
		}
		if sel >= 0 && sel < len(list) {
			return []any{actors.Start{Template: list[sel].name, Node: m.startNode()}}
		}
	case tcell.KeyUp:
		p.Sel = max(p.Sel-1, 0)
	case tcell.KeyDown:
		p.Sel = min(p.Sel+1, max(len(list)-1, 0))
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		if r := []rune(p.Filter); len(r) > 0 {
			p.Filter, p.Sel = string(r[:len(r)-1]), 0
		}
	case tcell.KeyRune:
		p.Filter, p.Sel = p.Filter+string(ev.Rune()), 0
	}
	return nil
}

// renderPicker draws the picker in a box in the middle of the screen.
func renderPicker(s tcell.Screen, m *Model, th Theme, w, h int) {
	if m.Picker.Command {
		renderPrompt(s, m, th, w, h)
		return
	}
	list := m.picked()
	bw := min(max(w*3/4, 40), w)
	bh := min(len(m.Templates)+4, h, max(h-2, 3))
	x0, y0 := (w-bw)/2, (h-bh)/2
	for y := y0; y < y0+bh; y++ {
		fill(s, x0, y, bw, th.Help)
	}
	n := put(s, x0+2, y0, bw-4, "Start a task (Enter), Esc: close. Filter: "+m.Picker.Filter, th.Help.Bold(true), th.ellipsis)
	if x := x0 + 2 + n; x < x0+bw-1 {
		s.SetContent(x, y0, ' ', nil, th.Help.Reverse(true)) // the cursor
	}
	rows := bh - 2
	if len(list) == 0 {
		put(s, x0+2, y0+1, bw-4, "no template matches", th.Help, th.ellipsis)
		return
	}
	top := visibleTop(0, m.Picker.Sel, len(list), rows)
	for i := 0; i < rows && top+i < len(list); i++ {
		t := list[top+i]
		line := t.Key
		if line == "" {
			line = "-"
		}
		line += "  " + t.Name
		if t.Description != "" {
			line += ": " + t.Description
		}
		st := th.Help
		if top+i == m.Picker.Sel {
			st = st.Reverse(true)
			fill(s, x0+1, y0+1+i, bw-2, st)
		}
		put(s, x0+2, y0+1+i, bw-4, line, st, th.ellipsis)
	}
}

// renderPrompt draws the command prompt, one line in a box.
func renderPrompt(s tcell.Screen, m *Model, th Theme, w, h int) {
	bw := min(max(w*3/4, 40), w)
	x0, y0 := (w-bw)/2, max(h/2-1, 0)
	for y := y0; y < min(y0+3, h); y++ {
		fill(s, x0, y, bw, th.Help)
	}
	put(s, x0+2, y0, bw-4, "Run a command by /bin/sh -c (Enter), Esc: close", th.Help.Bold(true), th.ellipsis)
	if y0+1 >= h {
		return
	}
	line := "$ " + termtext.Escape(m.Picker.Filter)
	// The end of a long line stays in view, where the typing is.
	if r := []rune(line); len(r) > bw-5 {
		line = th.ellipsis + string(r[len(r)-(bw-6):])
	}
	n := put(s, x0+2, y0+1, bw-4, line, th.Help, "")
	if x := x0 + 2 + n; x < x0+bw-1 {
		s.SetContent(x, y0+1, ' ', nil, th.Help.Reverse(true))
	}
}
