// Package proctest holds what taskvisor's tests need to see processes as the
// kernel does (from /proc), so that a test can assert that nothing of it
// survived: members of a process group, children of a process. It reads
// /proc, so it sees processes on Linux only.
package proctest

import (
	"bytes"
	"os"
	"strconv"
	"testing"
	"time"
)

// Stat is the part of /proc/PID/stat that tests look at.
type Stat struct {
	PID, PPID, PGID int // the process, its parent, its process group
	// State is R, S, D, T, Z (zombie) ...
	State byte
	// UTime and STime are the CPU time spent in user and in kernel mode,
	// in clock ticks (USER_HZ, 100 a second).
	UTime, STime uint64
}

// Zombie reports whether the process has exited and waits to be reaped.
func (s Stat) Zombie() bool { return s.State == 'Z' || s.State == 'X' }

// ReadStat reads /proc/PID/stat; ok is false when pid is gone.
func ReadStat(pid int) (Stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return Stat{}, false
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	pgid, _ := strconv.Atoi(string(f[2]))
	var utime, stime uint64
	if len(f) > 12 {
		utime, _ = strconv.ParseUint(string(f[11]), 10, 64)
		stime, _ = strconv.ParseUint(string(f[12]), 10, 64)
	}
	return Stat{PID: pid, PPID: ppid, PGID: pgid, State: f[0][0], UTime: utime, STime: stime}, true
}

// All returns the stat of every process in /proc.
func All() []Stat {
	entries, _ := os.ReadDir("/proc")
	out := make([]Stat, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if st, ok := ReadStat(pid); ok {
				out = append(out, st)
			}
		}
	}
	return out
}

// GroupMembers lists the processes of process group pgid, zombies included:
// a zombie nobody reaps is a leak too.
func GroupMembers(pgid int) []int {
	var out []int
	for _, st := range All() {
		if st.PGID == pgid {
			out = append(out, st.PID)
		}
	}
	return out
}

// Children lists the processes whose parent is ppid, zombies included, except
// the guard process that proc starts once per program (it lives as long as
// the program, by design: see proc.GuardPid).
func Children(ppid int) []int {
	var out []int
	for _, st := range All() {
		if st.PPID == ppid && !IsGuard(st.PID) {
			out = append(out, st.PID)
		}
	}
	return out
}

// guardName is proc.GuardName; proctest does not import proc.
const guardName = "taskvisor-guard"

// IsGuard reports whether pid is a taskvisor guard process (its argv[0]).
func IsGuard(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	arg0, _, _ := bytes.Cut(b, []byte{0})
	return string(arg0) == guardName
}

// Marked lists the live processes whose environment holds the entry
// key=value exactly, as taskvisor marks every process of a task run
// (proc.RunEnv), or starts with key=value when prefix is true.
func Marked(entry string, prefix bool) []int {
	want := []byte("\x00" + entry)
	if !prefix {
		want = append(want, 0)
	}
	var out []int
	for _, st := range All() {
		if st.Zombie() {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/environ")
		if err == nil && bytes.Contains(append([]byte{0}, env...), want) {
			out = append(out, st.PID)
		}
	}
	return out
}

// Env returns the value of key in the environment that process pid was
// started with (/proc/PID/environ); ok is false when it has no such entry,
// or when pid is gone or its environment cannot be read.
func Env(pid int, key string) (value string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
			return string(v), true
		}
	}
	return "", false
}

// FDs returns how many descriptors process pid has open (/proc/PID/fd).
// For the calling process it counts the one it reads the directory with.
func FDs(pid int) (int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(entries), err
}

// Eventually polls cond every 10 ms until it holds, and fails the test with
// what it waited for if it does not within d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Threads returns how many OS threads this process has now.
func Threads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}
