package client

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
)

// Multi is an Adapter of several nodes at once: one actor that answers the
// supervisor's commands for the tasks of all of them, and a Subscribe that
// merges their event streams, so that one terminal UI shows every task of
// every node. Each node keeps a connection, stream and reconnection of its
// own (an Adapter); one node out of reach leaves the others as they are.
//
// The tasks of all the nodes get IDs of Multi's own, so that the UI, which
// tells tasks apart by ID, never mixes two of them up: LocalID of the
// node's index and the task's ID there, in node order and then in the
// node's order. Every event Multi sends carries the node's name and the
// task's ID on it (actors.TaskEvent.Node and NodeTask); group names are
// prefixed with the node's ("box2/web"). A Start goes to the node its
// actors.Start.Node names, else to the first; a List is answered with one
// actors.TaskList per node that answers, as each comes.
type Multi struct {
	// ConnectionMessage, when set before Subscribe, makes the message the
	// subscriber is sent when the connection to node is lost (up false,
	// err why, lastHeard when the node was last heard from:
	// Client.LastHeard) or back (up true); the attached UI's is
	// ui.Connection. Nil: a lost connection is an actors.Reply with Op
	// "attach" and the error.
	ConnectionMessage func(node string, up bool, err error, lastHeard time.Time) any

	names    []string
	adapters []*Adapter
	system   *actor.ActorSystem
	pid      *actor.PID
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu    sync.Mutex
	usage []actors.UsageEvent // each node's latest sample, by index
}

// nodeShift is where a node's index starts in a local ID: the task's ID on
// its node has the bits below it (2^31 on 64-bit systems).
const nodeShift = strconv.IntSize/2 - 1

// LocalID is Multi's ID of task id of the node at index (0-based).
func LocalID(index, id int) int { return (index+1)<<nodeShift | id }

// SplitID is the node index and the node's task ID of a local ID; ok is
// false for an ID that is none of Multi's.
func SplitID(local int) (index, id int, ok bool) {
	index = local>>nodeShift - 1
	return index, local & (1<<nodeShift - 1), index >= 0
}

// NewMulti spawns the actor of an adapter of the clients in system, in
// their order; names are what the nodes are called in the UI and in the
// events (Client.Node, else its socket). Close ends it.
func NewMulti(clients []*Client, system *actor.ActorSystem) *Multi {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Multi{system: system, ctx: ctx, cancel: cancel, usage: make([]actors.UsageEvent, len(clients))}
	for _, c := range clients {
		m.names = append(m.names, c.Node)
		a := &Adapter{c: c, system: system, ctx: ctx, cancel: func() {}}
		a.ConnectionMessage = func(up bool, err error) any { return connChange{up: up, err: err, lastHeard: c.LastHeard()} }
		m.adapters = append(m.adapters, a)
	}
	m.pid = system.Root.SpawnPrefix(actor.PropsFromFunc(m.receive), "nodes")
	return m
}

// Nodes are the nodes' names, in order.
func (m *Multi) Nodes() []string { return slices.Clone(m.names) }

// PID is the actor to send the supervisor's commands to.
func (m *Multi) PID() *actor.PID { return m.pid }

// Close stops the actor, ends the calls and streams in flight and waits for
// them.
func (m *Multi) Close() {
	m.cancel()
	_ = m.system.Root.StopFuture(m.pid).Wait()
	m.wg.Wait()
	for _, a := range m.adapters {
		a.wg.Wait()
	}
}

// connChange is a node adapter's news of its connection, before Multi
// names the node in it.
type connChange struct {
	up        bool
	err       error
	lastHeard time.Time
}

// receive answers a command on a goroutine of its own, as Adapter does; a
// List is answered by each node's list as it comes (actors.TaskList, one
// message per node), so that a node slow to answer holds up only its own.
func (m *Multi) receive(ctx actor.Context) {
	if _, ok := ctx.Message().(actors.List); ok && ctx.Sender() != nil && m.ctx.Err() == nil {
		sender, root := ctx.Sender(), ctx.ActorSystem().Root
		for i, a := range m.adapters {
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				if l, ok := a.call(actors.List{}).(actors.TaskList); ok && m.ctx.Err() == nil {
					root.Send(sender, m.translate(i, l))
				}
			}()
		}
		return
	}
	answer(ctx, m.ctx, &m.wg, m.call)
}

