package actors

import (
	"testing"
	"time"
)

// Holds taken and released in quick succession (a MemoryRestart task
// restarting) leave no loop behind: close returns. A loop once read the
// sampler's current stop channel when it began, nil after a release that
// came first, and ran for ever.
func TestUsageHoldsLeaveNoLoop(t *testing.T) {
	u := &usageSampler{env: &runtimeEnv{}, interval: time.Millisecond}
	for range 200 {
		release := u.subscribe(func(UsageEvent) {}, false)
		release()
	}
	done := make(chan struct{})
	go func() { u.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a sampling loop outlived its release")
	}
}
