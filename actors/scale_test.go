//go:build linux

package actors_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

// TestScale starts N long-running children (`sleep 600`) and reports what
// they cost, taskvisor against bare os/exec in the same run: OS threads, RSS,
// goroutines, descriptors, the time until all run and the time to kill them
// all and reap them. Each way runs in a fresh copy of the test binary, so
// that none inherits another's threads or heap:
//
//   - task: taskvisor's runtime, N StartSpec commands, then N Kill commands.
//   - pidfd: bare os/exec Start, each child waited for by a PIDFD_NONBLOCK
//     pidfd in Go's netpoller (waitid P_PIDFD), no thread per child; killed
//     with pidfd_send_signal. The bare baseline of the ratios.
//   - wait: bare os/exec Start and cmd.Wait on a goroutine per child (a
//     blocked thread each); Process.Kill.
//   - notify: 100 tasks sending X_PROGRESS at 100 datagrams/s each (10,000 a
//     second in all) for 3 s: the runtime's CPU share of one core.
//
// It measures, it asserts only that everything ran and ended. It is skipped
// unless TASKVISOR_SCALE=N is set, because it takes seconds and thousands of
// processes; TASKVISOR_SCALE_OUT=FILE also writes the results as
// "mode field value" lines:
//
//	TASKVISOR_SCALE=1000 go test -run '^TestScale$' -v ./actors/
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TASKVISOR_SCALE"))
	if n <= 0 {
		t.Skip("set TASKVISOR_SCALE=N to start N tasks and report their cost (a measurement, not a check)")
	}
	if mode := os.Getenv(scaleModeEnv); mode != "" {
		var r scaleResult
		switch mode {
		case "task":
			r = scaleTask(t, n)
		case "pidfd":
			r = scaleBare(t, n, true)
		case "wait":
			r = scaleBare(t, n, false)
		case "notify":
			r = scaleNotify(t, 100, 100, 3*time.Second)
		default:
			t.Fatalf("unknown %s %q", scaleModeEnv, mode)
		}
		r.Mode = mode
		if r.N == 0 {
			r.N = n
		}
		j, _ := json.Marshal(r)
		fmt.Printf("%s%s\n", scaleResultPrefix, j)
		return
	}
	results := map[string]scaleResult{}
	for _, mode := range []string{"pidfd", "wait", "task", "notify"} {
		r := runScaleMode(t, mode)
		results[mode] = r
		if mode == "notify" {
			t.Logf("notify: %d tasks, %.0f datagrams/s for %v: runtime CPU %.1f%% of one core (%.1f µs a datagram)",
				r.N, r.Rate, r.Duration().Round(time.Millisecond), r.CPUPercent, r.CPUPerDatagramUs)
			continue
		}
		t.Logf("%-5s %d children: all running after %v; %d OS threads, RSS %d KiB (peak %d), %d goroutines, %d descriptors; all killed and reaped in %v",
			mode, r.N, r.AllRunning().Round(time.Millisecond), r.Threads, r.RSSKiB, r.PeakKiB, r.Goroutines, r.FDs, r.KillAll().Round(time.Millisecond))
	}
	if out := os.Getenv("TASKVISOR_SCALE_OUT"); out != "" {
		// "mode field value" lines, for scripts/bench's awk.
		var b strings.Builder
		for _, mode := range []string{"pidfd", "wait", "task", "notify"} {
			r := results[mode]
			fmt.Fprintf(&b, "%s n %d\n%s all_running_ms %.1f\n%s kill_all_ms %.1f\n%s threads %d\n%s rss_kib %d\n%s peak_kib %d\n%s goroutines %d\n%s fds %d\n%s rate %.0f\n%s cpu_percent %.1f\n%s cpu_us_per_datagram %.1f\n",
				mode, r.N, mode, float64(r.AllRunningNs)/1e6, mode, float64(r.KillAllNs)/1e6, mode, r.Threads,
				mode, r.RSSKiB, mode, r.PeakKiB, mode, r.Goroutines, mode, r.FDs, mode, r.Rate, mode, r.CPUPercent, mode, r.CPUPerDatagramUs)
		}
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	scaleModeEnv      = "TASKVISOR_SCALE_MODE"
	scaleResultPrefix = "SCALE-RESULT "
)

// scaleResult is what one way of running N children cost.
type scaleResult struct {
	Mode         string
	N            int
	AllRunningNs int64 // from the first start until all run
	KillAllNs    int64 // from the first kill until all are reaped
	Threads      int   // OS threads with all running
	RSSKiB       int   // resident set with all running, after a GC
	PeakKiB      int   // VmHWM at that point
	Goroutines   int
	FDs          int

	// The notify mode's.
	DurationNs       int64
	Rate             float64 // datagrams/s delivered
	CPUPercent       float64 // of one core
	CPUPerDatagramUs float64
}

func (r scaleResult) AllRunning() time.Duration { return time.Duration(r.AllRunningNs) }
func (r scaleResult) KillAll() time.Duration    { return time.Duration(r.KillAllNs) }
func (r scaleResult) Duration() time.Duration   { return time.Duration(r.DurationNs) }

