package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// escapeeShell starts escapees of every kind, prints their pids on one line,
// then sleeps: a setsid child, a double-forked setsid grandchild (its parent
// exits at once, so it is orphaned to us while the task runs), a child that
// moves to a group of its own, and a plain background child.
const escapeeShell = `setsid sleep 1000 & a=$!
( setsid sleep 1000 & echo $! > "$PIDS.b" ) ; b=$(cat "$PIDS.b")
perl -e 'setpgrp(0,0); sleep 1000' & c=$!
sleep 1000 & d=$!
echo $a $b $c $d
exec sleep 1000`

func TestEscapeesDieWithTheirTask(t *testing.T) {
	setSubreaperT(t, true)
	if _, err := taskCgroups(); err != nil {
		t.Logf("no cgroups here (%v): both cases use the run marker", err)
	}
	for _, mode := range []struct {
		name     string
		noCgroup bool
	}{{"cgroup", false}, {"marker", true}} {
		for _, how := range []string{"kill", "leader exits"} {
			t.Run(mode.name+"/"+how, func(t *testing.T) {
				out := NewOutput(0)
				p := startT(t, Spec{
					Shell:    escapeeShell,
					Env:      []string{"PIDS=" + t.TempDir() + "/pids"},
					Output:   out,
					noCgroup: mode.noCgroup,
				})
				l := waitLine(t, out, 5*time.Second, func(l Line) bool { return l.Stream == Stdout })
				var pids []int
				for f := range strings.FieldsSeq(l.Text) {
					pid, err := parsePid(f)
					if err != nil {
						t.Fatalf("line %q: %v", l.Text, err)
					}
					pids = append(pids, pid)
				}
				t.Cleanup(func() {
					for _, pid := range pids {
						killEscapee(t, pid, "sleep")
						killEscapee(t, pid, "perl")
					}
				})
				if len(pids) != 4 {
					t.Fatalf("want 4 pids, got %q", l.Text)
				}
				for _, pid := range pids[:3] {
					proctest.Eventually(t, 5*time.Second, fmt.Sprintf("escapee %d leaving group %d", pid, p.Pgid()), func() bool {
						st, ok := readStat(pid)
						return ok && st.pgrp != p.Pgid()
					})
				}
				if how == "kill" {
					if err := p.Kill(); err != nil {
						t.Fatal(err)
					}
				} else {
					// The leader ends by itself: kill the exec'd sleep
					// alone, not the group.
					if err := killPid(p.Pid()); err != nil {
						t.Fatal(err)
					}
				}
				waitDone(t, p, 5*time.Second)
				for _, pid := range pids {
					if _, ok := readStat(pid); ok {
						st, _ := readStat(pid)
						t.Errorf("escapee %d still there after Done (state %c, parent %d)", pid, st.state, st.ppid)
					}
				}
			})
		}
	}
}

// killPid sends SIGKILL to pid alone; the leader is unreaped until its
// waiter reaps it, so its pid is still its own.
func killPid(pid int) error { return unix.Kill(pid, unix.SIGKILL) }

// A cgroup tree whose runs hold cgroups a task made inside them is removed
// whole, depth first (the guard's and a new taskvisor's clean-up).
func TestCgroupTreeWithNestedCgroupsIsRemoved(t *testing.T) {
	tree, err := taskCgroups()
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	dir := filepath.Join(tree.dir, "test-nested")
	for _, d := range []string{dir, filepath.Join(dir, "run-1"), filepath.Join(dir, "run-1", "inner")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeCgroupTree(dir, time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
}

// markedAndLive finds an entry wherever it is in the environment, the first
// one included (no NUL before it), and only whole when asked for exactly.
func TestMarkedAndLive(t *testing.T) {
	env, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	entries := strings.Split(strings.TrimSuffix(string(env), "\x00"), "\x00")
	if len(entries) < 2 {
		t.Skipf("the test's environment has %d entries", len(entries))
	}
	first, last := entries[0], entries[len(entries)-1]
	for _, c := range []struct {
		want  string
		found bool
	}{
		{"\x00" + first + "\x00", true},
		{"\x00" + last + "\x00", true},
		{"\x00" + first, true}, // a prefix, as the guard looks for
		{"\x00" + first[:len(first)-1] + "\x00", false},
		{"\x00" + first + "x\x00", false},
		{"\x00" + RunEnv + "=no.such\x00", false},
	} {
		if got := markedAndLive(os.Getpid(), []byte(c.want)); got != c.found {
			t.Errorf("markedAndLive(self, %q) = %v, want %v", c.want, got, c.found)
		}
	}
}
