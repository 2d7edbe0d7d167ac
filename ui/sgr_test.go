package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// parseSGR takes SGR sequences as colours and escapes every other one.
func TestParseSGR(t *testing.T) {
	green, red := look{fg: tcell.PaletteColor(2)}, look{fg: tcell.PaletteColor(1), attrs: tcell.AttrBold}
	for _, c := range []struct {
		raw, text string
		runs      []colorRun
	}{
		{"plain", "plain", nil},
		{"\x1b[32mgreen\x1b[0m plain", "green plain", []colorRun{{5, green}}},
		{"a \x1b[1;31mred\x1b[m b", "a red b", []colorRun{{2, look{}}, {5, red}}},
		{"\x1b[32mto the end", "to the end", []colorRun{{10, green}}},
		{"\x1b[38;5;208mx\x1b[48;2;1;2;3my", "xy", []colorRun{{1, look{fg: tcell.PaletteColor(208)}},
			{2, look{fg: tcell.PaletteColor(208), bg: tcell.NewRGBColor(1, 2, 3)}}}},
		{"\x1b[4munder\x1b[24m \x1b[97mbright", "under bright", []colorRun{{5, look{underline: true}}, {6, look{}}, {12, look{fg: tcell.PaletteColor(15)}}}},
		// Not SGR: escaped, and the text after it keeps its colour.
		{"\x1b[31mred \x1b[2J\x1b[H\x1b]0;title\x07", `red \x1b[2J\x1b[H\x1b]0;title\x07`, []colorRun{{len(`red \x1b[2J\x1b[H\x1b]0;title\x07`), look{fg: tcell.PaletteColor(1)}}}},
		// SGR that changes nothing, or only resets: no colour at all.
		{"\x1b[0mplain\x1b[m", "plain", nil},
		// Conceal (8) hides nothing; a sequence too long is escaped.
		{"\x1b[8msecret", "secret", nil},
		{"\x1b[" + strings.Repeat("1;", 40) + "mx", `\x1b[` + strings.Repeat("1;", 40) + "mx", nil},
	} {
		text, runs := parseSGR(c.raw)
		if text != c.text || !slices.Equal(runs, c.runs) {
			t.Errorf("parseSGR(%q) = %q, %+v; want %q, %+v", c.raw, text, runs, c.text, c.runs)
		}
	}
}

// The output view and the detail pane draw a task's SGR colours; a
// sequence that would move the cursor, clear the screen or set the title
// stays escaped, and a monochrome theme keeps the attributes only.
func TestSGRColoursAreDrawn(t *testing.T) {
	const w, h = 70, 24
	ev := everyState()[1] // running, id 2
	m := modelOf(w, h, ev)
	m.ApplyOutput(actors.OutputReply{ID: 2, Lines: []actors.Line{
		outLine(false, "\x1b[32mgreen\x1b[0m plain \x1b[1mbold\x1b[0m"),
		outLine(true, "\x1b[2J\x1b[Hcleared? \x1b]0;title\x07"),
	}})
	for _, mono := range []bool{false, true} {
		th := NewTheme(mono, false)
		s := newScreen(t, w, h)
		m.Key(keyRune('o'), t0)
		rows := render(s, m, th)
		y := slices.IndexFunc(rows, func(r string) bool { return strings.HasSuffix(r, "green plain bold") })
		if y < 0 {
			t.Fatalf("mono %v: the coloured line is not shown as text:\n%s", mono, strings.Join(rows, "\n"))
		}
		x := strings.Index(rows[y], "green")
		wantGreen := th.Base.Foreground(tcell.PaletteColor(2))
		if mono {
			wantGreen = th.Base
		}
		if _, st := cellAt(s, x, y); st != wantGreen {
			t.Errorf("mono %v: 'green' drawn in %v, want %v", mono, st, wantGreen)
		}
		if _, st := cellAt(s, x+6, y); st != th.Base {
			t.Errorf("mono %v: 'plain' drawn in %v, want the base style", mono, st)
		}
		if _, st := cellAt(s, x+12, y); st != th.Base.Bold(true) {
			t.Errorf("mono %v: 'bold' drawn in %v, want bold", mono, st)
		}
		if !slices.ContainsFunc(rows, func(r string) bool { return strings.HasSuffix(r, `\x1b[2J\x1b[Hcleared? \x1b]0;title\x07`) }) {
			t.Errorf("mono %v: the cursor, clear and title sequences are not shown escaped:\n%s", mono, strings.Join(rows, "\n"))
		}
		m.Key(tcell.NewEventKey(tcell.KeyEscape, 0, 0), t0)

		// The detail pane too.
		m.Detail = true
		rows = render(s, m, th)
		y = slices.IndexFunc(rows, func(r string) bool { return strings.HasSuffix(r, "green plain bold") })
		if y < 0 {
			t.Fatalf("mono %v: the detail pane lacks the line:\n%s", mono, strings.Join(rows, "\n"))
		}
		if _, st := cellAt(s, strings.Index(rows[y], "green"), y); st != wantGreen {
			t.Errorf("mono %v: detail pane 'green' drawn in %v, want %v", mono, st, wantGreen)
		}
		m.Detail = false
	}
}
