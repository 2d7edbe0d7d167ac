package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
)

// Adapter lets a front end written for the runtime's supervisor actor (the
// terminal UI) work with a node: an actor in the client's own actor system
// that answers the supervisor's commands (actors.List, Start, Cancel, Kill,
// Restart, Fail, Pause, Resume, SetMaxParallel, GetOutput, Wait, Shutdown)
// with the same replies, made by calls to
// the node, and a Subscribe that turns the node's event stream into the same
// actors.TaskEvent and GroupEvent messages. The stream reconnects with
// backoff and resumes from the last sequence number seen; while it is down,
// the subscriber gets an actors.Reply whose Err says so, and a fresh
// actors.TaskList once it is up again.
//
// One Adapter serves one node; Multi serves several as one.
type Adapter struct {
	// ConnectionMessage, when set before Subscribe, makes the message the
	// subscriber is sent when the connection to the node is lost (up
	// false, err why) or back (up true); the attached UI's is
	// ui.Connection. Nil: a lost connection is an actors.Reply with Op
	// "attach" and the error, and its return is not said.
	ConnectionMessage func(up bool, err error) any

	c      *Client
	system *actor.ActorSystem
	pid    *actor.PID
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the calls and streams in flight
}

// NewAdapter spawns the adapter actor of c in system. Close ends it.
func NewAdapter(c *Client, system *actor.ActorSystem) *Adapter {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{c: c, system: system, ctx: ctx, cancel: cancel}
	a.pid = system.Root.SpawnPrefix(actor.PropsFromFunc(a.receive), "node-"+c.Node)
	return a
}

// PID is the actor to send the supervisor's commands to.
func (a *Adapter) PID() *actor.PID { return a.pid }

// Close stops the actor, ends the calls and streams in flight and waits for
// them.
func (a *Adapter) Close() {
	a.cancel()
	_ = a.system.Root.StopFuture(a.pid).Wait()
	a.wg.Wait()
}

// callTimeout bounds a call made for a command.
const callTimeout = 30 * time.Second

// receive answers a command on a goroutine of its own, so that a slow node
// never blocks the actor.
func (a *Adapter) receive(ctx actor.Context) { answer(ctx, a.ctx, &a.wg, a.call) }

// answer is the receive of Adapter and Multi: a command of the
// supervisor's (the others are dropped) gets the reply of call, made on a
// goroutine of its own counted in wg, unless done has ended.
func answer(ctx actor.Context, done context.Context, wg *sync.WaitGroup, call func(msg any) any) {
	msg, sender := ctx.Message(), ctx.Sender()
	switch msg.(type) {
	case actors.List, actors.Start, actors.Cancel, actors.Kill, actors.Restart, actors.Fail, actors.Pause, actors.Resume,
		actors.SetMaxParallel, actors.GetOutput, actors.Wait, actors.Shutdown:
	default:
		return
	}
	if sender == nil || done.Err() != nil {
		return
	}
	root := ctx.ActorSystem().Root
	wg.Add(1)
	go func() {
		defer wg.Done()
		if reply := call(msg); reply != nil && done.Err() == nil {
			root.Send(sender, reply)
		}
	}()
}

