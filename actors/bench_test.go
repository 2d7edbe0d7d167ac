//go:build linux

package actors_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// The paired benchmarks compare taskvisor with the bare operating system in
// the same binary and the same run: each Task benchmark reports its ratio to
// its Bare twin (x-bare) when both ran, so run them together:
//
//	go test -run '^$' -bench 'Bare|Task|Notify' -count 5 ./actors/
//
// The task is the demo worker, `taskvisor worker texture --steps 0`, built
// once from ../cmd/taskvisor (or taken from $TASKVISOR_BIN, as scripts/bench
// does). Benchmarks measure; nothing here asserts a timing.

var bareNs = map[string]float64{}

func reportRatio(b *testing.B, pair string) {
	if bare, ok := bareNs[pair]; ok && bare > 0 && b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bare, "x-bare")
	}
}

func recordBare(b *testing.B, pair string) {
	if b.N > 0 {
		bareNs[pair] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	}
}

// workerArgs run the demo worker until it is stopped: READY=1 once its image
// is generated, then one step an hour.
var workerArgs = []string{"worker", "texture", "--steps", "0", "--step-time", "1h"}

var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

// workerBinary returns the taskvisor executable whose hidden `worker`
// subcommand is the demo task: $TASKVISOR_BIN, or one built from
// ../cmd/taskvisor into the user's cache directory (overwritten by each run,
// so nothing accumulates).
func workerBinary(b testing.TB) string {
	b.Helper()
	workerOnce.Do(func() {
		if bin := os.Getenv("TASKVISOR_BIN"); bin != "" {
			workerBin = bin
			return
		}
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "taskvisor-bench")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			workerErr = err
			return
		}
		workerBin = filepath.Join(dir, "taskvisor")
		out, err := exec.Command("go", "build", "-o", workerBin, "../cmd/taskvisor").CombinedOutput()
		if err != nil {
			workerErr = fmt.Errorf("go build ../cmd/taskvisor: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		b.Fatal(workerErr)
	}
	return workerBin
}

func workerSpec(b testing.TB) actors.TaskSpec {
	return actors.TaskSpec{Name: "worker", Argv: append([]string{workerBinary(b)}, workerArgs...)}
}

// bareWorker is the demo worker started with plain os/exec, with a notify
// socket of the benchmark's own so that the benchmark can wait, outside the
// timer, until the worker has set up its signal handlers and said READY=1.
type bareWorker struct {
	cmd   *exec.Cmd
	ready chan struct{}
	l     *notify.Listener
}

// bareNotifyDir holds the bare workers' notify sockets.
func bareNotifyDir(b *testing.B) string {
	dir, err := notify.NewDir()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startBareWorker(b *testing.B, dir string, n int) *bareWorker {
	w := &bareWorker{ready: make(chan struct{})}
	l, err := notify.Listen(filepath.Join(dir, strconv.Itoa(n)+".sock"))
	if err != nil {
		b.Fatal(err)
	}
	w.l = l
	var once sync.Once
	l.Serve(nil, func(m notify.Message) {
		if m.Ready {
			once.Do(func() { close(w.ready) })
		}
	})
	w.cmd = exec.Command(workerBinary(b), workerArgs...)
	w.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+l.Path())
	if err := w.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-w.ready:
	case <-time.After(wait):
		b.Fatal("the bare worker did not send READY=1")
	}
	return w
}

func (w *bareWorker) close() { _ = w.l.Close() }

