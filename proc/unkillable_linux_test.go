package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freezerV1 is where the v1 freezer is mounted on this kind of host; a task
// frozen there cannot die of SIGKILL until it is thawed, as a task in a hung
// NFS or FUSE read.
const freezerV1 = "/sys/fs/cgroup/freezer"

// A task that cannot die still ends: UnkillableAfter after SIGKILL its Exit
// says it did not die and names the process and its state, and Exited and
// Done close. Once thawed it dies and is reaped. (On the main branch before
// the give-up, Exited never closed while the task was frozen.)
func TestFrozenTaskIsGivenUpAfterSIGKILL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("freezing a task in the v1 freezer needs root")
	}
	if _, err := os.Stat(filepath.Join(freezerV1, "cgroup.procs")); err != nil { // the root has no freezer.state
		t.Skipf("no v1 freezer at %s: %v", freezerV1, err)
	}
	dir := filepath.Join(freezerV1, "tvtest13-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "freezer.state")
	t.Cleanup(func() {
		_ = os.WriteFile(state, []byte("THAWED"), 0)
		time.Sleep(100 * time.Millisecond)
		_ = os.Remove(dir)
	})
	var got Exit
	p := startT(t, Spec{Argv: []string{"sleep", "1000"}, UnkillableAfter: time.Second, OnExit: func(e Exit) { got = e }})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p.Pid())), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("FROZEN"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	sent := time.Now()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 10*time.Second)
	took := time.Since(sent)
	e, ok := p.Exit()
	t.Logf("given up %v after SIGKILL: %s", took.Round(time.Millisecond), e)
	want := "did not die after SIGKILL: process " + strconv.Itoa(p.Pid()) + " in state D"
	if !ok || !strings.HasPrefix(e.Unkillable, want) || got.Unkillable != e.Unkillable || e.String() != e.Unkillable {
		t.Fatalf("Exit %+v (OnExit saw %+v), want Unkillable starting %q", e, got, want)
	}
	if took < time.Second {
		t.Fatalf("given up %v after SIGKILL, before UnkillableAfter", took)
	}
	// Thawed, it dies of the SIGKILL and is reaped.
	if err := os.WriteFile(state, []byte("THAWED"), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the thawed leader was not reaped")
	}
}
