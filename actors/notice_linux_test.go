//go:build linux

package actors_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/actors"
	"github.com/taskvisor/taskvisor/proc"
)

// A guard process that is killed is said as a NoticeEvent of every
// runtime's, naming the guard that died and the one that took its place.
// Before, its loss was only counted (proc.GuardLosses), which no front end
// showed.
func TestGuardLossIsANotice(t *testing.T) {
	h := newHarness(t, nil)
	notices := make(chan actors.NoticeEvent, 4)
	unsubscribe := h.rt.SubscribeAll(func(e actors.Event) {
		if n, ok := e.(actors.NoticeEvent); ok {
			notices <- n
		}
	})
	defer unsubscribe()
	id := h.startSpec(shell("sleeper", "sleep 100")) // a run lives: the reaper looks each second
	h.expect(id, actors.StateRunning)
	old, err := proc.GuardPid()
	if err != nil || old == 0 {
		t.Fatalf("GuardPid() = %d, %v with a task running", old, err)
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notices:
		now, _ := proc.GuardPid()
		want := fmt.Sprintf("[taskvisor] guard process %d killed by SIGKILL; a new guard (pid %d) took its place", old, now)
		if n.Kind != actors.NoticeGuardLost || n.String() != want || n.Runtime != actors.DefaultName || n.Time.IsZero() {
			t.Errorf("notice %+v reads %q; want kind %s, %q", n, n, actors.NoticeGuardLost, want)
		}
		if b, err := n.MarshalJSON(); err != nil || !strings.Contains(string(b), `"notice":"guard-lost"`) {
			t.Errorf("JSON %s, %v: no \"notice\":\"guard-lost\"", b, err)
		}
	case <-time.After(wait):
		t.Fatalf("no notice %v after the guard %d was killed", wait, old)
	}
}
