package taskvisor_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/taskvisor/taskvisor"
)

// A program that supervises two tasks: one that ends on its own, one that is
// cancelled (its stop signal, then SIGKILL if it lingers), and a start that
// cannot exec, told by its typed error.
func Example() {
	rt, err := taskvisor.New(taskvisor.Config{Catalogue: taskvisor.Catalogue{
		{Name: "hello", Command: "echo hello from a child process"},
		{Name: "server", Argv: []string{"sleep", "600"}, Restart: taskvisor.RestartOnFailure},
	}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	hello, _ := rt.Start(ctx, "hello")
	ev, _ := rt.Wait(ctx, hello)
	fmt.Println(ev.Name, ev.Outcome())

	server, _ := rt.Start(ctx, "server")
	if err := rt.Cancel(ctx, server); err != nil {
		panic(err)
	}
	ev, _ = rt.Wait(ctx, server)
	fmt.Println(ev.Name, ev.State)

	missing, _ := rt.StartSpec(ctx, taskvisor.TaskSpec{Name: "missing", Argv: []string{"no-such-program"}})
	ev, _ = rt.Wait(ctx, missing)
	var startErr *taskvisor.StartError
	fmt.Println(ev.Name, ev.State, errors.As(ev.Err, &startErr), errors.Is(ev.Err, exec.ErrNotFound))

	if _, err := rt.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// hello completed (exit code 0)
	// server cancelled
	// missing failed true true
}
