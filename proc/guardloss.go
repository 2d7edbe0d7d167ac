package proc

import (
	"fmt"
	"sync"
	"time"
)

// GuardLoss says that the guard process died while this program ran (it
// never exits by itself: someone killed it) and what replaced it. Until it
// was replaced, a death of this program would have left its tasks running.
type GuardLoss struct {
	// Pid is the guard that died.
	Pid int
	// How says how it died ("killed by SIGKILL").
	How string
	// NewPid is the guard that replaced it; 0 when none could start.
	NewPid int
	// Err says why no new guard could start; nil when one did.
	Err error
	// Time is when the loss was found: at the next task start, or at the
	// adopted-orphan reaper's next pass (at least once a second while a
	// task runs).
	Time time.Time
}

// String says it as a sentence.
func (l GuardLoss) String() string {
	if l.Err != nil {
		return fmt.Sprintf("guard process %d %s; no new one could start, so a death of taskvisor would leave its tasks running: %v", l.Pid, l.How, l.Err)
	}
	return fmt.Sprintf("guard process %d %s; a new guard (pid %d) took its place", l.Pid, l.How, l.NewPid)
}

var (
	guardLossMu   sync.Mutex
	guardLossSubs = map[*func(GuardLoss)]bool{}
)

// OnGuardLoss calls fn with each GuardLoss from now on, until the returned
// function is called. fn runs on the goroutine that found the loss (a task
// start or the orphan reaper), so it must not block: send a message, do not
// wait for one.
func OnGuardLoss(fn func(GuardLoss)) (stop func()) {
	key := &fn
	guardLossMu.Lock()
	guardLossSubs[key] = true
	guardLossMu.Unlock()
	return func() {
		guardLossMu.Lock()
		delete(guardLossSubs, key)
		guardLossMu.Unlock()
	}
}

// tellGuardLoss calls the OnGuardLoss functions with l.
func tellGuardLoss(l GuardLoss) {
	guardLossMu.Lock()
	subs := make([]func(GuardLoss), 0, len(guardLossSubs))
	for fn := range guardLossSubs {
		subs = append(subs, *fn)
	}
	guardLossMu.Unlock()
	for _, fn := range subs {
		fn(l)
	}
}
