// Package headless runs taskvisor without a terminal UI: commands arrive as
// lines on an input stream and events leave as lines (or JSON objects) on an
// output stream. It is a subscriber of the runtime's events like any other,
// and talks to the runtime only through its commands.
//
// The protocol, one command a line:
//
//	start <key|name>   start a task from the catalogue
//	run <command line> start an ad-hoc task: the line, run by /bin/sh -c,
//	                   named after its first word
//	cancel <id|name>   SIGTERM, then SIGKILL after the task's grace period
//	kill <id|name>     SIGKILL to the task's process group now
//	restart <id|name>  kill and start a new process under the same id
//	pause <id|name>    SIGSTOP to every process of the task; resume
//	resume <id|name>   sends SIGCONT
//	list               print the current state of every task
//	output <id|name>   print the task's last output lines
//	max-parallel [group] N|+N|-N
//	                   set (0: none) or move a parallelism limit, the
//	                   whole runtime's or a group's; answers the limit
//	help               print this list
//	quit               stop every task with escalation and exit
//
// A task is named by the id that start printed ("[Task 5] started: web"),
// not by the key that started it: after "start 2", "cancel 2" means task 2,
// whichever template that was. Or by its name, which means the one task of
// that name that has not ended (it is an error if several have not), else
// the last one of that name.
//
// A bad command prints an error on the error stream and changes nothing.
// Task events print as "[Task N] message", a supervision group's decisions
// as "[Group name] message", a task's output lines (with Options.Output) as
// "[Task N] | text" (stdout) and "[Task N] E| text" (stderr); start answers
// with the id it gave: "[Task N] started: name". With JSON, each is one
// object: an event as actors.TaskEvent's JSON, an output line as {"time",
// "task", "name", "stream", "text"}, and the answer to a command as an
// object with "reply" set to the command ("start", "list", "output",
// "help"). The answer to list comes after the events it reflects. In text, a
// task's text (name, STATUS=, output, the messages that quote them) is
// escaped as the terminal UI shows it: control characters, invalid UTF-8 and
// invisible format characters become Go escapes ("\x1b"), everything else
// is printed as it is; JSON carries it unchanged.
package headless

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/internal/termtext"
	"github.com/taskvisor/taskvisor/ui/internal/tasktext"
)

// Options configures Run.
type Options struct {
	// In carries the commands. Run reads it on a goroutine of its own; after
	// Run returns, that goroutine ends at the next line, EOF or error of In
	// (a blocked read cannot be interrupted), without acting on it.
	In io.Reader
	// Out receives the events and the answers to list and output.
	Out io.Writer
	// Err receives errors about commands.
	Err io.Writer
	// JSON prints one JSON object per event instead of a line of text.
	JSON bool
	// Output prints each line a task writes as it comes (Follow), after
	// the lines its buffer holds when the task starts.
	Output bool
	// Ended, when set, is called once after the shutdown with how each
	// task ended (the final event of each), before Run returns.
	Ended func(final []actors.TaskEvent)
	// Force, when it ends, turns a graceful shutdown into SIGKILL for every
	// task still running (a second Ctrl-C). Nil: never.
	Force context.Context
	// Usage prints a usage sample of every task with a process once a
	// second (actors.UsageEvent: its JSON, or "[Usage] task 1 97% ...").
	Usage bool
}

// Run serves commands until quit, EOF on In, or the end of ctx; then it shuts
// the runtime down with escalation, prints how each task ended and returns.
func Run(ctx context.Context, rt *actors.Runtime, opts Options) error {
	// Neither stream is written directly: a reader that stops reading must
	// block neither the event subscription nor the quit.
	out := newQueue(opts.Out, QueueBytes, droppedNotice(opts.JSON))
	errOut := newQueue(opts.Err, QueueBytes, droppedNotice(false))
	opts.Err = errOut
	defer func() {
		out.close(DrainStall)
		errOut.close(DrainStall)
	}()
	p := newPrinter(out, opts.JSON)
	if opts.Output {
		p.follow = func(ctx context.Context, id int) (<-chan actors.OutputLine, error) { return rt.Follow(ctx, id) }
	}
	unsubscribe := rt.SubscribeAll(p.event)
	if opts.Usage {
		defer rt.SubscribeUsage(p.usage)()
	}
	if _, err := rt.Autostart(ctx); err != nil {
		fmt.Fprintf(opts.Err, "error: %s\n", termtext.Escape(err.Error()))
	}

	lines := make(chan string)
	served := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		readErr <- readLines(opts.In, opts.Err, lines, served)
	}()

	serve(ctx, rt, p, opts.Err, lines)
	close(served)
	var inErr error
	select {
	case inErr = <-readErr:
	default: // still reading: quit or ctx ended first
	}

	force := opts.Force
	if force == nil {
		force = context.Background()
	}
	announceShutdown(rt, opts.Err)
	final, err := rt.Shutdown(force)
	unsubscribe() // every event so far has been printed
	p.stopFollowing()
	p.summary(final)
	if opts.Ended != nil {
		opts.Ended(final)
	}
	return errors.Join(inErr, err)
}

