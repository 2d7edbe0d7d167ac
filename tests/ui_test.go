package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// tmuxUI is taskvisor's terminal UI running in a detached tmux session on a
// tmux server of its own.
type tmuxUI struct {
	t      *testing.T
	socket string
}

// exitMarker is printed by the session's shell once taskvisor has exited,
// followed by its exit status and the terminal's settings (stty -a), then
// endMarker.
const exitMarker, endMarker = "TASKVISOR-EXITED", "TASKVISOR-STTY-DONE"

// tmuxRuns numbers the tmux servers that the tests start.
var tmuxRuns atomic.Int64

// startTmuxUI runs the built taskvisor in a 120x30 tmux session. When it
// exits, the shell prints exitMarker, its status and `stty -a`, and stays,
// so that the test can read how the terminal was left.
func startTmuxUI(t *testing.T) *tmuxUI {
	t.Helper()
	return startTmuxWith(t, nil)
}

// startTmuxWith is startTmuxUI of taskvisor with args, and env added to
// the session's environment.
func startTmuxWith(t *testing.T, env []string, args ...string) *tmuxUI {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("the terminal UI tests need tmux (.ci/run installs it): %v", err)
	}
	// A socket of its own for each run: a server just killed on the
	// socket of the test's previous run (-count) may still be going, and
	// then the new session fails with "server exited unexpectedly".
	u := &tmuxUI{t: t, socket: fmt.Sprintf("taskvisor-test-%d-%d-%s", os.Getpid(), tmuxRuns.Add(1), regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), "_"))}
	line := shellQuote(binary)
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	script := fmt.Sprintf("%s; echo %s=$?; stty -a; echo %s; sleep 3600", line, exitMarker, endMarker)
	session := []string{"-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "120", "-y", "30", "-e", "LANG=C.UTF-8", "-e", "TERM=screen"}
	for _, e := range env {
		session = append(session, "-e", e)
	}
	u.tmux(append(session, "sh", "-c", script)...)
	t.Cleanup(func() {
		killTmux(u.socket)
	})
	u.tmux("set-option", "-g", "window-size", "manual")
	return u
}

