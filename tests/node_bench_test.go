package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkLsProcess runs `taskvisor ls` as a whole process against a node
// with 1,000 running tasks, and, as its floor, a Go binary that connects to
// the socket and exits; it reports both medians and their ratio, and the
// node's resident memory.
//
//	go test -run='^$' -bench=LsProcess -benchtime=50x ./tests/
func BenchmarkLsProcess(b *testing.B) {
	dir := b.TempDir()
	floor := filepath.Join(dir, "floor")
	if out, err := exec.Command("go", "build", "-o", floor, "./testdata/floor").CombinedOutput(); err != nil {
		b.Fatalf("build floor: %v: %s", err, out)
	}
	sdir, err := os.MkdirTemp("", "tv15b")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(sdir)
	var tasks strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&tasks, "[[task]]\nname = \"s%d\"\nargv = [\"sleep\", \"600\"]\nautostart = true\nstop_signal = \"SIGKILL\"\n", i)
	}
	file := filepath.Join(sdir, "tasks.toml")
	if err := os.WriteFile(file, []byte(tasks.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(sdir, "state"), "XDG_RUNTIME_DIR="+sdir)
	serve := exec.Command(binary, "serve", "--tasks", file)
	serve.Env = env
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		c := exec.Command(binary, "shutdown", "--kill")
		c.Env = env
		_ = c.Run()
		_ = serve.Wait()
	}()
	sock := filepath.Join(sdir, "taskvisor", "default.sock")
	ls := func() (string, error) {
		c := exec.Command(binary, "ls")
		c.Env = env
		out, err := c.Output()
		return string(out), err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := ls()
		if err == nil && strings.Count(out, " running ") == 1000 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("1,000 tasks not running: %v\n%.300s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // the first events are written
	rss := rssOf(serve.Process.Pid)
	run := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var lsTimes, floorTimes []time.Duration
	b.ResetTimer()
	for b.Loop() {
		lsTimes = append(lsTimes, run(func() error { _, err := ls(); return err }))
		floorTimes = append(floorTimes, run(func() error { return exec.Command(floor, sock).Run() }))
	}
	b.StopTimer()
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	lsMed, floorMed := med(lsTimes), med(floorTimes)
	b.ReportMetric(float64(lsMed.Microseconds())/1000, "ls-ms")
	b.ReportMetric(float64(floorMed.Microseconds())/1000, "floor-ms")
	b.ReportMetric(float64(lsMed)/float64(floorMed), "ls/floor")
	b.ReportMetric(float64(rss)/(1<<20), "node-RSS-MiB")
}

// rssOf is a process's resident memory in bytes (VmRSS), 0 if unknown.
func rssOf(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
