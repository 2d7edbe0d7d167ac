package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/taskvisor/taskvisor/cmd/taskvisor/internal/texture"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// Exit codes of the worker.
const (
	workerExitDone    = 0
	workerExitFailure = 1 // could not start, e.g. a grandchild failed to start
	workerExitUsage   = 2
	workerExitCrash   = 3 // --crash-at
	// A worker stopped by a signal exits with 128 + the signal's number: 143
	// for SIGTERM, 130 for SIGINT.
)

// Parameters of the texture worker's work that have no flag.
const (
	textureImageSize = 512 // pixels per side of the generated image
	textureTileSize  = 64  // pixels per side of a tile: 64 tiles in the image

	floodStdoutLines = 20000 // lines of about 100 bytes per step with --flood
	floodStderrLines = 2000
)

const workerUsage = `usage: taskvisor worker texture [flags]

The demo task that taskvisor runs as a child process: it computes grey-level
co-occurrence texture features of one tile of a generated image per step,
reporting its progress over sd_notify ($NOTIFY_SOCKET) and on stdout.

Exit codes: 0 done, 1 failed to start, 2 usage, 3 simulated crash,
128+signal when stopped by SIGTERM (143) or SIGINT (130).

flags:
`

// runWorker runs the hidden `worker` subcommand with the arguments after
// "worker" and returns the exit code.
func runWorker(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "taskvisor worker: missing worker kind; the only kind is \"texture\"\n")
		return workerExitUsage
	}
	switch args[0] {
	case "texture":
	case "-h", "-help", "--help":
		fmt.Fprint(stderr, workerUsage)
		fs := newTextureFlags(&textureConfig{})
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return workerExitDone
	default:
		fmt.Fprintf(stderr, "taskvisor worker: unknown worker kind %q; the only kind is \"texture\"\n", args[0])
		return workerExitUsage
	}
	cfg, err := parseTextureFlags(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return workerExitDone
	}
	if err != nil {
		return workerExitUsage
	}
	return runTexture(cfg, stdout, stderr)
}

// textureConfig holds the flags of `worker texture`.
type textureConfig struct {
	steps      int // 0: run forever
	stepTime   time.Duration
	ignoreTerm bool
	hangAt     int // 0: never
	crashAt    int // 0: never
	children   int
	flood      bool
	cpu        bool
	seed       uint64
	levels     int
}

func newTextureFlags(cfg *textureConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("taskvisor worker texture", flag.ContinueOnError)
	fs.IntVar(&cfg.steps, "steps", 10, "number of steps `N`, one tile each; 0 runs forever")
	fs.DurationVar(&cfg.stepTime, "step-time", time.Second, "wall-clock `duration` of each step")
	fs.BoolVar(&cfg.ignoreTerm, "ignore-term", false, "ignore SIGTERM (printing \"ignoring SIGTERM\"), so only SIGKILL or SIGINT stop the worker")
	fs.IntVar(&cfg.hangAt, "hang-at", 0, "at the start of step `K` stop reporting progress and block until stopped by a signal")
	fs.IntVar(&cfg.crashAt, "crash-at", 0, "at the end of step `K` fail with exit code 3 instead of reporting it")
	fs.IntVar(&cfg.children, "children", 0, "start `N` grandchildren (workers running forever) in the same process group")
	fs.BoolVar(&cfg.flood, "flood", false, fmt.Sprintf("write %d lines to stdout and %d to stderr in each step", floodStdoutLines, floodStderrLines))
	fs.BoolVar(&cfg.cpu, "cpu", false, "keep computing features of further tiles for the whole step instead of sleeping (CPU-heavy)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "`seed` of the generated image")
	fs.IntVar(&cfg.levels, "levels", 16, "`number` of grey levels, 2 to 256")
	return fs
}

// parseTextureFlags parses and checks the flags after "texture", reporting
// errors with the usage on stderr.
func parseTextureFlags(args []string, stderr io.Writer) (textureConfig, error) {
	var cfg textureConfig
	fs := newTextureFlags(&cfg)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), workerUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.steps < 0:
		err = fmt.Errorf("--steps %d is negative", cfg.steps)
	case cfg.stepTime < 0:
		err = fmt.Errorf("--step-time %v is negative", cfg.stepTime)
	case cfg.hangAt < 0:
		err = fmt.Errorf("--hang-at %d is negative", cfg.hangAt)
	case cfg.crashAt < 0:
		err = fmt.Errorf("--crash-at %d is negative", cfg.crashAt)
	case cfg.steps > 0 && cfg.hangAt > cfg.steps:
		err = fmt.Errorf("--hang-at %d is after the last step (--steps %d)", cfg.hangAt, cfg.steps)
	case cfg.steps > 0 && cfg.crashAt > cfg.steps:
		err = fmt.Errorf("--crash-at %d is after the last step (--steps %d)", cfg.crashAt, cfg.steps)
	case cfg.children < 0 || cfg.children > 100:
		err = fmt.Errorf("--children %d is not between 0 and 100", cfg.children)
	case cfg.levels < 2 || cfg.levels > 256:
		err = fmt.Errorf("--levels %d is not between 2 and 256", cfg.levels)
	}
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor worker texture: %v\n", err)
		fs.Usage()
	}
	return cfg, err
}

