package node

import (
	"sync"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// DefaultMemoryEvents is how many of the newest events the journal keeps in
// memory, beyond those not yet written to the store; older ones are read
// back from the store.
const DefaultMemoryEvents = 4096

// maxBatch is the most events an Events message carries.
const maxBatch = 512

// Journal numbers the node's events and keeps them for the streams that
// read them: the newest in memory, all of them (within the store's bounds)
// in the store, written in batches by a goroutine of its own.
//
// Appending never waits for a reader: each stream reads at its own cursor,
// so a slow client falls behind in the journal, never slows the tasks. A
// reader whose cursor the store has dropped is told by a Gap.
type Journal struct {
	store   *Store // nil: memory only
	maxMem  int
	flushed func(dropped []*pb.TaskEvent) // told of records the store dropped
	errs    func(error)                   // told of a failed write

	flushMu sync.Mutex // held across a flush: batches are written in order

	mu        sync.Mutex
	ring      []*pb.Event // contiguous sequence numbers, oldest first
	last      uint64      // the last sequence number given
	committed uint64      // the last one written to the store
	wake      chan struct{}
	closed    bool
	pending   []*pb.Event // not yet written

	work chan struct{} // the writer has something to write; room for one
	stop chan struct{}
	done chan struct{}
}

// newJournal returns a journal that goes on after sequence number last;
// with a store, its writer goroutine runs until Close.
func newJournal(store *Store, last uint64, maxMem int, flushed func([]*pb.TaskEvent), errs func(error)) *Journal {
	if maxMem <= 0 {
		maxMem = DefaultMemoryEvents
	}
	j := &Journal{store: store, maxMem: maxMem, flushed: flushed, errs: errs, last: last, committed: last,
		wake: make(chan struct{}), work: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if store != nil {
		go j.writer()
	} else {
		close(j.done)
	}
	return j
}

// Append gives ev the next sequence number and keeps it; ev must not be
// changed afterwards. An append after Close is dropped.
func (j *Journal) Append(ev *pb.Event) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.last++
	ev.Seq = j.last
	j.ring = append(j.ring, ev)
	if j.store != nil {
		j.pending = append(j.pending, ev)
	} else {
		j.committed = j.last
	}
	j.trim()
	close(j.wake)
	j.wake = make(chan struct{})
	j.mu.Unlock()
	select {
	case j.work <- struct{}{}:
	default:
	}
}

// trim drops the oldest events from memory beyond maxMem, but none that is
// not yet in the store.
func (j *Journal) trim() {
	n := len(j.ring) - j.maxMem
	for n > 0 && j.ring[0].GetSeq() <= j.committed {
		j.ring[0] = nil
		j.ring = j.ring[1:]
		n--
	}
}

// Last returns the last sequence number given.
func (j *Journal) Last() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// First returns the oldest sequence number the journal can replay.
func (j *Journal) First() uint64 {
	if j.store != nil {
		if _, first, err := j.store.EventsAfter(^uint64(0)-1, 0); err == nil && first > 0 {
			return first
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.ring) > 0 {
		return j.ring[0].GetSeq()
	}
	return j.last + 1
}

// Read returns up to maxBatch events after sequence number after, in order:
// from memory, else from the store, preceded by a Gap event when some of
// those asked for are no longer held. With nothing to read it returns wake,
// closed once there is, and closed true once the journal has closed.
func (j *Journal) Read(after uint64) (events []*pb.Event, wake <-chan struct{}, closed bool, err error) {
	j.mu.Lock()
	if after >= j.last {
		wake, closed = j.wake, j.closed
		j.mu.Unlock()
		return nil, wake, closed, nil
	}
	ringFirst := j.last + 1
	if len(j.ring) > 0 {
		ringFirst = j.ring[0].GetSeq()
	}
	if after+1 >= ringFirst {
		from := int(after + 1 - ringFirst)
		to := min(len(j.ring), from+maxBatch)
		events = append([]*pb.Event(nil), j.ring[from:to]...)
		j.mu.Unlock()
		return events, nil, false, nil
	}
	j.mu.Unlock()
	// Older than memory: from the store, which has every event that left
	// memory (trim keeps those not yet written).
	if j.store != nil {
		stored, first, err := j.store.EventsAfter(after, maxBatch)
		if err != nil {
			return nil, nil, false, err
		}
		if first > after+1 && len(stored) > 0 {
			return append([]*pb.Event{gapEvent(after+1, first-1)}, stored...), nil, false, nil
		}
		if len(stored) > 0 {
			return stored, nil, false, nil
		}
	}
	return []*pb.Event{gapEvent(after+1, ringFirst-1)}, nil, false, nil
}

func gapEvent(first, last uint64) *pb.Event {
	return &pb.Event{Seq: last, Kind: &pb.Event_Gap{Gap: &pb.Gap{First: first, Last: last}}}
}

// writeDelay gathers the events of this long into one transaction.
const writeDelay = 20 * time.Millisecond

// writer writes pending events to the store in batches until Close.
func (j *Journal) writer() {
	defer close(j.done)
	for {
		select {
		case <-j.work:
		case <-j.stop:
			j.flush()
			return
		}
		select {
		case <-time.After(writeDelay):
		case <-j.stop:
		}
		j.flush()
	}
}

// Sync writes what is pending to the store now, and returns once it is
// written (or its write failed, which errs was told of).
func (j *Journal) Sync() {
	if j.store != nil {
		j.flush()
	}
}

func (j *Journal) flush() {
	j.flushMu.Lock()
	defer j.flushMu.Unlock()
	j.mu.Lock()
	batch := j.pending
	j.pending = nil
	j.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	dropped, err := j.store.Append(batch, time.Now())
	if err != nil && j.errs != nil {
		j.errs(err)
	}
	j.mu.Lock()
	// Also after a failed write: memory is not to grow without bound; what
	// was not written is lost to readers that come later than memory holds.
	j.committed = batch[len(batch)-1].GetSeq()
	j.trim()
	j.mu.Unlock()
	if len(dropped) > 0 && j.flushed != nil {
		j.flushed(dropped)
	}
}

// Close ends the journal: readers waiting are woken and told it closed once
// they have read everything, and what is pending is written to the store.
func (j *Journal) Close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		<-j.done
		return
	}
	j.closed = true
	close(j.wake)
	j.wake = make(chan struct{})
	j.mu.Unlock()
	close(j.stop)
	<-j.done
}
