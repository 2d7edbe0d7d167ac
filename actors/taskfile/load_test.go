package taskfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
)

const goodFile = `# A web server and a pipeline.
[[group]]
name = "pipeline"
strategy = "rest-for-one"
max_restarts = 3
restart_window = "30s"

[[group]]
name = "stage"
parent = "pipeline"
max_restarts = -1

[[task]]
name = "web"
key = "1"
description = "the web server"
command = "python3 -m http.server 8000"
dir = "/srv/www"
env = { PORT = "8000", "LANG" = 'C.UTF-8' }
stop_signal = "INT"
stop_grace = "10s"
output_lines = 200
restart = "on-failure"
backoff = { initial = "1s", factor = 1.5, max = "1m", jitter = 0.1, reset_after = "5m" }
max_restarts = 10
restart_window = "10m"
stall_timeout = "1m30s"
stall_action = "restart"
stall_grace = "500ms"
ready = "notify"
start_timeout = "20s"
autostart = true

[[task]]
name = "fetch"
key = "2"
group = "pipeline"
argv = ["@taskvisor", "worker", "texture", "--steps", "3"]
stop_signal = 2
env.MODE = "fast"
[task.backoff]
initial = "2s"
factor = 3

[[task]]
name = "transform"
group = "stage"
argv = ["transform", "--in", "raw/"]
dir = "work"
restart = "always"
[task.env]
DEBUG = "1"
`

// A file that uses every field loads into exactly these specs.
func TestGoodFile(t *testing.T) {
	f, err := Parse("tasks.toml", []byte(goodFile), Options{Self: "/usr/bin/taskvisor", BaseDir: "/etc/tv"})
	if err != nil {
		t.Fatal(err)
	}
	wantTasks := actors.Catalogue{
		{
			Name: "web", Key: "1", Description: "the web server",
			Command: "python3 -m http.server 8000", Dir: "/srv/www",
			Env:        map[string]string{"PORT": "8000", "LANG": "C.UTF-8"},
			StopSignal: syscall.SIGINT, StopGrace: 10 * time.Second, OutputLines: 200,
			Restart:     actors.RestartOnFailure,
			Backoff:     actors.Backoff{Initial: time.Second, Factor: 1.5, Max: time.Minute, Jitter: 0.1, ResetAfter: 5 * time.Minute},
			MaxRestarts: 10, RestartWindow: 10 * time.Minute,
			StallTimeout: 90 * time.Second, StallAction: actors.StallRestart, StallGrace: 500 * time.Millisecond,
			Ready: actors.ReadyNotify, StartTimeout: 20 * time.Second, Autostart: true,
		},
		{
			Name: "fetch", Key: "2", Group: "pipeline",
			Argv:       []string{"/usr/bin/taskvisor", "worker", "texture", "--steps", "3"},
			StopSignal: syscall.SIGINT, Env: map[string]string{"MODE": "fast"},
			Backoff: actors.Backoff{Initial: 2 * time.Second, Factor: 3},
		},
		{
			Name: "transform", Group: "stage", Argv: []string{"transform", "--in", "raw/"},
			Dir: "/etc/tv/work", Restart: actors.RestartAlways, Env: map[string]string{"DEBUG": "1"},
		},
	}
	wantGroups := []actors.GroupSpec{
		{Name: "pipeline", Strategy: actors.RestForOne, MaxRestarts: 3, RestartWindow: 30 * time.Second},
		{Name: "stage", Parent: "pipeline", MaxRestarts: -1},
	}
	if !reflect.DeepEqual(f.Tasks, wantTasks) {
		t.Errorf("tasks:\n%+v\nwant:\n%+v", f.Tasks, wantTasks)
	}
	if !reflect.DeepEqual(f.Groups, wantGroups) {
		t.Errorf("groups:\n%+v\nwant:\n%+v", f.Groups, wantGroups)
	}
	if err := actors.ValidateGroups(f.Groups, f.Tasks); err != nil {
		t.Errorf("actors.ValidateGroups: %v", err)
	}
}

// What a file leaves out stays zero, so that the runtime's defaults apply.
func TestOmittedFieldsStayZero(t *testing.T) {
	f, err := Parse("t.toml", []byte("[[task]]\nname = \"x\"\ncommand = \"true\"\n[[group]]\nname = \"g\"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (actors.TaskSpec{Name: "x", Command: "true"}); !reflect.DeepEqual(f.Tasks[0], want) {
		t.Errorf("task %+v, want %+v", f.Tasks[0], want)
	}
	if want := (actors.GroupSpec{Name: "g"}); f.Groups[0] != want {
		t.Errorf("group %+v, want %+v", f.Groups[0], want)
	}
}

// Signals by name with or without SIG, in any case, or by number.
func TestSignals(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		`"SIGTERM"`: syscall.SIGTERM, `"term"`: syscall.SIGTERM, `"HUP"`: syscall.SIGHUP,
		`"SIGKILL"`: syscall.SIGKILL, `9`: syscall.SIGKILL, `"SIGUSR1"`: syscall.SIGUSR1,
	} {
		f, err := Parse("t.toml", []byte("[[task]]\nname = \"x\"\ncommand = \"true\"\nstop_signal = "+in+"\n"), Options{})
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := f.Tasks[0].StopSignal; got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}

// Load resolves a relative dir against the file's directory and names the
// file in errors by its path.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tasks.toml")
	if err := os.WriteFile(path, []byte("[[task]]\nname = \"x\"\ncommand = \"true\"\ndir = \"sub\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "sub"); f.Tasks[0].Dir != want {
		t.Errorf("dir %q, want %q", f.Tasks[0].Dir, want)
	}
	if err := os.WriteFile(path, []byte("[[task]]\nname = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Options{}); err == nil || !strings.Contains(err.Error(), path+":2:8: task #1: name: expected a string, got integer 1") {
		t.Errorf("Load error: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml"), Options{}); err == nil || !strings.Contains(err.Error(), "task file: open ") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestWriteTree(t *testing.T) {
	f, err := Parse("tasks.toml", []byte(goodFile), Options{Self: "/usr/bin/taskvisor", BaseDir: "/etc/tv"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := f.WriteTree(&b); err != nil {
		t.Fatal(err)
	}
	want := `tasks.toml: 3 tasks, 2 groups
  group pipeline: rest-for-one, at most 3 restarts in 30s
    group stage: one-for-one, no restart limit
      [-] task transform: ["transform" "--in" "raw/"] in /etc/tv/work
            restart always, at most 5 in 1m0s
    [2] task fetch: ["/usr/bin/taskvisor" "worker" "texture" "--steps" "3"]
          restart never
  [1] task web: sh -c "python3 -m http.server 8000" in /srv/www
        restart on-failure, at most 10 in 10m0s; stall 1m30s: restart; ready on READY=1 within 20s, autostart
`
	if b.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
}
