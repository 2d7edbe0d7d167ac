package proc

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// An orphan reaped in a round may have had exited children of its own, which
// it never reaped: they are reparented to this process as it exits, after the
// round's look at the children. The round must not report its run settled,
// or they stay zombies.
func TestOrphanReapLooksAgainAfterAnOrphanExits(t *testing.T) {
	setSubreaperT(t, true)
	tree, err := taskCgroups()
	if err != nil {
		t.Skipf("no cgroups here: %v", err)
	}
	cg, err := tree.take()
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	// a: a child of ours in the run cgroup, no leader; b: its child, exited,
	// never reaped by a (sleep does not wait).
	cmd := exec.Command("/bin/sh", "-c", "/bin/true & exec sleep 1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.fd}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	a := cmd.Process.Pid
	_ = cmd.Process.Release()
	var b int
	proctest.Eventually(t, 5*time.Second, "a zombie child of a", func() bool {
		for _, pid := range proctest.Children(a) {
			if st, ok := proctest.ReadStat(pid); ok && st.Zombie() {
				b = pid
				return true
			}
		}
		return false
	})
	t.Cleanup(func() {
		_ = unix.Kill(a, unix.SIGKILL)
		for _, pid := range []int{a, b} {
			reapKilled(pid, time.Now().Add(5*time.Second))
		}
		cg.kill()
		cg.release()
	})

	// The reaper looks at the children while a still runs, then waits for
	// the lock a start holds: a exits meanwhile, handing b to us.
	leaders.forking.RLock()
	held := true
	unlock := func() {
		if held {
			held = false
			leaders.forking.RUnlock()
		}
	}
	got, reaped := make(chan map[string]bool, 1), make(chan struct{})
	// If the test fails meanwhile, the reaper gets the lock and ends.
	t.Cleanup(func() { unlock(); <-reaped })
	go func() { got <- orphans.reap(tree); close(reaped) }()
	proctest.Eventually(t, 5*time.Second, "the reaper waiting for the lock", func() bool {
		if leaders.forking.TryRLock() { // fails once the reaper waits for it
			leaders.forking.RUnlock()
			return false
		}
		return true
	})
	_ = unix.Kill(a, unix.SIGKILL)
	proctest.Eventually(t, 5*time.Second, "b reparented to us", func() bool {
		st, ok := proctest.ReadStat(b)
		return ok && st.PPID == unix.Getpid()
	})
	unlock()
	left := <-got
	if !left[cg.name] {
		t.Errorf("reap reported %s settled (left %v) with %d, a zombie child of ours, in it", cg.name, left, b)
	}
}
