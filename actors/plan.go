package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A supervisor changes its children by plans: stops in reverse order, an
// optional delay, then starts in order, one step at a time, each waiting for
// the child's answer. Restarts by a strategy, a group's failure and the
// shutdown are plans.

// planStep is one step of a restart plan.
type planStep struct {
	kind  stepKind
	c     *child
	delay time.Duration
}

type stepKind uint8

const (
	stepStop stepKind = iota
	stepStart
	stepDelay
	stepShutdown
)

// plan is a sequence of stops (in reverse order), an optional delay and
// starts (in order) that a supervisor runs one step at a time.
type plan struct {
	tok    int
	steps  []planStep
	reason string
	wait   *child // the child whose answer the current step awaits
	done   func(ctx actor.Context)
}

// startPlan runs steps, then done; a plan already running is replaced (its
// late answers find a new token).
func (s *supervision) startPlan(ctx actor.Context, steps []planStep, reason string, done func(actor.Context)) {
	s.planTok++
	s.current = &plan{tok: s.planTok, steps: steps, reason: reason, done: done}
	s.runPlan(ctx)
}

// runPlan starts the current step, skipping those with nothing to do.
func (s *supervision) runPlan(ctx actor.Context) {
	for s.current != nil {
		p := s.current
		if len(p.steps) == 0 {
			s.current = nil
			p.done(ctx)
			s.nextQueued(ctx)
			return
		}
		st := p.steps[0]
		switch st.kind {
		case stepDelay:
			s.env.clock.SendOnce(st.delay, ctx.Self(), planTimer{tok: p.tok})
			return
		case stepStop:
			if !st.c.isGroup() && !st.c.live() {
				p.steps = p.steps[1:]
				continue
			}
			st.c.held = true
			p.wait = st.c
			ctx.Send(st.c.pid, groupStop{tok: p.tok, reason: p.reason})
			return
		case stepStart:
			if !st.c.held || (!st.c.isGroup() && st.c.gone) {
				p.steps = p.steps[1:]
				continue
			}
			st.c.held = false
			p.wait = st.c
			ctx.Send(st.c.pid, groupStart{tok: p.tok, reason: p.reason})
			return
		case stepShutdown:
			if !st.c.isGroup() && (st.c.gone || st.c.last.State.Ended()) {
				p.steps = p.steps[1:]
				continue
			}
			p.wait = st.c
			if st.c.isGroup() {
				ctx.Send(st.c.pid, shutdownGroup{})
			} else {
				ctx.Send(st.c.pid, stopForShutdown{})
			}
			return
		}
	}
}

// answered moves the plan on when the child it waits for answers.
func (s *supervision) answered(ctx actor.Context, id int, name string, tok int) {
	p := s.current
	if p == nil || tok != p.tok || p.wait == nil || p.wait.id != id || p.wait.name != name {
		return
	}
	p.wait = nil
	p.steps = p.steps[1:]
	s.runPlan(ctx)
}

// stepDone moves a shutdown step on when its task has ended, and a stop or
// start step on when its task actor is gone.
func (s *supervision) stepDone(ctx actor.Context, c *child, ev TaskEvent) {
	p := s.current
	if p == nil || p.wait != c || len(p.steps) == 0 {
		return
	}
	kind := p.steps[0].kind
	if (kind == stepShutdown && ev.State.Ended()) || c.gone {
		p.wait = nil
		p.steps = p.steps[1:]
		s.runPlan(ctx)
	}
}

func (s *supervision) nextQueued(ctx actor.Context) {
	if len(s.queued) == 0 || s.current != nil {
		return
	}
	next := s.queued[0]
	s.queued = s.queued[1:]
	next(ctx)
}

// shutdown stops the children: at once with kill, else in reverse order, one
// after the other; done runs when all have ended.
func (s *supervision) shutdown(ctx actor.Context, kill bool, done func(actor.Context)) {
	first := !s.shutting
	s.shutting = true
	s.queued = nil
	if kill {
		for _, c := range s.children {
			if c.isGroup() {
				ctx.Send(c.pid, shutdownGroup{kill: true})
			} else if !c.gone {
				ctx.Send(c.pid, stopForShutdown{kill: true})
			}
		}
		if !first {
			return // the plan under way finishes as the tasks end
		}
	} else if !first {
		return
	}
	s.startPlan(ctx, stopInReverse(s.children, stepShutdown, nil), "taskvisor is shutting down", done)
}

// stopInReverse returns the steps of kind (a stop or a shutdown) for the
// children cs that keep accepts (nil: all), in reverse order: the last
// started is stopped first, as OTP's supervisors do.
func stopInReverse(cs []*child, kind stepKind, keep func(*child) bool) []planStep {
	var steps []planStep
	for _, c := range slices.Backward(cs) {
		if keep == nil || keep(c) {
			steps = append(steps, planStep{kind: kind, c: c})
		}
	}
	return steps
}

// taskIDs returns the ids of the tasks among cs, sorted.
func taskIDs(cs []*child) []int {
	var ids []int
	for _, c := range cs {
		if c.id != 0 {
			ids = append(ids, c.id)
		}
	}
	slices.Sort(ids)
	return ids
}
