package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Headless stdout that nobody reads (a pipe whose reader went to sleep) for
// 20 s, with tasks writing output and progress all along: taskvisor's
// memory stays bounded (the lines it cannot write are dropped and counted,
// never queued without end), and a quit still ends it. Failed first: RSS
// grew all along, and the quit never ended taskvisor.
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
	cmd := exec.Command(binary, "--headless", "--tasks", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(wait):
		}
	})
	fmt.Fprintln(stdin, "start 1")
	for range 6 {
		fmt.Fprintln(stdin, "start 2")
	}

	pid := cmd.Process.Pid
	time.Sleep(5 * time.Second)
	at5 := rssOf(pid)
	peak := at5
	for range 15 {
		time.Sleep(time.Second)
		peak = max(peak, rssOf(pid))
	}
	at20 := rssOf(pid)
	t.Logf("RSS with stdout unread: %.1f MiB at 5 s, %.1f MiB at 20 s, peak %.1f MiB", mib(at5), mib(at20), mib(peak))
	// The queue in front of stdout holds at most 1 MiB; allow for the GC's
	// slack and the tasks' output buffers, but not for a queue that grows.
	if grew := peak - at5; at5 == 0 || grew > 8<<20 {
		t.Errorf("RSS grew %.1f MiB between 5 s and 20 s of unread stdout (%d at 5 s), want at most 8 MiB", mib(grew), at5)
	}

	quitAt := time.Now()
	fmt.Fprintln(stdin, "quit")
	const quitBound = 15 * time.Second
	select {
	case <-exited:
		t.Logf("quit ended taskvisor in %s with stdout unread", time.Since(quitAt).Round(time.Millisecond))
	case <-time.After(quitBound):
		t.Fatalf("taskvisor still runs %s after quit, with its stdout unread; stderr: %s", quitBound, stderr.String())
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
