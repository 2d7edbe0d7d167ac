package actors_test

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

// Every refusal of a command is an error errors.Is can tell apart, and its
// text begins with the command, not with a Go type's name.
func TestCommandErrorsAreSentinels(t *testing.T) {
	h := newHarness(t, actors.Catalogue{{Key: "1", Name: "done", Command: "true"}})
	ctx := h.ctx()

	if _, err := h.rt.Start(ctx, "nope"); !errors.Is(err, actors.ErrUnknownTemplate) {
		t.Errorf("Start of a template not in the catalogue: %v; want ErrUnknownTemplate", err)
	}
	if _, err := h.rt.StartSpec(ctx, actors.TaskSpec{Name: "x", StallTimeout: -time.Second, Command: "true"}); !errors.Is(err, actors.ErrInvalidSpec) {
		t.Errorf("StartSpec of an invalid spec: %v; want ErrInvalidSpec", err)
	} else if !strings.Contains(err.Error(), "StallTimeout: -1s is negative") {
		t.Errorf("StartSpec of an invalid spec: %q; want the Go field's name, StallTimeout", err)
	}
	for name, err := range map[string]error{
		"cancel": h.rt.Cancel(ctx, 99), "kill": h.rt.Kill(ctx, 99), "restart": h.rt.Restart(ctx, 99),
	} {
		if !errors.Is(err, actors.ErrUnknownTask) {
			t.Errorf("%s of task 99: %v; want ErrUnknownTask", name, err)
		}
	}

	id, err := h.rt.Start(ctx, "done")
	if err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StateCompleted)
	err = h.rt.Cancel(ctx, id)
	var se *actors.StateError
	if !errors.Is(err, actors.ErrWrongState) || !errors.As(err, &se) || se.Op != actors.OpCancel || se.State != actors.StateCompleted {
		t.Errorf("cancel of a completed task: %v (%+v); want a StateError of OpCancel in state completed", err, se)
	}

	// A command whose ctx is done before the answer names the command.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	err = h.rt.Kill(done, id)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "kill task ") {
		t.Errorf("kill with a cancelled ctx: %q; want it to begin with \"kill task\" and wrap context.Canceled", err)
	}
}

// A task whose process cannot start, or that ends failed, carries the cause
// as a value: errors.Is and errors.As answer as they would for os/exec.
func TestEndingCauseIsTyped(t *testing.T) {
	h := newHarness(t, nil)
	missing := h.startSpec(actors.TaskSpec{Name: "missing", Argv: []string{"taskvisor-no-such-program"}})
	ev := h.expect(missing, actors.StateFailed)
	var start *actors.StartError
	if !errors.Is(ev.Err, exec.ErrNotFound) || !errors.As(ev.Err, &start) || start.ID != missing || start.Name != "missing" {
		t.Errorf("a program not found: Err %v (%T); want a *StartError of task %d wrapping exec.ErrNotFound", ev.Err, ev.Err, missing)
	}
	if msg := ev.Err.Error(); strings.Count(msg, "(missing)") != 1 || !strings.Contains(msg, "taskvisor-no-such-program") {
		t.Errorf("StartError reads %q; want the task named once, and the program", msg)
	}

	nodir := h.startSpec(actors.TaskSpec{Name: "nodir", Command: "true", Dir: "/nonexistent/taskvisor-test"})
	if ev := h.expect(nodir, actors.StateFailed); !errors.Is(ev.Err, fs.ErrNotExist) {
		t.Errorf("a dir that does not exist: Err %v; want fs.ErrNotExist", ev.Err)
	}

	crash := h.startSpec(shell("crash", "exit 3"))
	ev = h.expect(crash, actors.StateFailed)
	var exit *actors.ExitError
	if !errors.As(ev.Err, &exit) || exit.Code != 3 || exit.Signal != 0 || exit.ID != crash {
		t.Errorf("exit 3: Err %v (%+v); want an *ExitError with Code 3", ev.Err, exit)
	}

	ok := h.startSpec(shell("ok", "exit 0"))
	if ev := h.expect(ok, actors.StateCompleted); ev.Err != nil {
		t.Errorf("a completed task has Err %v; want nil", ev.Err)
	}
}
