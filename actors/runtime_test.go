package actors_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/actors/probe"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// A task that exits on SIGTERM, cancelled while running, ends cancelled.
func TestCancelRunningTaskEndsCancelled(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("sleeper", "exec sleep 60"))
	run := h.expect(id, actors.StateRunning)
	if run.PID <= 0 {
		t.Fatalf("running event without a pid: %+v", run)
	}
	if err := h.rt.Cancel(h.ctx(), id); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	stopping := h.expect(id, actors.StateStopping)
	if stopping.Deadline.IsZero() || !strings.Contains(stopping.Message, "SIGTERM sent") {
		t.Errorf("stopping event should name SIGTERM and carry the SIGKILL deadline: %+v", stopping)
	}
	end := h.expect(id, actors.StateCancelled)
	if end.Signal != syscall.SIGTERM || end.ExitCode != -1 {
		t.Errorf("cancelled task should have ended by SIGTERM: signal %v exit code %d", end.Signal, end.ExitCode)
	}
	if exists(run.PID) {
		t.Errorf("pid %d still exists after the cancelled event", run.PID)
	}
}

// A task that ignores SIGTERM and hangs is killed at once by Kill.
func TestKillIgnoringTaskEndsKilledPromptly(t *testing.T) {
	h := newHarness(t, nil)
	spec := shell("stubborn", stubbornScript)
	spec.StopGrace = time.Hour // Kill must not wait for any grace
	id := h.startSpec(spec)
	run := h.expect(id, actors.StateRunning)
	h.waitOutput(id, "ready")
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatalf("kill: %v", err)
	}
	end := h.expect(id, actors.StateKilled)
	if end.Signal != syscall.SIGKILL || end.Message != "Task forcefully killed" {
		t.Errorf("killed event: signal %v message %q", end.Signal, end.Message)
	}
	eventually(t, "the process group to be empty", func() bool { return len(groupMembers(run.PID)) == 0 })
}

// Cancel of a task that ignores SIGTERM escalates to SIGKILL after its grace.
func TestCancelEscalatesToSIGKILLAfterGrace(t *testing.T) {
	h := newHarness(t, nil)
	spec := shell("stubborn", stubbornScript)
	spec.StopGrace = 300 * time.Millisecond
	id := h.startSpec(spec)
	h.expect(id, actors.StateRunning)
	h.waitOutput(id, "ready")
	if err := h.rt.Cancel(h.ctx(), id); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	h.expect(id, actors.StateStopping)
	escalated := h.expectWhere(id, func(e actors.TaskEvent) bool {
		return e.State == actors.StateStopping && strings.Contains(e.Message, "SIGKILL sent")
	})
	if !escalated.Deadline.IsZero() {
		t.Errorf("after escalation no deadline is pending: %+v", escalated)
	}
	end := h.expect(id, actors.StateKilled)
	if end.Signal != syscall.SIGKILL || !strings.Contains(end.Reason, "grace") {
		t.Errorf("killed after grace: signal %v reason %q", end.Signal, end.Reason)
	}
}

// Restart gives a new process under the same id, counts it, and the old
// process is gone.
func TestRestartGivesNewPidSameID(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("sleeper", "exec sleep 60"))
	first := h.expect(id, actors.StateRunning)
	if err := h.rt.Restart(h.ctx(), id); err != nil {
		t.Fatalf("restart: %v", err)
	}
	second := h.expect(id, actors.StateRunning)
	if second.PID == first.PID || second.PID <= 0 {
		t.Errorf("restart kept pid %d (new %d)", first.PID, second.PID)
	}
	if second.Restarts != 1 || second.Generation != 2 {
		t.Errorf("restarts %d generation %d, want 1 and 2", second.Restarts, second.Generation)
	}
	if exists(first.PID) {
		t.Errorf("old pid %d still exists after restart", first.PID)
	}
}