// BenchmarkStartBare: os/exec Start of the demo worker; the kill and wait that
// clean up are outside the timer.
func BenchmarkStartBare(b *testing.B) {
	bin := workerBinary(b)
	for b.Loop() {
		cmd := exec.Command(bin, workerArgs...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.StartTimer()
	}
	recordBare(b, "start")
}

// BenchmarkStartTask: the start command until the task's running event (the
// default readiness: running once the process has started).
func BenchmarkStartTask(b *testing.B) {
	rt, events := benchRuntime(b)
	spec := workerSpec(b)
	ctx := context.Background()
	for b.Loop() {
		id, err := rt.StartSpec(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateRunning)
		b.StopTimer()
		_ = rt.Kill(ctx, id)
		waitState(b, events, id, actors.StateKilled)
		b.StartTimer()
	}
	reportRatio(b, "start")
}

// BenchmarkKillBare: SIGKILL to a worker that said READY=1, until reaped.
func BenchmarkKillBare(b *testing.B) { benchSignalBare(b, "kill", syscall.SIGKILL) }

// BenchmarkKillTask: the kill command to a worker that said READY=1, until
// the task's killed event.
func BenchmarkKillTask(b *testing.B) {
	benchStopTask(b, "kill", (*actors.Runtime).Kill, actors.StateKilled)
}

// BenchmarkCancelBare: SIGTERM to a worker that said READY=1 and exits on it
// (143), until reaped.
func BenchmarkCancelBare(b *testing.B) { benchSignalBare(b, "cancel", syscall.SIGTERM) }

// BenchmarkCancelTask: the cancel command to a worker that said READY=1,
// until the task's cancelled event.
func BenchmarkCancelTask(b *testing.B) {
	benchStopTask(b, "cancel", (*actors.Runtime).Cancel, actors.StateCancelled)
}

// benchSignalBare times sig to a bare worker that said READY=1 until it is
// reaped, and checks that sig ended it; the bare half of pair.
func benchSignalBare(b *testing.B, pair string, sig syscall.Signal) {
	dir := bareNotifyDir(b)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		w := startBareWorker(b, dir, i)
		b.StartTimer()
		_ = w.cmd.Process.Signal(sig)
		_ = w.cmd.Wait()
		b.StopTimer()
		// SIGTERM is caught and answered with exit 143; SIGKILL cannot be.
		ws, _ := w.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signal() != sig && ws.ExitStatus() != 128+int(sig) {
			b.Fatalf("the bare worker ended %v, not by %v", w.cmd.ProcessState, sig)
		}
		w.close()
		b.StartTimer()
	}
	recordBare(b, pair)
}

// benchStopTask times stop on a task whose worker said READY=1 until the
// task has ended, and checks that it ended in want; the taskvisor half of
// pair.
func benchStopTask(b *testing.B, pair string, stop func(*actors.Runtime, context.Context, int) error, want actors.State) {
	rt, events := benchRuntime(b)
	spec := workerSpec(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		id := startReady(b, rt, events, spec)
		b.StartTimer()
		if err := stop(rt, ctx, id); err != nil {
			b.Fatal(err)
		}
		if e := waitEnded(b, events, id); e.State != want {
			b.Fatalf("task %d ended %s, not %s: %s", id, e.State, want, e.Reason)
		}
	}
	reportRatio(b, pair)
}

// BenchmarkRestartTask: the restart command to a worker that said READY=1,
// until the new process's running event. Its x-bare is against
// BenchmarkKillBare + BenchmarkStartBare of the same run: what a bare
// program does for a restart.
func BenchmarkRestartTask(b *testing.B) {
	rt, events := benchRuntime(b)
	spec := workerSpec(b)
	ctx := context.Background()
	b.StopTimer()
	id := startReady(b, rt, events, spec)
	b.StartTimer()
	for gen := 1; b.Loop(); gen++ {
		if err := rt.Restart(ctx, id); err != nil {
			b.Fatal(err)
		}
		waitFor(b, events, func(e actors.TaskEvent) bool {
			return e.ID == id && e.Generation == gen+1 && e.State == actors.StateRunning
		})
		b.StopTimer()
		waitReady(b, events, id, gen+1) // the next restart stops a settled worker
		b.StartTimer()
	}
	if kill, start := bareNs["kill"], bareNs["start"]; kill > 0 && start > 0 && b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(kill+start), "x-bare")
	}
}

