package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Without cgroups (TASKVISOR_CGROUPS=off) the usage comes from /proc, and a
// task with a limit fails to start with a reason that names the limit;
// with limits = "best-effort" it runs under an rlimit instead.
func TestLimitsAndUsageWithoutCgroups(t *testing.T) {
	path := writeTaskFile(t, "tasks.toml", `[[task]]
name = "limited"
key = "1"
command = "exec sleep 60"
memory_max = "256MiB"

[[task]]
name = "besteffort"
key = "2"
command = "ulimit -v; exec sleep 60"
memory_max = "256MiB"
limits = "best-effort"
`)
	s := startSessionWith(t, func(c *exec.Cmd) { c.Env = append(os.Environ(), "TASKVISOR_CGROUPS=off") },
		"--json", "--output", "--usage", "--tasks", path)
	s.send("start 1")
	failed := s.expectEvent("the limited task failed", func(e event) bool { return e.Task == 1 && e.State == "failed" })
	if !strings.Contains(failed.Reason, "memory_max") || !strings.Contains(failed.Reason, "cannot be enforced here") {
		t.Errorf("reason %q: want the limit named", failed.Reason)
	}
	s.send("start 2")
	s.expectEvent("the best-effort task running", func(e event) bool { return e.Task == 2 && e.State == "running" })
	s.expectLine("its rlimit", func(l string) bool { return strings.Contains(l, `"text":"262144"`) })
	line := s.expectLine("a usage sample of task 2", func(l string) bool {
		return strings.Contains(l, `"usage":[{"task":2`)
	})
	var sample struct {
		Usage []struct {
			Task       int    `json:"task"`
			Memory     uint64 `json:"memory"`
			Procs      int    `json:"procs"`
			FromCgroup bool   `json:"from_cgroup"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(line), &sample); err != nil {
		t.Fatal(err)
	}
	if u := sample.Usage[0]; u.FromCgroup || u.Procs != 1 || u.Memory == 0 {
		t.Errorf("usage without cgroups: %+v, want from /proc, 1 process, some memory", u)
	}
	s.send("quit")
	if _, err := s.finish(); err == nil || !strings.Contains(s.errText(), `task 1 "limited" failed`) {
		t.Errorf("exit %v, stderr %q: want exit status 1 naming the failed task", err, s.errText())
	}
}
