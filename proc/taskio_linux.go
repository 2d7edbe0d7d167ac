package proc

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// newTaskIO returns pipes read by the program's poller, or by goroutines of
// their own where the poller could not start.
func newTaskIO() (taskIO, error) {
	p := thePoller()
	if p == nil {
		g, err := newGoroutineIO()
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return g, nil
	}
	io := &polledIO{poller: p, ended: make(chan struct{})}
	for i := range io.pipes {
		var fds [2]int
		// Blocking for the child; the read end is made non-blocking below.
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			io.abort()
			return nil, err
		}
		io.pipes[i] = &polledPipe{fd: fds[0], io: io}
		io.child[i] = os.NewFile(uintptr(fds[1]), "|1")
		if err := unix.SetNonblock(fds[0], true); err != nil {
			io.abort()
			return nil, err
		}
	}
	return io, nil
}

// polledIO is a task's pipes read by the program's poller: no goroutine
// waits for them.
type polledIO struct {
	poller *poller
	child  [2]*os.File    // the write ends, for the child
	pipes  [2]*polledPipe // stdout, stderr
	open   atomic.Int32   // pipes still being read
	ended  chan struct{}  // closed when open drops to 0
}

// polledPipe is one read end and the lines assembled from it.
type polledPipe struct {
	fd    int
	io    *polledIO
	reg   *pollReg
	file  *os.File // read on a goroutine instead: the poller refused it
	split lineSplitter
}

func (io *polledIO) childEnds() (*os.File, *os.File) { return io.child[0], io.child[1] }

func (io *polledIO) started() {
	for i, f := range io.child {
		if f != nil {
			_ = f.Close()
			io.child[i] = nil
		}
	}
}

func (io *polledIO) read(out *Output) {
	io.open.Store(int32(len(io.pipes)))
	for i, pp := range io.pipes {
		pp.split = lineSplitter{out: out, stream: Stdout + Stream(i)}
		reg, err := io.poller.add(pp.fd, pp.readable)
		if err != nil {
			// Cannot happen for a pipe; read it on a goroutine instead.
			f := os.NewFile(uintptr(pp.fd), "|0")
			pp.fd, pp.file = -1, f
			go func() {
				readPipe(f, out, pp.split.stream)
				io.pipeEnded()
			}()
			continue
		}
		pp.reg = reg
	}
}

// readable reads what the pipe holds, on the poller goroutine; it reports
// done once the pipe has ended, and then, after the poller has removed it,
// tells the task (which may then close the pipe).
func (pp *polledPipe) readable(uint32) (bool, func()) {
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	for range maxReadsPerWake {
		n, err := unix.Read(pp.fd, *bp)
		switch {
		case err == nil && n > 0:
			pp.split.write((*bp)[:n])
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return false, nil // empty: wait for more
		default: // EOF or a read error
			pp.split.end()
			return true, pp.io.pipeEnded
		}
	}
	return false, nil // more next round: the other tasks get theirs first
}

func (io *polledIO) pipeEnded() {
	if io.open.Add(-1) == 0 {
		close(io.ended)
	}
}

func (io *polledIO) finish(deadline time.Time) {
	if wait := time.Until(deadline); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-io.ended:
		case <-t.C:
		}
		t.Stop()
	}
	for _, pp := range io.pipes {
		// A pipe still open past the deadline: a process that escaped the
		// group holds it. It loses it.
		if pp.reg != nil && io.poller.remove(pp.reg) {
			pp.split.end()
			io.pipeEnded() // its handler never will: a pipe read on a goroutine may wait for it
		}
		if pp.file != nil {
			_ = pp.file.SetReadDeadline(time.Now())
		}
	}
	for _, pp := range io.pipes {
		if pp.file != nil {
			<-io.ended // its reader returns at once now
			_ = pp.file.Close()
		}
	}
	io.closePipes()
}

func (io *polledIO) closePipes() {
	for _, pp := range io.pipes {
		if pp != nil && pp.fd >= 0 {
			_ = unix.Close(pp.fd)
			pp.fd = -1
		}
	}
}

func (io *polledIO) abort() {
	io.started()
	io.closePipes()
}

// watchExit calls onExit on a goroutine of its own once w's child has
// exited, unreaped: until then the poller waits for it, no goroutine.
func watchExit(w *waiter, onExit func()) {
	if p := thePoller(); p != nil {
		_, err := p.add(w.pidfd, func(uint32) (bool, func()) {
			if pidfdState(w.pidfd) == childRunning {
				return false, nil // cannot happen: readable means exited
			}
			// onExit reaps and closes the pidfd: only once the poller has
			// let go of it.
			return true, func() { go onExit() }
		})
		if err == nil {
			return
		}
	}
	go func() {
		w.wait()
		onExit()
	}()
}
