package node

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

func cloneTask(t *pb.TaskEvent) *pb.TaskEvent { return proto.Clone(t).(*pb.TaskEvent) }

// logFlushEvery is how soon what the task logs buffer is written out, so
// that tail -f sees it.
const logFlushEvery = 50 * time.Millisecond

// logRelease is how long after a task has ended its log stays open and its
// output buffer watched: the last lines of a process can come after its
// ending is published.
const logRelease = 2 * time.Second

// taskLogs writes each task's output to its log file, all tasks with one
// goroutine: each task's output buffer tells it of new lines
// (OutputBuffer.Notify), and it writes what came since it last looked
// (Since). A task is watched from its first event that is not an ending
// until logRelease after its ending, and again once it is restarted.
type taskLogs struct {
	n      *Node
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed once the writer has ended

	mu     sync.Mutex
	tasks  map[int]*taskLog
	dirty  map[int]bool // tasks with something to do: lines, or a buffer to fetch
	wake   chan struct{}
	closed bool
}

// taskLog is one task's log; the writer goroutine owns the fields below mu's.
type taskLog struct {
	// Under taskLogs.mu:
	name    string
	endedAt time.Time // when the task was last seen ending; zero while it runs
	watched bool      // the writer watches its buffer, or is asked to

	// The writer's alone:
	pending bool // lf holds lines not flushed yet
	out     *actors.OutputBuffer
	stop    func() // ends out's Notify
	seen    uint64 // how many of out's lines were written (or skipped)
	lf      *logFile
}

func newTaskLogs(n *Node) *taskLogs {
	ctx, cancel := context.WithCancel(context.Background())
	tl := &taskLogs{n: n, ctx: ctx, cancel: cancel, done: make(chan struct{}), tasks: map[int]*taskLog{},
		dirty: map[int]bool{}, wake: make(chan struct{}, 1)}
	go tl.writer()
	return tl
}

// event notes a task's state; a task that has not ended and is not watched
// is given to the writer to watch. It runs on the event subscription's
// actor and never blocks.
func (tl *taskLogs) event(ev actors.TaskEvent) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.closed {
		return
	}
	t := tl.tasks[ev.ID]
	if t == nil {
		t = &taskLog{}
		tl.tasks[ev.ID] = t
	}
	t.name = ev.Name
	switch {
	case ev.State.Ended():
		t.endedAt = time.Now()
		if t.watched {
			tl.markLocked(ev.ID) // the writer's last look, and its release timer
		}
	default:
		t.endedAt = time.Time{}
		if !t.watched {
			t.watched = true
			tl.markLocked(ev.ID)
		}
	}
}

// mark says that task id has something for the writer. It is the output
// buffers' Notify function: it must not block.
func (tl *taskLogs) mark(id int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.markLocked(id)
}

func (tl *taskLogs) markLocked(id int) {
	tl.dirty[id] = true
	select {
	case tl.wake <- struct{}{}:
	default:
	}
}

