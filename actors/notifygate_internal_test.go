package actors

import (
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/proc/notify"
)

func progress(step int, status string) notify.Message {
	return notify.Message{Progress: &notify.Progress{Step: step, Steps: 9}, Status: status, HasStatus: status != ""}
}

// The gate lets the first progress through, merges what follows within its
// window into the latest, and delivers that before anything that is more
// than progress, and when flushed.
func TestNotifyGateMergesProgress(t *testing.T) {
	var got []notify.Message
	f := &notifyFlusher{window: time.Hour} // nothing leaves the window by itself
	g := newNotifyGate(f, func(m notify.Message) { got = append(got, m) }, func() {})

	g.handle(progress(1, "one"))
	if len(got) != 1 || got[0].Progress.Step != 1 {
		t.Fatalf("the first progress did not go through at once: %+v", got)
	}
	g.handle(progress(2, "two"))
	g.handle(progress(3, ""))
	if len(got) != 1 {
		t.Fatalf("progress within the window went through: %+v", got)
	}
	g.handle(notify.Message{Ready: true})
	if len(got) != 3 || got[1].Progress.Step != 3 || got[1].Status != "two" || !got[2].Ready {
		t.Fatalf("held progress (step 3, status two) then READY=1, in that order: %+v", got)
	}
	g.handle(progress(4, "four"))
	g.handle(notify.Message{Status: "five", HasStatus: true})
	if len(got) != 3 {
		t.Fatalf("progress within the window went through: %+v", got)
	}
	g.flush()
	if len(got) != 4 || got[3].Progress.Step != 4 || got[3].Status != "five" {
		t.Fatalf("flush: %+v", got)
	}
	g.flush()
	if len(got) != 4 {
		t.Fatalf("a second flush delivered again: %+v", got)
	}
}

// Whatever is more than progress goes through at once, and without a flusher
// everything does.
func TestNotifyGatePassesTheRest(t *testing.T) {
	for _, m := range []notify.Message{
		{Ready: true}, {Watchdog: true}, {WatchdogTrigger: true}, {Stopping: true}, {Barrier: true},
		{ExtendTimeout: time.Second}, {Errno: 2, HasErrno: true}, {MainPID: 7},
		{Progress: &notify.Progress{Step: 1, Steps: 2}, Ready: true},
	} {
		if progressOnly(m) {
			t.Errorf("%+v counted as progress only", m)
		}
	}
	var got []notify.Message
	g := newNotifyGate(nil, func(m notify.Message) { got = append(got, m) }, func() {})
	for i := 1; i <= 3; i++ {
		g.handle(progress(i, ""))
	}
	if len(got) != 3 {
		t.Fatalf("without a flusher: %d of 3 delivered", len(got))
	}
}

// The flusher delivers what every gate holds at the end of the window.
func TestNotifyFlusherDelivers(t *testing.T) {
	got := make(chan notify.Message, 4)
	f := &notifyFlusher{window: time.Millisecond}
	gates := []*notifyGate{
		newNotifyGate(f, func(m notify.Message) { got <- m }, func() {}),
		newNotifyGate(f, func(m notify.Message) { got <- m }, func() {}),
	}
	for _, g := range gates {
		g.mu.Lock()
		g.last = time.Now().Add(time.Hour) // inside the window for as long as the test runs
		g.mu.Unlock()
		g.handle(progress(7, ""))
	}
	for range gates {
		select {
		case m := <-got:
			if m.Progress.Step != 7 {
				t.Errorf("flushed %+v", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the flusher did not deliver")
		}
	}
}

// News of drops goes through at once after a quiet window, then at most once
// a window, and a flush delivers what is held.
func TestNotifyGateTellsDropsOncePerWindow(t *testing.T) {
	drops := 0
	f := &notifyFlusher{window: time.Hour} // nothing leaves the window by itself
	g := newNotifyGate(f, func(notify.Message) {}, func() { drops++ })
	g.dropped()
	if drops != 1 {
		t.Fatalf("the first drop told %d times, want 1 at once", drops)
	}
	for range 100 {
		g.dropped()
	}
	if drops != 1 {
		t.Fatalf("drops within the window told %d times, want still 1", drops)
	}
	g.flush()
	if drops != 2 {
		t.Fatalf("flush told the held drops %d times in all, want 2", drops)
	}
	g.flush()
	if drops != 2 {
		t.Fatalf("a second flush told again: %d", drops)
	}
}