// droppedNotice is the line that says how many lines a queue dropped: text,
// or a JSON object {"time", "dropped"} among the events.
func droppedNotice(json bool) func(int) []byte {
	return func(n int) []byte {
		if json {
			return fmt.Appendf(nil, "{\"time\":%q,\"dropped\":%d}\n", time.Now().Format(time.RFC3339Nano), n)
		}
		return fmt.Appendf(nil, "taskvisor: %d lines dropped here: the stream was not read fast enough\n", n)
	}
}

// MaxLineBytes is the longest command line read; a longer one is reported
// as an error and skipped, up to its newline, and reading goes on.
const MaxLineBytes = 64 << 10

// readLines sends each line of in to lines until EOF, a read error (which
// it returns) or served being closed. A line over MaxLineBytes is skipped
// with an error on errOut.
func readLines(in io.Reader, errOut io.Writer, lines chan<- string, served <-chan struct{}) error {
	r := bufio.NewReaderSize(in, 4096)
	var buf []byte
	n, tooLong := 0, false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(buf) > MaxLineBytes+1 { // +1: the newline
				tooLong, buf = true, buf[:0]
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(chunk) > 0 || len(buf) > 0 || tooLong {
			n++
			line := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
			switch {
			case tooLong:
				fmt.Fprintf(errOut, "error: input line %d: longer than %d KiB: ignored\n", n, MaxLineBytes>>10)
			case len(chunk) > 0 || len(buf) > 0:
				select {
				case lines <- line:
				case <-served: // quit, or ctx ended: the rest is not read
					return nil
				}
			}
		}
		buf, tooLong = buf[:0], false
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read commands: %w", err)
		}
	}
}

func serve(ctx context.Context, rt *actors.Runtime, p *printer, errOut io.Writer, lines <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			quit, err := execute(ctx, rt, p, line)
			if err != nil {
				fmt.Fprintf(errOut, "error: %s\n", termtext.Escape(err.Error()))
			}
			if quit {
				return
			}
		}
	}
}

// announceShutdown says on the error stream which tasks the shutdown waits
// for, so that a wait for a grace period is not mistaken for a hang.
func announceShutdown(rt *actors.Runtime, errOut io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tasks, err := rt.List(ctx)
	if err != nil {
		return
	}
	var live []string
	for _, ev := range tasks {
		if !ev.State.Ended() {
			live = append(live, strconv.Itoa(ev.ID))
		}
	}
	if len(live) > 0 {
		fmt.Fprintf(errOut, "taskvisor: stopping task(s) %s: stop signal, then SIGKILL after each one's grace period (interrupt again to kill at once)\n", strings.Join(live, ", "))
	}
}

const usage = `commands: start <key|name>, run <command line>, cancel <id|name>, kill <id|name>, restart <id|name>, pause <id|name>, resume <id|name>, list, output <id|name>, max-parallel [group] N|+N|-N, help, quit (a task's id is the one start printed, not its key)`

// execute runs one command line; quit reports whether it was quit.
func execute(ctx context.Context, rt *actors.Runtime, p *printer, line string) (quit bool, err error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return false, nil
	}
	cmd, args := strings.ToLower(fields[0]), fields[1:]
	switch cmd {
	case "quit", "exit":
		err := expectArgs(cmd, args, 0)
		return err == nil, err
	case "help":
		p.text(usage)
		return false, expectArgs(cmd, args, 0)
	case "list":
		if err := expectArgs(cmd, args, 0); err != nil {
			return false, err
		}
		tasks, err := rt.List(ctx)
		if err != nil {
			return false, err
		}
		p.awaitEvents(tasks, listWait)
		p.list(tasks)
		return false, nil
	case "start":
		if err := expectArgs(cmd, args, 1); err != nil {
			return false, err
		}
		id, err := rt.Start(ctx, args[0])
		if err != nil {
			return false, err
		}
		spec, _ := rt.Catalogue().Lookup(args[0])
		p.started(id, spec.Name)
		return false, nil
	case "run":
		return false, runAdHoc(ctx, rt, p, line)
	case "max-parallel":
		return false, maxParallel(ctx, rt, p, args)
	case "cancel", "kill", "restart", "pause", "resume", "output":
		if err := expectArgs(cmd, args, 1); err != nil {
			return false, err
		}
		id, err := taskID(ctx, rt, cmd, args[0])
		if err != nil {
			return false, err
		}
		switch cmd {
		case "cancel":
			err = rt.Cancel(ctx, id)
		case "kill":
			err = rt.Kill(ctx, id)
		case "restart":
			err = rt.Restart(ctx, id)
		case "pause":
			err = rt.Pause(ctx, id)
		case "resume":
			err = rt.Resume(ctx, id)
		}
		if err != nil {
			return false, keyHint(rt, args[0], err)
		}
		if cmd != "output" {
			return false, nil
		}
		lines, err := rt.Output(ctx, id)
		if err != nil {
			return false, keyHint(rt, args[0], err)
		}
		p.output(id, lines)
		return false, nil
	}
	return false, fmt.Errorf("unknown command %q (%s)", fields[0], usage)
}

