package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckPrintsTheTree(t *testing.T) {
	path := writeFile(t, "tasks.toml", `
[[group]]
name = "pipeline"
strategy = "rest-for-one"
max_restarts = 3
restart_window = "30s"

[[task]]
name = "web"
key = "1"
command = "python3 -m http.server"
restart = "on-failure"
stall_timeout = "10s"
autostart = true

[[task]]
name = "fetch"
key = "2"
group = "pipeline"
argv = ["ls", "-l", "/"]
`)
	var out, errs strings.Builder
	if code := runCheck([]string{path}, &out, &errs); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errs.String())
	}
	want := path + `: 2 tasks, 1 group
  group pipeline: rest-for-one, at most 3 restarts in 30s
    [2] task fetch: ["ls" "-l" "/"]
          restart never
  [1] task web: sh -c "python3 -m http.server"
        restart on-failure, at most 5 in 1m0s; stall 10s: warn, autostart
`
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	if errs.Len() != 0 {
		t.Errorf("stderr: %s", errs.String())
	}
}

func TestCheckPrintsEveryProblem(t *testing.T) {
	path := writeFile(t, "tasks.toml", "[[task]]\nname = \"web\"\ncommand = \"x\"\nstall_timeout = \"10\"\nrestart = \"sometimes\"\n")
	var out, errs strings.Builder
	if code := runCheck([]string{path}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := path + `:4:17: task "web": stall_timeout: "10" is not a duration (like "10s" or "1m30s")
` + path + `:5:11: task "web": restart: expected one of "never", "on-failure" or "always", got "sometimes"
taskvisor check: ` + path + `: 2 problem(s)
`
	if errs.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %s", out.String())
	}
}

func TestCheckProcfile(t *testing.T) {
	path := writeFile(t, "Procfile", "web: serve -p 8000\nworker: work\n")
	var out, errs strings.Builder
	if code := runCheck([]string{"--procfile", path}, &out, &errs); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), `[2] task worker: sh -c "work"`) {
		t.Errorf("stdout: %s", out.String())
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"--nope", "a"}} {
		var out, errs strings.Builder
		if code := runCheck(args, &out, &errs); code != 2 {
			t.Errorf("check %q: exit %d, want 2", args, code)
		}
	}
	var out, errs strings.Builder
	if code := runCheck([]string{filepath.Join(t.TempDir(), "missing.toml")}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "no such file") {
		t.Errorf("missing file: exit %d, stderr %s", code, errs.String())
	}
}

// check finds what a run would find only when the task starts: a dir that
// does not exist, an argv[0] not in PATH or not executable.
func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tasks.toml")
	text := "[[task]]\nname = \"a\"\ncommand = \"true\"\ndir = \"nowhere\"\n\n" +
		"[[task]]\nname = \"b\"\nargv = [\"no-such-program-tv14\", \"x\"]\n\n" +
		"[[task]]\nname = \"c\"\nargv = [\"./script.sh\"]\n\n" +
		"[[task]]\nname = \"d\"\nargv = [\"ls\"]\ndir = \".\"\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	if code := runCheck([]string{path}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1; stdout: %s", code, out.String())
	}
	for _, want := range []string{
		path + `:4:7: task "a": dir: "` + filepath.Join(dir, "nowhere") + `" does not exist`,
		path + `:8:8: task "b": argv[0]: "no-such-program-tv14" is not found in PATH`,
		path + `:12:8: task "c": argv[0]: "./script.sh" cannot be run`,
		"3 problem(s)",
	} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs.String())
		}
	}
	if strings.Contains(errs.String(), `task "d"`) {
		t.Errorf("task d is fine: %s", errs.String())
	}
}

// A Procfile checked without --procfile fails as TOML, with a hint.
func TestCheckProcfileHint(t *testing.T) {
	path := writeFile(t, "Procfile", "web: serve -p 8000\nworker: work\n")
	var out, errs strings.Builder
	if code := runCheck([]string{path}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "reads as a Procfile: taskvisor check --procfile " + path; !strings.Contains(errs.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs.String())
	}
	// A TOML file with a mistake gets no such hint.
	path = writeFile(t, "tasks.toml", "[[task]]\nname = \"web\"\n")
	errs.Reset()
	runCheck([]string{path}, &out, &errs)
	if strings.Contains(errs.String(), "reads as a Procfile") {
		t.Errorf("hint for a TOML file: %s", errs.String())
	}
}
