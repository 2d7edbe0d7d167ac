package actors

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/taskvisor/taskvisor/internal/termtext"
	"github.com/taskvisor/taskvisor/proc"
)

// DefaultUsageInterval is how often the tasks' usage is sampled while
// something subscribes to it (Config.UsageInterval).
const DefaultUsageInterval = time.Second

// UsageEvent is one sample of the usage of every task that has a process:
// one message for all of them, not an event per task, published to the
// subscribers of Runtime.SubscribeUsage once per interval.
type UsageEvent struct {
	// Runtime names the runtime (Config.Name).
	Runtime string
	// Time is when the sample was taken.
	Time time.Time
	// Interval is how long since the sample before (the CPU figures are
	// over it); zero for the first.
	Interval time.Duration
	// Tasks holds one entry per task with a process, by ID.
	Tasks []TaskUsage
}

// TaskUsage is what one task's run uses: its process group and, where
// cgroups are in force, every process of its run cgroup, escapees included.
type TaskUsage struct {
	// ID and Generation name the task and its process.
	ID, Generation int
	// CPU is the CPU used over the last interval, in cores: 1 is one core
	// busy the whole time.
	CPU float64
	// HasCPU is false in a process's first sample, which has no interval
	// to measure over.
	HasCPU bool
	// Memory is the memory resident now and MemoryPeak the most seen in
	// this process's samples, in bytes.
	Memory, MemoryPeak uint64
	// Procs is how many processes the run has now.
	Procs int
	// FromCgroup: the figures are the run cgroup's (else from /proc).
	FromCgroup bool
	// CPUTime is the CPU time the run has used so far (proc.Usage.CPU).
	CPUTime time.Duration
}

// MarshalJSON writes the sample as the headless --json protocol does:
// {"time", "interval_ms", "usage": [{"task", "generation", "cpu", "memory",
// "memory_peak", "procs", "from_cgroup"}]}, cpu in cores and null in a
// process's first sample.
func (ev UsageEvent) MarshalJSON() ([]byte, error) {
	type task struct {
		Task       int      `json:"task"`
		Generation int      `json:"generation"`
		CPU        *float64 `json:"cpu"`
		Memory     uint64   `json:"memory"`
		MemoryPeak uint64   `json:"memory_peak"`
		Procs      int      `json:"procs"`
		FromCgroup bool     `json:"from_cgroup"`
	}
	j := struct {
		Time     time.Time `json:"time"`
		Interval int64     `json:"interval_ms"`
		Usage    []task    `json:"usage"`
	}{Time: ev.Time, Interval: ev.Interval.Milliseconds(), Usage: make([]task, len(ev.Tasks))}
	for i, t := range ev.Tasks {
		j.Usage[i] = task{Task: t.ID, Generation: t.Generation, Memory: t.Memory, MemoryPeak: t.MemoryPeak,
			Procs: t.Procs, FromCgroup: t.FromCgroup}
		if t.HasCPU {
			cpu := t.CPU
			j.Usage[i].CPU = &cpu
		}
	}
	return json.Marshal(j)
}

// String writes the sample on one line: "[Usage] task 1 97% 12M 3 procs,
// task 2 0% 1.2G 1 proc".
func (ev UsageEvent) String() string {
	var b strings.Builder
	b.WriteString("[Usage]")
	if len(ev.Tasks) == 0 {
		b.WriteString(" no task has a process")
	}
	for i, t := range ev.Tasks {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " task %d", t.ID)
		if t.HasCPU {
			fmt.Fprintf(&b, " %.0f%%", 100*t.CPU)
		}
		fmt.Fprintf(&b, " %s %d proc", termtext.Bytes(t.Memory), t.Procs)
		if t.Procs != 1 {
			b.WriteByte('s')
		}
	}
	return b.String()
}

// memoryOver tells a task with a MemoryRestart that generation gen's
// memory stayed above it for two samples.
type memoryOver struct {
	gen    int
	memory uint64
}

// liveProc is a task's current process, for the sampler.
type liveProc struct {
	id, gen int
	p       *proc.Process
	// pid is the task's actor and memRestart its MemoryRestart, told
	// memoryOver when its memory stayed above it for two samples.
	pid        *actor.PID
	memRestart uint64
}

// liveSet is the runtime's tasks with a process, kept by the task actors
// and read by the usage sampler.
type liveSet struct {
	mu    sync.Mutex
	procs map[int]liveProc
}

func (l *liveSet) set(lp liveProc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.procs == nil {
		l.procs = map[int]liveProc{}
	}
	l.procs[lp.id] = lp
}

func (l *liveSet) drop(id, gen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lp, ok := l.procs[id]; ok && lp.gen == gen {
		delete(l.procs, id)
	}
}

// snapshot returns the live processes by task ID, reusing into.
func (l *liveSet) snapshot(into []liveProc) []liveProc {
	l.mu.Lock()
	into = into[:0]
	for _, lp := range l.procs {
		into = append(into, lp)
	}
	l.mu.Unlock()
	slices.SortFunc(into, func(a, b liveProc) int { return cmp.Compare(a.id, b.id) })
	return into
}

// usageSampler is the runtime's sampling loop, running only while it has
// subscribers: programs (SubscribeUsage) and running tasks with a
// MemoryRestart, which need their samples.
type usageSampler struct {
	env      *runtimeEnv
	system   *actor.ActorSystem
	interval time.Duration

	mu     sync.Mutex
	subs   map[*func(UsageEvent)]struct{}
	stop   chan struct{} // closes the running loop; nil when none runs
	closed bool
	// loops counts the loops not ended yet: one, and briefly a second
	// after a stop that did not wait (release).
	loops sync.WaitGroup
	// last is the latest sample, for a subscriber that comes while the
	// loop runs; hasLast says there is one.
	last     UsageEvent
	hasLast  bool
	lastDone chan struct{} // the running loop's done
}

