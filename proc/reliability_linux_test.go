package proc

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A task that writes 200 MB at full speed, in short lines and in one endless
// line, leaves the heap bounded by its Output (DefaultMaxBytes) plus the
// reader's current line (MaxLineBytes).
func TestOutputFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 MB through pipes")
	}
	for _, tc := range []struct{ name, shell string }{
		{"short lines", `yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 | head -c 200000000`},
		{"one long line", `head -c 200000000 /dev/zero`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := heapInUse()
			out := NewOutput(0)
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var m runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			}()
			begin := time.Now()
			p := startT(t, Spec{Shell: tc.shell, Output: out})
			waitDone(t, p, 60*time.Second)
			took := time.Since(begin)
			close(stop)
			<-sampled
			after := heapInUse()
			grown := int64(after) - int64(before)
			t.Logf("200 MB in %v (%d lines): heap %+.2f MiB kept, peak %.1f MiB over the start (GC'd heap %0.1f MiB)",
				took.Round(time.Millisecond), out.Total(), float64(grown)/(1<<20),
				float64(int64(peak.Load())-int64(before))/(1<<20), float64(before)/(1<<20))
			if limit := int64(DefaultMaxBytes + 2*MaxLineBytes + 256<<10); grown > limit {
				t.Errorf("heap grew by %d bytes with the Output kept, want at most %d", grown, limit)
			}
			runtime.KeepAlive(out)
		})
	}
}

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
