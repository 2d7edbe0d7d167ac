//go:build !linux

package proc

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// waiter waits for one child with a kqueue NOTE_EXIT event, which, like
// Linux's pidfd, says the child exited without reaping it. Unlike the pidfd
// it blocks an OS thread per waiting child: this fallback is for development
// on BSD-like systems (macOS), not for supervising thousands of tasks.
type waiter struct {
	pid    int
	kq     int
	exited bool // already exited when the kqueue was set up
}

// newWaiter watches pid, which must be an unreaped child.
func newWaiter(pid int) (*waiter, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, fmt.Errorf("kqueue: %w", err)
	}
	unix.CloseOnExec(kq)
	var ev unix.Kevent_t
	unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	w := &waiter{pid: pid, kq: kq}
	for {
		_, err = unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.ESRCH):
		// An unreaped child that kqueue cannot find is a zombie already.
		w.exited = true
	case err != nil:
		_ = unix.Close(kq)
		return nil, fmt.Errorf("kevent NOTE_EXIT %d: %w", pid, err)
	}
	return w, nil
}

// wait returns once the child has exited, without reaping it.
func (w *waiter) wait() {
	if w.exited {
		return
	}
	events := make([]unix.Kevent_t, 1)
	for {
		n, err := unix.Kevent(w.kq, nil, events, nil)
		if n > 0 || (err != nil && !errors.Is(err, unix.EINTR)) {
			// On an error reap blocks until the child really exits.
			return
		}
	}
}

// reap collects the exited child's status, that pid only.
func (w *waiter) reap() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		wpid, err := unix.Wait4(w.pid, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return 0, fmt.Errorf("wait4 %d: %w", w.pid, err)
		case wpid == w.pid:
			return ws, nil
		}
	}
}

// close releases the kqueue.
func (w *waiter) close() { _ = unix.Close(w.kq) }