// startReady starts the worker and waits, until it has said READY=1 (the
// event with its STATUS), so that a stop finds its signal handlers set.
func startReady(b *testing.B, rt *actors.Runtime, events chan actors.TaskEvent, spec actors.TaskSpec) int {
	id, err := rt.StartSpec(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	waitReady(b, events, id, 1)
	return id
}

func waitReady(b *testing.B, events chan actors.TaskEvent, id, gen int) {
	waitFor(b, events, func(e actors.TaskEvent) bool {
		return e.ID == id && e.Generation == gen && e.Status != "" && e.State == actors.StateRunning
	})
}

func benchRuntime(b *testing.B) (*actors.Runtime, chan actors.TaskEvent) {
	return benchRuntimeWith(b, actors.Config{Subreaper: true})
}

func benchRuntimeWith(b *testing.B, cfg actors.Config) (*actors.Runtime, chan actors.TaskEvent) {
	rt, err := actors.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	events := make(chan actors.TaskEvent, 1<<16)
	unsubscribe := rt.Subscribe(func(e actors.TaskEvent) { events <- e })
	b.Cleanup(func() {
		if _, err := rt.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
		unsubscribe()
	})
	return rt, events
}

func waitState(b *testing.B, events chan actors.TaskEvent, id int, state actors.State) {
	waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == id && e.State == state })
}

func waitEnded(b *testing.B, events chan actors.TaskEvent, id int) actors.TaskEvent {
	return waitFor(b, events, func(e actors.TaskEvent) bool { return e.ID == id && e.State.Ended() })
}

func waitFor(b *testing.B, events chan actors.TaskEvent, match func(actors.TaskEvent) bool) actors.TaskEvent {
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		select {
		case e := <-events:
			if match(e) {
				return e
			}
		case <-timeout.C:
			b.Fatalf("no matching event within %v (%d queued)", wait, len(events))
		}
	}
}

// notifySenderEnv makes the test binary a notify sender (see init): it waits
// for SIGUSR1, sends that many X_PROGRESS datagrams to $NOTIFY_SOCKET as
// fast as the socket takes them, then sleeps until killed.
const notifySenderEnv = "TASKVISOR_BENCH_NOTIFY_SENDER"

// notifyRateEnv paces a notify sender: that many datagrams a second instead
// of as fast as possible.
const notifyRateEnv = "TASKVISOR_BENCH_NOTIFY_RATE"

func init() {
	n, err := strconv.Atoi(os.Getenv(notifySenderEnv))
	if err != nil {
		return
	}
	os.Exit(runNotifySender(n))
}

