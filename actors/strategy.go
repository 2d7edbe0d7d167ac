package actors

import (
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// What a supervisor does when a child fails: its restart limit, then its
// strategy (one-for-one, one-for-all, rest-for-one), or failing to its own
// parent over the limit; at the top level, giving the group up.

// childFailed applies the restart limit and the strategy to a failed child.
func (s *supervision) childFailed(ctx actor.Context, c *child, delay time.Duration, reason string, escalate bool) {
	if s.shuttingDown() {
		if !c.isGroup() {
			ctx.Send(c.pid, stopForShutdown{})
		}
		return
	}
	if s.state == GroupFailed || s.state == GroupGaveUp {
		return // the group is on its way out; its children follow
	}
	if s.top {
		if c.isGroup() {
			s.giveUpGroup(ctx, c, reason)
			return
		}
		// The runtime never fails; a task that hit its own limit gave up by
		// itself, so here the answer is always one-for-one.
		ctx.Send(c.pid, backoffGo{gen: c.last.Generation})
		return
	}
	now := s.env.clock.Now()
	if !s.limit.allow(now, s.spec.maxRestarts(), s.spec.restartWindow()) {
		s.fail(ctx, fmt.Sprintf("restart limit of %d within %s reached; last: %s",
			s.spec.maxRestarts(), s.spec.restartWindow(), reason))
		return
	}
	strategy := s.spec.strategy()
	if strategy == OneForOne && !escalate && !c.isGroup() {
		ctx.Send(c.pid, backoffGo{gen: c.last.Generation})
		return
	}
	restart := func(ctx actor.Context) { s.strategyRestart(ctx, c, delay, reason) }
	if s.current != nil {
		s.queued = append(s.queued, restart)
		return
	}
	restart(ctx)
}

// strategyRestart stops the children the strategy names (in reverse order),
// waits for the failed child's delay, and starts them again (in order).
func (s *supervision) strategyRestart(ctx actor.Context, failed *child, delay time.Duration, reason string) {
	strategy := s.spec.strategy()
	var affected []*child
	after := false
	for _, c := range s.children {
		switch {
		case c == failed:
			after = true
			affected = append(affected, c)
		case strategy == OneForAll && c.live(), strategy == RestForOne && after && c.live():
			affected = append(affected, c)
		}
	}
	failed.held = true // it has stopped already
	s.restarts++
	why := fmt.Sprintf("%s restart in group %s after %s", strategy, s.spec.Name, reason)
	ids := taskIDs(affected)
	steps := stopInReverse(affected, stepStop, func(c *child) bool { return c != failed })
	if delay > 0 {
		steps = append(steps, planStep{kind: stepDelay, delay: delay})
	}
	for _, c := range affected {
		steps = append(steps, planStep{kind: stepStart, c: c})
	}
	s.state = GroupRestarting
	s.publish(ctx, GroupRestarting, ids, fmt.Sprintf("Restarting %s (%s, restart %d)", describe(affected), strategy, s.restarts), why)
	s.startPlan(ctx, steps, why, func(ctx actor.Context) {
		s.state = GroupRunning
		s.publish(ctx, GroupRunning, ids, fmt.Sprintf("Restarted %s", describe(affected)), why)
	})
}

func describe(cs []*child) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.key())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return joinAnd(parts)
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 1:
		return parts[0]
	case 2:
		return parts[0] + " and " + parts[1]
	}
	out := ""
	for i, p := range parts {
		switch {
		case i == len(parts)-1:
			out += ", and " + p
		case i > 0:
			out += ", " + p
		default:
			out = p
		}
	}
	return out
}

// fail stops every child in reverse order and fails the group to its parent.
func (s *supervision) fail(ctx actor.Context, reason string) {
	s.state = GroupFailed
	s.queued = nil
	ids := taskIDs(slices.DeleteFunc(slices.Clone(s.children), func(c *child) bool { return !c.live() }))
	steps := stopInReverse(s.children, stepStop, (*child).live)
	s.publish(ctx, GroupFailed, ids, "Group failed: "+reason, reason)
	s.startPlan(ctx, steps, reason, func(ctx actor.Context) {
		ctx.Send(ctx.Parent(), groupFailed{name: s.spec.Name, reason: fmt.Sprintf("group %s failed: %s", s.spec.Name, reason)})
	})
}

// giveUpGroup is the top's answer to a failed group: it restarts nothing more.
func (s *supervision) giveUpGroup(ctx actor.Context, c *child, reason string) {
	ctx.Send(c.pid, giveUp{reason: reason})
}

// groupGiveUp ends this group and everything in it for good.
func (s *supervision) groupGiveUp(ctx actor.Context, reason string) {
	s.state = GroupGaveUp
	s.current, s.queued = nil, nil
	var ids []int
	for _, c := range s.children {
		ctx.Send(c.pid, giveUp{reason: reason})
		if c.id != 0 {
			ids = append(ids, c.id)
		}
	}
	s.publish(ctx, GroupGaveUp, ids, "Group gave up: "+reason, reason)
}
