package proc

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// waiter waits for one child through a pidfd: by the program's poller
// (watchExit), or else polled by Go's netpoller, so a waiting process costs
// no OS thread.
type waiter struct {
	pid   int
	pidfd int      // PIDFD_NONBLOCK
	file  *os.File // pidfd, once wait made it one
}

// newWaiter opens a pidfd for pid, which must be an unreaped child.
func newWaiter(pid int) (*waiter, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return &waiter{pid: pid, pidfd: fd}, nil
}

// wait returns once the child has exited, without reaping it.
func (w *waiter) wait() {
	state := childUnknown
	// A non-blocking descriptor given to os.NewFile is registered with the
	// netpoller; a pidfd becomes readable when its process has exited.
	w.file = os.NewFile(uintptr(w.pidfd), "pidfd")
	if rc, err := w.file.SyscallConn(); err == nil {
		err = rc.Read(func(fd uintptr) bool {
			state = pidfdState(int(fd))
			return state != childRunning // false: park until readable, ask again
		})
		if err != nil {
			state = childUnknown
		}
	}
	if state == childExited {
		return
	}
	// Cannot happen with a valid pidfd; stay safe by blocking a thread in
	// waitid, which also leaves the child unreaped.
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, w.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// childState is what a poll of a pidfd tells.
type childState int

const (
	childRunning childState = iota
	childExited
	childUnknown // the poll failed
)

// pidfdState polls a pidfd without blocking.
func pidfdState(fd int) childState {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return childUnknown
		case n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0:
			return childExited
		case n > 0: // POLLERR, POLLNVAL
			return childUnknown
		default:
			return childRunning
		}
	}
}

// reap collects the exited child's status. It reaps that pid only, never
// another child of this program.
func (w *waiter) reap() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	options := unix.WNOHANG // the pidfd said it exited
	for {
		wpid, err := unix.Wait4(w.pid, &ws, options, nil)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return 0, fmt.Errorf("wait4 %d: %w", w.pid, err)
		case wpid == w.pid:
			return ws, nil
		default:
			options = 0
		}
	}
}

// close releases the pidfd.
func (w *waiter) close() {
	if w.file != nil {
		_ = w.file.Close()
		return
	}
	_ = unix.Close(w.pidfd)
}
