// Command taskvisor supervises tasks that may get stuck: each task runs as a
// child process in its own process group, wrapped by an actor, and can always
// be cancelled (SIGTERM, then SIGKILL after a grace period), killed or
// restarted.
//
// Usage:
//
//	taskvisor [--headless] [--json] [--output] [--log FILE] [--tasks FILE | --procfile FILE]
//	taskvisor check [--procfile] FILE     validate a task file, print its tree
//	taskvisor doctor                      what keeps tasks from outliving their stop here
//	taskvisor serve|attach|ls|...         a node and its clients (taskvisor --help)
//	taskvisor worker texture [flags]      the demo task (hidden)
//
// On a terminal it opens the terminal UI (package ui); with --headless or
// --json, or when stdin or stdout is not a terminal, it reads commands on
// stdin and prints events on stdout (package ui/headless). It exits 0 after a
// clean quit, 1 when a task ended failed or gave-up or on an error, 2 for bad
// usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/proc"
	"github.com/taskvisor/taskvisor/ui"
	"github.com/taskvisor/taskvisor/ui/headless"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "worker":
			os.Exit(runWorker(os.Args[2:], os.Stdout, os.Stderr))
		case "check":
			os.Exit(runCheck(os.Args[2:], os.Stdout, os.Stderr))
		case "doctor":
			os.Exit(runDoctor(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	// This program starts no processes of its own but its tasks (through
	// proc) and the guard: every other child is an escapee of a task run,
	// reaped, or killed once it has left its run.
	proc.OwnAllChildren()
	if len(os.Args) > 1 {
		if code, ok := runNodeCommand(os.Args[1], os.Args[2:], os.Stdout, os.Stderr); ok {
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskvisor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	headlessFlag := fs.Bool("headless", false, "no terminal UI: commands on stdin, events on stdout")
	jsonFlag := fs.Bool("json", false, "one JSON object per event, answer and output line (implies --headless)")
	outputFlag := fs.Bool("output", true, "headless: print each task's output lines as they come (default: on in text, off with --json)")
	logFile := fs.String("log", "", "write the actor library's log to `FILE` (default: discard it)")
	tasksFile := fs.String("tasks", "", "load the catalogue from the TOML task `FILE` instead of the built-in demo")
	procfile := fs.String("procfile", "", "load the catalogue from a `Procfile` (name: command per line)")
	nodeName := fs.String("name", nodeNameDefault(), "serve the API as node `NAME` while running (taskvisor attach --node NAME)")
	maxParallel := maxParallelFlag(fs)
	usageFlag := fs.Bool("usage", false, "headless: print each task's CPU, memory and processes once a second")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage:
  taskvisor [flags]                  the terminal UI (keys: 1-9 start, k cancel, K kill, r restart, p pause, q quit, ? help)
  taskvisor --headless [flags]       commands on stdin: start <key|name>, run <command line>,
                                     cancel <id>, kill <id>, restart <id>, pause <id>, resume <id>,
                                     max-parallel [group] N|+N|-N, list, output <id>, help, quit;
                                     events and the tasks' output on stdout
  taskvisor check [--procfile] FILE  validate a task file and print the tree it would run
  taskvisor doctor                   say what keeps tasks from outliving their stop on this machine
  taskvisor serve [flags]            a node without a terminal (see taskvisor serve --help)
  taskvisor certs init|node|client   certificates for nodes over TCP with mutual TLS (serve --listen)
  taskvisor attach [--node N]...     the terminal UI of running nodes (one, several, or all of nodes.toml)
  taskvisor ls|start|add|cancel|kill|restart|pause|resume|fail|max-parallel|logs|wait|events|shutdown
                                     control running nodes (--help each; several: TASK is node/TASK)
  taskvisor dial-stdio [--node N]    the node's socket on stdin and stdout (what ssh:// runs on the host)

taskvisor and taskvisor --headless exit 0 after a clean quit, 1 when a task ended failed, gave-up or skipped
(or on an error), 2 for bad usage.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "taskvisor: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor: find own executable for the demo tasks: %v\n", err)
		return 1
	}
	var logOut io.Writer
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "taskvisor: open log: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	cat, groups, err := loadCatalogue(*tasksFile, *procfile, exe)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor: %v\n", err)
		return 2
	}
	rt, err := actors.New(actors.Config{Catalogue: cat, Groups: groups, LogOutput: logOut, Subreaper: true, MaxParallel: *maxParallel})
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor: %v\n", err)
		return 1
	}

	// The first SIGINT, SIGTERM or SIGHUP stops the tasks with escalation; a
	// second one kills what is left at once.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// The same API as taskvisor serve, for attach and the control commands;
	// closed once the run has shut the runtime down.
	defer serveAlongside(rt, *nodeName, flagGiven(fs, "name"), stop, stderr)()
	force, forceNow := context.WithCancel(context.Background())
	defer forceNow()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sigs:
				if n == 0 {
					stop()
				} else {
					forceNow()
					return
				}
			case <-force.Done():
				return
			}
		}
	}()

	var final []actors.TaskEvent
	ended := func(tasks []actors.TaskEvent) { final = tasks }
	runHeadless := *headlessFlag || *jsonFlag || !isTerminal(stdin) || !isTerminal(stdout)
	if !runHeadless {
		err = runUI(ctx, force, rt, stdout, ended)
		if errors.Is(err, ui.ErrNoTerminal) {
			fmt.Fprintf(stderr, "taskvisor: %v; running headless\n", err)
			runHeadless = true
		}
	}
	if runHeadless {
		output := *outputFlag && (!*jsonFlag || flagGiven(fs, "output"))
		err = headless.Run(ctx, rt, headless.Options{In: stdin, Out: stdout, Err: stderr, JSON: *jsonFlag,
			Output: output, Force: force, Ended: ended, Usage: *usageFlag})
	}
	// The last line waits for a stderr that nobody reads no longer than
	// the headless mode's own output does.
	if err != nil {
		writeWithin(stderr, fmt.Sprintf("taskvisor: %v\n", err), headless.DrainStall)
		return 1
	}
	if bad := failedTasks(final); bad != "" {
		writeWithin(stderr, fmt.Sprintf("taskvisor: exit status 1: %s\n", bad), headless.DrainStall)
		return 1
	}
	return 0
}

// writeWithin writes line to w, waiting at most bound for the write: a
// stderr that nobody reads (a full pipe) must not keep taskvisor from
// exiting. A write still blocked then is left to the process's exit, which
// comes next, to end.
func writeWithin(w io.Writer, line string, bound time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.WriteString(w, line)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// failedTasks names the tasks that ended failed or gave-up (`task 3 "crash"
// failed, task 4 "x" gave-up`), for the exit status; "" when none did.
func failedTasks(final []actors.TaskEvent) string {
	var bad []string
	for _, ev := range final {
		if ev.State == actors.StateFailed || ev.State == actors.StateGaveUp || ev.State == actors.StateSkipped {
			bad = append(bad, fmt.Sprintf("task %d %q %s", ev.ID, ev.Name, ev.State))
		}
	}
	return strings.Join(bad, ", ")
}
