package proc

import (
	"bytes"
	"time"

	"golang.org/x/sys/unix"
)

// freezeWait bounds the wait for a run cgroup's freeze to complete (the
// kernel freezes a task as it next returns to user space; a sleeping task
// at once).
const freezeWait = 100 * time.Millisecond

// signalRun sends sig to every process of the run beyond its process group:
// with a cgroup, each process in it, escapees included. The cgroup is
// frozen while the signals go out, so that no process forks a child that
// misses its signal, and none exits for its pid to be reused in between;
// it is thawed after, so that a SIGSTOP takes effect (a frozen process
// stays "S" in /proc until thawed; stopped, it is "T"). Without a cgroup,
// only the process group is signalled (by the caller).
func (r *taskRun) signalRun(sig unix.Signal) {
	cg := r.cg
	if cg == nil {
		return
	}
	frozen := cg.freeze(true)
	for pid := range cgroupMembers(cg.dir()) {
		_ = unix.Kill(pid, sig)
	}
	if frozen {
		cg.freeze(false)
	}
}

// freeze writes cgroup.freeze and, freezing, waits up to freezeWait until
// the kernel says the cgroup is frozen. It reports whether the write took.
func (c *runCgroup) freeze(on bool) bool {
	fd, err := unix.Openat(c.fd, "cgroup.freeze", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	v := []byte("0")
	if on {
		v = []byte("1")
	}
	_, err = unix.Write(fd, v)
	_ = unix.Close(fd)
	if err != nil || !on {
		return err == nil
	}
	for deadline := time.Now().Add(freezeWait); time.Now().Before(deadline); {
		if c.frozen() {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	return true
}

// frozen reads "frozen 1" from the run cgroup's cgroup.events.
func (c *runCgroup) frozen() bool {
	fd, err := unix.Openat(c.fd, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var buf [128]byte
	n, _ := unix.Read(fd, buf[:])
	return n > 0 && bytes.Contains(buf[:n], []byte("frozen 1"))
}
