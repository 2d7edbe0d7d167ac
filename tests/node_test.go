package tests

import (
	"fmt"
	"net"
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
	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// nodeEnv is a state and runtime directory of the test's own (short enough
// for a socket path), as the environment of every command it runs.
type nodeEnv struct {
	t        *testing.T
	dir, env []string
	procfile string
}

func newNodeEnv(t *testing.T) *nodeEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "tv15e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &nodeEnv{t: t, procfile: filepath.Join(dir, "tasks.toml")}
	e.env = []string{"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run")}
	e.dir = []string{dir}
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	procfile := "[[task]]\nname = \"ticker\"\ncommand = \"i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done\"\nstop_grace = \"1s\"\n" +
		"[[task]]\nname = \"three\"\ncommand = \"for i in 1 2 3; do echo line $i; sleep 0.3; done\"\n"
	if err := os.WriteFile(e.procfile, []byte(procfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *nodeEnv) socket() string { return filepath.Join(e.dir[0], "run", "taskvisor", "default.sock") }

// serve starts `taskvisor serve` with stdin closed; it is waited for by the
// test's cleanup (SIGKILL if it is still running).
func (e *nodeEnv) serve() *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(binary, "serve", "--tasks", e.procfile)
	cmd.Env = append(os.Environ(), e.env...)
	cmd.Stdin = nil // /dev/null: no stdin
	var errBuf syncbuf.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	proctest.Eventually(e.t, wait, "the node to listen", func() bool {
		c, err := net.Dial("unix", e.socket())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd
}

// ctl runs a control command and returns its stdout and exit code.
func (e *nodeEnv) ctl(args ...string) (string, int) {
	e.t.Helper()
	out, stderr, code := runBinary(e.t, e.env, args...)
	if code != 0 {
		e.t.Logf("taskvisor %v: exit %d, stderr: %s", args, code, stderr)
	}
	return out, code
}

// runBinary runs taskvisor with args and env added to the test's
// environment: its stdout, stderr and exit code.
func runBinary(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("taskvisor %v: %v", args, err)
	}
	return string(out), errb.String(), code
}

func (e *nodeEnv) mustCtl(args ...string) string {
	e.t.Helper()
	out, code := e.ctl(args...)
	if code != 0 {
		e.t.Fatalf("taskvisor %v: exit %d; stdout: %s", args, code, out)
	}
	return out
}

// taskPID is the pid `ls` shows for task id.
func (e *nodeEnv) taskPID(id string) int {
	e.t.Helper()
	for _, line := range strings.Split(e.mustCtl("ls"), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[3])
			return pid
		}
	}
	return 0
}

