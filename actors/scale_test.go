package actors_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// TestScale starts N long-running tasks and reports what they cost: OS
// threads, RSS, goroutines, descriptors, the time until all run and the time
// to kill them all. It measures, it asserts only that everything ran and
// ended. It is skipped unless TASKVISOR_SCALE=N is set, because it takes
// seconds and thousands of processes:
//
//	TASKVISOR_SCALE=1000 go test -run TestScale -v ./actors/
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TASKVISOR_SCALE"))
	if n <= 0 {
		t.Skip("set TASKVISOR_SCALE=N to start N tasks and report their cost (a measurement, not a check)")
	}
	rt, err := actors.New(actors.Config{Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan int, n)
	killed := make(chan int, n)
	unsubscribe := rt.Subscribe(func(e actors.TaskEvent) {
		switch {
		case e.State == actors.StateRunning && strings.HasPrefix(e.Message, "Started"):
			running <- e.ID
		case e.State == actors.StateKilled:
			killed <- e.ID
		}
	})
	defer unsubscribe()
	ctx := context.Background()
	rssBefore := status(t, "VmRSS")

	start := time.Now()
	for range n {
		if _, err := rt.StartSpec(ctx, actors.TaskSpec{Name: "sleep", Argv: []string{"sleep", "600"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-running
	}
	allRunning := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	t.Logf("%d tasks running after %v: %d OS threads, RSS %s (%s before), %d goroutines, heap %d KiB, stacks %d KiB, %d descriptors",
		n, allRunning.Round(time.Millisecond), proctest.Threads(t), status(t, "VmRSS"), rssBefore,
		runtime.NumGoroutine(), ms.HeapInuse/1024, ms.StackInuse/1024, len(fds))

	start = time.Now()
	for id := 1; id <= n; id++ {
		if err := rt.Kill(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-killed
	}
	t.Logf("%d tasks killed and reaped in %v", n, time.Since(start).Round(time.Millisecond))
	if _, err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}
