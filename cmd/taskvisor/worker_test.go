package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// The test binary doubles as the worker: run as `<test binary> worker ...`,
// as main does, it runs the worker instead of the tests. go test never passes
// "worker" as the first argument, and package variables are initialised
// before init runs. Grandchildren started by --children re-execute the test
// binary the same way.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(runWorker(os.Args[2:], os.Stdout, os.Stderr))
	}
}

// waitLimit bounds every wait of these tests; it is generous, so that a
// loaded machine does not fail them.
const waitLimit = 10 * time.Second

func TestWorkerUsage(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{nil, 2, "missing worker kind"},
		{[]string{"bogus"}, 2, `unknown worker kind "bogus"`},
		{[]string{"texture", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"texture", "--steps", "x"}, 2, `invalid value "x" for flag -steps`},
		{[]string{"texture", "--steps", "-1"}, 2, "--steps -1 is negative"},
		{[]string{"texture", "--step-time", "-1s"}, 2, "--step-time -1s is negative"},
		{[]string{"texture", "--step-time", "1"}, 2, `invalid value "1" for flag -step-time`},
		{[]string{"texture", "--steps", "3", "--crash-at", "4"}, 2, "--crash-at 4 is after the last step (--steps 3)"},
		{[]string{"texture", "--steps", "3", "--hang-at", "4"}, 2, "--hang-at 4 is after the last step (--steps 3)"},
		{[]string{"texture", "--children", "-1"}, 2, "--children -1 is not between 0 and 100"},
		{[]string{"texture", "--levels", "1"}, 2, "--levels 1 is not between 2 and 256"},
		{[]string{"texture", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"texture", "-h"}, 0, "usage: taskvisor worker texture"},
		{[]string{"--help"}, 0, "-step-time duration"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := runWorker(tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("runWorker(%q) = %d, stderr:\n%s\nwant %d and %q in stderr", tt.args, code, stderr.String(), tt.code, tt.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("runWorker(%q) wrote to stdout: %q", tt.args, stdout.String())
		}
	}
}

// listen binds a unixgram socket in a fresh directory and returns its path
// and a channel of the datagrams it receives, closed when the test ends.
func listen(t *testing.T) (string, <-chan string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "tvw") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return path, ch
}

