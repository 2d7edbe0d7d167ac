package proc

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// With the test binary a subreaper, the grandchildren orphaned when a task's
// leader dies come back to it, and Done waits until they are reaped: none is
// left, not even as a zombie. The grandchildren are Go programs, so they have
// several threads: their zombie shows in /proc before it can be reaped, the
// case that once left one behind.
func TestSubreaperReapsOrphansOfTheGroup(t *testing.T) {
	setSubreaperT(t, true)
	for round := range 5 {
		p := startT(t, Spec{
			Shell: `for i in 1 2 3; do "$SLEEPER" & done; wait`,
			Env:   []string{"SLEEPER=" + os.Args[0], sleeperEnv + "=1"},
		})
		proctest.Eventually(t, 10*time.Second, fmt.Sprintf("round %d: the shell and three sleepers in group %d", round, p.Pgid()), func() bool {
			return len(groupMembers(p.Pgid())) == 4
		})
		if err := p.Kill(); err != nil {
			t.Fatalf("Kill: %v", err)
		}
		waitDone(t, p, 10*time.Second)
		if left := proctest.GroupMembers(p.Pgid()); len(left) != 0 {
			t.Fatalf("round %d: group %d still has %v after Done", round, p.Pgid(), left)
		}
	}
}

// OnDone runs once, after Done is closed.
func TestOnDoneRunsAfterDone(t *testing.T) {
	started := make(chan *Process, 1)
	called := make(chan bool, 2)
	p := startT(t, Spec{Argv: []string{"true"}, OnDone: func() {
		p := <-started
		select {
		case <-p.Done():
			called <- true
		default:
			called <- false
		}
	}})
	started <- p
	select {
	case closed := <-called:
		if !closed {
			t.Error("OnDone ran before Done was closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnDone did not run")
	}
	waitDone(t, p, time.Second)
	select {
	case <-called:
		t.Error("OnDone ran twice")
	case <-time.After(50 * time.Millisecond):
	}
}