// SubscribeUsage calls handler with each usage sample of the runtime's
// tasks (UsageEvent), once per Config.UsageInterval, until unsubscribe is
// called; the first sample comes at once (the latest one, if the sampling
// runs already for another subscriber). Sampling runs only while
// something subscribes, so an idle runtime spends nothing on it. handler
// runs on the sampler's goroutine and must not block. Shutdown ends every
// subscription.
func (r *Runtime) SubscribeUsage(handler func(UsageEvent)) (unsubscribe func()) {
	return r.env.usage.subscribe(handler, true)
}

// subscribe adds handler; unsubscribe, when wait is set, returns once the
// loop it stopped (the last subscriber's) has ended.
func (u *usageSampler) subscribe(handler func(UsageEvent), wait bool) (unsubscribe func()) {
	key := &handler
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return func() {}
	}
	if u.subs == nil {
		u.subs = map[*func(UsageEvent)]struct{}{}
	}
	if len(u.subs) > 0 && u.hasLast {
		// Under the lock, before it is added: the loop cannot call it at
		// the same time.
		handler(u.last)
	}
	u.subs[key] = struct{}{}
	if len(u.subs) == 1 {
		u.hasLast = false
		stop, done := make(chan struct{}), make(chan struct{})
		u.stop, u.lastDone = stop, done
		u.loops.Add(1)
		go func() { // its own channels: u.stop changes with the next loop
			defer u.loops.Done()
			u.loop(stop, done)
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			delete(u.subs, key)
			var stop, done chan struct{}
			if len(u.subs) == 0 && u.stop != nil {
				stop, done = u.stop, u.lastDone
				u.stop, u.lastDone = nil, nil
			}
			u.mu.Unlock()
			if stop != nil {
				close(stop)
				if wait {
					<-done
				}
			}
		})
	}
}

// SubscribeUsagePID sends each usage sample to the actor pid as a
// UsageEvent message, until unsubscribe is called.
func (r *Runtime) SubscribeUsagePID(pid *actor.PID) (unsubscribe func()) {
	root := r.system.Root
	return r.SubscribeUsage(func(ev UsageEvent) { root.Send(pid, ev) })
}

// close ends the sampling for good, at Shutdown, once every loop has.
func (u *usageSampler) close() {
	u.mu.Lock()
	u.closed = true
	u.subs = nil
	stop := u.stop
	u.stop, u.lastDone = nil, nil
	u.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	u.loops.Wait()
}

// loop samples at once, then once per interval, until stop closes.
func (u *usageSampler) loop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	interval := cmp.Or(u.interval, DefaultUsageInterval)
	st := newUsageState()
	defer st.s.Close()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ev := st.sample(u.env, u.system, time.Now())
		u.mu.Lock()
		u.last, u.hasLast = ev, true
		handlers := make([]func(UsageEvent), 0, len(u.subs))
		for h := range u.subs {
			handlers = append(handlers, *h)
		}
		u.mu.Unlock()
		for _, h := range handlers {
			h(ev)
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// usageState is what the sampler keeps between samples: each process's
// CPU time at the last one, and its peak memory.
type usageState struct {
	s     *proc.Sampler
	live  []liveProc
	last  map[int]usageMark
	prevT time.Time
}

type usageMark struct {
	gen  int
	cpu  time.Duration
	at   time.Time
	peak uint64
	over int // samples in a row above the task's MemoryRestart
}

func newUsageState() *usageState {
	return &usageState{s: proc.NewSampler(), last: map[int]usageMark{}}
}

// sample reads every live task's usage at now.
func (st *usageState) sample(env *runtimeEnv, system *actor.ActorSystem, now time.Time) UsageEvent {
	st.s.Round()
	st.live = env.live.snapshot(st.live)
	ev := UsageEvent{Runtime: env.name, Time: now, Tasks: make([]TaskUsage, 0, len(st.live))}
	if !st.prevT.IsZero() {
		ev.Interval = now.Sub(st.prevT)
	}
	st.prevT = now
	seen := make(map[int]bool, len(st.live))
	for _, lp := range st.live {
		u, ok := st.s.Usage(lp.p)
		if !ok {
			continue
		}
		seen[lp.id] = true
		tu := TaskUsage{ID: lp.id, Generation: lp.gen, Memory: u.Memory, Procs: u.Procs, FromCgroup: u.FromCgroup, CPUTime: u.CPU}
		mark, had := st.last[lp.id]
		if had && mark.gen == lp.gen {
			if dt := now.Sub(mark.at); dt > 0 {
				tu.CPU, tu.HasCPU = max(0, float64(u.CPU-mark.cpu)/float64(dt)), true
			}
		} else {
			mark = usageMark{gen: lp.gen}
		}
		mark.cpu, mark.at, mark.peak = u.CPU, now, max(mark.peak, u.Memory)
		tu.MemoryPeak = mark.peak
		if lp.memRestart > 0 && u.Memory > lp.memRestart {
			if mark.over++; mark.over == 2 && system != nil {
				system.Root.Send(lp.pid, memoryOver{gen: lp.gen, memory: u.Memory})
			}
		} else {
			mark.over = 0
		}
		st.last[lp.id] = mark
		ev.Tasks = append(ev.Tasks, tu)
	}
	for id := range st.last {
		if !seen[id] {
			delete(st.last, id)
		}
	}
	return ev
}