// runAdHoc starts the rest of a run line as an ad-hoc shell task, named
// after the command's first word.
func runAdHoc(ctx context.Context, rt *actors.Runtime, p *printer, line string) error {
	command := strings.TrimSpace(strings.TrimSpace(line)[len("run"):])
	if command == "" {
		return errors.New("run: give a command line to run (run sleep 10)")
	}
	name := filepath.Base(strings.Fields(command)[0])
	id, err := rt.StartSpec(ctx, actors.TaskSpec{Name: name, Command: command})
	if err != nil {
		return err
	}
	p.started(id, name)
	return nil
}

// maxParallel is the max-parallel command: [group] N, +N or -N.
func maxParallel(ctx context.Context, rt *actors.Runtime, p *printer, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return errors.New("max-parallel: want [group] N (0: no limit), +N or -N")
	}
	group, arg := "", args[len(args)-1]
	if len(args) == 2 {
		group = args[0]
	}
	n, relative, err := ParseMaxParallel(arg)
	if err != nil {
		return fmt.Errorf("max-parallel: %w", err)
	}
	limit := n
	if relative {
		limit, err = rt.AdjustMaxParallel(ctx, group, n)
	} else {
		err = rt.SetMaxParallel(ctx, group, n)
	}
	if err != nil {
		return err
	}
	p.limit(group, limit)
	return nil
}

// ParseMaxParallel reads a max-parallel argument: N (a limit; 0 for none),
// or +N or -N (a move of the limit, relative).
func ParseMaxParallel(arg string) (n int, relative bool, err error) {
	n, err = strconv.Atoi(arg)
	relative = strings.HasPrefix(arg, "+") || strings.HasPrefix(arg, "-")
	if err != nil || (n < 0 && !relative) {
		return 0, false, fmt.Errorf("want a count (0: no limit), +N or -N, got %q", arg)
	}
	return n, relative, nil
}

// taskID reads a task command's argument: an id, or the name of a task
// (the one of that name that has not ended, else the last of that name).
func taskID(ctx context.Context, rt *actors.Runtime, cmd, arg string) (int, error) {
	if id, err := strconv.Atoi(arg); err == nil {
		if id <= 0 {
			return 0, fmt.Errorf("%s: task id must be a positive number, not %q", cmd, arg)
		}
		return id, nil
	}
	tasks, err := rt.List(ctx)
	if err != nil {
		return 0, err
	}
	var live []int
	last := 0
	for _, t := range tasks { // in id order
		if t.Name != arg {
			continue
		}
		last = t.ID
		if !t.State.Ended() {
			live = append(live, t.ID)
		}
	}
	switch {
	case len(live) == 1:
		return live[0], nil
	case len(live) > 1:
		ids := make([]string, len(live))
		for i, id := range live {
			ids[i] = strconv.Itoa(id)
		}
		return 0, fmt.Errorf("%s %s: %d tasks named %s have not ended (ids %s): give the id", cmd, termtext.Escape(arg), len(live), termtext.Escape(arg), strings.Join(ids, ", "))
	case last > 0:
		return last, nil
	}
	return 0, fmt.Errorf("%s: no task is named %q, and it is no id (start %s starts one, if a template has that name)", cmd, arg, termtext.Escape(arg))
}

// keyHint adds to an unknown task's error that arg is a template's key, when
// it is: ids and keys are not the same numbers.
func keyHint(rt *actors.Runtime, arg string, err error) error {
	if !errors.Is(err, actors.ErrUnknownTask) {
		return err
	}
	for _, spec := range rt.Catalogue() {
		if spec.Key == arg {
			return fmt.Errorf("%w (%s is the key of template %s: task commands take the id that start printed, or the task's name)", err, arg, termtext.Escape(spec.Name))
		}
	}
	return err
}

