package proc

import (
	"sync"
	"time"
)

// DefaultMaxLines is the number of lines an Output keeps when NewOutput is
// given zero or less.
const DefaultMaxLines = 1000

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
	mu    sync.Mutex
	max   int
	lines []Line // ring: grows to max, then lines[start] is the oldest
	start int
	total uint64
}

// NewOutput returns a buffer of the last maxLines lines (<= 0:
// DefaultMaxLines).
func NewOutput(maxLines int) *Output {
	if maxLines <= 0 {
		maxLines = DefaultMaxLines
	}
	return &Output{max: maxLines}
}

// add appends a line, dropping the oldest one when the buffer is full.
func (o *Output) add(l Line) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total++
	if len(o.lines) < o.max {
		o.lines = append(o.lines, l)
		return
	}
	o.lines[o.start] = l
	o.start = (o.start + 1) % o.max
}

// Lines returns the buffered lines, oldest first.
func (o *Output) Lines() []Line {
	return o.Last(-1)
}

// Last returns the last n buffered lines (fewer if fewer are buffered),
// oldest first. A negative n means all of them.
func (o *Output) Last(n int) []Line {
	o.mu.Lock()
	defer o.mu.Unlock()
	size := len(o.lines)
	if n < 0 || n > size {
		n = size
	}
	out := make([]Line, n)
	first := o.start + size - n // index of the first line wanted, unwrapped
	for i := range out {
		out[i] = o.lines[(first+i)%size]
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
