package probe

import (
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Clock is a manual clock for the runtime's timing rules (it satisfies
// actors.Clock): time stands still until Advance moves it, and the timed
// messages that fall due are sent then, in the order of their due times.
// Tests of backoff, restart windows and the watchdog run in microseconds with
// it and never depend on the machine's speed.
type Clock struct {
	system *actor.ActorSystem
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	seq    int
	timers []*timer
}

type timer struct {
	due time.Time
	seq int
	pid *actor.PID
	msg any
}

// NewClock returns a manual clock that sends its timed messages through
// system, starting at a fixed, arbitrary time.
func NewClock(system *actor.ActorSystem) *Clock {
	c := &Clock{system: system, now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// SendOnce sends msg to pid once the clock has been advanced by d; cancel
// removes the timer if it has not fired.
func (c *Clock) SendOnce(d time.Duration, pid *actor.PID, msg any) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{due: c.now.Add(d), seq: c.seq, pid: pid, msg: msg}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.timers = slices.DeleteFunc(c.timers, func(x *timer) bool { return x == t })
	}
}

// Advance moves the clock by d and sends every message due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*timer
	c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool {
		if !t.due.After(c.now) {
			due = append(due, t)
			return true
		}
		return false
	})
	c.mu.Unlock()
	slices.SortFunc(due, func(a, b *timer) int {
		if a.due.Equal(b.due) {
			return a.seq - b.seq
		}
		return a.due.Compare(b.due)
	})
	for _, t := range due {
		c.system.Root.Send(t.pid, t.msg)
	}
}

// Pending returns how many timed messages wait to fall due.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns how long until the earliest pending timer is due, and false
// when none is pending.
func (c *Clock) Next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	first := c.timers[0].due
	for _, t := range c.timers[1:] {
		if t.due.Before(first) {
			first = t.due
		}
	}
	return first.Sub(c.now), true
}

// WaitFor blocks until a timed message is pending that falls due within d
// from now, or until timeout (real time) passes; it reports whether one is.
// Tests call it before Advance, so that a timer armed by an actor that has
// not run yet is not skipped over.
func (c *Clock) WaitFor(d, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		limit := c.now.Add(d)
		for _, t := range c.timers {
			if !t.due.After(limit) {
				return true
			}
		}
		if !time.Now().Before(deadline) {
			return false
		}
		c.cond.Wait()
	}
}