func expectArgs(cmd string, args []string, n int) error {
	if len(args) == n {
		return nil
	}
	switch n {
	case 0:
		return fmt.Errorf("%s takes no argument, got %q", cmd, strings.Join(args, " "))
	case 1:
		if len(args) == 0 {
			return fmt.Errorf("%s: missing argument", cmd)
		}
	}
	return fmt.Errorf("%s takes %d argument(s), got %d: %q", cmd, n, len(args), strings.Join(args, " "))
}

// listWait bounds how long a list answer waits for the events it reflects
// to be printed (they come on the subscription's goroutine).
const listWait = 2 * time.Second

// printer writes events, output lines and answers, one line at a time.
type printer struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
	// latest is the newest event printed of each task; changed is closed
	// and replaced at each event, for awaitEvents.
	latest  map[int]actors.TaskEvent
	changed chan struct{}
	// names of the tasks, for the output lines' JSON.
	names map[int]string
	// dropped is the NotifyDropped last printed of each task.
	dropped map[int]uint64

	// follow, when set, follows a task's output (Runtime.Follow); the
	// followers are goroutines owned by the printer, ended by
	// stopFollowing.
	follow    func(ctx context.Context, id int) (<-chan actors.OutputLine, error)
	following map[int]bool
	lastLine  map[int]time.Time // the time of the last line printed of each task
	followers sync.WaitGroup
	stopped   bool
	ctx       context.Context
	cancel    context.CancelFunc
}

func newPrinter(out io.Writer, json bool) *printer {
	ctx, cancel := context.WithCancel(context.Background())
	return &printer{out: out, json: json, latest: map[int]actors.TaskEvent{}, changed: make(chan struct{}),
		names: map[int]string{}, dropped: map[int]uint64{}, following: map[int]bool{}, lastLine: map[int]time.Time{}, ctx: ctx, cancel: cancel}
}

// writeLine writes one line (b without its newline); every write of the
// printer goes through it. Called with mu held.
func (p *printer) writeLine(b []byte) {
	b = append(b, '\n')
	_, _ = p.out.Write(b)
}

func (p *printer) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	p.writeLine(b)
}

func (p *printer) event(ev actors.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	te, ok := ev.(actors.TaskEvent)
	switch {
	case p.json:
		p.writeJSON(ev)
	case ok && te.NotifyDropped != p.dropped[te.ID]:
		// Said once per change: the count is the current process's.
		p.writeLine([]byte(termtext.Escape(fmt.Sprintf("%s (sd_notify: %d datagrams dropped)", ev, te.NotifyDropped))))
	default:
		p.writeLine([]byte(termtext.Escape(ev.String())))
	}
	if !ok {
		return
	}
	p.dropped[te.ID] = te.NotifyDropped
	if te.Time.After(p.latest[te.ID].Time) {
		p.latest[te.ID] = te
	}
	p.names[te.ID] = te.Name
	close(p.changed)
	p.changed = make(chan struct{})
	if p.follow != nil && !p.following[te.ID] && !te.State.Ended() && !p.stopped {
		p.following[te.ID] = true
		p.followers.Add(1)
		go p.followTask(te.ID)
	}
}

// usage prints a usage sample.
func (p *printer) usage(ev actors.UsageEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.writeJSON(ev)
		return
	}
	p.writeLine([]byte(ev.String()))
}

// awaitEvents waits, at most for bound, until every event that tasks (a
// List answer) reflects has been printed, so that the answer does not come
// before them.
func (p *printer) awaitEvents(tasks []actors.TaskEvent, bound time.Duration) {
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		p.mu.Lock()
		behind := false
		for _, ev := range tasks {
			// A task just started may be listed before its first event is
			// published, with no time: wait for that event.
			if shown, ok := p.latest[ev.ID]; !ok || shown.Time.Before(ev.Time) {
				behind = true
				break
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if !behind {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			return
		}
	}
}

// followTask prints task id's output lines until its Follow ends; lines
// printed by an earlier follower of the task are not printed again.
func (p *printer) followTask(id int) {
	defer p.followers.Done()
	defer func() {
		p.mu.Lock()
		delete(p.following, id)
		p.mu.Unlock()
	}()
	lines, err := p.follow(p.ctx, id)
	if err != nil {
		return // the task is gone, or the runtime has stopped
	}
	for l := range lines {
		p.mu.Lock()
		if l.Time.After(p.lastLine[id]) {
			p.lastLine[id] = l.Time
			if l.Skipped > 0 {
				p.writeOutput(id, actors.Line{Stream: l.Stream, Time: l.Time,
					Text: fmt.Sprintf("(%d lines skipped: the task's output buffer dropped them before they were read)", l.Skipped)})
			}
			p.writeOutput(id, l.Line)
		}
		p.mu.Unlock()
	}
}

// stopFollowing waits for the followers to print the last lines of their
// tasks (they end with the runtime), at most a second, then ends them.
func (p *printer) stopFollowing() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.followers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	p.cancel()
	<-done
}

