// Package tasktext holds the text both front ends print alike: the terminal
// UI (package ui) and the headless mode (package ui/headless). Escaping is
// internal/termtext's.
package tasktext

import (
	"fmt"
	"io"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
)

// WriteSummary writes how each task ended, a line each: "[Task 2] sleeper
// ended: cancelled (SIGTERM)". Both front ends print it after the shutdown.
func WriteSummary(w io.Writer, tasks []actors.TaskEvent) {
	for _, ev := range tasks {
		fmt.Fprintf(w, "[Task %d] %s ended: %s\n", ev.ID, termtext.Escape(ev.Name), termtext.Escape(ev.Outcome()))
	}
}
