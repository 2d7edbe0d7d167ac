package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// Defaults of the store's bounds.
const (
	// DefaultJournalEvents is how many events the store keeps at most.
	DefaultJournalEvents = 100_000
	// DefaultJournalAge is how long the store keeps an event at most.
	DefaultJournalAge = 7 * 24 * time.Hour
	// DefaultTaskRecords is how many task records (the last event of each
	// task of every run) the store keeps at most; the oldest go first, with
	// their log files.
	DefaultTaskRecords = 10_000
	// DefaultTaskAge is how long the store keeps the record of a task of an
	// earlier run after its last event.
	DefaultTaskAge = 30 * 24 * time.Hour
)

// ErrLocked is returned by OpenStore when another node of the same name, on
// this machine, has the store open.
var ErrLocked = errors.New("another node of this name is running (its store is locked)")

var (
	bucketMeta   = []byte("meta")
	bucketEvents = []byte("events")
	bucketTasks  = []byte("tasks")
	keyRun       = []byte("run")
	keyLastSeq   = []byte("last_seq")
)

// Store is a node's state on disk: a bbolt file that holds the event journal
// (key: sequence number) and the task records (key: run, id; value: the
// task's latest event), plus the run counter and the last sequence number.
// bbolt holds an exclusive flock on the file while it is open, which is what
// refuses a second node of the same name.
type Store struct {
	db   *bolt.DB
	path string

	maxEvents  int
	maxAge     time.Duration
	maxTasks   int
	maxTaskAge time.Duration
}

// StoreBounds bounds what a store keeps; zero fields take their defaults.
type StoreBounds struct {
	Events   int           // DefaultJournalEvents
	EventAge time.Duration // DefaultJournalAge
	Tasks    int           // DefaultTaskRecords
	TaskAge  time.Duration // DefaultTaskAge
}

// OpenStore opens (creates) the store file path, waiting at most a moment
// for its lock: ErrLocked when another process holds it.
func OpenStore(path string, b StoreBounds) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	s := &Store{db: db, path: path,
		maxEvents: orInt(b.Events, DefaultJournalEvents), maxAge: orDur(b.EventAge, DefaultJournalAge),
		maxTasks: orInt(b.Tasks, DefaultTaskRecords), maxTaskAge: orDur(b.TaskAge, DefaultTaskAge)}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketEvents, bucketTasks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store and releases its lock.
func (s *Store) Close() error { return s.db.Close() }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func taskKey(run uint64, id int64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, run)
	binary.BigEndian.PutUint64(b[8:], uint64(id))
	return b
}

// NextRun counts one more run of the node and returns it, with the last
// sequence number the store has seen, from which the journal goes on.
func (s *Store) NextRun() (run, lastSeq uint64, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keyRun); len(v) == 8 {
			run = binary.BigEndian.Uint64(v)
		}
		if v := m.Get(keyLastSeq); len(v) == 8 {
			lastSeq = binary.BigEndian.Uint64(v)
		}
		run++
		return m.Put(keyRun, u64(run))
	})
	return run, lastSeq, err
}

// Append writes a batch of events in one transaction, updates the records of
// the tasks they concern, and drops what is past the bounds. It returns the
// task records it dropped, whose logs the caller removes.
func (s *Store) Append(events []*pb.Event, now time.Time) (dropped []*pb.TaskEvent, err error) {
	if len(events) == 0 {
		return nil, nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		eb, tb := tx.Bucket(bucketEvents), tx.Bucket(bucketTasks)
		for _, ev := range events {
			data, err := proto.Marshal(ev)
			if err != nil {
				return err
			}
			if err := eb.Put(u64(ev.GetSeq()), data); err != nil {
				return err
			}
			if t := ev.GetTask(); t != nil {
				rec, err := proto.Marshal(t)
				if err != nil {
					return err
				}
				if err := tb.Put(taskKey(t.GetRun(), t.GetId()), rec); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keyLastSeq, u64(events[len(events)-1].GetSeq())); err != nil {
			return err
		}
		if err := s.pruneEvents(eb, now); err != nil {
			return err
		}
		var err error
		dropped, err = s.pruneTasks(tb, now, events[len(events)-1])
		return err
	})
	return dropped, err
}