// writer is the one goroutine that writes every task's log, until close.
// It sleeps while nothing is to be written, flushed or let go: flushAt is
// logFlushEvery after the first line not flushed yet, releaseAt the
// earliest release of an ended task's log (zero: none).
func (tl *taskLogs) writer() {
	defer close(tl.done)
	active := map[int]*taskLog{} // the tasks with a buffer watched or a log open
	var flushAt, releaseAt time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-tl.wake:
		case <-timer.C:
		case <-tl.ctx.Done():
			tl.writeDirty(active)
			tl.flush(active)
			tl.release(active, time.Time{})
			return
		}
		wrote, ended := tl.writeDirty(active)
		now := time.Now()
		if wrote && flushAt.IsZero() {
			flushAt = now.Add(logFlushEvery)
		}
		if !ended.IsZero() && (releaseAt.IsZero() || ended.Add(logRelease).Before(releaseAt)) {
			releaseAt = ended.Add(logRelease)
		}
		if !flushAt.IsZero() && !now.Before(flushAt) {
			tl.flush(active)
			flushAt = time.Time{}
		}
		if !releaseAt.IsZero() && !now.Before(releaseAt) {
			releaseAt = tl.release(active, now)
		}
		next := flushAt
		if next.IsZero() || !releaseAt.IsZero() && releaseAt.Before(next) {
			next = releaseAt
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// writeDirty writes the new lines of every task marked since the last time.
// It reports whether it wrote any, and the latest ending among the tasks it
// looked at (zero: none has ended).
func (tl *taskLogs) writeDirty(active map[int]*taskLog) (wrote bool, ended time.Time) {
	tl.mu.Lock()
	if len(tl.dirty) == 0 {
		tl.mu.Unlock()
		return false, time.Time{}
	}
	ids := make([]int, 0, len(tl.dirty))
	for id := range tl.dirty {
		ids = append(ids, id)
	}
	clear(tl.dirty)
	tl.mu.Unlock()
	for _, id := range ids {
		w, e := tl.writeTask(id, active)
		wrote = wrote || w
		if e.After(ended) {
			ended = e
		}
	}
	return wrote, ended
}

// writeTask writes what task id's buffer holds since the last look,
// fetching the buffer first if need be. It reports whether it wrote, and
// when the task ended if it has.
func (tl *taskLogs) writeTask(id int, active map[int]*taskLog) (wrote bool, ended time.Time) {
	tl.mu.Lock()
	t := tl.tasks[id]
	var name string
	if t != nil {
		name, ended = t.name, t.endedAt
	}
	tl.mu.Unlock()
	if t == nil {
		return false, time.Time{}
	}
	if t.out == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := tl.n.rt.OutputBufferOf(ctx, id)
		cancel()
		if err != nil {
			// Forgotten, or the runtime has stopped: nothing to write.
			tl.mu.Lock()
			t.watched = false
			tl.mu.Unlock()
			return false, time.Time{}
		}
		t.out = out
		t.stop = out.Notify(func() { tl.mark(id) })
		active[id] = t
	}
	lines, total, skipped := t.out.Since(t.seen)
	t.seen = total
	if len(lines) == 0 {
		return false, ended
	}
	if t.lf == nil {
		lf, err := openLog(logPath(tl.n.logDir, tl.n.run, int64(id), name), tl.n.cfg.LogMaxBytes, tl.n.cfg.LogFiles)
		if err != nil {
			tl.n.log.Error("task log", "task", id, "err", err)
			return false, ended
		}
		t.lf = lf
	}
	for i, l := range lines {
		ol := actors.OutputLine{Line: l}
		if i == 0 {
			ol.Skipped = skipped
		}
		if err := t.lf.write(ol); err != nil {
			tl.n.log.Error("task log", "task", id, "err", err)
		}
	}
	t.pending = true
	return true, ended
}

// flush writes out what the open logs buffer, so that tail -f sees it.
func (tl *taskLogs) flush(active map[int]*taskLog) {
	for _, t := range active {
		if t.pending {
			t.pending = false
			if err := t.lf.flush(); err != nil {
				tl.n.log.Error("task log", "path", t.lf.path, "err", err)
			}
		}
	}
}

// release lets go of the logs and buffers of the tasks that ended
// logRelease before now (of all of them when now is zero): their files are
// closed, and their buffers no longer watched. It returns when the next
// release is due (zero: none).
func (tl *taskLogs) release(active map[int]*taskLog, now time.Time) (next time.Time) {
	var done []*taskLog
	tl.mu.Lock()
	for id, t := range active {
		due := t.endedAt.Add(logRelease)
		switch {
		case now.IsZero() || !t.endedAt.IsZero() && !now.Before(due):
			t.watched = false
			done = append(done, t)
			delete(active, id)
		case !t.endedAt.IsZero() && (next.IsZero() || due.Before(next)):
			next = due
		}
	}
	tl.mu.Unlock()
	for _, t := range done {
		if t.stop != nil {
			t.stop()
		}
		// seen stays: a restart watches the same buffer again, from there.
		t.out, t.stop = nil, nil
		if t.lf != nil {
			if err := t.lf.close(); err != nil {
				tl.n.log.Error("task log", "path", t.lf.path, "err", err)
			}
			t.lf = nil
		}
		t.pending = false
	}
	return next
}

// close writes what the runtime's buffers still hold and ends the writer
// (call it after the runtime's shutdown, so that the tasks' last lines are
// kept).
func (tl *taskLogs) close() {
	tl.mu.Lock()
	tl.closed = true
	tl.mu.Unlock()
	tl.cancel()
	<-tl.done
}