// call makes the call for a command and returns its reply.
func (a *Adapter) call(msg any) any {
	bound := callTimeout
	if _, ok := msg.(actors.Wait); ok {
		bound = 0
	}
	ctx, cancel := a.ctx, context.CancelFunc(func() {})
	if bound > 0 {
		ctx, cancel = context.WithTimeout(a.ctx, bound)
	}
	defer cancel()
	switch m := msg.(type) {
	case actors.List:
		l, err := a.list(ctx)
		if err != nil {
			return actors.Reply{Op: actors.OpList, Err: err}
		}
		return l
	case actors.Start:
		req := &pb.StartRequest{What: &pb.StartRequest_Template{Template: m.Template}}
		if m.Spec != nil {
			req.What = &pb.StartRequest_Spec{Spec: node.SpecToProto(*m.Spec)}
		}
		res, err := a.c.Start(ctx, req)
		return actors.Reply{Op: actors.OpStart, ID: int(res.GetId()), Err: AsError(err)}
	case actors.Cancel:
		_, err := a.c.Cancel(ctx, &pb.CancelRequest{Task: fmt.Sprint(m.ID)})
		return actors.Reply{Op: actors.OpCancel, ID: m.ID, Err: AsError(err)}
	case actors.Kill:
		_, err := a.c.Kill(ctx, &pb.KillRequest{Task: fmt.Sprint(m.ID)})
		return actors.Reply{Op: actors.OpKill, ID: m.ID, Err: AsError(err)}
	case actors.Restart:
		_, err := a.c.Restart(ctx, &pb.RestartRequest{Task: fmt.Sprint(m.ID)})
		return actors.Reply{Op: actors.OpRestart, ID: m.ID, Err: AsError(err)}
	case actors.Fail:
		_, err := a.c.Fail(ctx, &pb.FailRequest{Task: fmt.Sprint(m.ID), Reason: m.Reason})
		return actors.Reply{Op: actors.OpFail, ID: m.ID, Err: AsError(err)}
	case actors.Pause:
		_, err := a.c.Pause(ctx, &pb.PauseRequest{Task: fmt.Sprint(m.ID)})
		return actors.Reply{Op: actors.OpPause, ID: m.ID, Err: AsError(err)}
	case actors.Resume:
		_, err := a.c.Resume(ctx, &pb.PauseRequest{Task: fmt.Sprint(m.ID)})
		return actors.Reply{Op: actors.OpResume, ID: m.ID, Err: AsError(err)}
	case actors.SetMaxParallel:
		res, err := a.c.SetMaxParallel(ctx, &pb.SetMaxParallelRequest{Group: m.Group, Limit: int32(m.Limit), Adjust: int32(m.Adjust)})
		return actors.Reply{Op: actors.OpSetMaxParallel, Limit: int(res.GetLimit()), Err: AsError(err)}
	case actors.GetOutput:
		lines, err := a.output(ctx, m)
		return actors.OutputReply{ID: m.ID, Lines: lines, Err: err}
	case actors.Wait:
		res, err := a.c.Wait(ctx, &pb.WaitRequest{Task: fmt.Sprint(m.ID)})
		if err != nil {
			return actors.WaitReply{ID: m.ID, Err: AsError(err)}
		}
		return actors.WaitReply{ID: m.ID, Event: node.TaskEventFromProto(res.GetTask())}
	case actors.Shutdown:
		res, err := a.c.Shutdown(ctx, &pb.ShutdownRequest{Kill: m.Kill})
		if err != nil {
			return actors.Reply{Op: actors.OpShutdown, Err: AsError(err)}
		}
		return actors.TaskList{Tasks: fromProtoTasks(res.GetTasks())}
	}
	return nil
}

func (a *Adapter) list(ctx context.Context) (actors.TaskList, error) {
	res, err := a.c.List(ctx, &pb.ListRequest{})
	if err != nil {
		return actors.TaskList{}, AsError(err)
	}
	return actors.TaskList{Tasks: fromProtoTasks(res.GetTasks())}, nil
}

func fromProtoTasks(ts []*pb.TaskEvent) []actors.TaskEvent {
	out := make([]actors.TaskEvent, 0, len(ts))
	for _, t := range ts {
		if !t.GetHistory() {
			out = append(out, node.TaskEventFromProto(t))
		}
	}
	return out
}

