package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/internal/termtext"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/client"
	"github.com/taskvisor/taskvisor/ui/headless"
)

// Exit codes of the control commands.
const (
	exitOK       = 0 // done; wait: the task completed
	exitFailed   = 1 // the node refused or failed the call: the error is on stderr
	exitUsage    = 2 // bad arguments
	exitNoNode   = 3 // no node of that name runs here, or it does not answer
	exitNotCompl = 4 // wait: the task ended otherwise than completed (cancelled, killed, failed, gave-up)
)

// callTimeout bounds a control command's call (wait, logs -f and events
// wait for as long as it takes).
const callTimeout = 30 * time.Second

// nodeCommands are the subcommands of this file, by name.
var nodeCommands = map[string]func(cl *cli, args []string) int{
	"ls": cmdList, "start": cmdStart, "cancel": cmdCommand("cancel"), "kill": cmdCommand("kill"),
	"restart": cmdCommand("restart"), "logs": cmdLogs, "wait": cmdWait, "events": cmdEvents, "shutdown": cmdShutdown,
	"max-parallel": cmdMaxParallel, "fail": cmdFail, "add": cmdAdd, "pause": cmdCommand("pause"), "resume": cmdCommand("resume"),
}

// runNodeCommand runs subcommand name if it is one of the node's; ok is
// false when it is not.
func runNodeCommand(name string, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	switch name {
	case "certs":
		return runCerts(args, stdout, stderr), true
	case "serve":
		return runServe(args, stdout, stderr), true
	case "attach":
		return runAttach(args, stdout, stderr), true
	case "dial-stdio":
		return runDialStdio(args, os.Stdin, stdout, stderr), true
	}
	cmd, ok := nodeCommands[name]
	if !ok {
		return 0, false
	}
	// Output is buffered: ls of 1,000 tasks through an unbuffered tabwriter
	// was ~14,000 write calls, most of the command's time. The streaming
	// commands flush after each message they receive.
	out := bufio.NewWriterSize(stdout, 32<<10)
	defer out.Flush()
	return cmd(&cli{name: name, stdout: out, out: out, stderr: stderr}, args), true
}

// cli is one control command: its flags, its output, its client.
type cli struct {
	name           string
	stdout, stderr io.Writer
	out            *bufio.Writer // stdout's buffer, flushed when the command returns
	fs             *flag.FlagSet
	nodes          nodesFlag // --node, repeatable
	nodesFilePath  *string
	socket         *string
	addr, cert     *string
	certs          *string
	json           *bool
	c              *client.Client // the one node of a command that acts on one
	resolved       []*target      // the nodes the command acts on, once resolved
}

// flags starts the command's flag set with the common flags.
func (cl *cli) flags(usage string, withJSON bool) *flag.FlagSet {
	fs := flag.NewFlagSet("taskvisor "+cl.name, flag.ContinueOnError)
	fs.SetOutput(cl.stderr)
	fs.Var(&cl.nodes, "node", "the `NODE`: a name in the nodes file, a node of this machine by name, ssh://[user@]host[:port][/name], HOST:PORT (mutual TLS) or unix:///socket; repeatable (default: every node of the nodes file, else $TASKVISOR_NODE or "+node.DefaultName+")")
	cl.nodesFilePath = fs.String("nodes", "", "the nodes `FILE` (default: $XDG_CONFIG_HOME/taskvisor/nodes.toml, if there)")
	cl.socket = fs.String("socket", "", "the node's socket `PATH`")
	cl.addr = fs.String("addr", "", "reach the node at `HOST:PORT` over mutual TLS (serve --listen); as --node HOST:PORT")
	cl.cert = fs.String("cert", "client", "for a HOST:PORT node not in the nodes file: the client certificate `NAME` in --certs")
	cl.certs = fs.String("certs", certsDir(), "for a HOST:PORT node not in the nodes file: the certificates' `DIR` (taskvisor certs)")
	if withJSON {
		cl.json = fs.Bool("json", false, "print JSON (one object per line for streams)")
	}
	fs.Usage = func() {
		fmt.Fprintf(cl.stderr, "Usage: taskvisor %s %s\n\nFlags:\n", cl.name, usage)
		fs.PrintDefaults()
	}
	cl.fs = fs
	return fs
}

