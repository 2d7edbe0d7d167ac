package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/certs"
)

// nodeNameDefault is the node to serve or reach when --node/--name is not
// given: $TASKVISOR_NODE, else node.DefaultName.
func nodeNameDefault() string {
	if n := os.Getenv("TASKVISOR_NODE"); n != "" {
		return n
	}
	return node.DefaultName
}

// runServe is `taskvisor serve`: a node with no terminal and no stdin. It
// runs until SIGTERM or SIGINT (a second one kills what is left at once) or
// until a client asks (`taskvisor shutdown`), then stops every task with
// escalation. SIGHUP is ignored: closing the terminal it was started from
// does not stop it.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskvisor serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", nodeNameDefault(), "the node's `NAME` (its socket and state directory)")
	tasksFile := fs.String("tasks", "", "load the catalogue from the TOML task `FILE` instead of the built-in demo")
	procfile := fs.String("procfile", "", "load the catalogue from a `Procfile`")
	logMax := fs.Int64("log-max-bytes", node.DefaultLogMaxBytes, "rotate a task's log file at this many `BYTES`")
	logFiles := fs.Int("log-files", node.DefaultLogFiles, "keep this many `FILES` of each task's log")
	maxParallel := maxParallelFlag(fs)
	listenAddr := fs.String("listen", "", "serve the API on `HOST:PORT` as well, with mutual TLS (taskvisor certs)")
	certDir := fs.String("certs", certsDir(), "with --listen: the certificates' `DIR`: ca.pem and the node's NAME.pem")
	certName := fs.String("cert", "", "with --listen: the node certificate's `NAME` (default: the node's name)")
	insecureFlag := fs.Bool("insecure", false, "with --listen: no TLS; only a loopback address is then accepted")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: taskvisor serve [--tasks FILE | --procfile FILE] [--name NAME]\n\n"+
			"Runs a node without a terminal: the same runtime as taskvisor, served on a unix socket\n"+
			"for taskvisor attach and the control commands (ls, start, cancel, kill, restart, logs,\n"+
			"wait, events, shutdown). It stops on SIGTERM, SIGINT or taskvisor shutdown.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "taskvisor serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	stateDir, err := node.StateDir(*name)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor serve: find own executable: %v\n", err)
		return 1
	}
	cat, groups, err := loadCatalogue(*tasksFile, *procfile, exe)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 2
	}
	var also io.Writer
	if isTerminal(stderr) {
		also = stderr
	}
	logger, closeLog, err := node.NewLogger(filepath.Join(stateDir, "node.log"), also)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 1
	}
	defer closeLog()

	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	rt, err := actors.New(actors.Config{Catalogue: cat, Groups: groups, LogOutput: slogWriter{logger}, Subreaper: true, MaxParallel: *maxParallel})
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 1
	}
	ncfg := node.Config{Runtime: rt, Name: *name, StateDir: stateDir, Logger: logger,
		LogMaxBytes: *logMax, LogFiles: *logFiles, Listen: *listenAddr, Insecure: *insecureFlag}
	if *listenAddr != "" && !*insecureFlag {
		cert := *certName
		if cert == "" {
			cert = *name
		}
		if ncfg.TLS, err = certs.ServerConfig(certs.In(*certDir, cert), filepath.Join(*certDir, "ca.pem")); err != nil {
			_, _ = rt.Shutdown(context.Background())
			fmt.Fprintf(stderr, "taskvisor serve: --listen: %v (make them with taskvisor certs)\n", err)
			return 1
		}
	}
	n, err := node.Open(ncfg)
	if err != nil {
		_, _ = rt.Shutdown(context.Background())
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 1
	}
	if _, err := rt.Autostart(context.Background()); err != nil {
		logger.Error("autostart", "err", err)
	}

	select {
	case sig := <-sigs:
		logger.Info("stopping on a signal", "signal", sig.String())
	case <-n.ShutdownRequested():
	}
	// Every task stops with escalation; a second signal kills what is left.
	force, forceNow := context.WithCancel(context.Background())
	defer forceNow()
	go func() {
		select {
		case sig := <-sigs:
			logger.Info("killing what is left on a second signal", "signal", sig.String())
			forceNow()
		case <-force.Done():
		}
	}()
	final, err := rt.Shutdown(force)
	forceNow()
	for _, ev := range final {
		logger.Info("task ended", "task", ev.ID, "name", ev.Name, "outcome", ev.Outcome())
	}
	if cerr := n.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		logger.Error("shutdown", "err", err)
		fmt.Fprintf(stderr, "taskvisor serve: %v\n", err)
		return 1
	}
	return 0
}

// slogWriter sends the actor library's log lines into the node's log.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Info("actor system", "line", string(p))
	return len(p), nil
}

// serveAlongside serves rt's API as node name while plain taskvisor runs
// (the terminal UI or the headless mode), so that another terminal can
// attach to it; a client's shutdown calls stop, which ends the run as q
// would. When a node of that name runs already, this one goes without the
// API, quietly unless the name was asked for; the returned function closes
// the node once the runtime has shut down.
func serveAlongside(rt *actors.Runtime, name string, explicit bool, stop func(), stderr io.Writer) (closeNode func()) {
	noop := func() {}
	stateDir, err := node.StateDir(name)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor: not serving the API: %v\n", err)
		return noop
	}
	logger, closeLog, err := node.NewLogger(filepath.Join(stateDir, "node.log"), nil)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor: not serving the API: %v\n", err)
		return noop
	}
	n, err := node.Open(node.Config{Runtime: rt, Name: name, StateDir: stateDir, Logger: logger, OnShutdown: stop})
	if err != nil {
		closeLog()
		if explicit || !errors.Is(err, node.ErrLocked) {
			fmt.Fprintf(stderr, "taskvisor: not serving the API: %v\n", err)
		}
		return noop
	}
	return func() {
		if err := n.Close(); err != nil {
			logger.Error("close", "err", err)
		}
		closeLog()
	}
}

// flagGiven says whether flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