// The whole life of a node from the CLI: serve with no stdin; start; attach
// in tmux and detach; ls shows the task still running; SIGKILL of an
// attached client changes nothing; logs -f follows; shutdown stops the node
// and leaves no process, socket or lock.
func TestServeAttachControl(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("the attach test needs tmux (.ci/run installs it): %v", err)
	}
	e := newNodeEnv(t)
	serve := e.serve()
	if out := e.mustCtl("start", "ticker"); strings.TrimSpace(out) != "1" {
		t.Fatalf("start: %q", out)
	}
	pid := e.taskPID("1")
	if pid == 0 {
		t.Fatal("ls shows no pid for task 1")
	}

	// attach, then detach with q.
	tmuxSock := fmt.Sprintf("tv15-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", tmuxSock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { killTmux(tmuxSock) })
	session := func(name, script string) {
		args := []string{"-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "120", "-y", "30", "-e", "TERM=screen", "-e", "LANG=C.UTF-8"}
		for _, kv := range e.env {
			args = append(args, "-e", kv)
		}
		tmux(append(args, "sh", "-c", script)...)
	}
	session("a", fmt.Sprintf("%s attach; echo ATTACH-EXIT=$?; sleep 3600", shellQuote(binary)))
	screenHas := func(target, what string, re *regexp.Regexp) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			s := tmux("capture-pane", "-p", "-t", target)
			if re.MatchString(s) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s on the attached screen:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	screenHas("a", "task 1 ticker running", regexp.MustCompile(`ticker`))
	tmux("send-keys", "-t", "a", "q")
	screenHas("a", "the detach message", regexp.MustCompile(`detached from node "default"[^\n]*keep running\s*\nATTACH-EXIT=0`))
	if p := e.taskPID("1"); p != pid {
		t.Fatalf("after detach, task 1 has pid %d; want %d still running", p, pid)
	}

	// An attached client killed with SIGKILL changes nothing.
	session("b", fmt.Sprintf("%s attach; sleep 3600", shellQuote(binary)))
	panePID, _ := strconv.Atoi(strings.TrimSpace(tmux("display-message", "-p", "-t", "b", "#{pane_pid}")))
	var attachPID int
	proctest.Eventually(t, wait, "the second attach's process", func() bool {
		if kids := proctest.Children(panePID); len(kids) > 0 {
			attachPID = kids[0]
		}
		return attachPID != 0
	})
	screenHas("b", "task 1 on the second attach", regexp.MustCompile(`ticker`))
	if err := syscall.Kill(attachPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, wait, "the killed attach to go", func() bool {
		st, ok := proctest.ReadStat(attachPID)
		return !ok || st.Zombie()
	})
	if p := e.taskPID("1"); p != pid {
		t.Fatalf("after SIGKILL of an attached client, task 1 has pid %d; want %d", p, pid)
	}

	// logs -f follows a task to its end.
	e.mustCtl("start", "three")
	if out := e.mustCtl("logs", "-f", "three"); out != "line 1\nline 2\nline 3\n" {
		t.Fatalf("logs -f: %q", out)
	}
	if out, code := e.ctl("wait", "three"); code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("wait three: exit %d, %q", code, out)
	}
	e.mustCtl("kill", "1")
	if _, code := e.ctl("wait", "1"); code != 4 {
		t.Fatalf("wait of a killed task: exit %d, want 4", code)
	}
	if _, code := e.ctl("cancel", "42"); code != 1 {
		t.Fatalf("cancel of an unknown task: exit %d, want 1", code)
	}

	e.mustCtl("shutdown")
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("serve did not exit after shutdown")
	}
	if _, err := os.Stat(e.socket()); !os.IsNotExist(err) {
		t.Fatalf("the socket is left: %v", err)
	}
	if _, code := e.ctl("ls"); code != 3 {
		t.Fatalf("ls with no node: exit %d, want 3", code)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("task 1's process %d is left", pid)
	}
	// The lock is free: a node of the name starts again.
	e.serve()
	e.mustCtl("shutdown")
}

// A node killed with SIGKILL: its running task is shown, after the node's
// restart, ended with a reason that says so, and its log is still there.
func TestNodeCrashHistory(t *testing.T) {
	e := newNodeEnv(t)
	serve := e.serve()
	e.mustCtl("start", "ticker")
	pid := e.taskPID("1")
	proctest.Eventually(t, wait, "ticks in the log", func() bool {
		out, _ := e.ctl("logs", "1")
		return strings.Contains(out, "tick 2")
	})
	_ = serve.Process.Kill()
	_ = serve.Wait()
	proctest.Eventually(t, wait, "the task's process to go with the node", func() bool {
		st, ok := proctest.ReadStat(pid)
		return !ok || st.Zombie()
	})
	e.serve()
	out := e.mustCtl("ls", "--all")
	if !regexp.MustCompile(`(?m)^1\.1\s+ticker\s+failed\b.*the node ended \(run 1\) while the task was running`).MatchString(out) {
		t.Fatalf("ls --all after the crash:\n%s", out)
	}
	if out := e.mustCtl("logs", "-n", "1", "1.1"); !strings.HasPrefix(out, "tick ") {
		t.Fatalf("logs of 1.1: %q", out)
	}
	e.mustCtl("shutdown")
}