// parse parses args; code is the exit code when !ok.
func (cl *cli) parse(args []string, nargs int) (code int, ok bool) {
	if err := cl.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if nargs >= 0 && cl.fs.NArg() != nargs {
		fmt.Fprintf(cl.stderr, "taskvisor %s: want %d argument(s), got %d\n", cl.name, nargs, cl.fs.NArg())
		cl.fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

// dial connects to the command's one node; code is the exit code when it
// fails.
func (cl *cli) dial() (code int, ok bool) {
	c, err := cl.one()
	if err != nil {
		return cl.dialFailed(err), false
	}
	cl.c = c
	return 0, true
}

// dialFailed reports a failure to resolve or dial the nodes and returns its
// exit code.
func (cl *cli) dialFailed(err error) int {
	fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
	if errors.Is(err, client.ErrNoNode) {
		return exitNoNode
	}
	return exitUsage
}

// fail reports a call's error and returns its exit code.
func (cl *cli) fail(err error) int {
	if cl.out != nil {
		cl.out.Flush() // what was printed before the error comes first
	}
	err = client.AsError(err)
	fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code.String() == "Unavailable" {
		return exitNoNode
	}
	return exitFailed
}

// failOn is fail for a call to one of several nodes: the error names it.
func (cl *cli) failOn(t *target, err error) int {
	if len(cl.resolved) > 1 {
		err = fmt.Errorf("node %s: %w", t.name, client.AsError(err))
	}
	return cl.fail(err)
}

// prepTask parses, and connects to the node of the task argument
// (node/TASK, or TASK of the one node); the task's own part is returned.
func (cl *cli) prepTask(args []string) (task string, code int, ok bool) {
	if code, ok := cl.parse(args, 1); !ok {
		return "", code, false
	}
	t, task, err := cl.forTask(cl.fs.Arg(0))
	if err != nil {
		return "", cl.dialFailed(err), false
	}
	cl.c = t.client
	return task, 0, true
}

// prep parses, connects; code is the exit code when !ok.
func (cl *cli) prep(args []string, nargs int) (code int, ok bool) {
	if code, ok := cl.parse(args, nargs); !ok {
		return code, false
	}
	return cl.dial()
}

var jsonOpts = protojson.MarshalOptions{UseProtoNames: true}

// printJSONOf writes m as one line of JSON with its node's name first:
// {"node":"box1", ...m's fields}.
func (cl *cli) printJSONOf(node string, m proto.Message) {
	b, err := jsonOpts.Marshal(m)
	if err != nil || len(b) < 2 || b[0] != '{' {
		fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
		return
	}
	name, _ := json.Marshal(node)
	if len(bytes.TrimSpace(b[1:len(b)-1])) == 0 {
		fmt.Fprintf(cl.stdout, "{\"node\":%s}\n", name)
		return
	}
	fmt.Fprintf(cl.stdout, "{\"node\":%s,%s\n", name, b[1:])
}

// printJSON writes m as one line of JSON.
func (cl *cli) printJSON(m proto.Message) {
	b, err := jsonOpts.Marshal(m)
	if err != nil {
		fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
		return
	}
	fmt.Fprintf(cl.stdout, "%s\n", b)
}

func timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// interruptible is a context that SIGINT and SIGTERM end, for the commands
// that wait.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// cmdList lists the tasks of every node addressed, asked all at once, in
// the order of the nodes: with several, a NODE column first. A node that
// does not answer is said on stderr (exit 3) and the others are listed.
func cmdList(cl *cli, args []string) int {
	fs := cl.flags("[--all] [--usage] [--json]", true)
	all := fs.Bool("all", false, "also the tasks of the node's earlier runs")
	withUsage := fs.Bool("usage", false, "with CPU (of one core; over the last second while the node samples for a UI, else averaged since the process started), memory and processes")
	if code, ok := cl.parse(args, 0); !ok {
		return code
	}
	ts, code, ok := cl.connectEach()
	if !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := timeout()
	defer cancel()
	lists := make([]*pb.ListResponse, len(ts))
	errs := make([]error, len(ts))
	eachNode(ts, func(i int, t *target) {
		lists[i], errs[i] = t.client.List(ctx, &pb.ListRequest{History: *all, Usage: *withUsage})
	})
	several := len(ts) > 1
	for i, err := range errs {
		if err == nil {
			continue
		}
		if !several {
			return cl.fail(err)
		}
		fmt.Fprintf(cl.stderr, "taskvisor ls: node %s: %v\n", ts[i].name, client.AsError(err))
		code = exitNoNode
	}
	if *cl.json {
		for i, res := range lists {
			switch {
			case res == nil:
			case several:
				cl.printJSONOf(ts[i].name, res)
			default:
				cl.printJSON(res)
			}
		}
		return code
	}
	tw := tabwriter.NewWriter(cl.stdout, 2, 8, 2, ' ', 0)
	head := "ID\tNAME\tSTATE\tPID\tRESTARTS\tPROGRESS\t"
	if *withUsage {
		head += "CPU\tMEM\tPROCS\t"
	}
	if several {
		head = "NODE\t" + head
	}
	fmt.Fprintln(tw, head+"MESSAGE")
	for i, res := range lists {
		if res == nil {
			continue
		}
		node := ""
		if several {
			node = termtext.Escape(ts[i].name) + "\t"
		}
		listRows(tw, node, res.Tasks, *withUsage)
	}
	tw.Flush()
	return code
}

// listRows writes ls's rows of one node's tasks, each after prefix.
func listRows(tw io.Writer, prefix string, tasks []*pb.TaskEvent, withUsage bool) {
	pos := queuePositions(tasks)
	for _, t := range tasks {
		id := strconv.FormatInt(t.GetId(), 10)
		if t.GetHistory() {
			id = fmt.Sprintf("%d.%d", t.GetRun(), t.GetId())
		}
		pid := "-"
		if t.GetPid() > 0 {
			pid = strconv.FormatInt(t.GetPid(), 10)
		}
		msg := t.GetMessage()
		if n, ok := pos[t.GetId()]; ok && !t.GetHistory() {
			msg = "Queued: " + termtext.Ordinal(n) + " in line"
		}
		if actorsEnded(t.GetState()) && t.GetReason() != "" && !strings.Contains(msg, t.GetReason()) {
			msg += ": " + t.GetReason()
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%d\t%3.0f%%\t", prefix, id, termtext.Escape(t.GetName()), t.GetState(), pid,
			t.GetRestarts(), 100*t.GetProgress())
		if withUsage {
			fmt.Fprint(tw, usageColumns(t.GetUsage()))
		}
		fmt.Fprintf(tw, "%s\n", termtext.Escape(msg))
	}
}

// usageColumns is ls's CPU, MEM and PROCS of a task: dashes without a
// sample.
func usageColumns(u *pb.TaskUsage) string {
	if u == nil {
		return "-\t-\t-\t"
	}
	cpu := "-"
	if u.GetHasCpu() {
		cpu = fmt.Sprintf("%.0f%%", 100*u.GetCpu())
	}
	return fmt.Sprintf("%s\t%s\t%d\t", cpu, termtext.Bytes(u.GetMemory()), u.GetProcs())
}

// queuePositions is actors.QueuePositions of the current run's tasks.
func queuePositions(tasks []*pb.TaskEvent) map[int64]int {
	var evs []actors.TaskEvent
	for _, t := range tasks {
		if !t.GetHistory() {
			evs = append(evs, actors.TaskEvent{ID: int(t.GetId()), State: actors.State(t.GetState()), QueueTicket: t.GetQueueTicket()})
		}
	}
	out := map[int64]int{}
	for id, n := range actors.QueuePositions(evs) {
		out[int64(id)] = n
	}
	return out
}

func actorsEnded(state string) bool { return actors.State(state).Ended() }

func cmdStart(cl *cli, args []string) int {
	fs := cl.flags("[--json] TEMPLATE  |  taskvisor start [--json] --name NAME [--restart MODE] -- COMMAND [ARG...]", true)
	name := fs.String("name", "", "start an ad-hoc task of this `NAME` running the arguments after --")
	shell := fs.Bool("shell", false, "with --name: run the one argument by /bin/sh -c")
	restart := fs.String("restart", "", "with --name: never, on-failure or always")
	if code, ok := cl.parse(args, -1); !ok {
		return code
	}
	req := &pb.StartRequest{}
	switch {
	case *name == "" && fs.NArg() == 1:
		req.What = &pb.StartRequest_Template{Template: fs.Arg(0)}
	case *name != "" && fs.NArg() > 0:
		spec := &pb.TaskSpec{Name: *name, Restart: *restart}
		if *shell {
			spec.Command = strings.Join(fs.Args(), " ")
		} else {
			spec.Argv = fs.Args()
		}
		req.What = &pb.StartRequest_Spec{Spec: spec}
	default:
		fmt.Fprintf(cl.stderr, "taskvisor start: give a template, or --name NAME and a command after --\n")
		fs.Usage()
		return exitUsage
	}
	return cl.start(req)
}

// start makes the Start call of start and add, and prints the new task's
// id (or, with --json, the answer).
func (cl *cli) start(req *pb.StartRequest) int {
	if code, ok := cl.dial(); !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := timeout()
	defer cancel()
	res, err := cl.c.Start(ctx, req)
	if err != nil {
		return cl.fail(err)
	}
	if *cl.json {
		cl.printJSON(res)
	} else {
		fmt.Fprintln(cl.stdout, res.GetId())
	}
	return exitOK
}

// cmdAdd starts an ad-hoc task: the arguments after --, in a group, after
// other tasks, under a name (default: the program's).
func cmdAdd(cl *cli, args []string) int {
	fs := cl.flags("[--json] [--group G] [--after TASK[:COND]]... [--name N] [--shell] [--restart MODE] [--timeout D] -- COMMAND [ARG...]", true)
	group := fs.String("group", "", "the `GROUP` the task belongs to (default: the top level)")
	var after []string
	fs.Func("after", "start once `TASK[:COND]` holds (an id or a name; COND: started, ready, completed (default), ended); repeatable", func(s string) error {
		if _, err := actors.ParseDependency(s); err != nil {
			return err
		}
		after = append(after, s)
		return nil
	})
	name := fs.String("name", "", "the task's `NAME` (default: the program's base name)")
	shell := fs.Bool("shell", false, "run the one argument by /bin/sh -c")
	restart := fs.String("restart", "", "never, on-failure or always")
	limit := fs.Duration("timeout", 0, "the run-time limit of each process (0: none)")
	if code, ok := cl.parse(args, -1); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(cl.stderr, "taskvisor add: give the command after --\n")
		fs.Usage()
		return exitUsage
	}
	spec := &pb.TaskSpec{Name: *name, Group: *group, Restart: *restart, After: after}
	if *limit > 0 {
		spec.Timeout = durationpb.New(*limit)
	}
	if *shell {
		spec.Command = strings.Join(fs.Args(), " ")
	} else {
		spec.Argv = fs.Args()
	}
	if spec.Name == "" {
		spec.Name = filepath.Base(strings.Fields(fs.Arg(0) + " x")[0])
	}
	return cl.start(&pb.StartRequest{What: &pb.StartRequest_Spec{Spec: spec}})
}

// cmdCommand is cancel, kill, restart, pause or resume of one or more
// tasks; pause and resume also of a group (--group).
func cmdCommand(op string) func(cl *cli, args []string) int {
	return func(cl *cli, args []string) int {
		grouped := op == "pause" || op == "resume"
		var group *string
		if grouped {
			fs := cl.flags("[--group G] [TASK...] (an id, RUN.ID or a unique name)", false)
			group = fs.String("group", "", "every task of `GROUP` and the groups below it")
		} else {
			cl.flags("TASK... (an id, RUN.ID or a unique name)", false)
		}
		if code, ok := cl.parse(args, -1); !ok {
			return code
		}
		byGroup := group != nil && *group != ""
		switch {
		case grouped && byGroup == (cl.fs.NArg() > 0):
			fmt.Fprintf(cl.stderr, "taskvisor %s: name tasks or a --group, one of the two\n", op)
			return exitUsage
		case !byGroup && cl.fs.NArg() == 0:
			fmt.Fprintf(cl.stderr, "taskvisor %s: name at least one task\n", op)
			return exitUsage
		}
		defer cl.closeAll()
		ctx, cancel := timeout()
		defer cancel()
		call := func(c *client.Client, task string) error {
			var err error
			switch op {
			case "cancel":
				_, err = c.Cancel(ctx, &pb.CancelRequest{Task: task})
			case "kill":
				_, err = c.Kill(ctx, &pb.KillRequest{Task: task})
			case "restart":
				_, err = c.Restart(ctx, &pb.RestartRequest{Task: task})
			case "pause", "resume":
				req := &pb.PauseRequest{Task: task}
				if byGroup {
					req = &pb.PauseRequest{Group: *group}
				}
				if op == "pause" {
					_, err = c.Pause(ctx, req)
				} else {
					_, err = c.Resume(ctx, req)
				}
			}
			return err
		}
		if byGroup {
			if code, ok := cl.dial(); !ok {
				return code
			}
			if err := call(cl.c, ""); err != nil {
				return cl.fail(err)
			}
			return exitOK
		}
		code := exitOK
		for _, arg := range cl.fs.Args() {
			t, task, err := cl.forTask(arg)
			if err != nil {
				code = max(code, cl.dialFailed(err))
				continue
			}
			if err := call(t.client, task); err != nil {
				code = max(code, cl.failOn(t, err))
			}
		}
		return code
	}
}

func cmdLogs(cl *cli, args []string) int {
	fs := cl.flags("[-f] [-n N] [--json] TASK", true)
	follow := fs.Bool("f", false, "follow: go on with the lines the task writes until it has ended")
	last := fs.Int("n", 0, "only the last `N` lines (0: all the node holds)")
	task, code, ok := cl.prepTask(args)
	if !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := interruptible()
	defer cancel()
	s, err := cl.c.Output(ctx, &pb.OutputRequest{Task: task, Last: int32(min(max(*last, 0), 1<<30)), Follow: *follow})
	if err != nil {
		return cl.fail(err)
	}
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return exitOK
		}
		if err != nil {
			if ctx.Err() != nil {
				return exitOK // interrupted
			}
			return cl.fail(err)
		}
		for _, l := range m.Lines {
			switch {
			case *cl.json:
				cl.printJSON(l)
			case l.GetStream() == "stderr":
				fmt.Fprintf(cl.stdout, "stderr: %s\n", termtext.Escape(l.GetText()))
			default:
				fmt.Fprintln(cl.stdout, termtext.Escape(l.GetText()))
			}
		}
		cl.out.Flush()
	}
}