// errNoNode answers a command for an ID that is no node's task.
func errNoNode(op actors.Op, id int) actors.Reply {
	return actors.Reply{Op: op, ID: id, Err: fmt.Errorf("%s: task %d is on no node: %w", op, id, actors.ErrUnknownTask)}
}

// call routes a command to its node and makes its reply Multi's.
func (m *Multi) call(msg any) any {
	switch c := msg.(type) {
	case actors.Start:
		return m.start(c)
	case actors.SetMaxParallel:
		return m.setMaxParallel(c)
	case actors.Shutdown:
		i := slices.Index(m.names, c.Node)
		if i < 0 {
			return actors.Reply{Op: actors.OpShutdown, Err: fmt.Errorf("shutdown: name one node of %v (actors.Shutdown.Node): they stop one at a time", m.names)}
		}
		switch r := m.adapters[i].call(actors.Shutdown{Kill: c.Kill}).(type) {
		case actors.TaskList:
			return m.translate(i, r)
		case actors.Reply:
			r.Err = m.onNode(i, r.Err)
			return r
		}
		return nil
	}
	return m.callTask(msg)
}

// start starts a task on the node the Start names, else on the first.
func (m *Multi) start(c actors.Start) actors.Reply {
	i := slices.Index(m.names, c.Node)
	if c.Node == "" {
		i = 0
	}
	if i < 0 {
		return actors.Reply{Op: actors.OpStart, Tag: c.Tag, Err: fmt.Errorf("start: no node %q here (nodes: %v)", c.Node, m.names)}
	}
	r, _ := m.adapters[i].call(c).(actors.Reply)
	if r.ID > 0 {
		r.ID = LocalID(i, r.ID)
	}
	r.Tag, r.Err = c.Tag, m.onNode(i, r.Err)
	return r
}

// setMaxParallel moves every node's own limit: the UI's + and - mean
// "more at once". The answer is the last node's limit, or the first
// refusal.
func (m *Multi) setMaxParallel(c actors.SetMaxParallel) actors.Reply {
	var out actors.Reply
	var refused error
	for i, a := range m.adapters {
		r, _ := a.call(c).(actors.Reply)
		switch {
		case r.Err != nil && refused == nil:
			refused = m.onNode(i, r.Err)
		case r.Err == nil:
			out = r
		}
	}
	if refused != nil {
		out.Err = refused
	}
	return out
}

// taskCommand is the task a command is for, by Multi's ID, its Op, and the
// command as the node's adapter takes it, of the node's ID.
func taskCommand(msg any) (local int, op actors.Op, sub func(id int) any) {
	switch c := msg.(type) {
	case actors.Cancel:
		return c.ID, actors.OpCancel, func(id int) any { return actors.Cancel{ID: id} }
	case actors.Kill:
		return c.ID, actors.OpKill, func(id int) any { return actors.Kill{ID: id} }
	case actors.Restart:
		return c.ID, actors.OpRestart, func(id int) any { return actors.Restart{ID: id} }
	case actors.Fail:
		return c.ID, actors.OpFail, func(id int) any { return actors.Fail{ID: id, Reason: c.Reason} }
	case actors.Pause:
		return c.ID, actors.OpPause, func(id int) any { return actors.Pause{ID: id} }
	case actors.Resume:
		return c.ID, actors.OpResume, func(id int) any { return actors.Resume{ID: id} }
	case actors.GetOutput:
		return c.ID, "output", func(id int) any { c.ID = id; return c }
	case actors.Wait:
		return c.ID, "wait", func(id int) any { return actors.Wait{ID: id} }
	}
	return 0, "", nil
}

