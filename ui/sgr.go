package ui

import (
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/internal/termtext"
)

// look is what the SGR sequences of a task's output set for the text that
// follows: colours and attributes. The zero look changes nothing.
type look struct {
	fg, bg    tcell.Color // tcell.ColorDefault: the theme's
	attrs     tcell.AttrMask
	underline bool
}

// colorRun says that an output line's escaped text, from the end of the run
// before it up to end (a byte offset), has look.
type colorRun struct {
	end  int
	look look
}

// maxSGR bounds the parameters of an SGR sequence taken as one: a longer
// sequence is shown escaped, as any other.
const maxSGR = 64

// parseSGR splits a raw output line into its escaped text (termtext.Escape)
// and the runs of colour that its SGR sequences (ESC [ parameters m) set.
// Only those are taken; every other sequence (a cursor move, a screen
// clear, a title) is escaped with the rest of the text, so a task can
// colour its output and do nothing else to the terminal. runs is nil when
// the line sets no colour.
func parseSGR(raw string) (text string, runs []colorRun) {
	if !strings.Contains(raw, "\x1b[") {
		return termtext.Escape(raw), nil
	}
	var b strings.Builder
	var cur look
	lastEnd, coloured := 0, false
	for raw != "" {
		i := strings.Index(raw, "\x1b[")
		if i < 0 {
			b.WriteString(termtext.Escape(raw))
			break
		}
		params, n, ok := sgrAt(raw[i:])
		if !ok {
			// Not SGR: escaped with the text, ESC and all.
			b.WriteString(termtext.Escape(raw[:i+2]))
			raw = raw[i+2:]
			continue
		}
		b.WriteString(termtext.Escape(raw[:i]))
		if next := cur.apply(params); next != cur {
			if end := b.Len(); end > lastEnd { // some text is in cur
				runs = append(runs, colorRun{end: end, look: cur})
				coloured = coloured || cur != (look{})
				lastEnd = end
			}
			cur = next
		}
		raw = raw[i+n:]
	}
	text = b.String()
	if cur != (look{}) && len(text) > lastEnd {
		runs = append(runs, colorRun{end: len(text), look: cur})
		coloured = true
	}
	if !coloured {
		return text, nil
	}
	return text, runs
}

