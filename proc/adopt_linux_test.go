package proc

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// A long-running task that keeps double-forking short helpers leaves no pile
// of zombies: its helpers, orphaned to this subreaper, are reaped as they
// exit, not when the task ends. One task with its run cgroup, one with the
// marker fallback, side by side for 20 s; the zombie children of this
// process are counted every second. (On the main branch before the adopted
// reaper: 107, 196, 284, 371 zombies at 5/10/15/20 s.)
func TestDoubleForkHelpersLeaveNoZombies(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of a helper loop; -short skips it")
	}
	setSubreaperT(t, true)
	loop := "while :; do (true &); sleep 0.05; done"
	a := startT(t, Spec{Shell: loop})
	b := startT(t, Spec{Shell: loop, noCgroup: true})
	const bound = 20 // about a second of helpers, should the signal be missed
	worst := 0
	self := os.Getpid()
	for i := range 20 {
		time.Sleep(time.Second)
		n := 0
		for _, st := range proctest.All() {
			if st.PPID == self && st.Zombie() && st.PID != a.Pid() && st.PID != b.Pid() {
				n++
			}
		}
		worst = max(worst, n)
		if n > bound {
			t.Fatalf("%d zombie children of this process after %d s, want at most %d", n, i+1, bound)
		}
	}
	t.Logf("zombies at most over 20 s: %d (cgroup and marker runs together)", worst)
	if !a.GroupAlive() || !b.GroupAlive() {
		t.Fatal("a helper loop ended by itself")
	}
	_ = a.Signal(syscall.SIGKILL)
	_ = b.Signal(syscall.SIGKILL)
}
