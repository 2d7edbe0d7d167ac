package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// The end-to-end tests of cmd/taskvisor-host, the example of a program that
// hosts taskvisor in its own actor system: it runs, its operator actor kills
// and restarts tasks by messages, its own heartbeat actor keeps answering
// during the run and after taskvisor's shutdown, and nothing of it survives.

var (
	hostOnce   sync.Once
	hostBinary string
	hostErr    error
)

// buildHost builds cmd/taskvisor-host once per test binary, next to the
// taskvisor binary (TestMain removes that directory).
func buildHost(t *testing.T) string {
	t.Helper()
	hostOnce.Do(func() {
		hostBinary = filepath.Join(filepath.Dir(binary), "taskvisor-host")
		out, err := exec.Command("go", "build", "-o", hostBinary, "../cmd/taskvisor-host").CombinedOutput()
		if err != nil {
			hostErr = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if hostErr != nil {
		t.Fatalf("build taskvisor-host: %v", hostErr)
	}
	return hostBinary
}

// hostRun is one run of taskvisor-host.
type hostRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line; closed at EOF
	stderr syncbuf.Buffer
	out    []string // every stdout line read so far
	waited chan error
	done   bool  // waited has been received
	err    error // what Wait returned
}

func startHost(t *testing.T, args ...string) *hostRun {
	t.Helper()
	h := &hostRun{t: t, lines: make(chan string, 1000), waited: make(chan error, 1)}
	h.cmd = exec.Command(buildHost(t), args...)
	// Its own process group: a signal from the test reaches the host only.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h.cmd.Stderr = &h.stderr
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start taskvisor-host: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
		h.waited <- h.cmd.Wait()
	}()
	t.Cleanup(h.cleanup)
	return h
}

// expect reads stdout until it has seen a line matching each of res, in
// any order.
func (h *hostRun) expect(res ...*regexp.Regexp) {
	h.t.Helper()
	timeout := time.After(wait)
	seen := make([]bool, len(res))
	for left := len(res); left > 0; {
		select {
		case line, ok := <-h.lines:
			if !ok {
				h.t.Fatalf("taskvisor-host ended before lines matching %q; output:\n%s\nstderr: %s", res, h.text(), h.stderr.String())
			}
			h.out = append(h.out, line)
			for i, re := range res {
				if !seen[i] && re.MatchString(line) {
					seen[i] = true
					left--
				}
			}
		case <-timeout:
			h.t.Fatalf("no lines matching %q within %s; output:\n%s", res, wait, h.text())
		}
	}
}

// finish waits up to d for the host to exit, and fails the test unless its
// exit code is 0.
func (h *hostRun) finish(d time.Duration) {
	h.t.Helper()
	if !h.exitedWithin(d) {
		h.t.Fatalf("taskvisor-host did not exit within %s; output:\n%s", d, h.text())
	}
	if h.err != nil {
		h.t.Fatalf("taskvisor-host: %v; output:\n%s\nstderr: %s", h.err, h.text(), h.stderr.String())
	}
}

func (h *hostRun) text() string { return strings.Join(h.out, "\n") }

// match returns the submatches of the first line read that matches re.
func (h *hostRun) match(re *regexp.Regexp) []string {
	h.t.Helper()
	for _, line := range h.out {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	h.t.Fatalf("no line matching %q; output:\n%s", re, h.text())
	return nil
}

// cleanup ends a host the test left running (SIGINT, then SIGKILL), then
// fails the test if any process of the run outlived it: a task's process
// group, a process marked with the run's TASKVISOR_RUN, or the guard.
func (h *hostRun) cleanup() {
	pid := h.cmd.Process.Pid
	if !h.exited() {
		_ = h.cmd.Process.Signal(os.Interrupt)
		if !h.exitedWithin(wait) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			h.exitedWithin(wait)
			// Its guard kills the tasks of a killed host: give it time.
			eventually(h.t, "the tasks of the killed host to end", func() bool {
				return len(proctest.Marked(runMarker(pid), true)) == 0
			})
		}
	}
	for _, m := range taskPIDs.FindAllStringSubmatch(h.text(), -1) {
		task, _ := strconv.Atoi(m[2])
		if members := groupMembers(task); len(members) > 0 {
			h.t.Errorf("task %s: its process group %d outlived taskvisor-host: %v", m[1], task, members)
			_ = syscall.Kill(-task, syscall.SIGKILL)
		}
	}
	if left := proctest.Marked(runMarker(pid), true); len(left) > 0 {
		h.t.Errorf("processes of taskvisor-host's tasks outlived it: %v", left)
	}
	// The guard outlives the program by design, for as long as its clean-up
	// takes.
	eventually(h.t, "taskvisor-host's guard process to end", func() bool {
		return len(proctest.Marked("TASKVISOR_GUARD="+strconv.Itoa(pid), false)) == 0
	})
}

// exited reports whether the host has exited and been waited for.
func (h *hostRun) exited() bool { return h.exitedWithin(0) }

// exitedWithin reads the rest of stdout and waits up to d for the exit.
func (h *hostRun) exitedWithin(d time.Duration) bool {
	if h.done {
		return true
	}
	timeout := time.After(d)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				select {
				case h.err = <-h.waited:
					h.done = true
					return true
				case <-timeout:
					return false
				}
			}
			h.out = append(h.out, line)
		case <-timeout:
			return false
		}
	}
}

