// Package termtext makes text that comes from outside taskvisor (a task's
// name, STATUS=, output, keys and values of a task file) safe to print on a
// terminal: every front end and every error message that quotes such text
// escapes it with Escape, so that none of it can drive the terminal.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes text from a task (its output, STATUS=, messages that quote
// it) safe to print: control characters, invalid UTF-8 and invisible format
// characters (bidi overrides, zero-width spaces) become Go-style escapes, so
// nothing a task writes reaches the terminal raw or hides what follows it.
// Printable text, including quotes, backslashes, wide and combining
// characters, is kept as it is.
func Escape(s string) string {
	if IsPlain(s) {
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

// IsPlain reports whether s is printable ASCII only: the common case, shown
// as it is without allocating.
func IsPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