// pruneEvents drops the oldest events beyond the count bound and those older
// than the age bound. Sequence numbers are contiguous in the bucket, so the
// count is last - first + 1.
func (s *Store) pruneEvents(eb *bolt.Bucket, now time.Time) error {
	c := eb.Cursor()
	lk, _ := c.Last()
	if lk == nil {
		return nil
	}
	last := binary.BigEndian.Uint64(lk)
	for k, v := c.First(); k != nil; k, v = c.First() {
		first := binary.BigEndian.Uint64(k)
		if last-first+1 <= uint64(s.maxEvents) && !tooOld(v, now, s.maxAge) {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// tooOld says whether the stored event v happened before now - age.
func tooOld(v []byte, now time.Time, age time.Duration) bool {
	var ev pb.Event
	if proto.Unmarshal(v, &ev) != nil {
		return true // unreadable: of no use to keep
	}
	t := eventTime(&ev)
	return t != nil && now.Sub(t.AsTime()) > age
}

// eventTime is when ev (a task's, a group's or a notice) happened; nil for
// a gap.
func eventTime(ev *pb.Event) *timestamppb.Timestamp {
	switch k := ev.GetKind().(type) {
	case *pb.Event_Task:
		return k.Task.GetTime()
	case *pb.Event_Group:
		return k.Group.GetTime()
	case *pb.Event_Notice:
		return k.Notice.GetTime()
	}
	return nil
}

// eventRun is the node run that published ev; 0 for a gap.
func eventRun(ev *pb.Event) uint64 {
	switch k := ev.GetKind().(type) {
	case *pb.Event_Task:
		return k.Task.GetRun()
	case *pb.Event_Group:
		return k.Group.GetRun()
	case *pb.Event_Notice:
		return k.Notice.GetRun()
	}
	return 0
}

// pruneTasks drops the oldest task records beyond the count bound, and those
// of earlier runs whose last event is older than the age bound; never one of
// the run of latest.
func (s *Store) pruneTasks(tb *bolt.Bucket, now time.Time, latest *pb.Event) ([]*pb.TaskEvent, error) {
	n := tb.Stats().KeyN
	if n <= s.maxTasks && n%64 != 0 {
		// The age bound is checked every so often, not on every batch.
		return nil, nil
	}
	run := eventRun(latest)
	var dropped []*pb.TaskEvent
	c := tb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var t pb.TaskEvent
		bad := proto.Unmarshal(v, &t) != nil
		if !bad && t.GetRun() == run {
			break
		}
		old := bad || now.Sub(t.GetTime().AsTime()) > s.maxTaskAge
		if n <= s.maxTasks && !old {
			break
		}
		if err := c.Delete(); err != nil {
			return nil, err
		}
		n--
		if !bad {
			dropped = append(dropped, &t)
		}
	}
	return dropped, nil
}

// Tasks returns every task record, ordered by run and id.
func (s *Store) Tasks() ([]*pb.TaskEvent, error) {
	var out []*pb.TaskEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			var t pb.TaskEvent
			if err := proto.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("task record %x: %w", k, err)
			}
			out = append(out, &t)
			return nil
		})
	})
	return out, err
}

// Task returns the record of task id of run, or nil.
func (s *Store) Task(run uint64, id int64) (*pb.TaskEvent, error) {
	var out *pb.TaskEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTasks).Get(taskKey(run, id))
		if v == nil {
			return nil
		}
		out = &pb.TaskEvent{}
		return proto.Unmarshal(v, out)
	})
	return out, err
}

// EventsAfter returns at most max stored events with a sequence number
// greater than after, in order, and the first sequence number stored (0 when
// none is).
func (s *Store) EventsAfter(after uint64, max int) (events []*pb.Event, first uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		k, _ := c.First()
		if k == nil {
			return nil
		}
		first = binary.BigEndian.Uint64(k)
		for k, v := c.Seek(u64(after + 1)); k != nil && len(events) < max; k, v = c.Next() {
			var ev pb.Event
			if err := proto.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			events = append(events, &ev)
		}
		return nil
	})
	return events, first, err
}
