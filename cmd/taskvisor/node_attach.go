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

	"github.com/asynkron/protoactor-go/actor"
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
	cl.flags("[--node NODE]...  (q or Ctrl-C detaches; the tasks keep running; S stops the node, after asking, when attached to one)", false)
	if code, ok := cl.parse(args, 0); !ok {
		return code
	}
	ts, err := cl.connect()
	if err != nil {
		return cl.dialFailed(err)
	}
	defer cl.closeAll()
	if len(ts) > 1 {
		return attachNodes(cl, ts)
	}
	if ts[0].err != nil {
		return cl.dialFailed(ts[0].err)
	}
	cl.c = ts[0].client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	info, err := cl.c.Info(ctx, &pb.InfoRequest{})
	var cat actors.Catalogue
	if err == nil {
		cat = templates(ctx, cl.c)
	}
	cancel()
	if err != nil {
		return cl.fail(err)
	}
	cl.c.Node = info.GetNode() // the node's own name, also when reached by --addr
	screen, err := newScreen(stderr)
	if err != nil {
		return exitFailed
	}
	detached, stopped, err := attachUI(screen, func(system *actor.ActorSystem) (*actor.PID, func(*actor.PID) func(), func()) {
		ad := client.NewAdapter(cl.c, system)
		ad.ConnectionMessage = func(up bool, err error) any {
			return ui.Connection{Up: up, Err: err, LastHeard: cl.c.LastHeard()}
		}
		return ad.PID(), ad.Subscribe, ad.Close
	}, ui.Config{Catalogue: cat, Node: cl.c.Node})
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

// attachNodes is attach to several nodes: one list of all their tasks
// (client.Multi). A node out of reach at the start is shown so, and
// reached once it answers; the templates are the first answering node's.
func attachNodes(cl *cli, ts []*target) int {
	failed := false
	for _, t := range ts {
		if errors.Is(t.err, client.ErrNoNode) {
			// A node of this machine not running yet: shown unreachable
			// until it runs.
			lazy := t.t
			lazy.Lazy = true
			if t.client, t.err = client.Dial(lazy); t.err == nil {
				t.client.Node = t.name
			}
		}
		if t.err != nil {
			fmt.Fprintf(cl.stderr, "taskvisor attach: %v\n", t.err)
			failed = true
		}
	}
	if failed {
		fmt.Fprintf(cl.stderr, "taskvisor attach: fix the nodes above, or leave them out with --node\n")
		return exitUsage
	}
	clients := make([]*client.Client, len(ts))
	cats := make([]actors.Catalogue, len(ts))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	eachNode(ts, func(i int, t *target) {
		clients[i] = t.client
		cats[i] = templates(ctx, t.client)
	})
	cancel()
	var cat actors.Catalogue
	for _, c := range cats {
		if len(c) > 0 {
			cat = c
			break
		}
	}
	screen, err := newScreen(cl.stderr)
	if err != nil {
		return exitFailed
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	detached, _, err := attachUI(screen, func(system *actor.ActorSystem) (*actor.PID, func(*actor.PID) func(), func()) {
		m := client.NewMulti(clients, system)
		m.ConnectionMessage = func(node string, up bool, err error, lastHeard time.Time) any {
			return ui.Connection{Node: node, Up: up, Err: err, LastHeard: lastHeard}
		}
		return m.PID(), m.Subscribe, m.Close
	}, ui.Config{Catalogue: cat, Nodes: names})
	screen.Fini()
	if err != nil {
		fmt.Fprintf(cl.stderr, "taskvisor attach: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(cl.stdout, "detached from nodes %s (%s): their tasks keep running\n", targetNames(ts), detached)
	return exitOK
}

// templates is a node's catalogue, or none when it cannot be had.
func templates(ctx context.Context, c *client.Client) actors.Catalogue {
	res, err := c.ListTemplates(ctx, &pb.ListTemplatesRequest{})
	if err != nil {
		return nil
	}
	var cat actors.Catalogue
	for _, t := range res.GetTemplates() {
		if spec, err := node.SpecFromProto(t); err == nil {
			cat = append(cat, spec)
		}
	}
	return cat
}

// newScreen initialises the terminal, or says why it cannot.
func newScreen(stderr io.Writer) (tcell.Screen, error) {
	screen, err := tcell.NewScreen()
	if err == nil {
		err = screen.Init()
	}
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor attach: %v: %v\n", ui.ErrNoTerminal, err)
		return nil, err
	}
	return screen, nil
}

// attachUI runs the UI actor on screen, fed by an adapter of c, until the
// user detaches or a signal comes; it says what ended it, and whether the
// user stopped the node.
//
// adapter spawns the supervisor the UI talks to in system (client.Adapter
// or Multi) and returns its actor, its Subscribe and its Close; cfg holds
// the rest of the UI's configuration.
func attachUI(screen tcell.Screen, adapter func(*actor.ActorSystem) (*actor.PID, func(*actor.PID) func(), func()), cfg ui.Config) (why string, stopped bool, err error) {
	screen.EnableMouse()
	screen.HideCursor()
	system := actors.NewSystem(nil)
	defer system.Shutdown()
	sup, subscribe, closeAdapter := adapter(system)
	defer closeAdapter()

	quit := make(chan struct{}, 1)
	failed := make(chan error, 1)
	var nodeStopped atomic.Bool
	cfg.NodeStopped = func() { nodeStopped.Store(true) }
	cfg.Screen, cfg.Supervisor, cfg.Subscribe = screen, sup, subscribe
	// In attach mode quitting the UI detaches: nothing is stopped.
	cfg.Quit = func(bool) {
		select {
		case quit <- struct{}{}:
		default:
		}
	}
	cfg.Failed = func(err error) {
		select {
		case failed <- err:
		default:
		}
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
