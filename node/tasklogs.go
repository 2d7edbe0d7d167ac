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
	state   actors.State
	endedAt time.Time // when the task was last seen ending; zero while it runs
	watched bool      // the writer watches its buffer, or is asked to

	pending bool // lf holds lines not flushed yet

	// The writer's alone:
	out  *actors.OutputBuffer
	stop func() // ends out's Notify
	seen uint64 // how many of out's lines were written (or skipped)
	lf   *logFile
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
	t.name, t.state = ev.Name, ev.State
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
// It sleeps while nothing is to be written, flushed or let go.
func (tl *taskLogs) writer() {
	defer close(tl.done)
	active := map[int]*taskLog{} // the tasks with a buffer watched or a log open
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-tl.wake:
			tl.writeDirty(active)
		case <-timer.C:
			tl.writeDirty(active) // also what a lost wake-up left
			tl.flushAndRelease(active, false)
		case <-tl.ctx.Done():
			tl.writeDirty(active)
			tl.flushAndRelease(active, true)
			return
		}
		if next, ok := tl.nextDeadline(active); ok {
			timer.Reset(time.Until(next))
		}
	}
}

// nextDeadline is when the writer must look again by itself: a flush
// logFlushEvery after unflushed lines, the release of a task that ended.
func (tl *taskLogs) nextDeadline(active map[int]*taskLog) (time.Time, bool) {
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, t := range active {
		if t.pending {
			earlier(time.Now().Add(logFlushEvery))
		}
		if !t.endedAt.IsZero() {
			earlier(t.endedAt.Add(logRelease))
		}
	}
	return next, !next.IsZero()
}

// writeDirty writes the new lines of every task marked since the last time.
func (tl *taskLogs) writeDirty(active map[int]*taskLog) {
	tl.mu.Lock()
	if len(tl.dirty) == 0 {
		tl.mu.Unlock()
		return
	}
	ids := make([]int, 0, len(tl.dirty))
	for id := range tl.dirty {
		ids = append(ids, id)
	}
	clear(tl.dirty)
	tl.mu.Unlock()
	for _, id := range ids {
		tl.writeTask(id, active)
	}
}

// writeTask writes what task id's buffer holds since the last look,
// fetching the buffer first if need be.
func (tl *taskLogs) writeTask(id int, active map[int]*taskLog) {
	tl.mu.Lock()
	t := tl.tasks[id]
	var name string
	if t != nil {
		name = t.name
	}
	tl.mu.Unlock()
	if t == nil {
		return
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
			return
		}
		t.out = out
		t.stop = out.Notify(func() { tl.mark(id) })
		active[id] = t
	}
	lines, total, skipped := t.out.Since(t.seen)
	t.seen = total
	if len(lines) == 0 {
		return
	}
	if t.lf == nil {
		lf, err := openLog(logPath(tl.n.logDir, tl.n.run, int64(id), name), tl.n.cfg.LogMaxBytes, tl.n.cfg.LogFiles)
		if err != nil {
			tl.n.log.Error("task log", "task", id, "err", err)
			return
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
	tl.mu.Lock()
	t.pending = true
	tl.mu.Unlock()
}

// flushAndRelease writes out what the logs buffer, and lets go of the logs
// and buffers of tasks that ended logRelease ago (all of them when all is
// set): their files are closed, and their buffers no longer watched.
func (tl *taskLogs) flushAndRelease(active map[int]*taskLog, all bool) {
	now := time.Now()
	var flush, release []*taskLog
	tl.mu.Lock()
	for id, t := range active {
		if t.pending {
			t.pending = false
			flush = append(flush, t)
		}
		if all || !t.endedAt.IsZero() && now.Sub(t.endedAt) >= logRelease {
			t.watched = false
			release = append(release, t)
			delete(active, id)
		}
	}
	tl.mu.Unlock()
	for _, t := range flush {
		if err := t.lf.flush(); err != nil {
			tl.n.log.Error("task log", "path", t.lf.path, "err", err)
		}
	}
	for _, t := range release {
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
	}
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

// path returns the log file of task id of the current run, if it is known.
func (tl *taskLogs) path(id int) (string, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t, ok := tl.tasks[id]
	if !ok {
		return "", false
	}
	return logPath(tl.n.logDir, tl.n.run, int64(id), t.name), true
}
