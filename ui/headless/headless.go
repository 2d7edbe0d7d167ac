// Package headless runs taskvisor without a terminal UI: commands arrive as
// lines on an input stream and events leave as lines (or JSON objects) on an
// output stream. It is a subscriber of the runtime's events like any other,
// and talks to the runtime only through its commands.
//
// The protocol, one command a line:
//
//	start <key|name>   start a task from the catalogue
//	cancel <id>        SIGTERM, then SIGKILL after the task's grace period
//	kill <id>          SIGKILL to the task's process group now
//	restart <id>       kill and start a new process under the same id
//	list               print the current event of every task
//	output <id>        print the task's last output lines
//	help               print this list
//	quit               stop every task with escalation and exit
//
// A bad command prints an error on the error stream and changes nothing.
// Task events print as "[Task N] message", a supervision group's decisions
// as "[Group name] message"; with JSON, each is one object. In text, a
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taskvisor/taskvisor/actors"
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
	// Force, when it ends, turns a graceful shutdown into SIGKILL for every
	// task still running (a second Ctrl-C). Nil: never.
	Force context.Context
}

// Run serves commands until quit, EOF on In, or the end of ctx; then it shuts
// the runtime down with escalation, prints how each task ended and returns.
func Run(ctx context.Context, rt *actors.Runtime, opts Options) error {
	p := &printer{out: opts.Out, json: opts.JSON}
	unsubscribe := rt.SubscribeAll(p.event)
	if _, err := rt.Autostart(ctx); err != nil {
		fmt.Fprintf(opts.Err, "error: %s\n", tasktext.Escape(err.Error()))
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
	p.summary(final)
	return errors.Join(inErr, err)
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
				fmt.Fprintf(errOut, "error: %s\n", tasktext.Escape(err.Error()))
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

const usage = `commands: start <key|name>, cancel <id>, kill <id>, restart <id>, list, output <id>, help, quit`

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
		p.list(tasks)
		return false, nil
	case "start":
		if err := expectArgs(cmd, args, 1); err != nil {
			return false, err
		}
		_, err := rt.Start(ctx, args[0])
		return false, err
	case "cancel", "kill", "restart", "output":
		if err := expectArgs(cmd, args, 1); err != nil {
			return false, err
		}
		id, err := strconv.Atoi(args[0])
		if err != nil || id <= 0 {
			return false, fmt.Errorf("%s: task id must be a positive number, not %q", cmd, args[0])
		}
		switch cmd {
		case "cancel":
			return false, rt.Cancel(ctx, id)
		case "kill":
			return false, rt.Kill(ctx, id)
		case "restart":
			return false, rt.Restart(ctx, id)
		}
		lines, err := rt.Output(ctx, id)
		if err != nil {
			return false, err
		}
		p.output(id, lines)
		return false, nil
	}
	return false, fmt.Errorf("unknown command %q (%s)", fields[0], usage)
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

// printer writes events and answers, one at a time.
type printer struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
}

func (p *printer) event(ev actors.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeEvent(ev)
}

func (p *printer) writeEvent(ev actors.Event) {
	if p.json {
		b, err := json.Marshal(ev)
		if err != nil {
			b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
		}
		fmt.Fprintf(p.out, "%s\n", b)
		return
	}
	fmt.Fprintln(p.out, tasktext.Escape(ev.String()))
}

func (p *printer) text(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(map[string]string{"help": s})
		fmt.Fprintf(p.out, "%s\n", b)
		return
	}
	fmt.Fprintln(p.out, s)
}

func (p *printer) list(tasks []actors.TaskEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(tasks) == 0 && !p.json {
		fmt.Fprintln(p.out, "no tasks")
	}
	for _, ev := range tasks {
		if p.json {
			p.writeEvent(ev)
			continue
		}
		fmt.Fprintf(p.out, "[Task %d] %s: %s", ev.ID, tasktext.Escape(ev.Name), ev.State)
		if ev.PID != 0 {
			fmt.Fprintf(p.out, ", pid %d", ev.PID)
		}
		fmt.Fprintf(p.out, " - %s\n", tasktext.Escape(ev.Message))
	}
}

func (p *printer) output(id int, lines []actors.Line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range lines {
		if p.json {
			b, _ := json.Marshal(struct {
				Task   int    `json:"task"`
				Stream string `json:"stream"`
				Text   string `json:"text"`
			}{id, l.Stream.String(), l.Text})
			fmt.Fprintf(p.out, "%s\n", b)
			continue
		}
		fmt.Fprintf(p.out, "[Task %d %s] %s\n", id, l.Stream.String(), tasktext.Escape(l.Text))
	}
}

// summary prints how each task ended, after the shutdown.
func (p *printer) summary(tasks []actors.TaskEvent) {
	if p.json {
		return // the final state events have been printed already
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tasktext.WriteSummary(p.out, tasks)
}
