package main

import (
	"context"
	"io"
	"os"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/ui"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runUI runs the terminal UI until q or the end of ctx; force, when it ends,
// kills what is left of a shutdown at once. Once the terminal is restored,
// it prints how each task ended on stdout and calls ended with it.
func runUI(ctx, force context.Context, rt *actors.Runtime, stdout io.Writer, ended func([]actors.TaskEvent)) error {
	return ui.Run(ctx, force, rt, ui.Options{Out: stdout, Ended: ended})
}
