package proc

import (
	"slices"
	"sync"
	"time"
)

// DefaultMaxLines is the number of lines an Output keeps when NewOutput is
// given zero or less.
const DefaultMaxLines = 1000

// DefaultMaxBytes bounds the text an Output keeps, whatever its line limit:
// a thousand lines of MaxLineBytes would be 64 MiB per task. The oldest
// lines go first; the newest line is always kept.
const DefaultMaxBytes = 1 << 20

// Stream says where a line came from.
type Stream uint8

// The streams.
const (
	Stdout Stream = iota + 1
	Stderr
)

// String returns "stdout" or "stderr".
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	default:
		return "stream?"
	}
}

// Line is one line of output.
type Line struct {
	// Stream is the pipe the line was read from.
	Stream Stream
	// Text is the line without its "\n" or "\r\n", at most MaxLineBytes long.
	Text string
	// Time is when the line was read.
	Time time.Time
	// Cut says the line was longer than MaxLineBytes: Text holds its start and
	// the rest, up to the next newline, was dropped.
	Cut bool
}

// Output is a bounded buffer of the last lines of a process's output: a ring
// of at most maxLines lines, safe for concurrent use. One Output may be
// shared by the successive processes of a task.
type Output struct {
	mu       sync.Mutex
	max      int
	maxBytes int
	// lines is a ring: it grows to max, and the n kept lines run from
	// lines[start] (the oldest), wrapping around.
	lines []Line
	start int
	n     int
	bytes int // the length of the kept lines' texts
	total uint64
	// wake is closed, and cleared, when a line is added; made by Wait for a
	// waiter, so that a buffer nobody waits on allocates nothing per line.
	wake chan struct{}
	// notify are the Notify functions; replaced, never changed in place,
	// so that add can call a copy of the slice without the lock.
	notify []*func()
}

// NewOutput returns a buffer of the last maxLines lines (<= 0:
// DefaultMaxLines), DefaultMaxBytes of text at most.
func NewOutput(maxLines int) *Output {
	return NewOutputLimits(maxLines, 0)
}

// NewOutputLimits returns a buffer of the last maxLines lines (<= 0:
// DefaultMaxLines) holding maxBytes of text at most (<= 0:
// DefaultMaxBytes).
func NewOutputLimits(maxLines, maxBytes int) *Output {
	if maxLines <= 0 {
		maxLines = DefaultMaxLines
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Output{max: maxLines, maxBytes: maxBytes}
}

// add appends a line, dropping the oldest ones while the buffer would hold
// too many lines or bytes.
func (o *Output) add(l Line) {
	o.mu.Lock()
	notify := o.notify
	o.addLocked(l)
	o.mu.Unlock()
	for _, fn := range notify {
		(*fn)()
	}
}

func (o *Output) addLocked(l Line) {
	o.total++
	for o.n > 0 && (o.n == o.max || o.bytes+len(l.Text) > o.maxBytes) {
		o.bytes -= len(o.lines[o.start].Text)
		o.lines[o.start] = Line{} // let its text go
		o.start = (o.start + 1) % len(o.lines)
		o.n--
	}
	if o.n == 0 {
		o.lines, o.start = o.lines[:0], 0
	}
	if len(o.lines) < o.max {
		// Still growing: nothing has wrapped, the kept lines end the slice.
		o.lines = append(o.lines, l)
	} else {
		o.lines[(o.start+o.n)%o.max] = l
	}
	o.n++
	o.bytes += len(l.Text)
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
}

// Notify calls fn after each line added to the buffer, on the goroutine
// that added it (the task's output reader), until stop is called. fn must
// not block: it says that there is something to read, for Since to read
// elsewhere. One reader of many buffers needs no goroutine per buffer.
func (o *Output) Notify(fn func()) (stop func()) {
	key := &fn
	o.mu.Lock()
	o.notify = append(slices.Clip(o.notify), key)
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			i := slices.Index(o.notify, key)
			if i >= 0 {
				o.notify = slices.Delete(slices.Clone(o.notify), i, i+1)
			}
		})
	}
}

// Since returns the lines written after the first seen ones (seen as Total
// counts them) that the buffer still holds, oldest first; total is the count
// with them, and skipped how many lines after the first seen the buffer had
// dropped already, which come before the lines returned.
func (o *Output) Since(seen uint64) (lines []Line, total, skipped uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if seen >= o.total {
		return nil, o.total, 0
	}
	fresh := o.total - seen
	held := min(fresh, uint64(o.n))
	lines = make([]Line, held)
	first := o.start + o.n - int(held)
	for i := range lines {
		lines[i] = o.lines[(first+i)%len(o.lines)]
	}
	return lines, o.total, fresh - held
}

// Wait returns a channel that is closed once more than seen lines have been
// written: at once if they have.
func (o *Output) Wait(seen uint64) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.total > seen {
		return closedChan
	}
	if o.wake == nil {
		o.wake = make(chan struct{})
	}
	return o.wake
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Lines returns the buffered lines, oldest first.
func (o *Output) Lines() []Line {
	return o.Last(-1)
}

// Last returns the last n buffered lines (fewer if fewer are buffered),
// oldest first. A negative n means all of them.
func (o *Output) Last(n int) []Line {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n < 0 || n > o.n {
		n = o.n
	}
	out := make([]Line, n)
	first := o.start + o.n - n // index of the first line wanted, unwrapped
	for i := range out {
		out[i] = o.lines[(first+i)%len(o.lines)]
	}
	return out
}

// Total returns how many lines were ever written, including those that have
// been dropped from the buffer.
func (o *Output) Total() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total
}