// expectNotify waits for the next datagram and checks it is want.
func expectNotify(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok {
			t.Fatalf("notify socket closed, want %q", want)
		}
		if got != want {
			t.Fatalf("datagram %q, want %q", got, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no datagram within %v, want %q", waitLimit, want)
	}
}

func TestWorkerInProcess(t *testing.T) {
	path, ch := listen(t)
	t.Setenv("NOTIFY_SOCKET", path)
	var stdout, stderr bytes.Buffer
	code := runWorker([]string{"texture", "--steps", "2", "--step-time", "0", "--levels", "32"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	expectNotify(t, ch, "READY=1\nSTATUS="+readyStatus(2))
	expectNotify(t, ch, "X_PROGRESS=1/2\nSTATUS=Processing step 1/2")
	expectNotify(t, ch, "X_PROGRESS=2/2\nSTATUS=Processing step 2/2")
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "step 1/2: tile (0,0) contrast=") ||
		!strings.HasPrefix(lines[1], "step 2/2: tile (64,0) contrast=") ||
		!strings.HasPrefix(lines[2], "result: 2 tiles of 64x64, 32 grey levels, seed 1: mean contrast=") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestWorkerFlood(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	var stdout, stderr bytes.Buffer
	if code := runWorker([]string{"texture", "--steps", "1", "--step-time", "0", "--flood"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	outLines := strings.Count(stdout.String(), "\n")
	errLines := strings.Count(stderr.String(), "\n")
	if outLines != floodStdoutLines+2 || errLines != floodStderrLines {
		t.Errorf("%d stdout lines and %d stderr lines, want %d and %d", outLines, errLines, floodStdoutLines+2, floodStderrLines)
	}
	if stdout.Len() < 100*floodStdoutLines {
		t.Errorf("only %d bytes on stdout", stdout.Len())
	}
}

// worker is a worker run as a child process of the test, in its own process
// group, with its own notify socket.
type worker struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	notify         <-chan string
	exited         chan struct{} // closed once reaped
	err            error         // Wait's result, set before exited is closed
}

// syncBuffer is a buffer safe for the printer and the test at once.
type syncBuffer = syncbuf.Buffer

// startWorker starts `worker texture args...`. Whatever happens, the process
// group is killed with SIGKILL and the worker reaped when the test ends.
func startWorker(t *testing.T, args ...string) *worker {
	t.Helper()
	path, ch := listen(t)
	cmd := exec.Command(os.Args[0], append([]string{"worker", "texture"}, args...)...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w := &worker{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, notify: ch, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.stdout, w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		// The group may outlive its leader if the worker failed to reap
		// its grandchildren; its id stays ours while any member lives.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-w.exited:
		case <-time.After(waitLimit):
			t.Errorf("worker %d not reaped after SIGKILL", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("worker stdout:\n%s", tail(w.stdout.String(), 20))
			t.Logf("worker stderr:\n%s", tail(w.stderr.String(), 20))
		}
	})
	return w
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// wait waits for the worker to exit and returns its exit code, or -1 if a
// signal killed it.
func (w *worker) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-w.exited:
	case <-time.After(waitLimit):
		t.Fatalf("worker still running after %v", waitLimit)
	}
	var ee *exec.ExitError
	if w.err != nil && !errors.As(w.err, &ee) {
		t.Fatalf("wait: %v", w.err)
	}
	return w.cmd.ProcessState.ExitCode()
}

func (w *worker) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

func TestWorkerCompletes(t *testing.T) {
	w := startWorker(t, "--steps", "3", "--step-time", "20ms")
	expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(3))
	for k := 1; k <= 3; k++ {
		expectNotify(t, w.notify, fmt.Sprintf("X_PROGRESS=%d/3\nSTATUS=Processing step %d/3", k, k))
	}
	if code := w.wait(t); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	out := w.stdout.String()
	for _, want := range []string{"step 1/3: tile (0,0) ", "step 3/3: tile (128,0) ", "\nresult: 3 tiles of 64x64, 16 grey levels, seed 1: mean contrast="} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	select {
	case m := <-w.notify:
		if !strings.HasPrefix(m, "STATUS=Done: 3 steps, mean contrast ") {
			t.Errorf("last datagram %q", m)
		}
	case <-time.After(waitLimit):
		t.Error("no final STATUS")
	}
}

func TestWorkerCrash(t *testing.T) {
	w := startWorker(t, "--steps", "5", "--step-time", "10ms", "--crash-at", "2")
	expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(5))
	expectNotify(t, w.notify, "X_PROGRESS=1/5\nSTATUS=Processing step 1/5")
	if code := w.wait(t); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if got := w.stderr.String(); got != "crash at step 2: simulated failure\n" {
		t.Errorf("stderr %q", got)
	}
	if strings.Contains(w.stdout.String(), "step 2/5") {
		t.Errorf("step 2 reported:\n%s", w.stdout.String())
	}
}

func TestWorkerSIGTERM(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		sig  syscall.Signal
		code int
		at   string
	}{
		{"sleeping", []string{"--steps", "100", "--step-time", "1h"}, syscall.SIGTERM, 143, "1/100"},
		{"computing", []string{"--steps", "100", "--step-time", "1h", "--cpu"}, syscall.SIGTERM, 143, "1/100"},
		{"forever", []string{"--steps", "0", "--step-time", "1h"}, syscall.SIGTERM, 143, "1"},
		{"SIGINT", []string{"--steps", "100", "--step-time", "1h"}, syscall.SIGINT, 130, "1/100"},
		{"SIGINT ignoring SIGTERM", []string{"--steps", "100", "--step-time", "1h", "--ignore-term"}, syscall.SIGINT, 130, "1/100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorker(t, tt.args...)
			steps, _ := strconv.Atoi(tt.args[1])
			expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(steps))
			w.signal(t, tt.sig)
			if code := w.wait(t); code != tt.code {
				t.Fatalf("exit code %d, want %d", code, tt.code)
			}
			if got, want := w.stderr.String(), "cancelled at step "+tt.at+", cleaning up\n"; got != want {
				t.Errorf("stderr %q, want %q", got, want)
			}
			expectNotify(t, w.notify, "STOPPING=1\nSTATUS=Cancelled at step "+tt.at)
		})
	}
}

