package actors

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxThroughput is how many messages a mailbox run handles before it
// yields the goroutine: protoactor's default.
const mailboxThroughput = 300

// pooledDispatcher runs actors' mailboxes on a few long-lived goroutines
// instead of protoactor's default of a new goroutine for every mailbox run.
// A fresh goroutine starts on a small stack and grows it (runtime.newstack)
// on nearly every run of a task actor; a pooled one has grown it once. At
// 10,000 notify datagrams a second that was a fifth of the runtime's CPU.
//
// Schedule hands the run to an idle worker, and starts a goroutine as
// protoactor does when none is idle, so a run never waits for another to end
// (a Receive that blocks cannot starve the others, and nothing can deadlock).
// After stop the workers end and every run gets a goroutine of its own: an
// actor that outlives the runtime (a subscriber unsubscribed late) still
// runs.
type pooledDispatcher struct {
	work chan func() // unbuffered: a send succeeds only if a worker is idle
	quit chan struct{}
	once sync.Once
}

var _ actor.Dispatcher = (*pooledDispatcher)(nil)

// newPooledDispatcher starts workers goroutines; stop ends them.
func newPooledDispatcher(workers int) *pooledDispatcher {
	d := &pooledDispatcher{work: make(chan func()), quit: make(chan struct{})}
	for range workers {
		go d.worker()
	}
	return d
}

// defaultPoolWorkers: one per processor, and two more so that a run that
// waits briefly (a Flush, a fork) does not send the others to fresh goroutines.
func defaultPoolWorkers() int { return runtime.GOMAXPROCS(0) + 2 }

func (d *pooledDispatcher) worker() {
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.quit:
			return
		}
	}
}

// Schedule implements actor.Dispatcher.
func (d *pooledDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput implements actor.Dispatcher.
func (d *pooledDispatcher) Throughput() int { return mailboxThroughput }

// stop ends the workers: idle ones at once, a busy one when its run is over.
// It does not wait, so that it may be called from a mailbox run.
func (d *pooledDispatcher) stop() { d.once.Do(func() { close(d.quit) }) }

// props are the props of one of the runtime's actors: on its dispatcher.
func (e *runtimeEnv) props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	if e.dispatcher != nil {
		opts = append(opts, actor.WithDispatcher(e.dispatcher))
	}
	return actor.PropsFromProducer(producer, opts...)
}

// onDispatcher puts props on d; a nil d leaves them on protoactor's default.
func onDispatcher(props *actor.Props, d *pooledDispatcher) *actor.Props {
	if d == nil {
		return props
	}
	return props.Configure(actor.WithDispatcher(d))
}
