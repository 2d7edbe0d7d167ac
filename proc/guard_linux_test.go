package proc

import (
	"errors"
	"fmt"
	"os/exec"
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
	told := make(chan GuardLoss, 4)
	stop := OnGuardLoss(func(l GuardLoss) { told <- l })
	defer stop()
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
	select {
	case l := <-told:
		if l.Pid != old || l.NewPid != now || l.How != "killed by SIGKILL" || l.Err != nil {
			t.Errorf("OnGuardLoss told %+v, want guard %d killed by SIGKILL, replaced by %d", l, old, now)
		}
		if want := fmt.Sprintf("guard process %d killed by SIGKILL; a new guard (pid %d) took its place", old, now); l.String() != want {
			t.Errorf("GuardLoss reads %q, want %q", l, want)
		}
	case <-time.After(5 * time.Second):
		t.Error("OnGuardLoss was not told of the loss")
	}
	// The new guard does its job: a task started now still has one.
	p := startT(t, Spec{Argv: []string{"true"}})
	waitDone(t, p, 5*time.Second)
	if again, _ := GuardPid(); again != now {
		t.Errorf("GuardPid() = %d after a start, want the new guard %d", again, now)
	}
}

// The guard kills a process it was told of only while pid and start time
// still name it: a wrong start time (a pid recycled since) is left alone.
// The lines it is told are parsed back exactly.
func TestGuardKillNamesOneProcess(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	pid := cmd.Process.Pid
	st, ok := readStat(pid)
	if !ok || st.start == 0 {
		t.Fatalf("no start time for %d: %+v", pid, st)
	}
	verb, k, ok := parseGuardKill(fmt.Sprintf("kill %d %d", pid, st.start))
	if !ok || verb != "kill" || k != (guardKill{pid, st.start}) {
		t.Fatalf("parse: %q %+v %v", verb, k, ok)
	}
	for _, bad := range []string{"kill 12", "kill x 1", "kill 0 5", "kill 1 2 3"} {
		if _, _, ok := parseGuardKill(bad); ok {
			t.Errorf("parse %q: accepted", bad)
		}
	}
	guardKill{pid, st.start + 1}.kill()
	select {
	case <-exited:
		t.Fatalf("killed with a start time that is not the process's: %v", waitErr)
	case <-time.After(50 * time.Millisecond):
	}
	k.kill()
	select {
	case <-exited:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("after kill with its own start time: %v", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not killed within 10s with its own start time")
	}
}

// killLeavers kills a member's children that are no members, and what is
// below them, never a member, skip, or a process that is no member's
// descendant.
func TestKillLeaversKillsOnlyWhatLeftTheMembers(t *testing.T) {
	// sh (the member) -> sleep (a leaver) -> its own sleep child.
	member := exec.Command("sh", "-c", `sh -c 'sleep 1000 & echo below $!; wait' & echo leaver $!; exec sleep 1000`)
	out, err := member.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := member.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = member.Wait(); close(exited) }()
	t.Cleanup(func() { _ = member.Process.Kill(); <-exited })
	pids := map[string]int{}
	for range 2 {
		var name string
		var pid int
		if _, err := fmt.Fscan(out, &name, &pid); err != nil {
			t.Fatalf("read the pids: %v", err)
		}
		pids[name] = pid
	}
	leaver, below := pids["leaver"], pids["below"]
	bystander := exec.Command("sleep", "1000")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bystander.Process.Kill(); _ = bystander.Wait() })

	if n := killLeavers(map[int]bool{member.Process.Pid: true}, leaver); n != 0 {
		t.Errorf("killed %d with the only leaver skipped, want 0", n)
	}
	if n := killLeavers(map[int]bool{member.Process.Pid: true}, 0); n != 2 {
		t.Errorf("killed %d, want 2 (the leaver and its child)", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range []int{leaver, below} {
		for {
			if st, ok := readStat(pid); !ok || !st.live() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d still lives after killLeavers", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, pid := range []int{member.Process.Pid, bystander.Process.Pid} {
		if st, ok := readStat(pid); !ok || !st.live() {
			t.Errorf("process %d (a member or a bystander) was killed", pid)
		}
	}
}