// sgrAt reads the SGR sequence at the start of s (which starts with ESC
// [): its parameters and its length; ok is false if it is no SGR sequence
// (another final byte, other characters, or too long).
func sgrAt(s string) (params string, n int, ok bool) {
	for j := 2; j < len(s) && j < 2+maxSGR; j++ {
		switch c := s[j]; {
		case c == 'm':
			return s[2:j], j + 1, true
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// apply returns the look after the SGR parameters params ("1;31",
// "38;5;208", "38;2;255;128;0"; "" is a reset). Parameters it does not know
// are skipped; conceal (8) is one of them, so no text is hidden.
func (l look) apply(params string) look {
	f := strings.FieldsFunc(params, func(r rune) bool { return r == ';' || r == ':' })
	if len(f) == 0 {
		return look{}
	}
	num := func(i int) int {
		if i >= len(f) {
			return -1
		}
		v, err := strconv.Atoi(f[i])
		if err != nil {
			return -1
		}
		return v
	}
	for i := 0; i < len(f); i++ {
		switch p := num(i); {
		case p == 38 || p == 48:
			c, used := extendedColor(num, i+1)
			if c != tcell.ColorDefault {
				if p == 38 {
					l.fg = c
				} else {
					l.bg = c
				}
			}
			i += used
		case p >= 30 && p <= 37, p >= 90 && p <= 97:
			l.fg = paletteColor(p - 30)
		case p >= 40 && p <= 47, p >= 100 && p <= 107:
			l.bg = paletteColor(p - 40)
		default:
			if set, ok := sgrSets[p]; ok {
				set(&l)
			}
		}
	}
	return l
}

// paletteColor is the colour of an SGR colour parameter less its base (30
// or 40): 0-7 the normal ones, 60-67 (the 90s and 100s) the bright ones.
func paletteColor(n int) tcell.Color {
	if n >= 60 {
		n = n - 60 + 8
	}
	return tcell.PaletteColor(n)
}

// sgrSets are the SGR parameters that set or clear an attribute, or reset a
// colour.
var sgrSets = map[int]func(*look){
	0:  func(l *look) { *l = look{} },
	1:  func(l *look) { l.attrs |= tcell.AttrBold },
	2:  func(l *look) { l.attrs |= tcell.AttrDim },
	3:  func(l *look) { l.attrs |= tcell.AttrItalic },
	4:  func(l *look) { l.underline = true },
	5:  func(l *look) { l.attrs |= tcell.AttrBlink },
	6:  func(l *look) { l.attrs |= tcell.AttrBlink },
	7:  func(l *look) { l.attrs |= tcell.AttrReverse },
	9:  func(l *look) { l.attrs |= tcell.AttrStrikeThrough },
	22: func(l *look) { l.attrs &^= tcell.AttrBold | tcell.AttrDim },
	23: func(l *look) { l.attrs &^= tcell.AttrItalic },
	24: func(l *look) { l.underline = false },
	25: func(l *look) { l.attrs &^= tcell.AttrBlink },
	27: func(l *look) { l.attrs &^= tcell.AttrReverse },
	29: func(l *look) { l.attrs &^= tcell.AttrStrikeThrough },
	39: func(l *look) { l.fg = tcell.ColorDefault },
	49: func(l *look) { l.bg = tcell.ColorDefault },
}

// extendedColor reads the colour of a 38 or 48 parameter from position i:
// "5;N" (the 256-colour palette) or "2;R;G;B"; it returns how many
// parameters it took, and tcell.ColorDefault for one it cannot read.
func extendedColor(num func(int) int, i int) (tcell.Color, int) {
	switch num(i) {
	case 5:
		if n := num(i + 1); n >= 0 && n <= 255 {
			return tcell.PaletteColor(n), 2
		}
		return tcell.ColorDefault, 2
	case 2:
		r, g, b := num(i+1), num(i+2), num(i+3)
		if r >= 0 && r <= 255 && g >= 0 && g <= 255 && b >= 0 && b <= 255 {
			return tcell.NewRGBColor(int32(r), int32(g), int32(b)), 4
		}
		return tcell.ColorDefault, 4
	}
	return tcell.ColorDefault, 0
}

// style is base with the look on it; a monochrome theme takes the
// attributes only.
func (l look) style(base tcell.Style, mono bool) tcell.Style {
	if l == (look{}) {
		return base
	}
	fg, bg, attrs := base.Decompose()
	st := base.Attributes(attrs | l.attrs)
	if l.underline {
		st = st.Underline(true)
	}
	if !mono {
		if l.fg != tcell.ColorDefault {
			fg = l.fg
		}
		if l.bg != tcell.ColorDefault {
			bg = l.bg
		}
		st = st.Foreground(fg).Background(bg)
	}
	return st
}

// lookAt returns the look at byte offset pos of a line's text and the
// offset where that look ends (len(text) past the last run).
func lookAt(runs []colorRun, pos, textLen int) (look, int) {
	for _, r := range runs {
		if pos < r.end {
			return r.look, r.end
		}
	}
	return look{}, textLen
}

// putRuns is put for a part of an output line that starts at byte offset
// off of the line's text: each run of the part is drawn in its look.
func putRuns(s tcell.Screen, x, y, maxW int, part string, runs []colorRun, off, lineLen int, base tcell.Style, mono bool, ellipsis string) int {
	if len(runs) == 0 {
		return put(s, x, y, maxW, part, base, ellipsis)
	}
	fits := textWidth(part) <= maxW
	limit := maxW
	if !fits && ellipsis != "" {
		limit--
	}
	used := 0
	for pos := 0; pos < len(part) && used < limit; {
		l, end := lookAt(runs, off+pos, lineLen)
		segEnd := min(len(part), end-off)
		seg := part[pos:segEnd]
		n := put(s, x+used, y, limit-used, seg, l.style(base, mono), "")
		used += n
		if n < textWidth(seg) {
			break
		}
		pos = segEnd
	}
	if !fits && ellipsis != "" {
		s.Put(x+used, y, ellipsis, base)
		used++
	}
	return used
}