func runMarker(pid int) string { return "TASKVISOR_RUN=" + strconv.Itoa(pid) + "." }

// The lines the tests look for; see cmd/taskvisor-host for their source.
var (
	taskPIDs   = regexp.MustCompile(`\[taskvisor\] \[Task (\d+)\] Started \(pid (\d+)\)`)
	pings      = regexp.MustCompile(`^\[host\] the heartbeat answered (\d+) of (\d+) pings`)
	afterwards = regexp.MustCompile(`^\[host\] heartbeat still answers after taskvisor shut down: (\d+) ticks`)
	killOrder  = regexp.MustCompile(`^\[operator\] task (\d+) \(silent\) .*kill it`)
	restartOrd = regexp.MustCompile(`^\[operator\] task (\d+) \(flaky\) .*restart it`)
)

// startedPIDs returns the pids task id started with, in order, from lines.
func startedPIDs(lines []string, id string) []string {
	var pids []string
	for _, line := range lines {
		if m := taskPIDs.FindStringSubmatch(line); m != nil && m[1] == id {
			pids = append(pids, m[2])
		}
	}
	return pids
}

// restartedPIDs returns the task the operator restarted, and the pids it
// started with before and after that.
func restartedPIDs(h *hostRun) (id string, before, after []string) {
	h.t.Helper()
	id = h.match(restartOrd)[1]
	for i, line := range h.out {
		if restartOrd.MatchString(line) {
			return id, startedPIDs(h.out[:i], id), startedPIDs(h.out[i+1:], id)
		}
	}
	return id, nil, nil
}

// checkStory asserts what the host's output must tell once it has exited.
func checkStory(t *testing.T, h *hostRun) {
	t.Helper()
	// The operator's Kill: the task it named ended killed by SIGKILL.
	killed := h.match(killOrder)[1]
	h.match(regexp.MustCompile(`^\[taskvisor\] \[Task ` + killed + `\] Task forcefully killed`))
	h.match(regexp.MustCompile(`^\[host\] task ` + killed + ` \(silent\) ended killed \(SIGKILL\)`))

	// The operator's Restart: the task it named started again, with a new pid.
	restarted, before, after := restartedPIDs(h)
	if len(after) == 0 {
		t.Fatalf("task %s did not start again after the operator's Restart; output:\n%s", restarted, h.text())
	}
	if len(before) == 0 || before[len(before)-1] == after[0] {
		t.Errorf("task %s: pids %v before the operator's Restart, %v after", restarted, before, after)
	}

	// The host's own actor answered every ping while taskvisor ran ...
	m := h.match(pings)
	if m[1] != m[2] {
		t.Errorf("the heartbeat answered %s of %s pings", m[1], m[2])
	}
	// ... and still works once taskvisor has shut down.
	if n, _ := strconv.Atoi(h.match(afterwards)[1]); n < 1 {
		t.Errorf("the heartbeat counted %d ticks", n)
	}
	// The steady worker was stopped gracefully by the shutdown.
	h.match(regexp.MustCompile(`^\[host\] task \d+ \(worker\) ended cancelled \(SIGTERM\)`))
}

// The default flow: the host runs for -duration, then shuts taskvisor down
// and exits 0.
func TestHostRunsAndShutsDown(t *testing.T) {
	h := startHost(t, "-duration", "5s")
	h.finish(wait + 5*time.Second)
	checkStory(t, h)
	if m := h.match(pings); m[2] == "0" {
		t.Errorf("no ping in a 5s run")
	}
}

// SIGINT in the middle of the run: the same clean shutdown, exit 0.
func TestHostSIGINT(t *testing.T) {
	h := startHost(t, "-duration", "1h")
	// The operator has done both of its things.
	h.expect(regexp.MustCompile(`^\[taskvisor\] \[Task \d+\] Task forcefully killed`), restartOrd)
	if id, _, after := restartedPIDs(h); len(after) == 0 {
		h.expect(regexp.MustCompile(`^\[taskvisor\] \[Task ` + id + `\] Started \(pid`))
	}
	if err := h.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	h.finish(wait)
	h.match(regexp.MustCompile(`^\[host\] signal: interrupt$`))
	checkStory(t, h)
}