// textureWorker is one run of `worker texture`.
type textureWorker struct {
	cfg    textureConfig
	stdout io.Writer // both safe for concurrent use
	stderr io.Writer
	// childStderr is what grandchildren write their stderr to: the real
	// file when there is one, so that no copying goroutine is needed.
	childStderr io.Writer

	children []*grandchild
	stopping atomic.Bool // set once the worker itself stops its grandchildren

	notifyWarned bool
}

// grandchild is a worker started by --children.
type grandchild struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once reaped
	err  error         // Wait's result, set before done is closed
}

// signalError is the cause of a cancellation by a signal.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "received " + e.sig.String() }

func runTexture(cfg textureConfig, stdout, stderr io.Writer) int {
	w := &textureWorker{
		cfg:    cfg,
		stdout: &syncWriter{w: stdout},
		stderr: &syncWriter{w: stderr},
	}
	w.childStderr = w.stderr
	if f, ok := stderr.(*os.File); ok {
		w.childStderr = f
	}

	// Signals first, so that none is lost from here on.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	quit, sigDone := make(chan struct{}), make(chan struct{})
	defer func() { close(quit); <-sigDone }() // no write to stderr after return
	go func() {
		defer close(sigDone)
		for {
			select {
			case s := <-sigs:
				sig := s.(syscall.Signal)
				if sig == syscall.SIGTERM && cfg.ignoreTerm {
					fmt.Fprintln(w.stderr, "ignoring SIGTERM")
					continue
				}
				cancel(signalError{sig})
			case <-quit:
				return
			}
		}
	}()

	if err := w.startChildren(); err != nil {
		fmt.Fprintf(w.stderr, "taskvisor worker texture: %v\n", err)
		w.stopChildren()
		return workerExitFailure
	}
	img, err := texture.Generate(cfg.seed, textureImageSize, textureImageSize, cfg.levels)
	if err != nil { // the flags were checked: cannot happen
		fmt.Fprintf(w.stderr, "taskvisor worker texture: %v\n", err)
		w.stopChildren()
		return workerExitFailure
	}
	w.notify("READY=1\nSTATUS=" + readyStatus(cfg.steps))

	var perTile []texture.Features
	extraTiles := 0
	for k := 1; cfg.steps == 0 || k <= cfg.steps; k++ {
		if ctx.Err() != nil {
			return w.cancelled(ctx, k)
		}
		if k == cfg.hangAt {
			fmt.Fprintf(w.stderr, "hang at step %s: simulated hang\n", w.stepName(k))
			<-ctx.Done()
			return w.cancelled(ctx, k)
		}
		end := time.Now().Add(cfg.stepTime)
		rect := img.TileRect(k-1, textureTileSize)
		f := texture.Analyze(img.Sub(rect))
		extra := 0
		if cfg.flood && !w.flood(ctx, k) {
			return w.cancelled(ctx, k)
		}
		if cfg.cpu {
			// Further tiles until the step's time is up; one Analyze takes
			// about 50µs, so ctx is checked often.
			for ctx.Err() == nil && time.Now().Before(end) {
				extra++
				texture.Analyze(img.Sub(img.TileRect(k-1+extra, textureTileSize)))
			}
		} else if !sleepCtx(ctx, time.Until(end)) {
			return w.cancelled(ctx, k)
		}
		if ctx.Err() != nil {
			return w.cancelled(ctx, k)
		}
		if k == cfg.crashAt {
			fmt.Fprintf(w.stderr, "crash at step %d: simulated failure\n", k)
			w.stopChildren()
			return workerExitCrash
		}

		if cfg.steps > 0 { // a run forever has no summary
			perTile = append(perTile, f)
			extraTiles += extra
		}
		line := fmt.Sprintf("step %s: tile (%d,%d) contrast=%.3f homogeneity=%.3f energy=%.3f entropy=%.3f",
			w.stepName(k), rect.Min.X, rect.Min.Y, f.Contrast, f.Homogeneity, f.Energy, f.Entropy)
		if cfg.cpu {
			line += fmt.Sprintf(" (+%d tiles)", extra)
		}
		fmt.Fprintln(w.stdout, line)
		if cfg.steps > 0 {
			w.notify(fmt.Sprintf("X_PROGRESS=%d/%d\nSTATUS=Processing step %d/%d", k, cfg.steps, k, cfg.steps))
		} else {
			w.notify(fmt.Sprintf("STATUS=Processing step %d", k))
		}
	}

	w.stopChildren()
	mean := texture.Mean(perTile...)
	summary := fmt.Sprintf("result: %d tiles of %dx%d, %d grey levels, seed %d: mean %v",
		len(perTile), textureTileSize, textureTileSize, cfg.levels, cfg.seed, mean)
	if cfg.cpu {
		summary += fmt.Sprintf(" (+%d tiles for CPU load)", extraTiles)
	}
	fmt.Fprintln(w.stdout, summary)
	w.notify(fmt.Sprintf("STATUS=Done: %d steps, mean contrast %.3f", len(perTile), mean.Contrast))
	return workerExitDone
}

