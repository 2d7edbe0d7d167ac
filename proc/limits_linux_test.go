package proc

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLimited starts script under l and returns how it ended.
func runLimited(t *testing.T, script string, l Limits) (Exit, *Output) {
	t.Helper()
	out := NewOutput(100)
	p, err := Start(Spec{Shell: script, Limits: l, Output: out})
	if err != nil {
		if errors.Is(err, ErrNoLimits) {
			t.Skipf("no cgroup controller for the limits here: %v", err)
		}
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		_ = p.Kill()
		<-p.Done()
		t.Fatal("the limited run did not end")
	}
	e, _ := p.Exit()
	return e, out
}

// A run over its memory limit is ended by the kernel's OOM killer, and
// the exit says so, with the run's peak.
func TestMemoryLimitOOM(t *testing.T) {
	e, _ := runLimited(t, `a=aaaaaaaaaaaaaaaa; while :; do a="$a$a"; done`, Limits{MemoryMax: 64 << 20})
	if !e.OOMKilled {
		t.Fatalf("exit %v: not OOM-killed", e)
	}
	if e.MemoryPeak < 32<<20 || e.MemoryPeak > 70<<20 {
		t.Errorf("peak %d MiB, want near the 64 MiB limit", e.MemoryPeak>>20)
	}
}

// forksEnv makes the test binary a forker (see TestMain).
const forksEnv = "TASKVISOR_TEST_FORKS"

// pids_max 20 and a run that forks 100 sleepers: at most 20 of its
// processes (threads count, as the kernel counts them) exist, and the
// exit says the limit was hit.
func TestPidsLimit(t *testing.T) {
	out := NewOutput(1000)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// dash ends at a fork that fails: the test binary forks instead.
	p, err := Start(Spec{Argv: []string{exe}, Env: []string{forksEnv + "=100"}, Limits: Limits{PidsMax: 20}, Output: out})
	if err != nil {
		if errors.Is(err, ErrNoLimits) {
			t.Skipf("no pids controller here: %v", err)
		}
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(lines(out), "forked") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n := 0
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.live() && st.pgrp == p.Pid() {
			n++
		}
	}
	t.Logf("%d processes in the run under pids_max 20: %s", n, strings.TrimSpace(lines(out)))
	if n > 20 || n < 10 {
		t.Errorf("%d processes in the run, want 10 to 20 under pids_max 20", n)
	}
	_ = p.Kill()
	<-p.Done()
	if e, _ := p.Exit(); !e.PidsLimited {
		t.Errorf("exit %v: the pids limit was not hit", e)
	}
}

func lines(out *Output) string {
	var b strings.Builder
	for _, l := range out.Lines() {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// A limit that cannot be enforced refuses the start and names itself,
// unless best effort, which sets an rlimit instead.
func TestLimitWithoutCgroups(t *testing.T) {
	_, err := Start(Spec{Shell: "true", Limits: Limits{MemoryMax: 1 << 30}, noCgroup: true, noV1: true})
	if !errors.Is(err, ErrNoLimits) || !strings.Contains(err.Error(), "memory_max") {
		t.Fatalf("start without cgroups: %v, want ErrNoLimits naming memory_max", err)
	}
	out := NewOutput(10)
	p, err := Start(Spec{Shell: "ulimit -v", Limits: Limits{MemoryMax: 1 << 30, BestEffort: true}, noCgroup: true, noV1: true, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if lines := out.Lines(); len(lines) != 1 || lines[0].Text != "1048576" {
		t.Errorf("best effort: RLIMIT_AS %v, want 1048576 KiB", lines)
	}
}

// cpu_max 0.5: a busy loop gets at most about half a core.
func TestCPULimit(t *testing.T) {
	p, err := Start(Spec{Shell: "while :; do :; done", Limits: Limits{CPUMax: 0.5}})
	if err != nil {
		if errors.Is(err, ErrNoLimits) {
			t.Skipf("no cpu controller here: %v", err)
		}
		t.Fatal(err)
	}
	defer func() { _ = p.Kill(); <-p.Done() }()
	s := NewSampler()
	defer s.Close()
	time.Sleep(200 * time.Millisecond)
	u0, _ := s.Usage(p)
	t0 := time.Now()
	time.Sleep(time.Second)
	u1, _ := s.Usage(p)
	cores := float64(u1.CPU-u0.CPU) / float64(time.Since(t0))
	t.Logf("busy loop under cpu_max 0.5: %.2f cores", cores)
	// At most the limit; a loaded machine may give it less, so the floor
	// only says that it ran.
	if cores > 0.6 || cores < 0.05 {
		t.Errorf("%.2f cores under cpu_max 0.5", cores)
	}
}

// A group's pids limit holds its runs together: two runs of a group with
// pids_max 12 fork 10 sleepers each, and fewer than 13 of theirs exist.
func TestGroupPidsLimit(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	group := Limits{Groups: []GroupLimits{{Name: "test" + strconv.Itoa(os.Getpid()), PidsMax: 12}}}
	var runs []*Process
	for range 2 {
		p, err := Start(Spec{Argv: []string{exe}, Env: []string{forksEnv + "=10"}, Limits: group, Output: NewOutput(10)})
		if err != nil {
			if errors.Is(err, ErrNoLimits) {
				t.Skipf("no cgroup v1 pids hierarchy here: %v", err)
			}
			t.Fatal(err)
		}
		runs = append(runs, p)
		time.Sleep(300 * time.Millisecond)
	}
	n := 0
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.live() && (st.pgrp == runs[0].Pid() || st.pgrp == runs[1].Pid()) {
			n++
		}
	}
	t.Logf("%d processes in two runs under a group's pids_max 12", n)
	if n > 12 || n < 2 {
		t.Errorf("%d processes in the group's runs, want at most 12", n)
	}
	for _, p := range runs {
		_ = p.Kill()
		<-p.Done()
	}
}
