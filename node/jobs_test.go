package node_test

import (
	"testing"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// The jobs calls of the API: a limit, pause and resume, fail, and a task
// started after another by id.
func TestJobsCalls(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	c := ctx(t)
	if res, err := f.c.SetMaxParallel(c, &pb.SetMaxParallelRequest{Limit: 1}); err != nil || res.GetLimit() != 1 {
		t.Fatalf("max-parallel 1: %v, %v", res, err)
	}
	for range 2 {
		if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "sleeper"}}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: &pb.TaskSpec{Name: "after", Command: "true", After: []string{"1:started"}}}})
	if err != nil {
		t.Fatal(err)
	}
	states := func() map[int64]string {
		res, err := f.c.List(c, &pb.ListRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]string{}
		for _, ev := range res.Tasks {
			out[ev.GetId()] = ev.GetState()
		}
		return out
	}
	waitFor := func(id int64, state string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for states()[id] != state {
			if time.Now().After(deadline) {
				t.Fatalf("task %d is %s, want %s", id, states()[id], state)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor(1, "running")
	waitFor(2, "queued")
	waitFor(after.GetId(), "queued") // started: its dependency holds; the limit holds it
	if _, err := f.c.Pause(c, &pb.PauseRequest{Task: "1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(1, "paused")
	if _, err := f.c.Pause(c, &pb.PauseRequest{}); code(err).String() != "InvalidArgument" {
		t.Errorf("pause of nothing: %v", err)
	}
	if _, err := f.c.Resume(c, &pb.PauseRequest{Task: "1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(1, "running")
	if _, err := f.c.Fail(c, &pb.FailRequest{Task: "1", Reason: "test says so"}); err != nil {
		t.Fatal(err)
	}
	waitFor(1, "failed")
	waitFor(2, "running")

	res, err := f.c.List(c, &pb.ListRequest{Usage: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range res.Tasks {
		u := ev.GetUsage()
		switch {
		case ev.GetState() == "running" && (u == nil || u.GetProcs() < 1 || u.GetMemory() == 0 || !u.GetHasCpu()):
			t.Errorf("task %d running: usage %v", ev.GetId(), u)
		case ev.GetState() != "running" && u != nil:
			t.Errorf("task %d %s: usage %v", ev.GetId(), ev.GetState(), u)
		}
	}
	stream, err := f.c.Usage(c, &pb.UsageRequest{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.GetTasks()) != 1 || m.GetTasks()[0].GetId() != 2 {
			t.Errorf("sample %d: %v, want task 2 alone", i, m.GetTasks())
		}
	}
}