// Kill of a task with grandchildren leaves no process of its group.
func TestKillLeavesNoProcessOfTheGroup(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("family", "sleep 60 & sleep 60 & (sleep 60; true) & echo spawned; wait"))
	run := h.expect(id, actors.StateRunning)
	eventually(t, "the grandchildren to start", func() bool { return len(groupMembers(run.PID)) >= 4 })
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatalf("kill: %v", err)
	}
	h.expect(id, actors.StateKilled)
	eventually(t, "the process group to be empty", func() bool { return len(groupMembers(run.PID)) == 0 })
}

// A task whose leader exits leaves nothing behind in its group either.
func TestNaturalExitReapsTheRestOfTheGroup(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("leaver", "sleep 60 & echo $!; exit 0"))
	run := h.expect(id, actors.StateRunning)
	end := h.expect(id, actors.StateCompleted)
	if end.ExitCode != 0 {
		t.Errorf("exit code %d", end.ExitCode)
	}
	eventually(t, "the background sleep to be gone", func() bool { return len(groupMembers(run.PID)) == 0 })
}

// A missing binary ends the task failed with the reason; the others run on.
func TestMissingBinaryFailsAndOthersKeepRunning(t *testing.T) {
	h := newHarness(t, nil)
	other := h.startSpec(shell("sleeper", "exec sleep 60"))
	h.expect(other, actors.StateRunning)
	id := h.startSpec(actors.TaskSpec{Name: "ghost", Argv: []string{"/nonexistent/taskvisor-ghost"}})
	end := h.expect(id, actors.StateFailed)
	if want := "start task 2 (ghost): fork/exec /nonexistent/taskvisor-ghost: no such file or directory"; end.Reason != want {
		t.Errorf("failed start should name the command and the cause: %q, want %q", end.Reason, want)
	}
	if want := "[Task 2] Task failed to start: fork/exec /nonexistent/taskvisor-ghost: no such file or directory"; end.String() != want {
		t.Errorf("event line %q, want %q", end.String(), want)
	}
	tasks, err := h.rt.List(h.ctx())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(tasks) != 2 || tasks[0].State != actors.StateRunning || tasks[1].State != actors.StateFailed {
		t.Errorf("list: %+v", tasks)
	}
}

// Exit codes and signals are reported as they are.
func TestExitStatusIsReported(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("fails", "echo oops >&2; exit 3"))
	end := h.expect(id, actors.StateFailed)
	if end.ExitCode != 3 || end.Signal != 0 || end.Message != "Task failed: exit code 3" {
		t.Errorf("failed event: %+v", end)
	}
	lines, err := h.rt.Output(h.ctx(), id)
	if err != nil || len(lines) != 1 || lines[0].Text != "oops" {
		t.Errorf("output: %+v, %v", lines, err)
	}
}

// Commands for unknown tasks or in the wrong state get replies saying so.
func TestCommandRepliesForUnknownAndWrongState(t *testing.T) {
	h := newHarness(t, actors.Catalogue{{Key: "1", Name: "true", Argv: []string{"true"}}})
	ctx := h.ctx()
	if err := h.rt.Cancel(ctx, 42); !errors.Is(err, actors.ErrUnknownTask) {
		t.Errorf("cancel of unknown task: %v", err)
	}
	if _, err := h.rt.Start(ctx, "nope"); !errors.Is(err, actors.ErrUnknownTemplate) || !strings.Contains(err.Error(), "1 true") {
		t.Errorf("start of unknown template: %v", err)
	}
	if _, err := h.rt.StartSpec(ctx, actors.TaskSpec{Name: "both", Command: "true", Argv: []string{"true"}}); err == nil {
		t.Errorf("a spec with command and argv was accepted")
	}
	id, err := h.rt.Start(ctx, "1")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	h.expect(id, actors.StateCompleted)
	err = h.rt.Cancel(ctx, id)
	var se *actors.StateError
	if !errors.Is(err, actors.ErrWrongState) || !errors.As(err, &se) || se.State != actors.StateCompleted {
		t.Errorf("cancel of a completed task: %v", err)
	}
	if err := h.rt.Kill(ctx, id); !errors.Is(err, actors.ErrWrongState) {
		t.Errorf("kill of a completed task: %v", err)
	}
	// A task that has ended can be started again by Restart.
	if err := h.rt.Restart(ctx, id); err != nil {
		t.Errorf("restart of a completed task: %v", err)
	}
	again := h.expect(id, actors.StateCompleted)
	if again.Restarts != 1 {
		t.Errorf("restarts %d, want 1", again.Restarts)
	}
}

