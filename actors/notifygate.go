package actors

import (
	"sync"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// progressWindow is the shortest interval between two progress-only
// datagrams that reach a task's actor, and so between two progress events of
// a task: the latest progress and status win, the steps in between are not
// published. A terminal redraws at about that rate anyway.
const progressWindow = 30 * time.Millisecond

// notifyGate stands between one process generation's notify listener and
// its task actor. Every datagram that means more than progress (READY=1,
// WATCHDOG=, EXTEND_TIMEOUT_USEC=, STOPPING=1, ERRNO=, MAINPID=, BARRIER=1)
// goes through at once, in order, as does the first progress after a quiet
// window; progress-only datagrams (STATUS= and X_PROGRESS=) that follow
// within progressWindow are merged into one, which the runtime's flusher
// delivers at the end of the window, or the exit of the process sooner.
//
// At 10,000 datagrams a second this is what keeps the runtime's cost per
// datagram down to a read: every datagram that reached the actor also woke
// its mailbox, its supervisors' and every subscriber's, and each wake-up of a
// sleeping thread costs more than the datagram's work.
type notifyGate struct {
	flusher *notifyFlusher
	// send delivers a message to the task actor. It is called with mu
	// held, so that a flush and a datagram going through cannot overtake
	// each other on their way to the mailbox.
	send func(notify.Message)
	// sendDrops tells the task actor that datagrams were dropped, so that
	// it publishes the new count. Also called with mu held.
	sendDrops func()

	mu        sync.Mutex
	last      time.Time // when a progress datagram last went through
	pending   notify.Message
	held      bool      // pending holds merged progress not yet delivered
	lastDrops time.Time // when drops were last told
	dropsHeld bool      // drops not yet told
}

// newNotifyGate returns a gate for one process generation; a nil flusher
// lets every datagram through at once.
func newNotifyGate(f *notifyFlusher, send func(notify.Message), sendDrops func()) *notifyGate {
	return &notifyGate{flusher: f, send: send, sendDrops: sendDrops}
}

// dropped is the listener's OnNotifyDrop: datagrams were dropped. The actor
// is told as of progress, at most once per window, so that a flood of
// malformed datagrams costs it no more than a flood of progress.
func (g *notifyGate) dropped() {
	if g.flusher == nil {
		g.sendDrops()
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropsHeld {
		return
	}
	now := time.Now()
	if now.Sub(g.lastDrops) < g.flusher.interval() {
		g.dropsHeld = true
		g.flusher.add(g)
		return
	}
	g.lastDrops = now
	g.sendDrops()
}

// progressOnly reports whether m carries nothing but STATUS= and X_PROGRESS=.
func progressOnly(m notify.Message) bool {
	return (m.HasStatus || m.Progress != nil) &&
		!m.Ready && !m.Stopping && !m.Watchdog && !m.WatchdogTrigger && !m.Barrier &&
		m.ExtendTimeout == 0 && !m.HasErrno && m.MainPID == 0
}

// handle is the listener's handler: it runs on the listener's goroutine.
func (g *notifyGate) handle(m notify.Message) {
	if g.flusher == nil {
		g.send(m)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !progressOnly(m) {
		g.deliverHeld()
		g.send(m)
		return
	}
	now := time.Now()
	if g.held {
		mergeProgress(&g.pending, m)
		return
	}
	if now.Sub(g.last) < g.flusher.interval() {
		g.pending, g.held = m, true
		g.flusher.add(g)
		return
	}
	g.last = now
	g.send(m)
}

// flush delivers held progress, and held news of drops, now: at the end of
// the window, and before the process's exit is reported, so that its last
// progress comes first.
func (g *notifyGate) flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.deliverHeld()
		g.last = time.Now()
	}
	if g.dropsHeld {
		g.dropsHeld = false
		g.lastDrops = time.Now()
		g.sendDrops()
	}
}

// deliverHeld sends the held progress, if any. mu is held.
func (g *notifyGate) deliverHeld() {
	if g.held {
		g.send(g.pending)
		g.pending, g.held = notify.Message{}, false
	}
}

// mergeProgress folds the later progress-only datagram m into p: the latest
// status and the latest progress win.
func mergeProgress(p *notify.Message, m notify.Message) {
	if m.HasStatus {
		p.Status, p.HasStatus = m.Status, true
	}
	if m.Progress != nil {
		p.Progress = m.Progress
	}
	p.Sender = m.Sender
}

// notifyFlusher delivers the held progress of every gate once a window, in
// one wake-up for all the tasks rather than a timer each.
type notifyFlusher struct {
	window time.Duration // 0: progressWindow; tests set their own

	mu    sync.Mutex
	gates []*notifyGate
	spare []*notifyGate
	armed bool
}

// add schedules g's held progress for the next flush. g.mu is held (the
// lock order is gate, then flusher).
func (f *notifyFlusher) add(g *notifyGate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gates = append(f.gates, g)
	if !f.armed {
		f.armed = true
		time.AfterFunc(f.interval(), f.run)
	}
}

func (f *notifyFlusher) interval() time.Duration {
	if f.window > 0 {
		return f.window
	}
	return progressWindow
}

func (f *notifyFlusher) run() {
	f.mu.Lock()
	gates := f.gates
	f.gates, f.spare = f.spare[:0], nil
	f.armed = false
	f.mu.Unlock()
	for i, g := range gates {
		g.flush()
		gates[i] = nil
	}
	f.mu.Lock()
	if f.spare == nil {
		f.spare = gates[:0]
	}
	f.mu.Unlock()
}
