package tasktext

import (
	"strings"
	"syscall"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

func TestWriteSummary(t *testing.T) {
	var b strings.Builder
	WriteSummary(&b, []actors.TaskEvent{
		{ID: 1, Name: "quick", State: actors.StateCompleted, ExitCode: 0},
		{ID: 2, Name: `say "hi"`, State: actors.StateKilled, ExitCode: -1, Signal: syscall.SIGKILL},
		{ID: 3, Name: "bad\x1b[2J", State: actors.StateFailed, ExitCode: -1, Reason: "exec: \"x\"\a"},
	})
	want := "[Task 1] quick ended: completed (exit code 0)\n" +
		"[Task 2] say \"hi\" ended: killed (SIGKILL)\n" +
		"[Task 3] bad\\x1b[2J ended: failed (exec: \"x\"\\x07)\n"
	if got := b.String(); got != want {
		t.Errorf("summary:\n%s\nwant\n%s", got, want)
	}
}