func cmdWait(cl *cli, args []string) int {
	cl.flags("[--json] TASK  (exit 0: completed; 4: ended otherwise)", true)
	task, code, ok := cl.prepTask(args)
	if !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := interruptible()
	defer cancel()
	res, err := cl.c.Wait(ctx, &pb.WaitRequest{Task: task})
	if err != nil {
		return cl.fail(err)
	}
	t := res.GetTask()
	if *cl.json {
		cl.printJSON(t)
	} else {
		fmt.Fprintf(cl.stdout, "[Task %d] %s ended: %s\n", t.GetId(), termtext.Escape(t.GetName()),
			termtext.Escape(node.TaskEventFromProto(t).Outcome()))
	}
	if t.GetState() != "completed" {
		return exitNotCompl
	}
	return exitOK
}

// cmdEvents prints the events of every node addressed as they come; with
// several, each line starts with its node's name (JSON: {"node", "event"}).
func cmdEvents(cl *cli, args []string) int {
	fs := cl.flags("[--since N] [--json]", true)
	since := fs.Uint64("since", 0, "replay the events after sequence number `N` that the node holds, then go on live (0: from the oldest held)")
	live := fs.Bool("live", false, "only events from now on")
	if code, ok := cl.parse(args, 0); !ok {
		return code
	}
	ts, code, ok := cl.connectEach()
	if !ok {
		return code
	}
	defer cl.closeAll()
	if *since != 0 && len(ts) > 1 {
		fmt.Fprintf(cl.stderr, "taskvisor events: --since %d: sequence numbers are each node's; with --since, name one --node\n", *since)
		return exitUsage
	}
	ctx, cancel := interruptible()
	defer cancel()
	var mu sync.Mutex
	codes := make([]int, len(ts))
	eachNode(ts, func(i int, t *target) {
		prefix := ""
		if len(ts) > 1 {
			prefix = t.name
		}
		err := streamEvents(ctx, t.client, &pb.EventsRequest{Since: *since, Live: *live}, func(ev *pb.Event) {
			mu.Lock()
			defer mu.Unlock()
			cl.printEvent(prefix, ev)
			cl.out.Flush()
		})
		if err != nil && ctx.Err() == nil {
			mu.Lock()
			defer mu.Unlock()
			codes[i] = cl.failOn(t, err)
		}
	})
	return max(code, slices.Max(codes))
}

