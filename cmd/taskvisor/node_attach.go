package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/client"
	"github.com/taskvisor/taskvisor/ui"
)

// runAttach is `taskvisor attach`: the terminal UI (the same actor, model,
// render and keys) as a client of a running node. q, Ctrl-C, closing the
// terminal (SIGHUP), SIGINT and SIGTERM detach: the node and its tasks go
// on. S stops the node, once the user has said yes; so does `taskvisor
// shutdown`. While the node is out of reach the tasks are shown dimmed, as
// last known, and the UI reconnects.
func runAttach(args []string, stdout, stderr io.Writer) int {
	cl := &cli{name: "attach", stdout: stdout, stderr: stderr}
	cl.flags("[--node NAME | --addr HOST:PORT]  (q or Ctrl-C detaches; the tasks keep running; S stops the node, after asking)", false)
	if code, ok := cl.prep(args, 0); !ok {
		return code
	}
	defer cl.c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	info, err := cl.c.Info(ctx, &pb.InfoRequest{})
	var cat actors.Catalogue
	if err == nil {
		if res, err := cl.c.ListTemplates(ctx, &pb.ListTemplatesRequest{}); err == nil {
			for _, t := range res.GetTemplates() {
				if spec, err := node.SpecFromProto(t); err == nil {
					cat = append(cat, spec)
				}
			}
		}
	}
	cancel()
	if err != nil {
		return cl.fail(err)
	}
	cl.c.Node = info.GetNode() // the node's own name, also when reached by --addr
	screen, err := tcell.NewScreen()
	if err == nil {
		err = screen.Init()
	}
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor attach: %v: %v\n", ui.ErrNoTerminal, err)
		return exitFailed
	}
	detached, stopped, err := attachUI(screen, cl.c, cat)
	screen.Fini()
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor attach: %v\n", err)
		return exitFailed
	}
	if stopped {
		fmt.Fprintf(stdout, "stopped node %q (pid %d) and every task on it\n", info.GetNode(), info.GetPid())
		return exitOK
	}
	fmt.Fprintf(stdout, "detached from node %q (pid %d, %s): its tasks keep running\n", info.GetNode(), info.GetPid(), detached)
	return exitOK
}

// attachUI runs the UI actor on screen, fed by an adapter of c, until the
// user detaches or a signal comes; it says what ended it, and whether the
// user stopped the node.
func attachUI(screen tcell.Screen, c *client.Client, cat actors.Catalogue) (why string, stopped bool, err error) {
	screen.EnableMouse()
	screen.HideCursor()
	system := actors.NewSystem(nil)
	defer system.Shutdown()
	ad := client.NewAdapter(c, system)
	ad.ConnectionMessage = func(up bool, err error) any { return ui.Connection{Up: up, Err: err} }
	defer ad.Close()

	quit := make(chan struct{}, 1)
	failed := make(chan error, 1)
	var nodeStopped atomic.Bool
	cfg := ui.Config{
		NodeStopped: func() { nodeStopped.Store(true) },
		Screen:      screen, Supervisor: ad.PID(), Subscribe: ad.Subscribe, Catalogue: cat, Node: c.Node,
		// In attach mode quitting the UI detaches: nothing is stopped.
		Quit: func(bool) {
			select {
			case quit <- struct{}{}:
			default:
			}
		},
		Failed: func(err error) {
			select {
			case failed <- err:
			default:
			}
		},
	}
	pid := system.Root.SpawnPrefix(ui.Props(cfg), "ui")
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			ev := screen.PollEvent()
			if ev == nil {
				return
			}
			system.Root.Send(pid, ev)
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	select {
	case <-quit:
		why = "detached by the user"
	case sig := <-sigs:
		why = "detached on " + sig.String()
	case err = <-failed:
	}
	_ = system.Root.StopFuture(pid).Wait()
	screen.Fini()
	<-polled
	if err != nil {
		return "", false, errors.New("terminal UI failed: " + err.Error())
	}
	return why, nodeStopped.Load(), nil
}
