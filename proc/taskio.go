package proc

import (
	"os"
	"sync"
	"time"
)

// taskIO is a task's stdout and stderr pipes, as the child gets them and as
// proc reads them into the task's Output.
type taskIO interface {
	// childEnds are the write ends for the child.
	childEnds() (stdout, stderr *os.File)
	// started closes this process's copies of the child's ends: only the
	// child may hold them, or the pipes never end.
	started()
	// read starts reading both pipes into out (nil: dropped).
	read(out *Output)
	// finish waits until both pipes have ended, at most until deadline, then
	// stops reading them and closes them.
	finish(deadline time.Time)
	// abort closes everything of a start that failed.
	abort()
}

// goroutineIO reads each pipe on a goroutine of its own, parked in Go's
// netpoller while the pipe is empty: where there is no poller of proc's own.
type goroutineIO struct {
	outR, outW, errR, errW *os.File
	readers                sync.WaitGroup
}

func newGoroutineIO() (*goroutineIO, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_, _ = outR.Close(), outW.Close()
		return nil, err
	}
	return &goroutineIO{outR: outR, outW: outW, errR: errR, errW: errW}, nil
}

func (g *goroutineIO) childEnds() (*os.File, *os.File) { return g.outW, g.errW }

func (g *goroutineIO) started() { _, _ = g.outW.Close(), g.errW.Close() }

func (g *goroutineIO) read(out *Output) {
	g.readers.Go(func() { readPipe(g.outR, out, Stdout) })
	g.readers.Go(func() { readPipe(g.errR, out, Stderr) })
}

func (g *goroutineIO) finish(deadline time.Time) {
	_ = g.outR.SetReadDeadline(deadline)
	_ = g.errR.SetReadDeadline(deadline)
	g.readers.Wait()
	_, _ = g.outR.Close(), g.errR.Close()
}

func (g *goroutineIO) abort() {
	_, _, _, _ = g.outR.Close(), g.outW.Close(), g.errR.Close(), g.errW.Close()
}
