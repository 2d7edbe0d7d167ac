package headless

import (
	"context"
	"encoding/json"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 15 * time.Second

// syncBuffer is a buffer safe for the printer and the test at once.
type syncBuffer struct{ syncbuf.Buffer }

// waitFor polls until the buffer holds want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s in:\n%s", want, wait, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// session runs Run over a pipe with a small catalogue of shell tasks.
type session struct {
	in       *io.PipeWriter
	out, err *syncBuffer
	done     chan error
	result   error
	ended    bool
}

// wait waits for Run to return, once.
func (s *session) wait(t *testing.T) error {
	t.Helper()
	if !s.ended {
		select {
		case s.result = <-s.done:
			s.ended = true
		case <-time.After(wait):
			t.Fatalf("Run did not return within %s", wait)
		}
	}
	return s.result
}

func start(t *testing.T, json bool) *session {
	t.Helper()
	rt, err := actors.New(actors.Config{Subreaper: true, Catalogue: actors.Catalogue{
		{Key: "1", Name: "hello", Command: "echo hello; printf 'red \\033[31mtext\\n' >&2"},
		{Key: "2", Name: "sleeper", Command: "exec sleep 60"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	s := &session{in: w, out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	go func() { s.done <- Run(context.Background(), rt, Options{In: r, Out: s.out, Err: s.err, JSON: json}) }()
	t.Cleanup(func() {
		w.Close()
		_ = s.wait(t)
		if left := proctest.Children(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left after Run returned: %v", left)
		}
	})
	return s
}

func (s *session) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
}

// finish closes the input and waits for Run's shutdown to end.
func (s *session) finish(t *testing.T) {
	t.Helper()
	s.in.Close()
	if err := s.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestCommandsEventsAndSummary(t *testing.T) {
	s := start(t, false)
	s.send(t, "start hello")
	s.out.waitFor(t, "[Task 1] Task completed")
	s.send(t, "output 1")
	s.out.waitFor(t, "[Task 1 stdout] hello\n")
	// Control characters from a task never reach the terminal raw.
	s.out.waitFor(t, `[Task 1 stderr] red \x1b[31mtext`)
	s.send(t, "start 2")
	s.out.waitFor(t, "[Task 2] Started (pid ")
	s.send(t, "list")
	s.out.waitFor(t, "[Task 1] hello: completed, pid ")
	s.out.waitFor(t, "[Task 2] sleeper: running, pid ")
	s.finish(t)
	out := s.out.String()
	for _, want := range []string{"[Task 2] Cancelling: SIGTERM sent, SIGKILL in 5s", "[Task 2] Task cancelled", "[Task 1] hello ended: completed (exit code 0)", "[Task 2] sleeper ended: cancelled (SIGTERM)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Errorf("raw escape character in output:\n%q", out)
	}
	if want := "taskvisor: stopping task(s) 2: stop signal, then SIGKILL after each one's grace period (interrupt again to kill at once)\n"; s.err.String() != want {
		t.Errorf("stderr: %q, want %q", s.err.String(), want)
	}
}

func TestBadCommandsChangeNothing(t *testing.T) {
	s := start(t, false)
	for _, c := range []struct{ line, want string }{
		{"dance", `unknown command "dance"`},
		{"start", "start: missing argument"},
		{"start 1 2", "start takes 1 argument(s), got 2"},
		{"start 9", `start "9": no such template (known: 1 hello, 2 sleeper)`},
		{"cancel -1", `cancel: task id must be a positive number, not "-1"`},
		{"restart 7", "restart task 7: no such task"},
		{"output 3", "output of task 3: no such task"},
		{"quit now", `quit takes no argument, got "now"`},
	} {
		s.send(t, c.line)
		s.err.waitFor(t, "error: "+c.want)
	}
	s.send(t, "list")
	s.out.waitFor(t, "no tasks\n")
	s.send(t, "help")
	s.out.waitFor(t, "commands: start <key|name>")
	s.finish(t)
	if got := s.out.String(); got != "no tasks\n"+usage+"\n" {
		t.Errorf("bad commands printed something on stdout:\n%s", got)
	}
}

func TestJSONEvents(t *testing.T) {
	s := start(t, true)
	s.send(t, "start 1")
	s.out.waitFor(t, `"state":"completed"`)
	s.send(t, "quit")
	s.send(t, "list") // read after quit: ignored, and its reader ends
	if err := s.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(s.out.String()), "\n")
	states := []string{}
	for _, l := range lines {
		var e struct {
			Task  int    `json:"task"`
			State string `json:"state"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		if e.Task != 1 {
			t.Errorf("event of task %d", e.Task)
		}
		states = append(states, e.State)
	}
	if states[0] != "starting" || states[1] != "running" || states[len(states)-1] != "completed" {
		t.Errorf("states %v", states)
	}
}
