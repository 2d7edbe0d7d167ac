package probe

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// maxListed bounds how many messages a failure report lists.
const maxListed = 10

// ExpectMsg waits up to timeout for the next message, which must be a T,
// and returns it. It fails the test if no message arrives in time, or if
// the next message is not a T (reporting its type and value).
func ExpectMsg[T any](p *Probe, timeout time.Duration) T {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	r, ok := p.next(timer.C)
	if !ok {
		p.t.Fatalf("probe: ExpectMsg[%s]: no message within %v", typeName[T](), timeout)
		var zero T
		return zero
	}
	m, ok := r.msg.(T)
	if !ok {
		p.t.Fatalf("probe: ExpectMsg[%s]: got %s instead", typeName[T](), describe(r))
		return m
	}
	p.setLastSender(r.sender)
	return m
}

// FishFor takes messages until match returns true for one, and returns it;
// the messages before it are skipped (and dropped). It fails the test if
// no message matches within timeout, listing the skipped ones.
func (p *Probe) FishFor(match func(msg any) bool, timeout time.Duration) any {
	p.t.Helper()
	return p.fish("FishFor", match, timeout)
}

// FishForMsg is the typed FishFor: it skips messages until a T for which
// match returns true (a nil match accepts any T), and returns it.
func FishForMsg[T any](p *Probe, match func(T) bool, timeout time.Duration) T {
	p.t.Helper()
	return fishTyped(p, "FishForMsg["+typeName[T]()+"]", match, timeout)
}

// ExpectNoMsg waits for d and fails the test if any message is buffered or
// arrives meanwhile. It always takes d when it passes: keep d short.
func (p *Probe) ExpectNoMsg(d time.Duration) {
	p.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	if r, ok := p.next(timer.C); ok {
		p.t.Fatalf("probe: ExpectNoMsg(%v): got %s", d, describe(r))
	}
}

// ExpectTerminated waits up to timeout for the *actor.Terminated of pid
// (the probe must Watch it). It looks among the buffered messages and those
// that arrive, and takes only the Terminated: the other messages stay
// buffered, in order, for later expectations. This is because protoactor
// delivers system messages ahead of queued user messages, so Terminated can
// overtake the last messages the dead actor sent.
func (p *Probe) ExpectTerminated(pid *actor.PID, timeout time.Duration) *actor.Terminated {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for i := 0; ; i++ {
		if !p.await(i, timer.C) {
			p.t.Fatalf("probe: ExpectTerminated(%s): no Terminated within %v; buffered: %s",
				pidString(pid), timeout, p.listBuffered())
			return nil
		}
		p.mu.Lock()
		term, ok := p.queue[i].msg.(*actor.Terminated)
		if ok && samePID(term.Who, pid) {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			p.mu.Unlock()
			return term
		}
		p.mu.Unlock()
	}
}

// fish is FishFor with the name of the calling expectation for reports.
func (p *Probe) fish(name string, match func(msg any) bool, timeout time.Duration) any {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var skipped []string
	for {
		r, ok := p.next(timer.C)
		if !ok {
			p.t.Fatalf("probe: %s: no matching message within %v; skipped %s",
				name, timeout, list(skipped))
			return nil
		}
		if match(r.msg) {
			p.setLastSender(r.sender)
			return r.msg
		}
		skipped = append(skipped, describe(r))
	}
}

func fishTyped[T any](p *Probe, name string, match func(T) bool, timeout time.Duration) T {
	p.t.Helper()
	m := p.fish(name, func(msg any) bool {
		t, ok := msg.(T)
		return ok && (match == nil || match(t))
	}, timeout)
	t, _ := m.(T) // m is nil only after a failure
	return t
}

// await blocks until the buffer holds more than n messages, or done fires;
// it reports whether the buffer does.
func (p *Probe) await(n int, done <-chan time.Time) bool {
	for {
		p.mu.Lock()
		if len(p.queue) > n {
			p.mu.Unlock()
			return true
		}
		arrived := p.arrived
		p.mu.Unlock()
		select {
		case <-arrived:
		case <-done:
			p.mu.Lock()
			defer p.mu.Unlock()
			return len(p.queue) > n
		}
	}
}

// next takes the oldest buffered message, waiting for one until done fires.
func (p *Probe) next(done <-chan time.Time) (received, bool) {
	if !p.await(0, done) {
		return received{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.queue[0]
	p.queue[0] = received{}
	p.queue = p.queue[1:]
	return r, true
}

func (p *Probe) setLastSender(pid *actor.PID) {
	p.mu.Lock()
	p.lastSender = pid
	p.mu.Unlock()
}

func (p *Probe) listBuffered() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := make([]string, len(p.queue))
	for i, r := range p.queue {
		all[i] = describe(r)
	}
	return list(all)
}

// list renders at most maxListed descriptions, one a line, with a count.
func list(descriptions []string) string {
	if len(descriptions) == 0 {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", len(descriptions))
	for i, d := range descriptions {
		if i == maxListed {
			fmt.Fprintf(&b, "\n\t... and %d more", len(descriptions)-maxListed)
			break
		}
		fmt.Fprintf(&b, "\n\t%d. %s", i+1, d)
	}
	return b.String()
}

// typeName names T even when T is an interface type.
func typeName[T any]() string {
	return reflect.TypeFor[T]().String()
}
