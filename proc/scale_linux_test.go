package proc

import (
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// TestScaleKillAll measures proc alone, without the actors: N children of
// `sleep 600` started, then all killed at once, until all are reaped (and,
// for proc, until all are Done), against bare os/exec children waited for by
// pidfds in the netpoller, alternately in the same process, with the CPU
// time of each phase. It measures and asserts nothing about time; it is
// skipped unless TASKVISOR_SCALE=N is set:
//
//	TASKVISOR_SCALE=1000 PROC_SCALE_ROUNDS=3 go test -run TestScaleKillAll -v ./proc/
func TestScaleKillAll(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TASKVISOR_SCALE"))
	if n <= 0 {
		t.Skip("set TASKVISOR_SCALE=N to measure N children (a measurement, not a check)")
	}
	rounds, _ := strconv.Atoi(os.Getenv("PROC_SCALE_ROUNDS"))
	rounds = max(rounds, 1)
	setSubreaperT(t, true)
	for range rounds {
		start, kill, cpu := scaleBarePidfd(t, n)
		t.Logf("bare %d: started in %v; kill all until reaped %v (CPU %v)", n, start.Round(time.Millisecond), kill.Round(time.Millisecond), cpu.Round(time.Millisecond))
		start, kill, done, startCPU, cpu := scaleProc(t, n)
		t.Logf("proc %d: started in %v (CPU %v); kill all until reaped %v, until Done %v (CPU %v)", n, start.Round(time.Millisecond), startCPU.Round(time.Millisecond),
			kill.Round(time.Millisecond), done.Round(time.Millisecond), cpu.Round(time.Millisecond))
	}
}

func scaleBarePidfd(t *testing.T, n int) (start, kill, cpu time.Duration) {
	var reaped sync.WaitGroup
	kills := make([]func(), 0, n)
	begin := time.Now()
	for range n {
		reaped.Add(1)
		c, err := proctest.StartPidfdChild(reaped.Done, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		kills = append(kills, c.Kill)
	}
	start = time.Since(begin)
	c0 := proctest.CPUTime()
	begin = time.Now()
	for _, k := range kills {
		k()
	}
	reaped.Wait()
	return start, time.Since(begin), proctest.CPUTime() - c0
}

func scaleProc(t *testing.T, n int) (start, kill, done, startCPU, cpu time.Duration) {
	ps := make([]*Process, 0, n)
	c0 := proctest.CPUTime()
	begin := time.Now()
	for range n {
		p, err := Start(Spec{Argv: []string{"sleep", "600"}})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	start, startCPU = time.Since(begin), proctest.CPUTime()-c0
	if path := os.Getenv("PROC_SCALE_PROFILE"); path != "" {
		// The kill phase alone: PROC_SCALE_PROFILE=FILE.
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err == nil {
			defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
		}
	}
	c0 = proctest.CPUTime()
	begin = time.Now()
	for _, p := range ps {
		_ = p.Signal(syscall.SIGKILL)
	}
	for _, p := range ps {
		<-p.Exited()
	}
	kill = time.Since(begin)
	for _, p := range ps {
		<-p.Done()
	}
	return start, kill, time.Since(begin), startCPU, proctest.CPUTime() - c0
}