// outputLine is an output line in JSON.
type outputLine struct {
	Time   time.Time `json:"time"`
	Task   int       `json:"task,omitempty"`
	Name   string    `json:"name,omitempty"`
	Stream string    `json:"stream"`
	Text   string    `json:"text"`
}

// writeOutput writes one output line of task id. Called with mu held.
func (p *printer) writeOutput(id int, l actors.Line) {
	if p.json {
		p.writeJSON(outputLine{Time: l.Time, Task: id, Name: p.names[id], Stream: l.Stream.String(), Text: l.Text})
		return
	}
	mark := "|"
	if l.Stream == actors.Stderr {
		mark = "E|"
	}
	p.writeLine([]byte(fmt.Sprintf("[Task %d] %s %s", id, mark, termtext.Escape(l.Text))))
}

func (p *printer) text(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.writeJSON(struct {
			Reply string `json:"reply"`
			Text  string `json:"text"`
		}{"help", s})
		return
	}
	p.writeLine([]byte(s))
}

// started answers start with the id the task was given.
func (p *printer) started(id int, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.writeJSON(struct {
			Reply string `json:"reply"`
			Task  int    `json:"task"`
			Name  string `json:"name"`
		}{"start", id, name})
		return
	}
	p.writeLine([]byte(fmt.Sprintf("[Task %d] started: %s", id, termtext.Escape(name))))
}

// limit answers max-parallel with the limit now in force.
func (p *printer) limit(group string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.writeJSON(struct {
			Reply string `json:"reply"`
			Group string `json:"group,omitempty"`
			Limit int    `json:"limit"`
		}{"max-parallel", group, n})
		return
	}
	where := "the whole runtime"
	if group != "" {
		where = "group " + termtext.Escape(group)
	}
	text := fmt.Sprintf("max-parallel of %s: %d at once", where, n)
	if n == 0 {
		text = fmt.Sprintf("max-parallel of %s: no limit", where)
	}
	p.writeLine([]byte(text))
}

func (p *printer) list(tasks []actors.TaskEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A task's event printed already may be newer than the list's entry
	// (the list is the supervisor's, taken before that event reached it):
	// the answer does not contradict what was printed before it.
	tasks = slices.Clone(tasks)
	for i, ev := range tasks {
		if l, ok := p.latest[ev.ID]; ok && l.Time.After(ev.Time) {
			tasks[i] = l
		}
	}
	if p.json {
		if tasks == nil {
			tasks = []actors.TaskEvent{}
		}
		p.writeJSON(struct {
			Reply string             `json:"reply"`
			Tasks []actors.TaskEvent `json:"tasks"`
		}{"list", tasks})
		return
	}
	if len(tasks) == 0 {
		p.writeLine([]byte("no tasks"))
	}
	pos := actors.QueuePositions(tasks)
	for _, ev := range tasks {
		if n, ok := pos[ev.ID]; ok {
			ev.Message = "Queued: " + termtext.Ordinal(n) + " in line"
		}
		line := fmt.Sprintf("[Task %d] %s: %s", ev.ID, termtext.Escape(ev.Name), ev.State)
		if ev.PID != 0 {
			line += fmt.Sprintf(", pid %d", ev.PID)
		}
		if ev.Message != "" {
			line += " - " + termtext.Escape(ev.Message)
		}
		p.writeLine([]byte(line))
	}
}

func (p *printer) output(id int, lines []actors.Line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		out := make([]outputLine, len(lines))
		for i, l := range lines {
			out[i] = outputLine{Time: l.Time, Stream: l.Stream.String(), Text: l.Text}
		}
		p.writeJSON(struct {
			Reply string       `json:"reply"`
			Task  int          `json:"task"`
			Lines []outputLine `json:"lines"`
		}{"output", id, out})
		return
	}
	for _, l := range lines {
		p.writeOutput(id, l)
	}
}

// summary prints how each task ended, after the shutdown.
func (p *printer) summary(tasks []actors.TaskEvent) {
	if p.json {
		return // the final state events have been printed already
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	tasktext.WriteSummary(&b, tasks)
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			p.writeLine([]byte(strings.TrimSuffix(line, "\n")))
		}
	}
}
