package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeTaskFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A task from a --tasks file runs with its command, env and dir (a relative
// dir is taken from the file's directory).
func TestTaskFileRunsItsTasks(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tasks.toml")
	text := fmt.Sprintf(`
[[task]]
name = "greet"
key = "1"
command = 'test "$GREETING" = hello && test "$(pwd -P)" = "$EXPECT_DIR"'
dir = "work"
env = { GREETING = "hello", EXPECT_DIR = %q }
`, filepath.Join(dir, "work"))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, "--json", "--tasks", path)
	s.send("start 1")
	end := s.expectEvent("task 1 ended", func(e event) bool {
		return e.Task == 1 && (e.State == "completed" || e.State == "failed")
	})
	if end.Name != "greet" || end.State != "completed" {
		t.Errorf("ended event: %+v", end)
	}
	if _, err := s.finish(); err != nil {
		t.Fatalf("taskvisor exit: %v", err)
	}
}

// A bad --tasks file stops taskvisor before anything runs: exit 2, every
// problem with its place.
func TestTaskFileErrorsExit2(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", "[[task]]\nname = \"web\"\ncommand = \"x\"\nstall_timeout = \"10\"\nkey = \"0\"\n")
	out, err := exec.Command(binary, "--headless", "--tasks", path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want code 2; output: %s", err, out)
	}
	for _, want := range []string{
		path + `:4:17: task "web": stall_timeout: "10" is not a duration (like "10s" or "1m30s")`,
		path + `:5:7: task "web": key: expected one of "1" to "9", got "0"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// taskvisor check prints the tree of a good file and exits 0.
func TestCheckCommand(t *testing.T) {
	path := writeTaskFile(t, "Procfile", "web: python3 -m http.server\nworker: ./work\n")
	out, err := exec.Command(binary, "check", "--procfile", path).CombinedOutput()
	if err != nil {
		t.Fatalf("check: %v; output: %s", err, out)
	}
	if !strings.Contains(string(out), `[1] task web: sh -c "python3 -m http.server"`) {
		t.Errorf("check output:\n%s", out)
	}
}
