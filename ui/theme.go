package ui

import (
	"os"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
)

// Theme holds the styles and glyphs the UI draws with. Every state has a
// symbol as well as a colour, so that a task's state reads without colour.
type Theme struct {
	// Mono: no colours at all, only attributes (NO_COLOR, monochrome
	// terminals).
	Mono bool
	// ASCII: the terminal's character set is not UTF-8; glyphs are ASCII.
	ASCII bool

	// Styles of the parts of the screen: the default, the header row, the
	// column heads, the footer's labels and keys, the event line and its
	// errors, what is secondary, the detail pane's border, stderr's mark
	// and the help overlay.
	Base, Header, ColumnHead, Footer, Keys, Notice, Error, Dim, Border, Stderr, Help tcell.Style

	states                                                   map[actors.State]tcell.Style
	symbols                                                  map[actors.State]string
	barFull, barEmpty, stderrMark, stdoutMark, sep, ellipsis string
}

// ThemeFor picks the theme for a screen: monochrome when NO_COLOR is set
// (https://no-color.org) or the terminal has fewer than 8 colours, ASCII
// glyphs when its character set is not UTF-8.
func ThemeFor(s tcell.Screen) Theme {
	mono := os.Getenv("NO_COLOR") != "" || s.Colors() < 8
	cs := strings.ToUpper(strings.ReplaceAll(s.CharacterSet(), "-", ""))
	return NewTheme(mono, cs != "UTF8")
}

// NewTheme returns the colour or monochrome theme, with Unicode or ASCII
// glyphs.
func NewTheme(mono, ascii bool) Theme {
	base := tcell.StyleDefault
	t := Theme{
		Mono: mono, ASCII: ascii,
		Base:       base,
		Header:     base.Reverse(true).Bold(true),
		ColumnHead: base.Bold(true).Underline(true),
		Footer:     base,
		Keys:       base.Reverse(true),
		Notice:     base,
		Error:      base.Bold(true),
		Dim:        base.Dim(true),
		Border:     base.Bold(true),
		Stderr:     base.Bold(true),
		Help:       base.Reverse(true),
	}
	// Monochrome: what needs attention is bold, what is over is dim.
	t.states = map[actors.State]tcell.Style{
		actors.StateWaiting:   base.Dim(true),
		actors.StateQueued:    base.Dim(true),
		actors.StateSkipped:   base.Dim(true).StrikeThrough(true),
		actors.StateStarting:  base,
		actors.StateRunning:   base,
		actors.StateStalled:   base.Bold(true),
		actors.StatePaused:    base.Italic(true),
		actors.StateStopping:  base.Underline(true),
		actors.StateCancelled: base.Dim(true),
		actors.StateKilled:    base.Bold(true),
		actors.StateCompleted: base.Dim(true),
		actors.StateFailed:    base.Bold(true),
		actors.StateBackoff:   base.Underline(true),
		actors.StateGaveUp:    base.Bold(true).Underline(true),
	}
	if !mono {
		t.Header = base.Background(tcell.ColorNavy).Foreground(tcell.ColorWhite).Bold(true)
		t.Keys = base.Background(tcell.ColorTeal).Foreground(tcell.ColorBlack)
		t.Error = base.Foreground(tcell.ColorRed).Bold(true)
		t.Border = base.Foreground(tcell.ColorTeal).Bold(true)
		t.Stderr = base.Foreground(tcell.ColorRed)
		t.Help = base.Background(tcell.ColorNavy).Foreground(tcell.ColorWhite)
		t.states = map[actors.State]tcell.Style{
			actors.StateWaiting:   base.Foreground(tcell.ColorSilver),
			actors.StateQueued:    base.Foreground(tcell.ColorSilver),
			actors.StateSkipped:   base.Foreground(tcell.ColorGray),
			actors.StateStarting:  base.Foreground(tcell.ColorTeal),
			actors.StateRunning:   base.Foreground(tcell.ColorGreen),
			actors.StateStalled:   base.Foreground(tcell.ColorYellow).Bold(true),
			actors.StatePaused:    base.Foreground(tcell.ColorAqua),
			actors.StateStopping:  base.Foreground(tcell.ColorFuchsia),
			actors.StateCancelled: base.Foreground(tcell.ColorGray),
			actors.StateKilled:    base.Foreground(tcell.ColorRed),
			actors.StateCompleted: base.Foreground(tcell.ColorBlue).Bold(true),
			actors.StateFailed:    base.Foreground(tcell.ColorRed).Bold(true),
			actors.StateBackoff:   base.Foreground(tcell.ColorYellow),
			actors.StateGaveUp:    base.Foreground(tcell.ColorMaroon).Bold(true).Reverse(true),
		}
	}
	if ascii {
		t.symbols = map[actors.State]string{
			actors.StateWaiting: "?", actors.StateSkipped: "/", actors.StateQueued: ":", actors.StateStarting: "+", actors.StateRunning: ">", actors.StateStalled: "!",
			actors.StatePaused: "=", actors.StateStopping: "~", actors.StateCancelled: "-", actors.StateKilled: "X",
			actors.StateCompleted: "=", actors.StateFailed: "x", actors.StateBackoff: "@",
			actors.StateGaveUp: "#",
		}
		t.barFull, t.barEmpty, t.stderrMark, t.stdoutMark, t.sep, t.ellipsis = "#", ".", "E|", " |", "-", "~"
	} else {
		t.symbols = map[actors.State]string{
			actors.StateWaiting: "⋯", actors.StateSkipped: "»", actors.StateQueued: "…", actors.StateStarting: "◌", actors.StateRunning: "●", actors.StateStalled: "‖",
			actors.StatePaused: "∥", actors.StateStopping: "◐", actors.StateCancelled: "○", actors.StateKilled: "✕",
			actors.StateCompleted: "✓", actors.StateFailed: "✗", actors.StateBackoff: "↻",
			actors.StateGaveUp: "⊘",
		}
		t.barFull, t.barEmpty, t.stderrMark, t.stdoutMark, t.sep, t.ellipsis = "█", "░", "E│", " │", "─", "…"
	}
	return t
}

// stale returns the theme for the rows of tasks shown as last known (the
// connection to their node is lost): every style dimmed.
func (t Theme) stale() Theme {
	t.Base = t.Base.Dim(true)
	states := make(map[actors.State]tcell.Style, len(t.states))
	for s, st := range t.states {
		states[s] = st.Dim(true)
	}
	t.states = states
	return t
}

// State returns the style of a state.
func (t Theme) State(s actors.State) tcell.Style {
	if st, ok := t.states[s]; ok {
		return st
	}
	return t.Base
}

// Symbol returns the one-cell symbol of a state.
func (t Theme) Symbol(s actors.State) string {
	if sym, ok := t.symbols[s]; ok {
		return sym
	}
	return "?"
}
