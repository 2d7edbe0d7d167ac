//go:build linux

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// secondUser is the unprivileged user the tests run taskvisor as.
const secondUser = "tvtest13"

// asSecondUser returns a configure function for startSessionWith that runs
// taskvisor as secondUser (created with useradd if it does not exist), from
// a copy of the binary that it may execute, with state and runtime
// directories of its own; the user's uid; and a function that writes a task
// file the user may read.
func asSecondUser(t *testing.T) (configure func(*exec.Cmd), uid int, taskFile func(text string) string) {
	t.Helper()
	uid, gid := proctest.SecondUser(t, secondUser)
	dir, err := os.MkdirTemp("", "tv-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "taskvisor")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{home, filepath.Join(home, "state"), filepath.Join(home, "run")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	files := 0
	taskFile = func(text string) string {
		files++
		path := filepath.Join(dir, "tasks"+strconv.Itoa(files)+".toml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return func(cmd *exec.Cmd) {
		cmd.Path = exe
		cmd.Args[0] = exe
		cmd.Dir = home
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"),
			"XDG_RUNTIME_DIR="+filepath.Join(home, "run"))
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}, uid, taskFile
}

var uidLine = regexp.MustCompile(`(?m)^Uid:\s+(\d+)`)

// uidOf is the real uid of process pid, or -1.
func uidOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	m := uidLine.FindSubmatch(b)
	if m == nil {
		return -1
	}
	uid, _ := strconv.Atoi(string(m[1]))
	return uid
}

// As an unprivileged user, who cannot leave the run's cgroup (nor, here,
// have one: taskvisor falls back to its run marker), an escapee that
// clears its environment and makes a session of its own still dies: at
// the reaper's next pass once it is orphaned to taskvisor, and, while its
// parent lives in the run, when taskvisor is killed with SIGKILL (the
// guard finds it through its parent). A task that keeps double-forking
// short helpers leaves no pile of zombies.
func TestUnprivilegedEscapeesAndZombies(t *testing.T) {
	configure, uid, taskFile := asSecondUser(t)
	cases := map[string]string{
		"orphaned":         `( ( exec env -i setsid sleep 1000 ) & echo escapee $! ); exec sleep 1000`,
		"taskvisor killed": `( exec env -i setsid sleep 1000 ) & echo escapee $!; exec sleep 1000`,
	}
	for _, how := range []string{"orphaned", "taskvisor killed"} {
		t.Run(how, func(t *testing.T) {
			path := taskFile("[[task]]\nname = \"escape\"\ncommand = " + strconv.Quote(cases[how]) + "\n")
			s := startSessionWith(t, configure, "--tasks", path)
			s.send("start escape")
			m := escapeeLine.FindStringSubmatch(s.expectLine("the escapee's pid", escapeeLine.MatchString))
			pid, _ := strconv.Atoi(m[1])
			t.Cleanup(func() { killIfSleep(pid) })
			if got := uidOf(s.cmd.Process.Pid); got != uid {
				t.Fatalf("taskvisor runs as uid %d, want %d", got, uid)
			}
			proctest.Eventually(t, wait, "the escapee to clear its environment", func() bool {
				_, marked := proctest.Env(pid, "TASKVISOR_RUN")
				comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
				return strings.TrimSpace(string(comm)) == "sleep" && !marked
			})
			if how == "taskvisor killed" {
				if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			proctest.Eventually(t, wait, "the escapee to die", func() bool {
				st, ok := proctest.ReadStat(pid)
				return !ok || st.Zombie()
			})
			if how == "orphaned" {
				s.send("cancel 1")
				if _, err := s.finish(); err != nil && !strings.Contains(err.Error(), "exit status") {
					t.Fatalf("taskvisor exit: %v", err)
				}
			}
		})
	}
	t.Run("zombies", func(t *testing.T) {
		path := taskFile("[[task]]\nname = \"forker\"\ncommand = \"while :; do (true &); sleep 0.05; done\"\n")
		s := startSessionWith(t, configure, "--tasks", path)
		s.send("start forker")
		s.expectLine("the task running", func(l string) bool { return strings.Contains(l, "Started (pid") })
		tv := s.cmd.Process.Pid
		most := 0
		for range 8 {
			time.Sleep(time.Second)
			n := 0
			for _, st := range proctest.All() {
				if st.PPID == tv && st.Zombie() {
					n++
				}
			}
			most = max(most, n)
		}
		// The loop makes about 20 a second; reaped at each SIGCHLD, a pass
		// a second at most, a sample finds a handful at most.
		if most > 25 {
			t.Errorf("at most %d zombies of taskvisor over 8 s, want a bound of 25 (20 are made a second)", most)
		}
		t.Logf("at most %d zombies of taskvisor over 8 s", most)
		s.send("cancel 1")
		if _, err := s.finish(); err != nil && !strings.Contains(err.Error(), "exit status") {
			t.Fatalf("taskvisor exit: %v", err)
		}
	})
}
