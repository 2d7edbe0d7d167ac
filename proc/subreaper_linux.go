package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper makes this process a child subreaper
// (PR_SET_CHILD_SUBREAPER): a descendant orphaned by the death of a task's
// process is reparented to this process instead of init. The process layer
// then reaps the orphans of tasks' process groups itself, so that none stays
// a zombie under an init that does not reap (as on some container and VM
// inits), and an escapee stays findable. It affects the whole program: call
// it only where the program's other children, if any, reap their own.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}
