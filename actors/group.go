package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// groupActor supervises one group: the tasks that name it and the groups
// below it. It restarts by its strategy within its restart limit; over the
// limit it stops its children in reverse order and fails to its parent,
// which restarts it by its own strategy, or, at the top, gives it up.
type groupActor struct {
	supervision
}

func newGroupActor(env *runtimeEnv, spec GroupSpec, depth int) *groupActor {
	g := &groupActor{supervision: newSupervision(env, spec, false)}
	g.depth = depth
	return g
}

// Receive implements actor.Actor.
func (g *groupActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		g.spawnGroups(ctx)
	case groupStop:
		g.stopAll(ctx, m)
	case groupStart:
		g.startAll(ctx, m)
	case giveUp:
		g.groupGiveUp(ctx, m.reason)
	case *actor.Stopping:
		g.stopping = true
	case shutdownGroup:
		g.shutdownGroup(ctx, m)
	default:
		g.receive(ctx, m)
	}
}

// shutdownGroup stops the group's children for the runtime's shutdown and
// tells its parent once they have all ended.
func (g *groupActor) shutdownGroup(ctx actor.Context, m shutdownGroup) {
	parent := ctx.Parent()
	g.shutdown(ctx, m.kill, func(ctx actor.Context) {
		ctx.Send(parent, groupStopped{name: g.spec.Name})
	})
}

// HandleFailure implements actor.SupervisorStrategy for the group's children.
func (g *groupActor) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	g.handleFailure(supervisor, child, reason)
}

// stopAll stops every live child in reverse order for a restart of this
// group by its parent, then answers groupStopped.
func (g *groupActor) stopAll(ctx actor.Context, m groupStop) {
	parent, name := ctx.Parent(), g.spec.Name
	steps := stopInReverse(g.children, stepStop, (*child).live)
	g.queued = nil
	g.startPlan(ctx, steps, m.reason, func(ctx actor.Context) {
		ctx.Send(parent, groupStopped{name: name, tok: m.tok})
	})
}

// startAll starts the children it stopped, in order, as a new group: its
// restart limit starts afresh. It answers groupStarted.
func (g *groupActor) startAll(ctx actor.Context, m groupStart) {
	parent, name := ctx.Parent(), g.spec.Name
	g.limit = restartLimit{}
	g.state = GroupRunning
	var steps []planStep
	for _, c := range g.children {
		steps = append(steps, planStep{kind: stepStart, c: c})
	}
	g.startPlan(ctx, steps, m.reason, func(ctx actor.Context) {
		g.publish(ctx, GroupRunning, nil, "Group restarted", m.reason)
		ctx.Send(parent, groupStarted{name: name, tok: m.tok})
	})
}

// Stopping the actor: its task actors stop with it (protoactor stops
// children first), and each task actor kills its own process group.
var _ actor.SupervisorStrategy = (*groupActor)(nil)