// A second cancel while stopping is refused; kill still works.
func TestCancelWhileStopping(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("stubborn", stubbornScript))
	h.expect(id, actors.StateRunning)
	h.waitOutput(id, "ready")
	if err := h.rt.Cancel(h.ctx(), id); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if err := h.rt.Cancel(h.ctx(), id); !errors.Is(err, actors.ErrWrongState) || !strings.Contains(err.Error(), "already stopping") {
		t.Errorf("second cancel: %v", err)
	}
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatalf("kill while stopping: %v", err)
	}
	h.expect(id, actors.StateKilled)
}

// systemd-notify, the real client, gets its barrier answered (exit 0) and its
// status shows in the events; progress events arrive in order: the first at
// once, then the latest of every window (progress within 30 ms is merged),
// never a step backwards, and the last step before the exit.
func TestSystemdNotifyStatusAndOrderedProgress(t *testing.T) {
	haveSystemdNotify(t)
	h := newHarness(t, nil)
	id := h.startSpec(shell("notifier", `
systemd-notify --ready --status="warming up"; echo "rc=$?"
for i in 1 2 3 4 5; do systemd-notify --no-block "X_PROGRESS=$i/5" "STATUS=Processing step $i/5"; done
`))
	h.expectWhere(id, func(e actors.TaskEvent) bool { return e.Status == "warming up" })
	for prev := 0; prev < 5; {
		ev := h.expectWhere(id, func(e actors.TaskEvent) bool { return e.Steps == 5 })
		if ev.Step <= prev || (prev == 0 && ev.Step != 1) {
			t.Fatalf("progress out of order: got step %d after %d (%+v)", ev.Step, prev, ev)
		}
		if prev == 0 && ev.Message != "Processing step 1/5 (20%)" {
			t.Errorf("progress message %q", ev.Message)
		}
		prev = ev.Step
	}
	end := h.expect(id, actors.StateCompleted)
	if end.Progress != 1 || end.Status != "Processing step 5/5" {
		t.Errorf("final event: %+v", end)
	}
	lines, err := h.rt.Output(h.ctx(), id)
	if err != nil || len(lines) == 0 || lines[0].Text != "rc=0" {
		t.Errorf("systemd-notify without --no-block should return 0 once its barrier is answered: %+v %v", lines, err)
	}
}

// A datagram from a process outside the task's tree is dropped and counted.
func TestNotifyFromOutsideTheTaskIsDropped(t *testing.T) {
	haveSystemdNotify(t)
	h := newHarness(t, nil)
	dir := t.TempDir()
	// The task tells us its socket, waits for our forged datagram to be
	// sent, then reports a status of its own.
	id := h.startSpec(shell("honest", `echo "$NOTIFY_SOCKET"; while [ ! -e `+dir+`/sent ]; do sleep 0.05; done; systemd-notify --status=honest`))
	h.expect(id, actors.StateRunning)
	socket := h.firstLine(id) // its NOTIFY_SOCKET
	if err := notify.SendTo(socket, "STATUS=forged"); err != nil {
		t.Fatalf("send forged datagram: %v", err)
	}
	if err := os.WriteFile(dir+"/sent", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ev := h.expectWhere(id, func(e actors.TaskEvent) bool { return e.Status != "" })
	if ev.Status != "honest" {
		t.Fatalf("a forged status got through: %+v", ev)
	}
	if ev.NotifyDropped != 1 {
		t.Errorf("NotifyDropped = %d, want 1", ev.NotifyDropped)
	}
	h.expect(id, actors.StateCompleted)
}

// A drop is published at once, in an event of its own that keeps the
// task's message: a task that sends nothing else still shows its count.
// Before, the count waited for the task's next event.
func TestNotifyDropIsPublishedAtOnce(t *testing.T) {
	if !notify.Supported {
		t.Skip("sd_notify sockets are Linux only")
	}
	h := newHarness(t, nil)
	id := h.startSpec(shell("quiet", `echo "$NOTIFY_SOCKET"; exec sleep 100`))
	started := h.expect(id, actors.StateRunning)
	socket := h.firstLine(id) // its NOTIFY_SOCKET
	if err := notify.SendTo(socket, "STATUS=forged"); err != nil {
		t.Fatalf("send forged datagram: %v", err)
	}
	ev := h.expectWhere(id, func(e actors.TaskEvent) bool { return e.NotifyDropped > 0 })
	if ev.NotifyDropped != 1 || ev.State != actors.StateRunning || ev.Message != started.Message || ev.Status != "" {
		t.Errorf("event %+v; want NotifyDropped 1, still running with message %q", ev, started.Message)
	}
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StateKilled)
}

