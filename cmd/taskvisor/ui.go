package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/taskvisor/taskvisor/actors"
)

// isTerminal reports whether r or w is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runUI runs the terminal UI until q or the end of ctx; force, when it ends,
// kills what is left of a shutdown at once.
func runUI(ctx, force context.Context, rt *actors.Runtime) error {
	_, _, _ = ctx, force, rt
	return errors.New("the terminal UI is not built yet: use --headless")
}

var _ io.Reader = os.Stdin
