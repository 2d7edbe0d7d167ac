package actors

import (
	"slices"
	"testing"
)

// Freed slots go to the queue first come first; a waiter held back by its
// own group's limit lets those behind it pass, and a lowered limit holds
// starts until the tasks over it have ended.
func TestSlotsGrantInOrder(t *testing.T) {
	s := newSlots(2, []GroupSpec{{Name: "g", MaxParallel: 1}}, map[string]string{"g": ""})
	var granted []uint64
	grant := func(w *slotWaiter) { granted = append(granted, w.ticket) }
	for range 2 {
		if _, _, ok := s.acquire("", grant); !ok {
			t.Fatal("a slot under the limit was refused")
		}
	}
	g1, ahead, ok := s.acquire("g", grant) // the top level is full
	if ok || ahead != 0 {
		t.Fatalf("acquire over the limit: ok %v, %d ahead", ok, ahead)
	}
	top, _, _ := s.acquire("", grant)
	g2, ahead, _ := s.acquire("g", grant)
	if ahead != 2 {
		t.Errorf("%d ahead of the third waiter, want 2", ahead)
	}
	s.release("") // to g1
	s.release("") // g2 is held by its group's limit: to top
	if want := []uint64{g1.ticket, top.ticket}; !slices.Equal(granted, want) {
		t.Fatalf("granted %v, want %v", granted, want)
	}
	s.release("g") // g1 ends: to g2
	if granted[len(granted)-1] != g2.ticket {
		t.Fatalf("granted %v, want %d last", granted, g2.ticket)
	}
	if s.waiting() != 0 {
		t.Errorf("%d still waiting", s.waiting())
	}

	s.setLimit("", 1) // two hold slots: the next waits for both to end
	w, _, ok := s.acquire("", grant)
	if ok {
		t.Fatal("a slot over the lowered limit was granted")
	}
	s.release("")
	if granted[len(granted)-1] == w.ticket {
		t.Fatal("granted while still at the limit")
	}
	s.release("g")
	if granted[len(granted)-1] != w.ticket {
		t.Fatalf("not granted once under the limit: %v", granted)
	}
	// A waiter that leaves is not granted; one granted on its way out
	// cannot leave, and gives its slot back.
	x, _, _ := s.acquire("", grant)
	if !s.leave(x) || s.leave(x) {
		t.Error("leave: want true once, then false")
	}
}

// waiting returns how many tasks wait in the queue.
func (s *slots) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.Len()
}
