package actors_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// wait is the generous bound of every expectation: the machines are shared
// and noisy, and a passing test never waits for it.
const wait = 15 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a runtime in a quiet actor system with a probe subscribed to
// its task events. Cleanup shuts the runtime down and checks that no child
// process of the test survived it.
type harness struct {
	t  *testing.T
	rt *actors.Runtime
	p  *probe.Probe
}

func newHarness(t *testing.T, catalogue actors.Catalogue) *harness {
	t.Helper()
	return newHarnessWith(t, probe.NewSystem(t), actors.Config{Catalogue: catalogue})
}

// newHarnessWith is newHarness for a config of the test's own (groups, a
// manual clock) in system; the probe also gets the group events.
func newHarnessWith(t *testing.T, system *actor.ActorSystem, cfg actors.Config) *harness {
	t.Helper()
	p := probe.New(t, system)
	name := cfg.Name
	if name == "" {
		name = actors.DefaultName
	}
	// Only this runtime's: a test may run two in one system.
	p.SubscribeEvents(func(e any) bool {
		switch ev := e.(type) {
		case actors.TaskEvent:
			return ev.Runtime == name
		case actors.GroupEvent:
			return ev.Runtime == name
		}
		return false
	})
	cfg.System, cfg.Subreaper = system, true
	rt, err := actors.New(cfg)
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	h := &harness{t: t, rt: rt, p: p}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := rt.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if left := childProcesses(); len(left) > 0 {
			t.Errorf("processes left after shutdown: %v", left)
			for _, pid := range left {
				_ = killPid(pid)
			}
		}
	})
	return h
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	h.t.Cleanup(cancel)
	return ctx
}

// startSpec starts a task and fails the test when the start is refused.
func (h *harness) startSpec(spec actors.TaskSpec) int {
	h.t.Helper()
	id, err := h.rt.StartSpec(h.ctx(), spec)
	if err != nil {
		h.t.Fatalf("start %s: %v", spec.Name, err)
	}
	return id
}

// expect waits for an event of task id in the given state.
func (h *harness) expect(id int, state actors.State) actors.TaskEvent {
	h.t.Helper()
	return probe.ExpectEvent(h.p, func(e actors.TaskEvent) bool { return e.ID == id && e.State == state }, wait)
}

// expectWhere waits for an event of task id that matches.
func (h *harness) expectWhere(id int, match func(actors.TaskEvent) bool) actors.TaskEvent {
	h.t.Helper()
	return probe.ExpectEvent(h.p, func(e actors.TaskEvent) bool { return e.ID == id && match(e) }, wait)
}

// waitOutput waits until task id has printed a line equal to text: a
// script's way to say that its traps are set.
// firstLine waits for task id's first line of output and returns it.
func (h *harness) firstLine(id int) string {
	h.t.Helper()
	var line string
	eventually(h.t, "the task's first line of output", func() bool {
		lines, _ := h.rt.Output(h.ctx(), id)
		if len(lines) > 0 {
			line = lines[0].Text
		}
		return line != ""
	})
	return line
}

func (h *harness) waitOutput(id int, text string) {
	h.t.Helper()
	actors.WaitOutput(h.t, h.rt, id, text)
}

// stubbornScript ignores SIGTERM, says so, and runs until SIGKILL.
const stubbornScript = "trap '' TERM; echo ready; while :; do sleep 1; done"

func shell(name, script string) actors.TaskSpec {
	return actors.TaskSpec{Name: name, Command: script}
}

// childProcesses lists the test process's children, zombies included.
func childProcesses() []int { return proctest.Children(os.Getpid()) }

// groupMembers lists the processes of process group pgid, zombies included.
func groupMembers(pgid int) []int { return proctest.GroupMembers(pgid) }

// eventually polls cond until it holds or wait runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

// exists reports whether pid is still in /proc, as a zombie or not.
func exists(pid int) bool {
	_, ok := proctest.ReadStat(pid)
	return ok
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// haveSystemdNotify skips the test, or fails it in CI, when the real
// sd_notify client is not installed (proctest.NeedSystemdNotify).
func haveSystemdNotify(t *testing.T) {
	t.Helper()
	proctest.NeedSystemdNotify(t)
}

func writeFile(path string) error  { return os.WriteFile(path, nil, 0o600) }
func removeFile(path string) error { return os.Remove(path) }