// killTmux ends the tmux server of socket name and removes its socket
// file, which tmux leaves behind in its directory.
func killTmux(name string) {
	_ = exec.Command("tmux", "-L", name, "kill-server").Run()
	dir := os.Getenv("TMUX_TMPDIR")
	if dir == "" {
		dir = "/tmp"
	}
	_ = os.Remove(filepath.Join(dir, fmt.Sprintf("tmux-%d", os.Getuid()), name))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (u *tmuxUI) tmux(args ...string) string {
	u.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", u.socket}, args...)...).CombinedOutput()
	if err != nil {
		u.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (u *tmuxUI) keys(keys ...string) { u.tmux(append([]string{"send-keys", "-t", "ui"}, keys...)...) }

func (u *tmuxUI) screen() string { return u.tmux("capture-pane", "-p", "-t", "ui") }

// waitFor polls the screen until match finds what it wants in it, and
// returns the submatches of re.
func (u *tmuxUI) waitFor(what string, re *regexp.Regexp, also func([]string) bool) []string {
	u.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		screen := u.screen()
		if m := re.FindStringSubmatch(screen); m != nil && (also == nil || also(m)) {
			return m
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("no %s on the screen within %v:\n%s", what, wait, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taskvisorPID is the pid of taskvisor: the child of the session's shell.
func (u *tmuxUI) taskvisorPID() int {
	u.t.Helper()
	shell, err := strconv.Atoi(strings.TrimSpace(u.tmux("display-message", "-p", "-t", "ui", "#{pane_pid}")))
	if err != nil {
		u.t.Fatal(err)
	}
	for _, pid := range proctest.Children(shell) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == binary {
			return pid
		}
	}
	u.t.Fatalf("no taskvisor process under the shell %d", shell)
	return 0
}

// processesOfBinary lists the live processes running the taskvisor binary:
// taskvisor itself and its demo tasks.
func processesOfBinary() []int {
	var out []int
	for _, st := range proctest.All() {
		if st.Zombie() {
			continue
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", st.PID)); exe == binary {
			out = append(out, st.PID)
		}
	}
	return out
}

var (
	standardRow = regexp.MustCompile(`(?m)^ *1 \S+ (\w[\w-]*) +standard .*?(\d+)% +(\d+)/7`)
	detailPID   = regexp.MustCompile(`─ Task 1 standard \S+ (\w[\w-]*) ─[^\n]*\n pid (\d+)`)
)

// TestUIEndToEnd drives the terminal UI in tmux as a user would: 2 starts
// the standard task and its percentage moves; K kills it; r brings it back
// running with a new pid; a resize to 40x10 and back keeps it drawn; q
// exits 0, restores the terminal and leaves no process behind.
func TestUIEndToEnd(t *testing.T) {
	u := startTmuxUI(t)
	u.waitFor("the empty task list", regexp.MustCompile(`No tasks yet\. n: pick one to start; or a key: 1[\s\x{00a0}]quick, 2[\s\x{00a0}]standard`), nil)
	tv := u.taskvisorPID()

	u.keys("2")
	first := u.waitFor("task 1 running with a percentage", standardRow, func(m []string) bool { return m[1] == "running" })
	u.waitFor("the percentage moving", standardRow, func(m []string) bool { return m[1] == "running" && m[2] != first[2] })

	u.keys("Tab") // the detail pane shows the pid
	m := u.waitFor("the detail pane", detailPID, func(m []string) bool { return m[1] == "running" })
	pid1, _ := strconv.Atoi(m[2])

	u.keys("K")
	u.waitFor("task 1 killed", standardRow, func(m []string) bool { return m[1] == "killed" })
	proctest.Eventually(t, wait, fmt.Sprintf("the killed process %d to be gone", pid1), func() bool {
		st, ok := proctest.ReadStat(pid1)
		return !ok || st.Zombie() && st.PPID != tv
	})

	u.keys("r")
	m = u.waitFor("task 1 running again with a new pid", detailPID, func(m []string) bool { return m[1] == "running" && m[2] != strconv.Itoa(pid1) })
	pid2, _ := strconv.Atoi(m[2])
	u.waitFor("one restart in the detail pane", regexp.MustCompile(`restarts 1`), nil)

	u.tmux("resize-window", "-t", "ui", "-x", "40", "-y", "10")
	small := u.waitFor("the 40x10 layout", regexp.MustCompile(`(?s)^ taskvisor .*\nID STATE +NAME .*\n 1 \S+ \w+ +standard.*1-9 n ↑↓ k K r p ⏎ Tab \? help q quit\n*$`), nil)
	if lines := strings.Split(strings.TrimRight(small[0], "\n"), "\n"); len(lines) > 10 {
		t.Errorf("%d lines on a 10-line screen:\n%s", len(lines), small[0])
	}
	u.tmux("resize-window", "-t", "ui", "-x", "120", "-y", "30")
	u.waitFor("the 120x30 layout again", regexp.MustCompile(`ID STATE +NAME +PROGRESS +% STEP +PID RST +RUN +IDLE (CPU +MEM +)?STATUS`), nil)
	u.waitFor("the keys in full", regexp.MustCompile(`1-9 start n pick ↑↓ select k cancel K kill r restart p pause ⏎ output Tab detail \? help q quit`), nil)

	// The output view of task 1, a search in it, and back.
	u.keys("Enter")
	u.waitFor("task 1's output view", regexp.MustCompile(`(?m)^ Task 1 standard .*: output`), nil)
	u.keys("/")
	u.keys("-l", "step 2")
	u.keys("Enter")
	u.waitFor("the search's match", regexp.MustCompile(`/step 2: match \d+ of \d+`), nil)
	u.keys("Escape")
	u.waitFor("the task list again", regexp.MustCompile(`1-9 start n pick`), nil)

	// The picker starts a template by a filter typed into it.
	u.keys("n")
	u.waitFor("the picker", regexp.MustCompile(`Start a task \(Enter\), Esc: close\. Filter:`), nil)
	u.keys("-l", "qui")
	u.waitFor("the filtered picker", regexp.MustCompile(`Filter: qui\s*\n\s*1  quick: `), nil)
	u.keys("Enter")
	u.waitFor("task 2, quick, started from the picker", regexp.MustCompile(`(?m)^ *2 \S+ \w+ +quick `), nil)

	u.keys("q")
	end := u.waitFor("taskvisor's exit", regexp.MustCompile(`(?s)`+exitMarker+`=(\d+)\n.*`+endMarker), nil)
	if end[1] != "0" {
		t.Errorf("taskvisor exited with %s", end[1])
	}
	screen := u.screen()
	if !regexp.MustCompile(`\[Task 1\] standard ended: (cancelled|completed)`).MatchString(screen) {
		t.Errorf("no summary after the exit:\n%s", screen)
	}
	// The terminal is back in cooked mode with echo: the alternate screen
	// is gone and stty sees what it saw before taskvisor.
	for _, want := range []string{" icanon ", " echo ", " isig ", " icrnl ", " opost "} {
		if !strings.Contains(" "+strings.Join(strings.Fields(screen), " ")+" ", want) {
			t.Errorf("terminal not restored: stty -a lacks %q:\n%s", strings.TrimSpace(want), screen)
		}
	}
	for _, pid := range []int{pid1, pid2, tv} {
		if st, ok := proctest.ReadStat(pid); ok && !st.Zombie() {
			t.Errorf("process %d outlived taskvisor", pid)
		}
	}
	proctest.Eventually(t, wait, "no process of the taskvisor binary", func() bool { return len(processesOfBinary()) == 0 })
}

// TestUIQuitWaitsThenKills: Ctrl-C (a key in raw mode) quits like q: it
// waits for a task that ignores SIGTERM and shows it holding up the quit
// with its SIGKILL countdown; Q kills it at once.
func TestUIQuitWaitsThenKills(t *testing.T) {
	u := startTmuxUI(t)
	u.waitFor("the empty task list", regexp.MustCompile(`No tasks yet`), nil)
	u.keys("4")
	// Running once started, it ignores SIGTERM only once it has set its
	// signal handling, after which it says Ready or its first step: a
	// Ctrl-C sooner would end it at the first SIGTERM.
	m := u.waitFor("the stubborn task running and ready", regexp.MustCompile(`(?m)^ *1 \S+ running +stubborn +.* (\d+) +\d+s .*(?:Ready: |Processing step )`), nil)
	pid, _ := strconv.Atoi(m[1])
	u.keys("C-c")
	u.waitFor("the quit held up by task 1", regexp.MustCompile(`Quitting: waiting for 1 task \(q again or Q: kill now\): 1 stubborn \(SIGKILL in \d+\.\ds\)`), nil)
	u.keys("Q")
	end := u.waitFor("taskvisor's exit", regexp.MustCompile(`(?s)`+exitMarker+`=(\d+)\n.*`+endMarker), nil)
	if end[1] != "0" {
		t.Errorf("taskvisor exited with %s", end[1])
	}
	if screen := u.screen(); !strings.Contains(screen, "[Task 1] stubborn ended: killed (SIGKILL)") {
		t.Errorf("no summary of the kill:\n%s", screen)
	}
	if st, ok := proctest.ReadStat(pid); ok && !st.Zombie() {
		t.Errorf("the stubborn process %d outlived taskvisor", pid)
	}
	proctest.Eventually(t, wait, "no process of the taskvisor binary", func() bool { return len(processesOfBinary()) == 0 })
}