// callTask sends a command of one task to the task's node and makes the
// reply Multi's.
func (m *Multi) callTask(msg any) any {
	local, op, sub := taskCommand(msg)
	if sub == nil {
		return nil
	}
	i, id, ok := SplitID(local)
	if !ok || i >= len(m.adapters) {
		switch msg.(type) {
		case actors.GetOutput:
			return actors.OutputReply{ID: local, Err: errNoNode(op, local).Err}
		case actors.Wait:
			return actors.WaitReply{ID: local, Err: errNoNode(op, local).Err}
		}
		return errNoNode(op, local)
	}
	switch r := m.adapters[i].call(sub(id)).(type) {
	case actors.Reply:
		r.ID, r.Err = local, m.onNode(i, r.Err)
		return r
	case actors.OutputReply:
		r.ID, r.Err = local, m.onNode(i, r.Err)
		return r
	case actors.WaitReply:
		r.ID, r.Err = local, m.onNode(i, r.Err)
		r.Event = m.task(i, r.Event)
		return r
	default:
		return r
	}
}

// onNode names node i in an error of its.
func (m *Multi) onNode(i int, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("node %s: %w", m.names[i], err)
}

// task makes a node's task event Multi's.
func (m *Multi) task(i int, ev actors.TaskEvent) actors.TaskEvent {
	ev.Node, ev.NodeTask, ev.ID = m.names[i], ev.ID, LocalID(i, ev.ID)
	if ev.Group != "" {
		ev.Group = m.names[i] + "/" + ev.Group
	}
	return ev
}

// translate makes a message of node i's adapter Multi's.
func (m *Multi) translate(i int, msg any) any {
	name := m.names[i]
	switch v := msg.(type) {
	case actors.TaskEvent:
		return m.task(i, v)
	case actors.TaskList:
		tasks := make([]actors.TaskEvent, len(v.Tasks))
		for j, ev := range v.Tasks {
			tasks[j] = m.task(i, ev)
		}
		return actors.TaskList{Tasks: tasks}
	case actors.GroupEvent:
		v.Group = name + "/" + v.Group
		if v.Parent != "" {
			v.Parent = name + "/" + v.Parent
		}
		v.Tasks = slices.Clone(v.Tasks)
		for j, id := range v.Tasks {
			v.Tasks[j] = LocalID(i, id)
		}
		return v
	case actors.NoticeEvent:
		v.Message = "node " + name + ": " + v.Message
		return v
	case actors.UsageEvent:
		// One sample of every node, each node's latest, so that the
		// totals are the whole view's.
		tasks := make([]actors.TaskUsage, len(v.Tasks))
		for j, u := range v.Tasks {
			u.ID = LocalID(i, u.ID)
			tasks[j] = u
		}
		v.Tasks = tasks
		m.mu.Lock()
		defer m.mu.Unlock()
		m.usage[i] = v
		all := v
		all.Tasks = nil
		for _, u := range m.usage {
			all.Tasks = append(all.Tasks, u.Tasks...)
		}
		return all
	case connChange:
		if !v.up {
			// Its tasks' usage is as stale as they are.
			m.mu.Lock()
			m.usage[i] = actors.UsageEvent{}
			m.mu.Unlock()
		}
		if m.ConnectionMessage != nil {
			return m.ConnectionMessage(name, v.up, v.err, v.lastHeard)
		}
		if !v.up {
			return actors.Reply{Op: "attach", Err: v.err}
		}
		return nil
	}
	return msg
}

// Subscribe sends every node's events to self, as Adapter.Subscribe does
// for one, made Multi's: fit for ui.Config.Subscribe. It returns at once:
// each node is subscribed to on a goroutine of its own (a node out of reach
// takes up to 5 s to say so), and once its stream's starting point is
// taken, its list of tasks is sent too, so that nothing falls between the
// list the subscriber asks for and the stream. The returned function ends
// the streams.
func (m *Multi) Subscribe(self *actor.PID) (unsubscribe func()) {
	ctx, cancel := context.WithCancel(m.ctx)
	for i, a := range m.adapters {
		send := func(msg any) {
			if out := m.translate(i, msg); out != nil && ctx.Err() == nil {
				m.system.Root.Send(self, out)
			}
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			a.subscribe(ctx, send) // its streams end with ctx
			lctx, lcancel := context.WithTimeout(ctx, callTimeout)
			defer lcancel()
			if l, err := a.list(lctx); err == nil {
				send(l)
			}
		}()
	}
	return cancel
}
