package proc

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// A guard that is killed is noticed, reaped and replaced: a new guard runs
// within the reaper's tick while a run lives, GuardLosses says how the old
// one died, and no zombie of it is left. Before, the dead guard stayed
// a zombie, GuardPid still named it, and nothing would have killed the
// tasks at this program's death.
func TestKilledGuardIsReplaced(t *testing.T) {
	keep := startT(t, Spec{Argv: []string{"sleep", "100"}}) // a run lives: the reaper's pass runs
	defer func() { _ = keep.Kill(); waitDone(t, keep, 5*time.Second) }()
	old, err := GuardPid()
	if err != nil || old == 0 {
		t.Fatalf("GuardPid() = %d, %v with a task running", old, err)
	}
	lossesBefore, _ := GuardLosses()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var now int
	for time.Now().Before(deadline) {
		if now, _ = GuardPid(); now != old && now != 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now == old || now == 0 {
		t.Fatalf("GuardPid() = %d 10 s after guard %d was killed, want a new guard", now, old)
	}
	if st, ok := readStat(now); !ok || !st.live() {
		t.Errorf("the new guard %d is not running", now)
	}
	if _, ok := readStat(old); ok {
		t.Errorf("the killed guard %d is still in /proc (a zombie): not reaped", old)
	}
	n, last := GuardLosses()
	if n != lossesBefore+1 || !strings.Contains(last, "killed by SIGKILL") {
		t.Errorf("GuardLosses() = %d, %q; want %d, \"... killed by SIGKILL ...\"", n, last, lossesBefore+1)
	}
	t.Logf("guard %d killed, replaced by %d: %s", old, now, last)
	// The new guard does its job: a task started now still has one.
	p := startT(t, Spec{Argv: []string{"true"}})
	waitDone(t, p, 5*time.Second)
	if again, _ := GuardPid(); again != now {
		t.Errorf("GuardPid() = %d after a start, want the new guard %d", again, now)
	}
}