func TestWorkerHang(t *testing.T) {
	w := startWorker(t, "--steps", "5", "--step-time", "10ms", "--hang-at", "2")
	expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(5))
	expectNotify(t, w.notify, "X_PROGRESS=1/5\nSTATUS=Processing step 1/5")
	proctest.Eventually(t, waitLimit, "the hang message", func() bool { return strings.Contains(w.stderr.String(), "hang at step 2/5: simulated hang\n") })
	select {
	case m := <-w.notify:
		t.Fatalf("datagram %q while hanging", m)
	case <-w.exited:
		t.Fatalf("exited while hanging: %v", w.err)
	case <-time.After(200 * time.Millisecond): // 20 steps' time
	}
	w.signal(t, syscall.SIGTERM)
	if code := w.wait(t); code != 143 {
		t.Fatalf("exit code %d, want 143", code)
	}
	if !strings.Contains(w.stderr.String(), "cancelled at step 2/5, cleaning up\n") {
		t.Errorf("stderr %q", w.stderr.String())
	}
}

func TestWorkerIgnoreTerm(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(fmt.Sprintf("hang=%v", hang), func(t *testing.T) {
			args := []string{"--steps", "0", "--step-time", "10ms", "--ignore-term"}
			if hang {
				args = append(args, "--hang-at", "1")
			}
			w := startWorker(t, args...)
			expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(0))
			w.signal(t, syscall.SIGTERM)
			proctest.Eventually(t, waitLimit, `"ignoring SIGTERM"`, func() bool { return strings.Contains(w.stderr.String(), "ignoring SIGTERM\n") })
			if !hang {
				// Still working after the signal: fresh progress arrives.
				for len(w.notify) > 0 {
					<-w.notify
				}
				for range 3 {
					select {
					case m := <-w.notify:
						if !strings.HasPrefix(m, "STATUS=Processing step ") {
							t.Fatalf("datagram %q", m)
						}
					case <-time.After(waitLimit):
						t.Fatal("no progress after SIGTERM")
					}
				}
			}
			select {
			case <-w.exited:
				t.Fatalf("exited after an ignored SIGTERM: %v", w.err)
			case <-time.After(100 * time.Millisecond):
			}
			w.signal(t, syscall.SIGKILL)
			if code := w.wait(t); code != -1 || w.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("ended with %v, want killed by SIGKILL", w.cmd.ProcessState)
			}
		})
	}
}

func TestWorkerChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	for _, mode := range []string{"complete", "SIGTERM worker", "SIGTERM group"} {
		t.Run(mode, func(t *testing.T) {
			steps := "5"
			if mode != "complete" {
				steps = "1000"
			}
			w := startWorker(t, "--steps", steps, "--step-time", "50ms", "--children", "2")
			pid := w.cmd.Process.Pid
			n, _ := strconv.Atoi(steps)
			expectNotify(t, w.notify, "READY=1\nSTATUS="+readyStatus(n))
			// READY is sent after the grandchildren are started.
			members := proctest.GroupMembers(pid)
			if len(members) != 3 || !slices.Contains(members, pid) {
				t.Fatalf("process group %d has members %v, want the worker and 2 grandchildren", pid, members)
			}
			for _, m := range members {
				if m == pid {
					continue
				}
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", m))
				if args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00"); !slices.Equal(args[1:], []string{"worker", "texture", "--steps", "0", "--step-time", "50ms"}) {
					t.Errorf("grandchild %d runs %q", m, args)
				}
				if v, ok := proctest.Env(m, "NOTIFY_SOCKET"); ok {
					t.Errorf("grandchild %d has NOTIFY_SOCKET=%s", m, v)
				}
			}
			want := 0
			switch mode {
			case "SIGTERM worker":
				// The worker alone is signalled: it must stop its
				// grandchildren itself.
				expectNotify(t, w.notify, "X_PROGRESS=1/1000\nSTATUS=Processing step 1/1000")
				w.signal(t, syscall.SIGTERM)
				want = 143
			case "SIGTERM group":
				// As taskvisor stops a task: the grandchildren end too, and
				// say so on the shared stderr unless the worker's SIGKILL
				// comes first (see groupStderr).
				expectNotify(t, w.notify, "X_PROGRESS=1/1000\nSTATUS=Processing step 1/1000")
				if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				want = 143
			}
			if code := w.wait(t); code != want {
				t.Fatalf("exit code %d, want %d", code, want)
			}
			if left := proctest.GroupMembers(pid); len(left) > 0 {
				t.Fatalf("processes %v left in the worker's group after it exited", left)
			}
			stderr := w.stderr.String()
			switch mode {
			case "SIGTERM worker":
				// The worker's own line, and nothing from the grandchildren
				// that it killed.
				got := regexp.MustCompile(`cancelled at step \d+/1000`).ReplaceAllString(stderr, "cancelled at step k/1000")
				if got != "cancelled at step k/1000, cleaning up\n" {
					t.Errorf("stderr, want only the worker's cancelled line:\n%s", stderr)
				}
			case "SIGTERM group":
				if err := groupStderr(stderr, members, pid); err != nil {
					t.Errorf("stderr: %v:\n%s", err, stderr)
				}
			default:
				if stderr != "" {
					t.Errorf("stderr:\n%s", stderr)
				}
			}
			// Only the worker itself reported progress.
			for len(w.notify) > 0 {
				if m := <-w.notify; !strings.Contains(m, "/"+steps) && !strings.HasPrefix(m, "STATUS=Done") {
					t.Errorf("datagram %q, not from the worker", m)
				}
			}
		})
	}
}