// runScaleMode runs one mode in a fresh copy of the test binary.
func runScaleMode(t *testing.T, mode string) scaleResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestScale$", "-test.v")
	cmd.Env = append(os.Environ(), scaleModeEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), scaleResultPrefix); ok {
			var r scaleResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("scale mode %s: %v\n%s%s", mode, err, out, stderr.Bytes())
	return scaleResult{}
}

// measure fills in what N running children cost the process now.
func measure(t *testing.T, r *scaleResult) {
	runtime.GC()
	r.Threads = statusKiB(t, "Threads")
	r.RSSKiB = statusKiB(t, "VmRSS")
	r.PeakKiB = statusKiB(t, "VmHWM")
	r.Goroutines = runtime.NumGoroutine()
	fds, _ := os.ReadDir("/proc/self/fd")
	r.FDs = len(fds)
}

func scaleTask(t *testing.T, n int) scaleResult {
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
	spec := actors.TaskSpec{Name: "sleep", Argv: []string{"sleep", "600"}}

	var r scaleResult
	start := time.Now()
	for range n {
		if _, err := rt.StartSpec(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-running
	}
	r.AllRunningNs = int64(time.Since(start))
	measure(t, &r)

	start = time.Now()
	for id := 1; id <= n; id++ {
		if err := rt.Kill(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-killed
	}
	r.KillAllNs = int64(time.Since(start))
	if _, err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// scaleBare runs n children with plain os/exec: waited for by pidfds in the
// netpoller, or by cmd.Wait on a goroutine each.
func scaleBare(t *testing.T, n int, pidfd bool) scaleResult {
	var r scaleResult
	var reaped sync.WaitGroup
	kills := make([]func(), 0, n)
	start := time.Now()
	for range n {
		if !pidfd {
			cmd := exec.Command("sleep", "600")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			reaped.Go(func() { _ = cmd.Wait() })
			kills = append(kills, func() { _ = cmd.Process.Kill() })
			continue
		}
		reaped.Add(1)
		c, err := proctest.StartPidfdChild(reaped.Done, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		kills = append(kills, c.Kill)
	}
	r.AllRunningNs = int64(time.Since(start)) // os/exec Start returns once the child runs
	measure(t, &r)

	start = time.Now()
	for _, kill := range kills {
		kill()
	}
	reaped.Wait()
	r.KillAllNs = int64(time.Since(start))
	return r
}

// scaleNotify runs tasks tasks sending rate X_PROGRESS datagrams a second
// each for d and measures this process's CPU time meanwhile.
func scaleNotify(t *testing.T, tasks, rate int, d time.Duration) scaleResult {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := actors.New(actors.Config{Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	per := int(d.Seconds() * float64(rate))
	type seen struct{ pid, step int }
	var mu sync.Mutex
	byID := map[int]*seen{}
	ready, finished, killed := make(chan struct{}, tasks), make(chan struct{}, tasks), make(chan struct{}, tasks)
	unsubscribe := rt.Subscribe(func(e actors.TaskEvent) {
		mu.Lock()
		defer mu.Unlock()
		s := byID[e.ID]
		if s == nil {
			s = &seen{}
			byID[e.ID] = s
		}
		switch {
		case e.State == actors.StateKilled:
			killed <- struct{}{}
		case e.Status == "waiting" && s.pid == 0:
			s.pid = e.PID
			ready <- struct{}{}
		case e.Steps == per && e.Step == per && s.step != per:
			s.step = per
			finished <- struct{}{}
		}
	})
	defer unsubscribe()
	ctx := context.Background()
	spec := actors.TaskSpec{Name: "sender", Argv: []string{exe}, Env: map[string]string{
		notifySenderEnv: strconv.Itoa(per), notifyRateEnv: strconv.Itoa(rate)}}
	for range tasks {
		if _, err := rt.StartSpec(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for range tasks {
		<-ready
	}
	runtime.GC()
	cpu0 := proctest.CPUTime()
	start := time.Now()
	mu.Lock()
	for _, s := range byID {
		_ = syscall.Kill(s.pid, syscall.SIGUSR1)
	}
	mu.Unlock()
	for range tasks {
		<-finished
	}
	elapsed := time.Since(start)
	cpu := proctest.CPUTime() - cpu0
	total := float64(tasks * per)
	for id := 1; id <= tasks; id++ {
		_ = rt.Kill(ctx, id)
	}
	for range tasks {
		<-killed
	}
	if _, err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return scaleResult{
		N:                tasks,
		DurationNs:       int64(elapsed),
		Rate:             total / elapsed.Seconds(),
		CPUPercent:       100 * cpu.Seconds() / elapsed.Seconds(),
		CPUPerDatagramUs: float64(cpu.Microseconds()) / total,
	}
}

// statusKiB reads a number from /proc/self/status (a count, or KiB).
func statusKiB(t *testing.T, field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}
