//go:build linux

package tests

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// escapeeCommand starts one escapee of the hardest kind and prints its pid:
// a double fork, so that it is orphaned to taskvisor at once (unless
// keepParent), then it moves itself out of the run's cgroup (to the cgroup2
// root, which only root may write), clears its environment (so no run
// marker is left) and makes a session of its own. The task itself then
// sleeps, or, with leaderExits, ends at once.
func escapeeCommand(root string, escapeeLife string, leaderExits, keepParent bool) string {
	c := `( echo 0 > ` + root + `/cgroup.procs && exec env -i setsid sleep ` + escapeeLife + ` ) & echo escapee $!; `
	if !keepParent {
		c = `( ` + c + `); `
	}
	if leaderExits {
		return c + `sleep 0.5`
	}
	return c + `exec sleep 1000`
}

// cgroup2Root is the mount point of the cgroup v2 hierarchy, or "" if none.
func cgroup2Root(t *testing.T) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 25 0:31 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && fields[3] == "/" {
				return fields[4]
			}
		}
	}
	return ""
}

var escapeeLine = regexp.MustCompile(`^\[Task 1\] \| escapee (\d+)$`)

// An escapee that leaves its run's cgroup and clears its environment still
// dies with its task: when the task is cancelled and when its leader exits.
// One that lives only a second while its task runs on (it exits by itself,
// or the reaper's next pass kills it first) is not left a zombie of
// taskvisor. Each case runs with cgroups and with the marker fallback
// (TASKVISOR_CGROUPS=off). All six failed on the tree before the fix: the
// escapee outlived its task and taskvisor, and stayed a zombie of taskvisor
// once it exited.
//
// And one whose parent still lives in the run (the task's leader) dies when
// taskvisor is killed with SIGKILL: the guard kills it before it kills the
// run's cgroup (or the marked processes), which would orphan it out of
// reach. That case failed before the guard walked the run's children.
func TestEscapeeOutsideTheRunDiesWithIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may move a process to the cgroup2 root; as any other user a task cannot leave its run cgroup without a delegated subtree")
	}
	root := cgroup2Root(t)
	if root == "" {
		t.Skip("no cgroup v2 hierarchy mounted: no cgroup to leave")
	}
	for _, mode := range []string{"cgroup", "marker"} {
		// Not here: a SIGKILL of taskvisor in the second between the
		// escapee's orphaning to it and its reaper's next look
		// (docs/reliability.md says so).
		for _, how := range []string{"cancel", "leader exits", "escapee exits", "taskvisor killed"} {
			t.Run(mode+"/"+how, func(t *testing.T) {
				if mode == "marker" {
					t.Setenv("TASKVISOR_CGROUPS", "off")
				}
				life := "1000"
				if how == "escapee exits" {
					life = "1"
				}
				cmd := escapeeCommand(root, life, how == "leader exits", how == "taskvisor killed")
				path := writeTaskFile(t, "tasks.toml", "[[task]]\nname = \"escape\"\ncommand = "+strconv.Quote(cmd)+"\n")
				s := startSession(t, "--tasks", path)
				s.send("start escape")
				m := escapeeLine.FindStringSubmatch(s.expectLine("the escapee's pid", escapeeLine.MatchString))
				pid, _ := strconv.Atoi(m[1])
				t.Cleanup(func() { killIfSleep(pid) })
				tv := s.cmd.Process.Pid
				// It has left: out of taskvisor's cgroups, no marker.
				proctest.Eventually(t, wait, "the escapee to leave the run", func() bool {
					cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
					_, marked := proctest.Env(pid, "TASKVISOR_RUN")
					comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
					return strings.TrimSpace(string(comm)) == "sleep" && !marked && !strings.Contains(string(cg), "taskvisor-")
				})
				switch how {
				case "cancel":
					s.send("cancel 1")
				case "taskvisor killed":
					if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
				switch how {
				case "escapee exits":
					// It exits after 1 s; taskvisor must reap it.
					proctest.Eventually(t, wait, "the escapee to be reaped", func() bool {
						st, ok := proctest.ReadStat(pid)
						return !ok || st.PPID != tv
					})
					s.send("cancel 1")
				default:
					proctest.Eventually(t, wait, "the escapee to die", func() bool {
						st, ok := proctest.ReadStat(pid)
						return !ok || st.Zombie()
					})
				}
				if _, err := s.finish(); err != nil && !strings.Contains(err.Error(), "exit status") && how != "taskvisor killed" {
					t.Fatalf("taskvisor exit: %v", err)
				}
				// No zombie of taskvisor's was left: it has exited, and
				// none of its children is ours. (After its SIGKILL the dead
				// escapee is init's to reap, which it may never do.)
				if st, ok := proctest.ReadStat(pid); ok && (how != "taskvisor killed" || !st.Zombie()) {
					t.Errorf("escapee %d still there after taskvisor exited: state %c, parent %d", pid, st.State, st.PPID)
				}
			})
		}
	}
}

// killIfSleep kills pid if it is still a sleep: a cleanup that never hits a
// recycled pid of another program.
func killIfSleep(pid int) {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