func (a *Adapter) output(ctx context.Context, m actors.GetOutput) ([]actors.Line, error) {
	s, err := a.c.Output(ctx, &pb.OutputRequest{Task: fmt.Sprint(m.ID), Last: int32(max(0, m.Last))})
	if err != nil {
		return nil, AsError(err)
	}
	var lines []actors.Line
	for {
		res, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return lines, AsError(err)
		}
		for _, l := range res.GetLines() {
			st := actors.Stdout
			if l.GetStream() == "stderr" {
				st = actors.Stderr
			}
			var t time.Time
			if l.GetTime() != nil {
				t = l.GetTime().AsTime()
			}
			lines = append(lines, actors.Line{Stream: st, Text: l.GetText(), Time: t, Cut: l.GetCut()})
		}
	}
}

// tellLost tells the subscriber that the node is out of reach.
func (a *Adapter) tellLost(send func(any), err error) {
	if a.ConnectionMessage != nil {
		send(a.ConnectionMessage(false, err))
		return
	}
	send(actors.Reply{Op: "attach", Err: err})
}

// Subscribe sends the node's events to self, as the runtime's
// Runtime.SubscribePID does, from the node's newest event at the time of the
// call on: fit for ui.Config.Subscribe. The returned function ends the
// stream.
func (a *Adapter) Subscribe(self *actor.PID) (unsubscribe func()) {
	return a.subscribe(a.ctx, func(m any) { a.system.Root.Send(self, m) })
}

// subscribe is Subscribe with each message given to send, until parent
// ends or unsubscribe is called.
func (a *Adapter) subscribe(parent context.Context, send func(any)) (unsubscribe func()) {
	ctx, cancel := context.WithCancel(parent)
	// The starting point is taken before the subscriber asks for the list,
	// so that no event falls between the two.
	var since uint64
	ictx, icancel := context.WithTimeout(ctx, 5*time.Second) // a silent node holds no caller up for long
	info, err := a.c.Info(ictx, &pb.InfoRequest{})
	icancel()
	if err == nil {
		since = info.GetLastSeq()
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		lost := err != nil // said as lost until the stream is up
		if err != nil {
			// Not reachable now: from the newest event once it is.
			for ctx.Err() == nil {
				a.tellLost(send, fmt.Errorf("node %q does not answer: %v; trying again", a.c.Node, AsError(err)))
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					return
				}
				var info *pb.InfoResponse
				if info, err = a.c.Info(ctx, &pb.InfoRequest{}); err == nil {
					since = info.GetLastSeq()
					break
				}
			}
			if ctx.Err() != nil {
				return
			}
		}
		_ = a.c.StreamEvents(ctx, since, func(ev *pb.Event) error {
			switch k := ev.GetKind().(type) {
			case *pb.Event_Task:
				if !k.Task.GetHistory() {
					send(node.TaskEventFromProto(k.Task))
				}
			case *pb.Event_Group:
				send(node.GroupEventFromProto(k.Group))
			case *pb.Event_Notice:
				send(node.NoticeFromProto(k.Notice))
			}
			return nil
		}, func(up bool, err error) {
			if !up {
				lost = true
				a.tellLost(send, fmt.Errorf("connection to node %q lost (%v): reconnecting; the tasks shown are as last known", a.c.Node, err))
				return
			}
			if lost {
				lost = false
				if a.ConnectionMessage != nil {
					send(a.ConnectionMessage(true, nil))
				}
				// What changed while the stream was down, in one list.
				lctx, cancel := context.WithTimeout(ctx, callTimeout)
				defer cancel()
				if l, err := a.list(lctx); err == nil {
					send(l)
				}
			}
		})
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.followUsage(ctx, send)
	}()
	return cancel
}

// followUsage sends the node's usage samples as actors.UsageEvent
// messages until ctx ends, streaming again a second after a stream broke.
func (a *Adapter) followUsage(ctx context.Context, send func(any)) {
	for ctx.Err() == nil {
		stream, err := a.c.Usage(ctx, &pb.UsageRequest{Follow: true})
		for err == nil {
			var m *pb.UsageResponse
			if m, err = stream.Recv(); err == nil {
				send(node.UsageFromProto(m))
			}
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}
