package proc

import (
	"strings"
	"testing"
	"time"
)

// The subreaper is in force only where this program is one; where it is
// not, doctor says it is available.
func TestDiagnoseSubreaper(t *testing.T) {
	subreaper := func() Mechanism {
		for _, m := range Diagnose() {
			if m.Name == "subreaper" {
				return m
			}
		}
		t.Fatal("no subreaper in Diagnose")
		return Mechanism{}
	}
	setSubreaperT(t, false)
	if m := subreaper(); m.InForce || !strings.Contains(m.Detail, "available") {
		t.Errorf("not a subreaper: %+v, want not in force, available", m)
	}
	setSubreaperT(t, true)
	if m := subreaper(); !m.InForce {
		t.Errorf("a subreaper: %+v, want in force", m)
	}
}

// The count doctor gives (descriptorsPerTask) is what running tasks hold:
// measured over 10 tasks with a notify socket. Before, doctor said 4
// while 5 were held where cgroups are in force.
func TestDescriptorsPerTask(t *testing.T) {
	dir := notifyDir(t)
	// One task runs throughout, so that what all tasks share (the poller,
	// the reapers' state) is open before the count.
	warm := startT(t, Spec{Argv: []string{"sleep", "100"}, NotifyDir: dir, Output: NewOutput(10)})
	defer func() { _ = warm.Kill(); waitDone(t, warm, 5*time.Second) }()
	time.Sleep(100 * time.Millisecond)
	before := countFDs(t)
	const n = 10
	var ps []*Process
	for range n {
		ps = append(ps, startT(t, Spec{Argv: []string{"sleep", "100"}, NotifyDir: dir, Output: NewOutput(10)}))
	}
	held := countFDs(t) - before
	for _, p := range ps {
		_ = p.Kill()
		waitDone(t, p, 5*time.Second)
	}
	t.Logf("%d running tasks hold %d descriptors (%.1f each); doctor says %d", n, held, float64(held)/n, descriptorsPerTask)
	if held > n*descriptorsPerTask || held < n*(descriptorsPerTask-1) {
		t.Errorf("%d tasks hold %d descriptors, doctor says %d each", n, held, descriptorsPerTask)
	}
	if _, err := taskCgroups(); err == nil && held != n*descriptorsPerTask {
		t.Errorf("with cgroups %d tasks hold %d descriptors, want %d each", n, held, descriptorsPerTask)
	}
}