// stepName returns "k/N", or "k" when the worker runs forever.
func (w *textureWorker) stepName(k int) string {
	if w.cfg.steps == 0 {
		return strconv.Itoa(k)
	}
	return fmt.Sprintf("%d/%d", k, w.cfg.steps)
}

// cancelled ends a run stopped by a signal during step k.
func (w *textureWorker) cancelled(ctx context.Context, k int) int {
	fmt.Fprintf(w.stderr, "cancelled at step %s, cleaning up\n", w.stepName(k))
	w.notify(fmt.Sprintf("STOPPING=1\nSTATUS=Cancelled at step %s", w.stepName(k)))
	w.stopChildren()
	var se signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 128 + int(syscall.SIGTERM)
}

// sleepCtx waits for d, and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// flood writes step k's burst of output, and reports false if ctx ended
// first. It checks ctx between blocks of lines; a write blocked on a full
// pipe is not interrupted.
func (w *textureWorker) flood(ctx context.Context, k int) bool {
	const hexDigits = "0123456789abcdef"
	payload := make([]byte, 75) // lines of 100 or 101 bytes
	x := uint64(k)*0x9e3779b97f4a7c15 + 1
	line := func(b *bufio.Writer, kind string, i int) {
		for j := range payload {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			payload[j] = hexDigits[x&15]
		}
		fmt.Fprintf(b, "flood step %d %s %05d: %s\n", k, kind, i, payload)
	}
	out := bufio.NewWriterSize(w.stdout, 64<<10)
	errOut := bufio.NewWriterSize(w.stderr, 16<<10)
	for i := range floodStdoutLines {
		if i%1000 == 0 && ctx.Err() != nil {
			return false
		}
		line(out, "line", i)
		if i%(floodStdoutLines/floodStderrLines) == 0 {
			line(errOut, "warning", i/(floodStdoutLines/floodStderrLines))
		}
	}
	out.Flush()
	errOut.Flush()
	return ctx.Err() == nil
}

// startChildren starts cfg.children workers running forever, as members of
// the worker's own process group, without $NOTIFY_SOCKET.
func (w *textureWorker) startChildren() error {
	if w.cfg.children == 0 {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot start grandchildren: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	for range w.cfg.children {
		cmd := exec.Command(exe, "worker", "texture", "--steps", "0", "--step-time", w.cfg.stepTime.String())
		cmd.Env = env
		cmd.Stderr = w.childStderr // stdout goes to /dev/null
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("cannot start a grandchild: %w", err)
		}
		c := &grandchild{cmd: cmd, done: make(chan struct{})}
		w.children = append(w.children, c)
		go func() {
			c.err = cmd.Wait()
			if !w.stopping.Load() {
				fmt.Fprintf(w.stderr, "grandchild %d ended early: %v\n", cmd.Process.Pid, c.err)
			}
			close(c.done)
		}()
	}
	return nil
}

// stopChildren kills the grandchildren still running and returns once all are
// reaped. SIGKILL is enough: they hold nothing to clean up, and a SIGTERM
// would only fill stderr with their "cancelled" lines.
func (w *textureWorker) stopChildren() {
	w.stopping.Store(true)
	for _, c := range w.children {
		c.cmd.Process.Kill() // an error means it was reaped already
	}
	for _, c := range w.children {
		<-c.done
	}
	w.children = nil
}

// notify sends state to $NOTIFY_SOCKET, if set, warning once on stderr if
// that fails.
func (w *textureWorker) notify(state string) {
	if err := notify.Send(state); err != nil && !w.notifyWarned {
		w.notifyWarned = true
		fmt.Fprintf(w.stderr, "taskvisor worker: warning: %v\n", err)
	}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// readyStatus is the STATUS sent with READY=1: what the task is about to do.
func readyStatus(steps int) string {
	if steps == 0 {
		return fmt.Sprintf("Ready: texture analysis of a %dx%d image, until stopped", textureImageSize, textureImageSize)
	}
	return fmt.Sprintf("Ready: texture analysis of a %dx%d image in %d steps", textureImageSize, textureImageSize, steps)
}