// Shutdown stops every task with escalation and reports how each ended.
func TestShutdownStopsEverything(t *testing.T) {
	h := newHarness(t, nil)
	polite := h.startSpec(shell("polite", "exec sleep 60"))
	h.expect(polite, actors.StateRunning)
	stubborn := shell("stubborn", stubbornScript)
	stubborn.StopGrace = 200 * time.Millisecond
	rude := h.startSpec(stubborn)
	runRude := h.expect(rude, actors.StateRunning)
	h.waitOutput(rude, "ready")
	final, err := h.rt.Shutdown(h.ctx())
	if err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if len(final) != 2 || final[0].State != actors.StateCancelled || final[1].State != actors.StateKilled {
		t.Fatalf("final states: %+v", final)
	}
	if members := groupMembers(runRude.PID); len(members) > 0 {
		t.Errorf("group %d still has %v after shutdown", runRude.PID, members)
	}
	if _, err := h.rt.Start(h.ctx(), "x"); !errors.Is(err, actors.ErrStopped) {
		t.Errorf("start after shutdown: %v", err)
	}
}

// A shutdown whose context ends kills what is still running, at once.
func TestShutdownDeadlineKillsTheRest(t *testing.T) {
	h := newHarness(t, nil)
	spec := shell("stubborn", stubbornScript)
	spec.StopGrace = time.Hour
	id := h.startSpec(spec)
	h.expect(id, actors.StateRunning)
	h.waitOutput(id, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	final, err := h.rt.Shutdown(ctx)
	if err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if len(final) != 1 || final[0].State != actors.StateKilled || final[0].Signal != syscall.SIGKILL {
		t.Fatalf("final: %+v", final)
	}
}

// Shutdown returns when the supervisor was already stopped by a Shutdown
// sent to it directly, instead of waiting forever.
func TestShutdownAfterADirectShutdown(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(shell("sleeper", "exec sleep 60"))
	h.expect(id, actors.StateRunning)
	h.p.Request(h.rt.PID(), actors.Shutdown{})
	probe.FishForMsg(h.p, func(actors.TaskList) bool { return true }, wait)
	done := make(chan error, 1)
	var final []actors.TaskEvent
	go func() {
		var err error
		final, err = h.rt.Shutdown(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown after a direct one: %v", err)
		}
		if len(final) != 1 || final[0].ID != id || !final[0].State.Ended() {
			t.Errorf("shutdown after a direct one returned %v, want task %d ended", final, id)
		}
	case <-time.After(wait):
		t.Fatal("Shutdown after a direct Shutdown does not return")
	}
}

// Fail ends a task's process as a failure: the event says failed with the
// program's reason, and its restart policy starts it again, as for any
// failure; a task with no process refuses it. Before, a program's own
// detector could only Kill, which never counts as a failure.
func TestFailIsAFailureForTheRestartPolicy(t *testing.T) {
	h := newHarness(t, nil)
	id := h.startSpec(actors.TaskSpec{Name: "stuck", Argv: []string{"sleep", "600"}, Restart: actors.RestartOnFailure,
		Backoff: actors.Backoff{Initial: time.Millisecond}})
	first := h.expect(id, actors.StateRunning)
	if err := h.rt.Fail(h.ctx(), id, "no heartbeat for 30s"); err != nil {
		t.Fatal(err)
	}
	failed := h.expect(id, actors.StateFailed)
	var exit *actors.ExitError
	if failed.Message != "Task failed: no heartbeat for 30s" || !strings.HasPrefix(failed.Reason, "failed by the program: no heartbeat for 30s; killed by SIGKILL") ||
		!errors.As(failed.Err, &exit) {
		t.Errorf("failed event: message %q, reason %q, err %v", failed.Message, failed.Reason, failed.Err)
	}
	again := h.expect(id, actors.StateRunning)
	if again.Generation != first.Generation+1 || again.Restarts != 1 {
		t.Errorf("after Fail: generation %d, restarts %d; want generation %d, restarts 1 (the policy restarted it)", again.Generation, again.Restarts, first.Generation+1)
	}
	if err := h.rt.Kill(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.expect(id, actors.StateKilled)
	var se *actors.StateError
	if err := h.rt.Fail(h.ctx(), id, "again"); !errors.As(err, &se) || se.Op != actors.OpFail {
		t.Errorf("Fail of an ended task: %v, want a StateError of op fail", err)
	}
}

// A Start's Tag comes back in its Reply, so that an actor with several
// starts in flight tells their replies apart without matching them by
// order; a refused Start carries its tag too.
func TestStartTagComesBackInTheReply(t *testing.T) {
	h := newHarness(t, actors.Catalogue{{Name: "echo", Command: "echo hi"}})
	h.p.Request(h.rt.PID(), actors.Start{Template: "echo", Tag: "job-a"})
	h.p.Request(h.rt.PID(), actors.Start{Template: "nosuch", Tag: 42})
	h.p.Request(h.rt.PID(), actors.Start{Spec: &actors.TaskSpec{Name: "b", Command: "true"}, Tag: "job-b"})
	got := map[any]actors.Reply{}
	for range 3 {
		r := probe.FishForMsg[actors.Reply](h.p, nil, wait) // past the tasks' events
		got[r.Tag] = r
	}
	if r := got["job-a"]; r.Err != nil || r.ID == 0 {
		t.Errorf("job-a: %+v", r)
	}
	if r := got[42]; !errors.Is(r.Err, actors.ErrUnknownTemplate) {
		t.Errorf("tag 42 (a refused start): %+v", r)
	}
	if r := got["job-b"]; r.Err != nil || r.ID == 0 || r.ID == got["job-a"].ID {
		t.Errorf("job-b: %+v", r)
	}
}

// The event that ends a task's story says so (Final): an ending that its
// restart policy follows with a restart is not final, the last one is; Wait
// answers with it, and its JSON has "final": true. Before, finality was a
// message inside the runtime, and a subscriber could not tell a failure
// that would be retried from the last one.
func TestFinalEndingIsSaidInTheEvent(t *testing.T) {
	h := newHarness(t, nil)
	once := h.startSpec(shell("once", "true"))
	ev := h.expect(once, actors.StateCompleted)
	if !ev.Final {
		t.Errorf("completed, no restart policy: Final false: %+v", ev)
	}
	id := h.startSpec(actors.TaskSpec{Name: "flaky", Command: "exit 3", Restart: actors.RestartOnFailure,
		MaxRestarts: 1, Backoff: actors.Backoff{Initial: time.Millisecond}})
	first := h.expect(id, actors.StateFailed)
	if first.Final {
		t.Errorf("the first failure, a restart to follow, is Final: %+v", first)
	}
	last := h.expect(id, actors.StateGaveUp)
	if !last.Final {
		t.Errorf("gave-up is not Final: %+v", last)
	}
	got, err := h.rt.Wait(h.ctx(), id)
	if err != nil || !got.Final || got.State != actors.StateGaveUp {
		t.Errorf("Wait: %+v, %v; want the gave-up event, Final", got, err)
	}
	if b, _ := last.MarshalJSON(); !strings.Contains(string(b), `"final":true`) {
		t.Errorf("JSON of the final event: %s", b)
	}
	if b, _ := first.MarshalJSON(); strings.Contains(string(b), `"final"`) {
		t.Errorf("JSON of a failure that is retried: %s", b)
	}
}
