package taskfile

import (
	"fmt"
	"strings"

	"github.com/taskvisor/taskvisor/internal/termtext"
)

// Error is one problem found in a task file, with where it is.
type Error struct {
	// File is the name the file was loaded under.
	File string
	// Line and Column are 1-based; Column counts bytes. Zero when the
	// problem has no one place (an empty file).
	Line, Column int
	// Entry is the task or group the problem is in, as `task "web"`,
	// `group "pipeline"` or `task #3` for one without a name; empty outside
	// any entry.
	Entry string
	// Field is the key concerned, as written in the file ("stall_timeout",
	// "backoff.max", "env.PORT"); empty when none is.
	Field string
	// Msg says what was expected and what was found.
	Msg string
}

// Error formats the problem as file:line:column: entry: field: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Entry != "" {
		b.WriteString(termtext.Escape(e.Entry) + ": ")
	}
	if e.Field != "" {
		b.WriteString(termtext.Escape(e.Field) + ": ")
	}
	b.WriteString(termtext.Escape(e.Msg))
	return b.String()
}

// Errors is every problem found in a file, in the order of the file. Parse
// and Load return it as their error; errors.As finds it, and each *Error in
// it is reachable with errors.As too.
type Errors []*Error

// Error gives one problem a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}
