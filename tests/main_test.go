package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// wait bounds every expectation generously: the machines are shared and
// noisy, and a passing test never waits that long.
const wait = 20 * time.Second

// binary is the taskvisor executable built for this run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "taskvisor-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "taskvisor")
	// Plain taskvisor serves its API as a node: its store, logs and socket
	// go to the run's directory, not the user's.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	os.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	build := exec.Command("go", "build", "-o", binary, "../cmd/taskvisor")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build taskvisor: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// session is one headless taskvisor with pipes to its stdin, stdout, stderr.
type session struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line
	mu     sync.Mutex
	stderr strings.Builder
	waited chan error
	exited chan struct{} // closed once cmd.Wait has returned
	pids   map[int]bool  // every task pid seen, to check that none survives
}

func startSession(t *testing.T, args ...string) *session {
	t.Helper()
	return startSessionWith(t, nil, args...)
}

// startSessionWith is startSession with configure applied to the command
// before it starts (another binary, environment or user).
func startSessionWith(t *testing.T, configure func(*exec.Cmd), args ...string) *session {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--headless"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if configure != nil {
		configure(cmd)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 10000), waited: make(chan error, 1), exited: make(chan struct{}), pids: map[int]bool{}}
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stderr.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start taskvisor: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.waited <- cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.cleanup)
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatalf("send %q: %v", line, err)
	}
}

// expectLine waits for a stdout line for which match holds, skipping others.
func (s *session) expectLine(what string, match func(string) bool) string {
	s.t.Helper()
	timeout := time.After(wait)
	var skipped []string
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("taskvisor ended before %s; skipped %q; stderr: %s", what, skipped, s.errText())
			}
			s.notePid(line)
			if match(line) {
				return line
			}
			skipped = append(skipped, line)
		case <-timeout:
			s.t.Fatalf("no %s within %s; skipped %q; stderr: %s", what, wait, skipped, s.errText())
		}
	}
}

func (s *session) expectPrefix(prefix string) string {
	s.t.Helper()
	return s.expectLine(fmt.Sprintf("line starting %q", prefix), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// event is the --json wire form.
type event struct {
	Time     time.Time  `json:"time"`
	Task     int        `json:"task"`
	Name     string     `json:"name"`
	State    string     `json:"state"`
	PID      int        `json:"pid"`
	Progress float64    `json:"progress"`
	Step     int        `json:"step"`
	Steps    int        `json:"steps"`
	Message  string     `json:"message"`
	Restarts int        `json:"restarts"`
	ExitCode *int       `json:"exit_code"`
	Signal   *string    `json:"signal"`
	Reason   string     `json:"reason"`
	Deadline *time.Time `json:"deadline"`
}

func (s *session) expectEvent(what string, match func(event) bool) event {
	s.t.Helper()
	var got event
	s.expectLine(what, func(l string) bool {
		var e event
		if json.Unmarshal([]byte(l), &e) != nil {
			return false
		}
		got = e
		return match(e)
	})
	return got
}

// notePid remembers task pids from JSON events, so cleanup can check them.
func (s *session) notePid(line string) {
	var e event
	if json.Unmarshal([]byte(line), &e) == nil && e.PID > 0 {
		s.pids[e.PID] = true
	}
}

func (s *session) errText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// finish closes stdin and waits for taskvisor to exit, returning the rest of
// its output.
func (s *session) finish() (rest []string, err error) {
	s.t.Helper()
	s.stdin.Close()
	timeout := time.After(wait)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return rest, <-s.waited
			}
			s.notePid(line)
			rest = append(rest, line)
		case <-timeout:
			s.t.Fatalf("taskvisor did not exit within %s after EOF; stderr: %s", wait, s.errText())
		}
	}
}

// cleanup kills whatever is left and fails the test if any task process
// outlived taskvisor.
func (s *session) cleanup() {
	// exited, not cmd.ProcessState: Wait writes that on its own goroutine.
	select {
	case <-s.exited:
	default:
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(wait):
		}
	}
	var survivors []int
	for pid := range s.pids {
		if len(groupMembers(pid)) > 0 {
			survivors = append(survivors, pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if len(survivors) > 0 {
		s.t.Errorf("process groups of tasks %v outlived taskvisor", survivors)
	}
}

// groupMembers lists the processes of process group pgid, zombies included.
func groupMembers(pgid int) []int { return proctest.GroupMembers(pgid) }

// eventually polls cond until it holds or wait runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}