// groupStderr checks the stderr of a worker whose whole group, the worker
// (pid) and its grandchildren (the other members), got SIGTERM: the
// worker's cancelled line, once; a grandchild's own cancelled line ("step
// N,", as it runs forever), at most once each, for those that wrote it
// before the worker's SIGKILL reached them; and, for those that even
// exited before the worker began to stop them, the worker's word that they
// ended early, of the SIGTERM, at most once each and not for more than
// wrote their line. Nothing else.
func groupStderr(stderr string, members []int, pid int) error {
	workerLine := regexp.MustCompile(`^cancelled at step \d+/1000, cleaning up$`)
	childLine := regexp.MustCompile(`^cancelled at step \d+, cleaning up$`)
	earlyLine := regexp.MustCompile(`^grandchild (\d+) ended early: exit status 143$`)
	grandchildren := len(members) - 1
	workers, children := 0, 0
	early := map[int]bool{}
	for line := range strings.Lines(stderr) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case workerLine.MatchString(line):
			workers++
		case childLine.MatchString(line):
			children++
		case earlyLine.MatchString(line):
			gc, _ := strconv.Atoi(earlyLine.FindStringSubmatch(line)[1])
			if gc == pid || !slices.Contains(members, gc) || early[gc] {
				return fmt.Errorf("%q: not a grandchild, or said twice", line)
			}
			early[gc] = true
		default:
			return fmt.Errorf("unexpected line %q", line)
		}
	}
	switch {
	case !strings.HasSuffix(stderr, "\n") && stderr != "":
		return errors.New("the last line is cut short")
	case workers != 1:
		return fmt.Errorf("%d cancelled lines of the worker, want 1", workers)
	case children > grandchildren:
		return fmt.Errorf("%d cancelled lines of grandchildren, but %d grandchildren", children, grandchildren)
	case len(early) > children:
		return fmt.Errorf("%d grandchildren ended early of the SIGTERM, but only %d said they were cancelled", len(early), children)
	}
	return nil
}

// TestWorkerOutputIsLines checks that stdout stays line-based while a flood
// runs alongside the step lines, as the output capture expects.
func TestWorkerOutputIsLines(t *testing.T) {
	w := startWorker(t, "--steps", "2", "--step-time", "0", "--flood")
	if code := w.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(w.stdout.String()))
	n := 0
	for sc.Scan() {
		n++
		if l := sc.Text(); !strings.HasPrefix(l, "flood step ") && !strings.HasPrefix(l, "step ") && !strings.HasPrefix(l, "result: ") {
			t.Fatalf("line %d: %q", n, l)
		}
	}
	if n != 2*floodStdoutLines+3 {
		t.Errorf("%d lines, want %d", n, 2*floodStdoutLines+3)
	}
}
