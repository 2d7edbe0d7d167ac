package tests

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// stdoutRun is a headless taskvisor under the unread-stdout test's load.
type stdoutRun struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncbuf.Buffer
	exited chan struct{}
}

// startStdoutRun starts taskvisor as node name with the task file at path,
// its stdout going to out, and starts one flooding and six progress tasks.
func startStdoutRun(t *testing.T, path, name string, out *os.File) *stdoutRun {
	t.Helper()
	cmd := exec.Command(binary, "--headless", "--name", name, "--tasks", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &stdoutRun{cmd: cmd, stdin: stdin, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-r.exited:
		case <-time.After(wait):
		}
	})
	fmt.Fprintln(stdin, "start 1")
	for range 6 {
		fmt.Fprintln(stdin, "start 2")
	}
	return r
}

// Headless stdout that nobody reads (a pipe whose reader went to sleep) for
// 20 s, with tasks writing output and progress all along: taskvisor's
// memory grows no more than that of the same load with stdout read (a
// baseline run beside it: the node's store and logs grow in both), because
// the lines it cannot write are dropped and counted, never queued without
// end; and a quit still ends it. Failed first: the quit never ended
// taskvisor.
func TestUnreadStdoutKeepsMemoryBoundedAndQuitEnds(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", fmt.Sprintf(`[[task]]
name = "flood"
key = "1"
command = "%[1]s worker texture --steps 0 --step-time 20ms --flood"

[[task]]
name = "progress"
key = "2"
command = "%[1]s worker texture --steps 0 --step-time 10ms"
`, binary))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read: stdout's reader is asleep
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	unread := startStdoutRun(t, path, "stdout-unread", w)
	w.Close()
	read := startStdoutRun(t, path, "stdout-read", devnull)

	up, rp := unread.cmd.Process.Pid, read.cmd.Process.Pid
	time.Sleep(5 * time.Second)
	u5, r5 := rssOf(up), rssOf(rp)
	uPeak, rPeak := u5, r5
	for range 15 {
		time.Sleep(time.Second)
		uPeak, rPeak = max(uPeak, rssOf(up)), max(rPeak, rssOf(rp))
	}
	uGrew, rGrew := uPeak-u5, rPeak-r5
	t.Logf("RSS from 5 s to 20 s: stdout unread %.1f -> peak %.1f MiB (+%.1f), stdout read %.1f -> peak %.1f MiB (+%.1f)",
		mib(u5), mib(uPeak), mib(uGrew), mib(r5), mib(rPeak), mib(rGrew))
	// The queue in front of stdout holds at most 1 MiB; allow for the GC's
	// slack, but not for a queue that grows.
	if u5 == 0 || r5 == 0 || uGrew-rGrew > 8<<20 {
		t.Errorf("with stdout unread RSS grew %.1f MiB more than with it read (%.1f vs %.1f MiB), want at most 8 MiB more",
			mib(uGrew-rGrew), mib(uGrew), mib(rGrew))
	}

	quitAt := time.Now()
	fmt.Fprintln(unread.stdin, "quit")
	const quitBound = 15 * time.Second
	select {
	case <-unread.exited:
		t.Logf("quit ended taskvisor in %s with stdout unread", time.Since(quitAt).Round(time.Millisecond))
	case <-time.After(quitBound):
		t.Fatalf("taskvisor still runs %s after quit, with its stdout unread; stderr: %s", quitBound, unread.stderr.String())
	}
	fmt.Fprintln(read.stdin, "quit")
	select {
	case <-read.exited:
	case <-time.After(quitBound):
		t.Fatalf("the baseline taskvisor still runs %s after quit; stderr: %s", quitBound, read.stderr.String())
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