// streamEvents calls print with each event of one Events call until it
// ends: nil at its end or at ctx's.
func streamEvents(ctx context.Context, c *client.Client, req *pb.EventsRequest, print func(*pb.Event)) error {
	s, err := c.Events(ctx, req)
	if err != nil {
		return err
	}
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return nil // the node closed, or the user ended it
		}
		if err != nil {
			return err
		}
		for _, ev := range m.Events {
			print(ev)
		}
	}
}

// printEvent prints an event, after its node's name when prefix is set.
func (cl *cli) printEvent(prefix string, ev *pb.Event) {
	switch {
	case *cl.json && prefix != "":
		b, err := jsonOpts.Marshal(ev)
		if err != nil {
			fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
			return
		}
		name, _ := json.Marshal(prefix)
		fmt.Fprintf(cl.stdout, "{\"node\":%s,\"event\":%s}\n", name, b)
	case *cl.json:
		cl.printJSON(ev)
	case prefix != "":
		fmt.Fprintf(cl.stdout, "%s %d %s\n", termtext.Escape(prefix), ev.GetSeq(), eventText(ev))
	default:
		fmt.Fprintf(cl.stdout, "%d %s\n", ev.GetSeq(), eventText(ev))
	}
}

// eventText is an event as the headless mode prints it.
func eventText(ev *pb.Event) string {
	switch k := ev.GetKind().(type) {
	case *pb.Event_Task:
		t := k.Task
		prefix := ""
		if t.GetHistory() || t.GetRun() != 0 {
			prefix = fmt.Sprintf("run %d ", t.GetRun())
		}
		return prefix + termtext.Escape(node.TaskEventFromProto(t).String())
	case *pb.Event_Group:
		return termtext.Escape(node.GroupEventFromProto(k.Group).String())
	case *pb.Event_Notice:
		return termtext.Escape(node.NoticeFromProto(k.Notice).String())
	case *pb.Event_Gap:
		return fmt.Sprintf("(events %d to %d are no longer held by the node)", k.Gap.GetFirst(), k.Gap.GetLast())
	}
	return "(an event of a kind this client does not know)"
}

