package headless

import (
	"io"
	"sync"
	"time"
)

// QueueBytes bounds what the headless mode holds for a stream (stdout or
// stderr) that is not read as fast as it is written: up to this many bytes
// wait; what comes while the queue is full is dropped, and once there is
// room again a notice says how many writes were lost. The runtime, the
// command loop and a quit never wait for the reader.
const QueueBytes = 1 << 20

// DrainStall is how long Run, at its end, waits for a reader that takes
// nothing: it waits as long as writes complete, and gives up on what is
// still queued once one has been blocked this long.
const DrainStall = 2 * time.Second

// queue is an io.Writer that never blocks: each Write is copied into a
// bounded queue that one goroutine writes out to w, in order. It is how the
// headless mode writes to its streams, so that a reader that stops reading
// costs at most QueueBytes and cannot block the event subscription (whose
// mailbox would then grow without end) or the shutdown.
type queue struct {
	w      io.Writer
	limit  int
	notice func(dropped int) []byte // the line that reports dropped writes

	mu       sync.Mutex
	items    [][]byte
	size     int       // bytes in items
	dropped  int       // writes dropped since the last notice
	lost     int       // writes dropped in all
	closed   bool      // no more writes are taken
	progress time.Time // when a write to w last completed (or began waiting)
	wake     chan struct{}
	done     chan struct{} // closed when the writer goroutine ends
	failed   bool          // a write to w failed: the rest is discarded
}

// newQueue starts the goroutine that writes to w; close ends it.
func newQueue(w io.Writer, limit int, notice func(int) []byte) *queue {
	q := &queue{w: w, limit: limit, notice: notice, wake: make(chan struct{}, 1), done: make(chan struct{}), progress: time.Now()}
	go q.run()
	return q
}

// Write queues a copy of b, or drops it if the queue is full. It never
// blocks on the reader and never fails.
func (q *queue) Write(b []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.failed {
		return len(b), nil
	}
	if q.size+len(b) > q.limit {
		q.dropped++
		q.lost++
		return len(b), nil
	}
	if q.dropped > 0 {
		n := q.notice(q.dropped)
		q.items = append(q.items, n)
		q.size += len(n)
		q.dropped = 0
	}
	q.items = append(q.items, append([]byte(nil), b...))
	q.size += len(b)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// run writes the queued items out until close has been called and the
// queue is empty, or a write fails.
func (q *queue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		closed := q.closed
		q.progress = time.Now()
		q.mu.Unlock()
		if len(items) == 0 {
			if closed {
				return
			}
			<-q.wake
			continue
		}
		for _, b := range items {
			_, err := q.w.Write(b)
			q.mu.Lock()
			q.size -= len(b)
			q.progress = time.Now()
			if err != nil {
				q.failed, q.items, q.size = true, nil, 0
			}
			q.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// close takes no more writes and waits for the queue to be written out, as
// long as writes complete: once none has for stall, it returns with the
// rest unwritten, and the goroutine ends when its blocked write returns (or
// with the program). It reports how many writes were dropped in all.
func (q *queue) close(stall time.Duration) (lost int) {
	q.mu.Lock()
	if q.dropped > 0 && !q.failed {
		// The last notice goes in even over the limit: it is one line.
		q.items = append(q.items, q.notice(q.dropped))
		q.dropped = 0
	}
	q.closed = true
	lost = q.lost
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	tick := time.NewTicker(stall / 4)
	defer tick.Stop()
	for {
		select {
		case <-q.done:
			return lost
		case <-tick.C:
			q.mu.Lock()
			idle := time.Since(q.progress)
			q.mu.Unlock()
			if idle >= stall {
				return lost
			}
		}
	}
}
