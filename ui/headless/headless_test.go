package headless

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
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

// catalogue is the tests' catalogue: a task that writes a line on each
// stream and ends, and one that sleeps.
var catalogue = actors.Catalogue{
	{Key: "1", Name: "hello", Command: "echo hello; printf 'red \\033[31mtext\\n' >&2"},
	{Key: "2", Name: "sleeper", Command: "exec sleep 60"},
}

func start(t *testing.T, json bool) *session {
	t.Helper()
	return startWith(t, json, catalogue)
}

// startWith is start with a catalogue of the test's own.
func startWith(t *testing.T, json bool, cat actors.Catalogue) *session {
	t.Helper()
	return startOpts(t, Options{JSON: json}, cat)
}

// startOpts is startWith with options (In, Out and Err are the session's).
func startOpts(t *testing.T, opts Options, cat actors.Catalogue) *session {
	t.Helper()
	rt, err := actors.New(actors.Config{Subreaper: true, Catalogue: cat})
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	s := &session{in: w, out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	opts.In, opts.Out, opts.Err = r, s.out, s.err
	go func() { s.done <- Run(context.Background(), rt, opts) }()
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
	s.out.waitFor(t, "[Task 1] | hello\n")
	// Control characters from a task never reach the terminal raw.
	s.out.waitFor(t, `[Task 1] E| red \x1b[31mtext`)
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

// A task command takes a name as well as an id; a key is neither, and an
// unknown id that is a key says so. Before, "cancel sleeper" was an error
// and "cancel 2" after "start 2" said only "no such task".
func TestTaskCommandsTakeNamesNotKeys(t *testing.T) {
	s := start(t, false)
	s.send(t, "start 1")
	s.out.waitFor(t, "[Task 1] Task completed")
	s.send(t, "start 2")
	s.out.waitFor(t, "[Task 2] Started (pid ")
	s.send(t, "output hello") // ended: the last of that name
	s.out.waitFor(t, "[Task 1] | hello\n")
	s.send(t, "start sleeper")
	s.out.waitFor(t, "[Task 3] Started (pid ")
	s.send(t, "cancel sleeper")
	s.err.waitFor(t, "error: cancel sleeper: 2 tasks named sleeper have not ended (ids 2, 3): give the id")
	s.send(t, "kill 3")
	s.out.waitFor(t, "[Task 3] Task forcefully killed")
	s.send(t, "cancel sleeper") // now one: task 2
	s.out.waitFor(t, "[Task 2] Task cancelled")
	s.send(t, "cancel nobody")
	s.err.waitFor(t, `error: cancel: no task is named "nobody", and it is no id`)
	s.finish(t)
}

// An unknown id that is a template's key says so.
func TestUnknownIDThatIsAKey(t *testing.T) {
	s := start(t, false)
	s.send(t, "cancel 2")
	s.err.waitFor(t, "error: cancel task 2: no such task (2 is the key of template sleeper: task commands take the id that start printed, or the task's name)")
	s.finish(t)
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
			Reply string `json:"reply"`
			Task  int    `json:"task"`
			State string `json:"state"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		if e.Reply != "" {
			if e.Reply != "start" || e.Task != 1 {
				t.Errorf("reply %q", l)
			}
			continue
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

// A task's STATUS= with an escape sequence and quotes prints in text mode
// with the escape shown as \x1b and the quotes as they are: in the event
// line, in list and in the summary's name.
func TestStatusIsEscapedOnce(t *testing.T) {
	if _, err := exec.LookPath("systemd-notify"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-notify is required in CI: %v", err)
		}
		t.Skipf("systemd-notify is not installed: %v", err)
	}
	// Without --no-block, systemd-notify waits until the status has been
	// received: it is in an event before the task exits.
	s := startWith(t, false, actors.Catalogue{{Key: "1", Name: "say \"hi\"",
		Command: `systemd-notify --status="$(printf 'say \033[31m"red"\033[0m')"; exec sleep 60`}})
	s.send(t, "start 1")
	const status = `say \x1b[31m"red"\x1b[0m`
	s.out.waitFor(t, "[Task 1] "+status+"\n")
	s.send(t, "list")
	s.out.waitFor(t, `[Task 1] say "hi": running, pid `)
	s.out.waitFor(t, " - "+status+"\n")
	s.finish(t)
	out := s.out.String()
	if strings.ContainsRune(out, 0x1b) || strings.Contains(out, `\"`) {
		t.Errorf("raw or doubly escaped text in output:\n%s", out)
	}
	if want := `[Task 1] say "hi" ended: cancelled (SIGTERM)` + "\n"; !strings.HasSuffix(out, want) {
		t.Errorf("summary: want %q at the end of:\n%s", want, out)
	}
}

// Every piece of a task's text printed in text mode is escaped by the one
// function the terminal UI uses; JSON carries it as it is.
func TestPrinterEscapesTaskText(t *testing.T) {
	const raw, shown = "\x1b]0;pwned\x07 \"q\" \u202e", `\x1b]0;pwned\x07 "q" \u202e`
	var out strings.Builder
	p := newPrinter(&out, false)
	ev := actors.TaskEvent{ID: 3, Name: "n" + raw, State: actors.StateKilled, PID: 42, ExitCode: -1,
		Signal: syscall.SIGKILL, Status: raw, Message: raw, Reason: raw}
	p.event(ev)
	p.event(actors.GroupEvent{Group: "g" + raw, Message: raw})
	p.list([]actors.TaskEvent{ev})
	p.output(3, []actors.Line{{Stream: actors.Stdout, Text: raw}, {Stream: actors.Stderr, Text: raw}})
	p.summary([]actors.TaskEvent{ev, {ID: 4, Name: "m", State: actors.StateFailed, ExitCode: -1, Reason: raw}})
	want := "[Task 3] " + shown + "\n" +
		"[Group g" + shown + "] " + shown + "\n" +
		"[Task 3] n" + shown + ": killed, pid 42 - " + shown + "\n" +
		"[Task 3] | " + shown + "\n" +
		"[Task 3] E| " + shown + "\n" +
		"[Task 3] n" + shown + " ended: killed (SIGKILL)\n" +
		"[Task 4] m ended: failed (" + shown + ")\n"
	if got := out.String(); got != want {
		t.Errorf("text mode printed\n%s\nwant\n%s", got, want)
	}

	out.Reset()
	p.json = true
	p.event(ev)
	var back struct{ Status, Message string }
	if err := json.Unmarshal([]byte(out.String()), &back); err != nil || back.Status != raw || back.Message != raw {
		t.Errorf("JSON mode: %q (%v), want the text as it is", out.String(), err)
	}
}

// A command line over MaxLineBytes is an error that changes nothing: the
// lines after it are still read and acted on (it used to end the input
// silently, which stopped every task).
func TestLongLineIsAnErrorAndReadingGoesOn(t *testing.T) {
	s := start(t, false)
	s.send(t, strings.Repeat("x", 65536))
	s.send(t, strings.Repeat("y", 3*MaxLineBytes))
	s.send(t, "start 2")
	s.out.waitFor(t, "[Task 1] Started (pid ")
	s.err.waitFor(t, `error: unknown command "xxxx`) // 64 KiB exactly: read, and a bad command
	s.err.waitFor(t, "error: input line 2: longer than 64 KiB: ignored\n")
	select {
	case err := <-s.done:
		t.Fatalf("Run returned after a long line: %v", err)
	default:
	}
	s.finish(t)
}

// With Output, each line a task writes prints as it comes: "[Task 1] |" for
// stdout, "[Task 1] E|" for stderr, escaped as the rest of the text.
func TestLiveOutputText(t *testing.T) {
	s := startOpts(t, Options{Output: true}, catalogue)
	s.send(t, "start 1")
	s.out.waitFor(t, "[Task 1] | hello\n")
	s.out.waitFor(t, `[Task 1] E| red \x1b[31mtext`+"\n")
	s.finish(t)
	if out := s.out.String(); strings.Count(out, "| hello\n") != 1 || strings.ContainsRune(out, 0x1b) {
		t.Errorf("want the line once, escaped:\n%s", out)
	}
}

// In JSON, an output line is an object with time, task, name, stream and
// text (the text as it is); the answer to start is a reply object.
func TestLiveOutputJSON(t *testing.T) {
	s := startOpts(t, Options{JSON: true, Output: true}, catalogue)
	s.send(t, "start 1")
	s.out.waitFor(t, `"stream":"stderr"`)
	s.finish(t)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(s.out.String()), "\n") {
		var o struct {
			Reply, Name, Stream, Text string
			Task                      int
			Time                      time.Time
			State                     string
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		switch {
		case o.Reply != "":
			got = append(got, "reply "+o.Reply)
		case o.Stream != "":
			if o.Task != 1 || o.Name != "hello" || o.Time.IsZero() {
				t.Errorf("output line without its task, name or time: %s", l)
			}
			got = append(got, o.Stream+" "+o.Text)
		}
	}
	want := []string{"reply start", "stdout hello", "stderr red \x1b[31mtext"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies and lines %q, want %q", got, want)
	}
}

// The answer to list comes after the events it reflects: a task started just
// before list has its "Starting" line printed before its list line (it used
// to come after, since events print on the subscription's goroutine).
func TestListAfterItsEvents(t *testing.T) {
	s := start(t, false)
	const n = 5
	for i := 0; i < n; i++ {
		s.send(t, "start 2")
		s.send(t, "list")
	}
	s.out.waitFor(t, fmt.Sprintf("[Task %d] sleeper: ", n))
	s.finish(t)
	out := s.out.String()
	for id := 1; id <= n; id++ {
		ev := strings.Index(out, fmt.Sprintf("[Task %d] Starting\n", id))
		ls := strings.Index(out, fmt.Sprintf("[Task %d] sleeper: ", id))
		if ev < 0 || ls < 0 || ls < ev {
			t.Errorf("task %d: list line at %d, before its first event at %d:\n%s", id, ls, ev, out)
		}
		if !strings.Contains(out, fmt.Sprintf("[Task %d] started: sleeper\n", id)) {
			t.Errorf("no start answer for task %d", id)
		}
	}
	if strings.Contains(out, " - \n") {
		t.Errorf("a list line ends in a dangling \" - \":\n%s", out)
	}
}

// In JSON, the answer to list is one object of its own kind, not events.
func TestJSONListReply(t *testing.T) {
	s := start(t, true)
	s.send(t, "start 2")
	s.send(t, "list")
	s.out.waitFor(t, `"reply":"list"`)
	s.send(t, "output 1")
	s.out.waitFor(t, `"reply":"output"`)
	s.finish(t)
	events := 0
	for _, l := range strings.Split(strings.TrimSpace(s.out.String()), "\n") {
		var o struct {
			Reply string
			Task  int
			Tasks []struct {
				Task  int
				State string
			}
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		switch o.Reply {
		case "":
			events++
		case "list":
			if len(o.Tasks) != 1 || o.Tasks[0].Task != 1 || o.Tasks[0].State == "" {
				t.Errorf("list reply %s", l)
			}
		case "output", "start":
			if o.Task != 1 {
				t.Errorf("%s reply %s", o.Reply, l)
			}
		default:
			t.Errorf("reply %s", l)
		}
	}
	if events == 0 {
		t.Error("no events")
	}
}

// A task's count of dropped sd_notify datagrams is said in text when it
// changes, and carried in JSON as notify_dropped. Failed first: neither
// showed it.
func TestNotifyDroppedIsShown(t *testing.T) {
	var out strings.Builder
	p := newPrinter(&out, false)
	ev := actors.TaskEvent{ID: 2, Name: "n", State: actors.StateRunning, Message: "Step 1/3", ExitCode: -1}
	p.event(ev)
	ev.NotifyDropped, ev.Message = 7, "Step 2/3"
	p.event(ev)
	ev.Message = "Step 3/3"
	p.event(ev)
	want := "[Task 2] Step 1/3\n[Task 2] Step 2/3 (sd_notify: 7 datagrams dropped)\n[Task 2] Step 3/3\n"
	if got := out.String(); got != want {
		t.Errorf("text mode printed\n%s\nwant\n%s", got, want)
	}
	out.Reset()
	p.json = true
	p.event(ev)
	var back struct {
		NotifyDropped uint64 `json:"notify_dropped"`
	}
	if err := json.Unmarshal([]byte(out.String()), &back); err != nil || back.NotifyDropped != 7 {
		t.Errorf("JSON %q (%v): want notify_dropped 7", out.String(), err)
	}
}

// A list answer never contradicts an event printed before it: where the
// supervisor's entry is older (a task just started, listed before its first
// event reached the supervisor), the newer event printed is what the list
// says. Before, "[Task 1] Started" could be followed by a list with
// "[Task 1] standard: starting".
func TestListDoesNotGoBackInTime(t *testing.T) {
	var out strings.Builder
	p := newPrinter(&out, false)
	now := time.Now()
	p.event(actors.TaskEvent{ID: 1, Name: "standard", State: actors.StateRunning, PID: 42, Message: "Started (pid 42)", ExitCode: -1, Time: now})
	p.list([]actors.TaskEvent{{ID: 1, Name: "standard", State: actors.StateStarting, ExitCode: -1}})
	want := "[Task 1] Started (pid 42)\n[Task 1] standard: running, pid 42 - Started (pid 42)\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	// A newer entry wins over the event printed.
	p.list([]actors.TaskEvent{{ID: 1, Name: "standard", State: actors.StateStopping, PID: 42, Message: "Cancelling", ExitCode: -1, Time: now.Add(time.Second)}})
	if want := "[Task 1] standard: stopping, pid 42 - Cancelling\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// run starts an ad-hoc shell task named after its first word, and
// max-parallel sets and moves the limit: a task over it is queued until the
// limit is raised.
func TestRunAndMaxParallel(t *testing.T) {
	s := startOpts(t, Options{Output: true}, catalogue)
	s.send(t, "max-parallel 1")
	s.out.waitFor(t, "max-parallel of the whole runtime: 1 at once")
	s.send(t, "run sleep 30")
	s.out.waitFor(t, "[Task 1] started: sleep\n")
	s.out.waitFor(t, "[Task 1] Started (pid")
	s.send(t, "run echo 'from run'")
	s.out.waitFor(t, "[Task 2] started: echo\n")
	s.out.waitFor(t, "[Task 2] Queued: next in line")
	s.send(t, "max-parallel +1")
	s.out.waitFor(t, "max-parallel of the whole runtime: 2 at once")
	s.out.waitFor(t, "[Task 2] | from run")
	s.send(t, "max-parallel nosuch 2")
	s.err.waitFor(t, "nosuch")
	s.send(t, "run")
	s.err.waitFor(t, "run: give a command line")
	s.finish(t)
}

// list says each queued task's live place in line, counted from the
// tickets, not the place its queued event took.
func TestListSaysThePlaceInLine(t *testing.T) {
	s := start(t, false)
	s.send(t, "max-parallel 1")
	s.send(t, "run sleep 30")
	s.out.waitFor(t, "[Task 1] Started (pid")
	s.send(t, "run sleep 31")
	s.send(t, "run sleep 32")
	s.out.waitFor(t, "[Task 3] Queued: 1 ahead of it")
	s.send(t, "cancel 2")
	s.out.waitFor(t, "[Task 2] Task cancelled while queued, before it started")
	s.send(t, "list")
	s.out.waitFor(t, "[Task 3] sleep: queued - Queued: 1st in line")
	s.finish(t)
}
