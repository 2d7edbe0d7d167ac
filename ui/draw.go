package ui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"github.com/taskvisor/taskvisor/internal/termtext"
)

// textWidth is the number of cells s takes.
func textWidth(s string) int {
	if termtext.IsPlain(s) {
		return len(s)
	}
	return uniseg.StringWidth(s)
}

// put draws s at (x, y) in at most maxW cells and returns the cells used.
// Text that does not fit ends in ellipsis (when ellipsis is not empty).
func put(s tcell.Screen, x, y, maxW int, text string, style tcell.Style, ellipsis string) int {
	if maxW <= 0 || text == "" {
		return 0
	}
	if termtext.IsPlain(text) {
		if len(text) <= maxW {
			for i := 0; i < len(text); i++ {
				s.SetContent(x+i, y, rune(text[i]), nil, style)
			}
			return len(text)
		}
		n := maxW
		if ellipsis != "" {
			n--
			s.Put(x+n, y, ellipsis, style)
		}
		for i := 0; i < n; i++ {
			s.SetContent(x+i, y, rune(text[i]), nil, style)
		}
		return maxW
	}
	fits := textWidth(text) <= maxW
	limit := maxW
	if !fits && ellipsis != "" {
		limit = maxW - 1
	}
	used := 0
	state := -1
	for text != "" {
		var cluster string
		var w int
		cluster, text, w, state = uniseg.FirstGraphemeClusterInString(text, state)
		if w == 0 {
			continue // a lone combining mark or similar: nothing to place
		}
		if used+w > limit {
			break
		}
		s.Put(x+used, y, cluster, style)
		used += w
	}
	if !fits && ellipsis != "" {
		s.Put(x+used, y, ellipsis, style)
		used++
	}
	return used
}

// fill paints n cells from (x, y) with spaces in style.
func fill(s tcell.Screen, x, y, n int, style tcell.Style) {
	for i := 0; i < n; i++ {
		s.SetContent(x+i, y, ' ', nil, style)
	}
}

// putRight draws text right-aligned in a field of width w at x.
func putRight(s tcell.Screen, x, y, w int, text string, style tcell.Style, ellipsis string) {
	tw := textWidth(text)
	if tw >= w {
		put(s, x, y, w, text, style, ellipsis)
		return
	}
	put(s, x+w-tw, y, tw, text, style, ellipsis)
}