func cmdShutdown(cl *cli, args []string) int {
	fs := cl.flags("[--kill] [--json]", true)
	kill := fs.Bool("kill", false, "SIGKILL to every task at once instead of the stop signal and a grace")
	if code, ok := cl.prep(args, 0); !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := interruptible()
	defer cancel()
	res, err := cl.c.Shutdown(ctx, &pb.ShutdownRequest{Kill: *kill})
	if err != nil {
		return cl.fail(err)
	}
	for _, t := range res.GetTasks() {
		if *cl.json {
			cl.printJSON(t)
			continue
		}
		fmt.Fprintf(cl.stdout, "[Task %d] %s ended: %s\n", t.GetId(), termtext.Escape(t.GetName()),
			termtext.Escape(node.TaskEventFromProto(t).Outcome()))
	}
	return exitOK
}

// cmdMaxParallel sets or moves a parallelism limit: N (0: none), +N or -N.
func cmdMaxParallel(cl *cli, args []string) int {
	fs := cl.flags("[--group G] N|+N|-N (0: no limit; +N, -N move it)", false)
	group := fs.String("group", "", "the `GROUP` whose limit it is (default: the whole node's)")
	if code, ok := cl.parse(args, 1); !ok {
		return code
	}
	n, relative, err := headless.ParseMaxParallel(cl.fs.Arg(0))
	if err != nil {
		fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, err)
		return exitUsage
	}
	req := &pb.SetMaxParallelRequest{Group: *group, Limit: int32(n)}
	if relative {
		req = &pb.SetMaxParallelRequest{Group: *group, Adjust: int32(n)}
	}
	if code, ok := cl.dial(); !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := timeout()
	defer cancel()
	res, err := cl.c.SetMaxParallel(ctx, req)
	if err != nil {
		return cl.fail(err)
	}
	if res.GetLimit() == 0 {
		fmt.Fprintln(cl.stdout, "no limit")
	} else {
		fmt.Fprintln(cl.stdout, res.GetLimit())
	}
	return exitOK
}

// cmdFail ends a task's process as a failure, for its restart policy.
func cmdFail(cl *cli, args []string) int {
	fs := cl.flags("[--reason WHY] TASK", false)
	reason := fs.String("reason", "failed from the command line", "`WHY`, in the task's event")
	task, code, ok := cl.prepTask(args)
	if !ok {
		return code
	}
	defer cl.closeAll()
	ctx, cancel := timeout()
	defer cancel()
	if _, err := cl.c.Fail(ctx, &pb.FailRequest{Task: task, Reason: *reason}); err != nil {
		return cl.fail(err)
	}
	return exitOK
}
