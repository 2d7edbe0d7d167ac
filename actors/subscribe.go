package actors

import (
	"context"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Four ways to receive a runtime's events, all fed by the actor system's
// EventStream: a handler (Subscribe, SubscribeAll), an actor's mailbox
// (SubscribePID) and a channel (Events). None of them can slow the tasks:
// the EventStream calls each subscription on the publishing actor's
// goroutine, and each only forwards there.

// Subscribe calls handler with every TaskEvent of this runtime, in order per
// task, on an actor of its own, so that a slow handler never slows the tasks.
// The returned function unsubscribes and returns once the events already
// queued have been handled; the handler itself, which would wait for
// itself, calls it as go unsubscribe().
func (r *Runtime) Subscribe(handler func(TaskEvent)) (unsubscribe func()) {
	return subscribeAllEvents(r.system, r.env.dispatcher, r.env.name, taskEventsOnly(handler))
}

// SubscribeAll is Subscribe for every Event of this runtime, task and group
// events alike, in the order they were published.
func (r *Runtime) SubscribeAll(handler func(Event)) (unsubscribe func()) {
	return subscribeAllEvents(r.system, r.env.dispatcher, r.env.name, handler)
}

// SubscribeEvents is Runtime.Subscribe for a program that watches runtimes
// it does not hold: handler gets the TaskEvents of every runtime in system
// (TaskEvent.Runtime tells them apart).
func SubscribeEvents(system *actor.ActorSystem, handler func(TaskEvent)) (unsubscribe func()) {
	return subscribeAllEvents(system, nil, "", taskEventsOnly(handler))
}

// SubscribeAllEvents is Runtime.SubscribeAll for every runtime in system.
func SubscribeAllEvents(system *actor.ActorSystem, handler func(Event)) (unsubscribe func()) {
	return subscribeAllEvents(system, nil, "", handler)
}

// SubscribePID sends every Event of this runtime to the actor pid, as a
// TaskEvent or GroupEvent message, in order per task. It is the way for an
// actor of the embedding program to follow tasks: the events arrive in its
// mailbox with its other messages, so its Receive needs no locks. The
// returned function unsubscribes; events already sent stay in the mailbox.
// Events sent to an actor that has stopped go to the dead letters, so
// unsubscribe when it stops.
func (r *Runtime) SubscribePID(pid *actor.PID) (unsubscribe func()) {
	var once sync.Once
	stop := forwardEvents(r.system, r.env.name, pid)
	return func() { once.Do(stop) }
}

// forwardEvents sends the events of the runtime named runtime (of every
// runtime when it is "") to pid, until the returned function is called. The
// EventStream calls the subscription on the publisher's goroutine: it only
// forwards, and filters itself, not with SubscribeWithPredicate (whose
// predicate runs under the EventStream's lock, on every publisher's
// goroutine).
func forwardEvents(system *actor.ActorSystem, runtime string, pid *actor.PID) (stop func()) {
	sub := system.EventStream.Subscribe(func(evt any) {
		if ev, ok := evt.(Event); ok && (runtime == "" || ev.runtime() == runtime) {
			system.Root.Send(pid, ev)
		}
	})
	return func() { system.EventStream.Unsubscribe(sub) }
}

// Events returns a channel that receives every Event of this runtime from
// now on, in the order they were published. The channel is closed once ctx
// is done, or once the runtime has shut down and the events published until
// then have been received. Events wait in an unbounded queue until they are
// received, so a slow reader never slows the tasks; a reader that stops
// reading before the channel closes cancels ctx, which also ends the
// goroutine that feeds the channel. After Shutdown, Events returns a closed
// channel.
//
//	ctx, stop := context.WithCancel(ctx)
//	defer stop()
//	for e := range rt.Events(ctx) {
//		if ev, ok := e.(actors.TaskEvent); ok && ev.ID == id && ev.State.Ended() {
//			break
//		}
//	}
func (r *Runtime) Events(ctx context.Context) <-chan Event {
	out := make(chan Event)
	s := &eventStream{wake: make(chan struct{}, 1)}
	r.streamsMu.Lock()
	if r.streamsClosed {
		r.streamsMu.Unlock()
		close(out)
		return out
	}
	s.unsubscribe = r.SubscribeAll(s.push)
	if r.streams == nil {
		r.streams = make(map[*eventStream]struct{})
	}
	r.streams[s] = struct{}{}
	r.streamsMu.Unlock()

	go func() {
		defer close(out)
		defer func() {
			r.streamsMu.Lock()
			delete(r.streams, s)
			r.streamsMu.Unlock()
			s.unsubscribe()
		}()
		for {
			ev, ok, ended := s.pop()
			if ended {
				return
			}
			if !ok {
				select {
				case <-s.wake:
				case <-ctx.Done():
					return
				}
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// eventStream is the queue between a subscription of Events and the
// goroutine that feeds its channel.
type eventStream struct {
	unsubscribe func()
	// wake has room for one signal: something was pushed, or the stream ended.
	wake chan struct{}

	mu     sync.Mutex
	queue  []Event
	head   int
	closed bool // no more pushes: the runtime has shut down
}

func (s *eventStream) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
}

// end marks the stream ended: pop reports it once the queue is empty.
func (s *eventStream) end() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *eventStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued event; ok is false when there is none, ended
// true when there is none and none will come.
func (s *eventStream) pop() (ev Event, ok, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
		return nil, false, s.closed
	}
	ev = s.queue[s.head]
	s.queue[s.head] = nil
	s.head++
	return ev, true, false
}

// closeStreams ends every stream made by Events once the runtime has shut
// down: each gets the events its subscription had queued, then its channel
// closes when they have been received. Later calls of Events return a
// closed channel.
func (r *Runtime) closeStreams() {
	r.streamsMu.Lock()
	r.streamsClosed = true
	streams := make([]*eventStream, 0, len(r.streams))
	for s := range r.streams {
		streams = append(streams, s)
	}
	r.streamsMu.Unlock()
	for _, s := range streams {
		s.unsubscribe() // returns once the queued events have been pushed
		s.end()
	}
}

// taskEventsOnly adapts a TaskEvent handler to every Event.
func taskEventsOnly(handler func(TaskEvent)) func(Event) {
	return func(e Event) {
		if ev, ok := e.(TaskEvent); ok {
			handler(ev)
		}
	}
}

// subscribeAllEvents runs the handler on an actor of its own, on d, or on
// protoactor's default dispatcher when d is nil. With a runtime name, only
// that runtime's events reach the handler.
func subscribeAllEvents(system *actor.ActorSystem, d *pooledDispatcher, runtime string, handler func(Event)) (unsubscribe func()) {
	fwd := system.Root.Spawn(onDispatcher(actor.PropsFromFunc(func(ctx actor.Context) {
		if ev, ok := ctx.Message().(Event); ok {
			handler(ev)
		}
	}), d))
	stop := forwardEvents(system, runtime, fwd)
	var once sync.Once
	return func() {
		once.Do(func() {
			stop()
			_ = system.Root.PoisonFuture(fwd).Wait()
		})
	}
}
