package proctest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// PidfdChild is the benchmarks' bare baseline: a child started by os/exec
// and waited for through a PIDFD_NONBLOCK pidfd in Go's netpoller (no
// thread per child), killed through that pidfd, never through its pid.
type PidfdChild struct {
	rc syscall.RawConn
}

// StartPidfdChild starts argv and waits for it on one goroutine parked in
// the netpoller, which calls reaped (if not nil) once the child is reaped:
// one goroutine per child, as a bare program would have.
func StartPidfdChild(reaped func(), argv ...string) (*PidfdChild, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fd, err := unix.PidfdOpen(cmd.Process.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	_ = cmd.Process.Release() // the pidfd owns the child from here
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		f.Close()
		return nil, err
	}
	c := &PidfdChild{rc: rc}
	go func() {
		if reaped != nil {
			defer reaped()
		}
		defer f.Close()
		_ = rc.Read(func(fd uintptr) bool {
			var info unix.Siginfo
			err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil)
			return !errors.Is(err, unix.EINTR) && (err != nil || info.Signo != 0)
		})
	}()
	return c, nil
}

// Kill sends SIGKILL through the pidfd.
func (c *PidfdChild) Kill() {
	_ = c.rc.Control(func(fd uintptr) { _ = unix.PidfdSendSignal(int(fd), unix.SIGKILL, nil, 0) })
}

// CPUTime is this process's user and system time so far.
func CPUTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
