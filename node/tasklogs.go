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

// taskLogs writes each task's output to its log file: a goroutine per task
// that has a process, following the runtime's output (Runtime.Follow) from
// the task's first event until it has ended with no restart pending, and
// again when it is restarted after that.
type taskLogs struct {
	n      *Node
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	state  map[int]actors.State // the latest state of each task
	name   map[int]string
	active map[int]bool      // a follower runs
	last   map[int]time.Time // the time of the last line written
}

func newTaskLogs(n *Node) *taskLogs {
	ctx, cancel := context.WithCancel(context.Background())
	return &taskLogs{n: n, ctx: ctx, cancel: cancel, state: map[int]actors.State{}, name: map[int]string{},
		active: map[int]bool{}, last: map[int]time.Time{}}
}

// event notes a task's state; a task that is not ended and has no follower
// gets one.
func (tl *taskLogs) event(ev actors.TaskEvent) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.state[ev.ID], tl.name[ev.ID] = ev.State, ev.Name
	if ev.State.Ended() || tl.active[ev.ID] || tl.ctx.Err() != nil {
		return
	}
	tl.active[ev.ID] = true
	tl.wg.Add(1)
	go tl.follow(ev.ID, ev.Name)
}

// follow writes task id's output to its log until the task has ended and
// stays so, or until close.
func (tl *taskLogs) follow(id int, name string) {
	defer tl.wg.Done()
	lf, err := openLog(logPath(tl.n.logDir, tl.n.run, int64(id), name), tl.n.cfg.LogMaxBytes, tl.n.cfg.LogFiles)
	if err != nil {
		tl.n.log.Error("task log", "task", id, "err", err)
		tl.mu.Lock()
		delete(tl.active, id)
		tl.mu.Unlock()
		return
	}
	defer func() {
		if err := lf.close(); err != nil {
			tl.n.log.Error("task log", "task", id, "err", err)
		}
	}()
	for {
		followed := tl.copy(id, lf)
		tl.mu.Lock()
		// Under the lock that event takes: a restart's first event either
		// came already (follow again) or finds no follower (starts one).
		if followed && !tl.state[id].Ended() && tl.ctx.Err() == nil {
			tl.mu.Unlock()
			continue
		}
		delete(tl.active, id)
		tl.mu.Unlock()
		return
	}
}

// copy writes the lines of one Follow of task id, skipping those an earlier
// one wrote; false when the runtime would not follow the task (forgotten,
// or the runtime has stopped).
func (tl *taskLogs) copy(id int, lf *logFile) bool {
	lines, err := tl.n.rt.Follow(tl.ctx, id)
	if err != nil {
		return false
	}
	tl.mu.Lock()
	last := tl.last[id]
	tl.mu.Unlock()
	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	defer flushTimer.Stop()
	dirty := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				if err := lf.flush(); err != nil {
					tl.n.log.Error("task log", "task", id, "err", err)
				}
				tl.mu.Lock()
				tl.last[id] = last
				tl.mu.Unlock()
				return true
			}
			if !l.Time.After(last) {
				continue
			}
			last = l.Time
			if err := lf.write(l); err != nil {
				tl.n.log.Error("task log", "task", id, "err", err)
			}
			if !dirty {
				dirty = true
				flushTimer.Reset(50 * time.Millisecond)
			}
		case <-flushTimer.C:
			dirty = false
			if err := lf.flush(); err != nil {
				tl.n.log.Error("task log", "task", id, "err", err)
			}
		}
	}
}

// close ends the followers once they have written what the runtime still
// delivers (call it after the runtime's shutdown, when every Follow ends on
// its own), or at once.
func (tl *taskLogs) close() {
	done := make(chan struct{})
	go func() { tl.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	tl.mu.Lock()
	tl.cancel()
	tl.mu.Unlock()
	<-done
}

// path returns the log file of task id of the current run, if it is known.
func (tl *taskLogs) path(id int) (string, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	name, ok := tl.name[id]
	if !ok {
		return "", false
	}
	return logPath(tl.n.logDir, tl.n.run, int64(id), name), true
}
