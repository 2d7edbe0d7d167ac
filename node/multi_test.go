package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/client"
)

// connection is the probe's form of Multi's connection news.
type connection struct {
	node string
	up   bool
}

// Multi over two nodes: one list with IDs of its own and each task's node;
// a command reaches the task's node only; each node's events come named;
// one node gone is said of it alone, and its return too.
func TestMultiOfTwoNodes(t *testing.T) {
	a, b := newFixture(t, shortDir(t), nil), newFixture(t, shortDir(t), nil)
	c := ctx(t)
	for _, f := range []*fixture{a, b} {
		if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "sleeper"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Clients of Multi's own: a fixture's stop closes the fixture's.
	var clients []*client.Client
	for i, f := range []*fixture{a, b} {
		cl, err := client.Dial(client.Target{Node: []string{"a", "b"}[i], Socket: f.sock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		clients = append(clients, cl)
	}
	system := actors.NewSystem(nil)
	t.Cleanup(system.Shutdown)
	m := client.NewMulti(clients, system)
	t.Cleanup(m.Close)
	m.ConnectionMessage = func(node string, up bool, err error, _ time.Time) any { return connection{node, up} }
	p := probe.New(t, system)
	unsubscribe := m.Subscribe(p.PID())
	t.Cleanup(unsubscribe)

	// A list is each node's, as it comes (and Subscribe sends each
	// node's once its stream is set up).
	p.Request(m.PID(), actors.List{})
	byNode := map[string]actors.TaskEvent{}
	for len(byNode) < 2 {
		l := probe.FishForMsg(p, func(actors.TaskList) bool { return true }, wait)
		if len(l.Tasks) != 1 {
			t.Fatalf("a node's list %+v, want its one task", l.Tasks)
		}
		byNode[l.Tasks[0].Node] = l.Tasks[0]
	}
	if ta, tb := byNode["a"], byNode["b"]; ta.ID != client.LocalID(0, 1) || tb.ID != client.LocalID(1, 1) || tb.NodeTask != 1 {
		t.Fatalf("lists %+v", byNode)
	}
	p.Request(m.PID(), actors.Kill{ID: client.LocalID(1, 1)})
	if r := probe.FishForMsg(p, func(actors.Reply) bool { return true }, wait); r.Err != nil || r.ID != client.LocalID(1, 1) {
		t.Fatalf("kill of b's task 1: %+v", r)
	}
	ev := probe.FishForMsg(p, func(e actors.TaskEvent) bool { return e.State == actors.StateKilled }, wait)
	if ev.Node != "b" || ev.ID != client.LocalID(1, 1) || ev.String() != "[Task b/1] "+ev.Message {
		t.Errorf("killed event %+v (%s), want b's task 1", ev, ev)
	}
	ca, err := a.c.List(c, &pb.ListRequest{})
	if err != nil || ca.Tasks[0].GetState() != "running" {
		t.Errorf("a's task: %v, %v; want it running", ca, err)
	}
	p.Request(m.PID(), actors.Kill{ID: 7})
	if r := probe.FishForMsg(p, func(actors.Reply) bool { return true }, wait); !errors.Is(r.Err, actors.ErrUnknownTask) {
		t.Errorf("kill of an ID of no node: %v", r.Err)
	}
	p.Request(m.PID(), actors.Start{Template: "sleeper", Node: "b"})
	if r := probe.FishForMsg(p, func(actors.Reply) bool { return true }, wait); r.Err != nil || r.ID != client.LocalID(1, 2) {
		t.Errorf("start on b: %+v, want b's task 2", r)
	}
	p.Request(m.PID(), actors.Start{Template: "sleeper", Node: "z"})
	if r := probe.FishForMsg(p, func(actors.Reply) bool { return true }, wait); r.Err == nil {
		t.Error("a start on a node Multi does not have was made")
	}

	// b goes away and comes back; a is not said to.
	b.stop()
	if got := probe.FishForMsg(p, func(c connection) bool { return !c.up }, wait); got.node != "b" {
		t.Errorf("lost: %+v, want b", got)
	}
	b.start()
	if got := probe.FishForMsg(p, func(c connection) bool { return c.up }, wait); got.node != "b" {
		t.Errorf("back: %+v, want b", got)
	}
}

// A quiet event stream gets a heartbeat (a message without events) every
// node.Heartbeat, so that the client hears from the node; the client's
// LastHeard moves with it.
func TestHeartbeat(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	s, err := f.c.Events(ctx(t), &pb.EventsRequest{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := s.Recv()
	if err != nil || len(m.GetEvents()) != 0 {
		t.Fatalf("first message of a quiet stream: %v, %v; want a heartbeat", m, err)
	}
	if took := time.Since(start); took < node.Heartbeat/2 || took > 5*node.Heartbeat {
		t.Errorf("heartbeat after %s, want about %s", took, node.Heartbeat)
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.c.StreamEvents(c, 0, func(*pb.Event) error { return nil }, nil)
	}()
	// Heartbeats come at 2 s and 4 s; at 5 s the last was heard well
	// within two of them, unless none came after the stream's start.
	time.Sleep(2*node.Heartbeat + time.Second)
	heard := f.c.LastHeard()
	cancel()
	<-done
	if since := time.Since(heard); heard.IsZero() || since > 2*node.Heartbeat {
		t.Errorf("LastHeard %v (%s ago), want within two heartbeats", heard, since)
	}
}
