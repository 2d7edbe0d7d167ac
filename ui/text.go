package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// escape makes text from a task (its output, STATUS=, messages that quote
// it) safe to draw: control characters, invalid UTF-8 and invisible format
// characters (bidi overrides, zero-width spaces) become Go-style escapes, so
// nothing a task writes reaches the terminal raw or hides what follows it.
// Printable text, including wide and combining characters, is kept.
func escape(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ' && !unicode.Is(unicode.Mn, r):
			if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII only: the common case, drawn
// as it is without allocating.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// shortDuration formats d for a narrow column: "0.4s", "12s", "3m05s",
// "2h07m", "3d04h". Negative durations count as zero.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// wholeDuration is shortDuration to the second, for run times that tick
// once a second: "0s", "12s", "3m05s".
func wholeDuration(d time.Duration) string {
	if d < 10*time.Second {
		if d < 0 {
			d = 0
		}
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return shortDuration(d)
}

// countdown formats the time left until a deadline, rounded up to the tenth
// of a second so that it never shows 0.0s while time is left.
func countdown(deadline, now time.Time) string {
	left := deadline.Sub(now)
	if left < 0 {
		left = 0
	}
	left = (left + 99*time.Millisecond).Truncate(100 * time.Millisecond)
	return shortDuration(left)
}
