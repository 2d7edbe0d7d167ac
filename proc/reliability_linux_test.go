package proc

import (
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// A task that floods its notify socket has what goes over the rate limit
// dropped and counted, not queued for its owner.
func TestNotifyFloodIsDroppedAndCounted(t *testing.T) {
	const n = 20000
	var delivered atomic.Uint64
	p := startT(t, Spec{
		Argv:      []string{os.Args[0]},
		Env:       []string{notifyFloodEnv + "=" + strconv.Itoa(n)},
		NotifyDir: notifyDir(t),
		OnNotify:  func(notify.Message) { delivered.Add(1) },
	})
	e := waitExited(t, p, 30*time.Second)
	waitDone(t, p, 5*time.Second)
	s := p.NotifyStats()
	t.Logf("%d datagrams in %v: %+v", n, e.RunTime().Round(time.Millisecond), s)
	if e.Code != 0 || s.Received != n || s.Delivered+s.Throttled != n || delivered.Load() != s.Delivered {
		t.Fatalf("exit %v, stats %+v, handler saw %d; want %d received, each delivered or throttled", e, s, delivered.Load(), n)
	}
	if max := uint64(notify.DefaultBurst) + uint64(e.RunTime().Seconds()*notify.DefaultRate) + 50; s.Delivered > max {
		t.Errorf("delivered %d in %v, want at most %d", s.Delivered, e.RunTime(), max)
	}
}
