package headless

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A reader that takes nothing costs at most the queue's limit: the writes
// beyond it are dropped (never blocked), close returns once no write has
// completed for its stall bound, and when the reader comes back it reads
// what was queued, then a notice of how many lines were lost.
func TestQueueBoundsAnUnreadStream(t *testing.T) {
	r, w := io.Pipe()
	q := newQueue(w, 100, func(n int) []byte { return []byte("dropped " + strconv.Itoa(n) + "\n") })
	line := []byte("0123456789\n") // 11 bytes
	start := time.Now()
	for range 1000 {
		q.Write(line)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("1,000 writes to an unread queue took %s: they blocked", d)
	}
	q.mu.Lock()
	size := q.size
	q.mu.Unlock()
	if size > 100 {
		t.Errorf("the queue holds %d bytes, want at most its limit of 100", size)
	}
	closed := make(chan int)
	go func() { closed <- q.close(200 * time.Millisecond) }()
	var lost int
	select {
	case lost = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close waited for a reader that reads nothing")
	}
	// One write is blocked in the pipe, up to 9 more (99 bytes) queued: at
	// least 990 of 1,000 dropped.
	if lost < 990 || lost > 999 {
		t.Errorf("close reported %d lines dropped, want 990..999", lost)
	}
	go func() { <-q.done; w.Close() }() // EOF once the queue is written out
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(string(line), 1000-lost) + "dropped " + strconv.Itoa(lost) + "\n"
	if string(got) != want {
		t.Errorf("the reader got %q, want %q", got, want)
	}
	<-q.done
}

// A reader that keeps up gets every write, in order, and close waits for it.
func TestQueueDeliversInOrder(t *testing.T) {
	var out bytes.Buffer
	q := newQueue(&out, 1<<20, func(int) []byte { return []byte("dropped\n") })
	var want strings.Builder
	for i := range 10000 {
		s := strconv.Itoa(i) + "\n"
		q.Write([]byte(s))
		want.WriteString(s)
	}
	if lost := q.close(time.Second); lost != 0 {
		t.Errorf("close reported %d lost, want 0", lost)
	}
	<-q.done
	if out.String() != want.String() {
		t.Errorf("the writes arrived out of order or incomplete (%d bytes, want %d)", out.Len(), want.Len())
	}
}