func runNotifySender(n int) int {
	go_ := make(chan os.Signal, 1)
	signal.Notify(go_, syscall.SIGUSR1)
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := conn.Write([]byte("STATUS=waiting")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-go_
	var tick <-chan time.Time
	if rate, _ := strconv.Atoi(os.Getenv(notifyRateEnv)); rate > 0 {
		tick = time.NewTicker(time.Second / time.Duration(rate)).C
	}
	buf := make([]byte, 0, 64)
	for i := 1; i <= n; i++ {
		if tick != nil {
			<-tick
		}
		buf = strconv.AppendInt(append(buf[:0], "X_PROGRESS="...), int64(i), 10)
		buf = strconv.AppendInt(append(buf, '/'), int64(n), 10)
		if _, err := conn.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	select {}
}

// notifyBurst is the most datagrams one task sends in
// BenchmarkNotifyThroughput: under the 1,000 a task may send at once before
// proc throttles it (1,000/s, bursts of 1,000), so that none is dropped.
const notifyBurst = 800

// BenchmarkNotifyThroughput: progress datagrams from many tasks at once (at
// least 50, at most 800 datagrams each), as fast as the runtime takes them, each one a datagram that changes the
// task's progress, until the last has come out as an event. It reports the
// rate (datagrams/s) and the runtime's CPU time per datagram from getrusage
// (the whole benchmark process: the runtime and this event subscriber; the
// senders are children and not counted), and from it the share of one core
// that 10,000 datagrams a second would take (core%@10k).
func BenchmarkNotifyThroughput(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	rt, events := benchRuntime(b)
	ctx := context.Background()
	notifyTasks := max(50, (b.N+notifyBurst-1)/notifyBurst)
	per := max(1, (b.N+notifyTasks-1)/notifyTasks)
	spec := actors.TaskSpec{Name: "sender", Argv: []string{exe}, Env: map[string]string{notifySenderEnv: strconv.Itoa(per)}}

	b.StopTimer()
	pids := map[int]int{}
	for range notifyTasks {
		id, err := rt.StartSpec(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		pids[id] = 0
	}
	for waiting := len(pids); waiting > 0; {
		e := waitFor(b, events, func(e actors.TaskEvent) bool { return e.Status == "waiting" })
		if pids[e.ID] == 0 {
			pids[e.ID] = e.PID
			waiting--
		}
	}
	cpu0 := proctest.CPUTime()
	b.StartTimer()
	start := time.Now()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
	}
	for done := 0; done < notifyTasks; {
		e := waitFor(b, events, func(e actors.TaskEvent) bool { return e.Steps == per && e.Step == per })
		if pids[e.ID] != 0 {
			pids[e.ID] = 0
			done++
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := proctest.CPUTime() - cpu0
	total := float64(per * notifyTasks)
	b.ReportMetric(total/elapsed.Seconds(), "datagrams/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/datagram")
	b.ReportMetric(float64(cpu.Nanoseconds())/total*10000/1e9*100, "core%@10k")
	for id := range pids {
		_ = rt.Kill(ctx, id)
	}
	for range pids {
		waitFor(b, events, func(e actors.TaskEvent) bool { return e.State == actors.StateKilled })
	}
}

// BenchmarkChurn runs short tasks one after another, each waited for, and
// reports the live heap (after a GC) per task once all have ended, and how many
// tasks List still has: every ended task kept (KeepEnded -1, as before
// there was a limit) against a limit of 100. The first keeps about 4.5 KB
// per task for good; the second levels off: what it still gains per task is
// protoactor's process registry (1,024 buckets of 32 Go maps each) growing
// each map once as actor names come and go, bounded at about 12 MB, which a
// bare Add/Remove loop on the registry shows as well.
//
//	go test -run '^$' -bench BenchmarkChurn -benchtime 3000x ./actors/
func BenchmarkChurn(b *testing.B) {
	for _, keep := range []int{-1, 100} {
		b.Run(fmt.Sprintf("keep=%d", keep), func(b *testing.B) {
			system := actors.NewSystem(nil)
			defer system.Shutdown()
			rt, err := actors.New(actors.Config{System: system, KeepEnded: keep})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _, _ = rt.Shutdown(context.Background()) }()
			ctx := context.Background()
			spec := actors.TaskSpec{Name: "short", Argv: []string{"true"}}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id, err := rt.StartSpec(ctx, spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rt.Wait(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			list, err := rt.List(ctx) // after the last forget: it came before this
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "heap-B/task")
			b.ReportMetric(float64(len(list)), "kept")
		})
	}
}

// groupTree returns n groups, g0 to g(n-1): all at the top level when flat,
// else each the child of the one before.
func groupTree(n int, flat bool) []actors.GroupSpec {
	groups := make([]actors.GroupSpec, n)
	for i := range groups {
		groups[i].Name = fmt.Sprintf("g%d", i)
		if !flat && i > 0 {
			groups[i].Parent = groups[i-1].Name
		}
	}
	return groups
}

// benchGroups: New with 1,000 groups, one task started in the last of them
// until it runs, and a shutdown, all timed. The nested benchmark reports its
// ratio to the flat one (x-flat) when both ran, so run them together:
//
//	go test -run '^$' -bench 'Groups' -benchtime 10x ./actors/
//
// Before the runtime kept each group's children, the nested tree cost
// O(n^2) per group to route (cubic in all).
func benchGroups(b *testing.B, flat bool) {
	groups := groupTree(1000, flat)
	spec := workerSpec(b)
	spec.Group = groups[len(groups)-1].Name
	ctx := context.Background()
	for b.Loop() {
		rt, err := actors.New(actors.Config{Groups: groups})
		if err != nil {
			b.Fatal(err)
		}
		events := make(chan actors.TaskEvent, 1<<10)
		unsubscribe := rt.Subscribe(func(e actors.TaskEvent) { events <- e })
		id, err := rt.StartSpec(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		waitState(b, events, id, actors.StateRunning)
		if _, err := rt.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		unsubscribe()
	}
}

// BenchmarkGroupsFlat: 1,000 top-level groups.
func BenchmarkGroupsFlat(b *testing.B) {
	benchGroups(b, true)
	recordBare(b, "groups")
}

// BenchmarkGroupsNested: 1,000 groups each inside the one before.
func BenchmarkGroupsNested(b *testing.B) {
	benchGroups(b, false)
	if flat, ok := bareNs["groups"]; ok && flat > 0 && b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/flat, "x-flat")
	}
}
