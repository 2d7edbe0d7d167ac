package proc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// MaxLineBytes is the longest line an Output keeps; the rest of a longer line
// is dropped and the line is marked Cut.
const MaxLineBytes = 64 << 10

// readBufferSize is one read from a pipe: a whole pipe's default capacity.
const readBufferSize = 64 << 10

// maxReadsPerWake bounds the reads of one wake-up, so that a stream that
// never pauses still lets the read deadline be checked.
const maxReadsPerWake = 16

// keptPartialCap is the largest line-assembly buffer a reader keeps between
// lines; a larger one, grown for a long line, is dropped once the line ends.
const keptPartialCap = 4 << 10

// readBuffers are shared by the readers of all processes: a reader holds one
// only while data is there to read, so a thousand idle tasks hold none.
var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

// readPipe copies the pipe f into out (nil: drops it) line by line until the
// pipe ends or fails (EOF, read deadline, closed). It waits in the netpoller
// without a buffer, and reads with a pooled one until the pipe is empty.
func readPipe(f *os.File, out *Output, stream Stream) {
	s := lineSplitter{out: out, stream: stream}
	defer s.end()
	rc, err := f.SyscallConn()
	if err != nil {
		readAll(f, &s)
		return
	}
	for {
		more := false
		err := rc.Read(func(fd uintptr) bool {
			bp := readBuffers.Get().(*[]byte)
			defer readBuffers.Put(bp)
			for range maxReadsPerWake {
				n, err := unix.Read(int(fd), *bp)
				switch {
				case err == nil && n > 0:
					s.write((*bp)[:n])
				case errors.Is(err, unix.EINTR):
				case errors.Is(err, unix.EAGAIN):
					return false // empty: park in the netpoller
				default: // EOF or a read error
					return true
				}
			}
			more = true // checks the deadline on the way back in
			return true
		})
		// err: the read deadline passed (or f was closed).
		if err != nil || !more {
			return
		}
	}
}

func readAll(r io.Reader, s *lineSplitter) {
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	for {
		n, err := r.Read(*bp)
		s.write((*bp)[:n])
		if err != nil {
			return
		}
	}
}

// lineSplitter cuts a byte stream into Lines. Its memory is the start of the
// current line only, at most MaxLineBytes+1, whatever the volume or shape of
// the output.
type lineSplitter struct {
	out      *Output // nil: everything is dropped
	stream   Stream
	partial  []byte // the current line so far, when it began in an earlier write
	dropping bool   // in the tail of a cut line, up to its newline
}

// write takes the next bytes of the stream.
func (s *lineSplitter) write(b []byte) {
	if s.out == nil {
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.grow(b)
			return
		}
		switch {
		case s.dropping:
			s.dropping = false
		case len(s.partial) == 0:
			s.out.add(makeLine(s.stream, b[:i], false)) // the common case: no copy
		default:
			s.grow(b[:i])
			if !s.dropping {
				s.out.add(makeLine(s.stream, s.partial, false))
			}
			s.dropping = false
			s.reset()
		}
		b = b[i+1:]
	}
}

// grow appends b to the current line; a line that outgrows MaxLineBytes (and
// its '\r') is stored cut, and its rest is dropped.
func (s *lineSplitter) grow(b []byte) {
	if s.dropping {
		return
	}
	room := MaxLineBytes + 1 - len(s.partial)
	if len(b) <= room {
		s.partial = append(s.partial, b...)
		return
	}
	s.partial = append(s.partial, b[:room]...)
	// Longer than MaxLineBytes: cut, even when the last byte kept is a
	// '\r' that makeLine drops (the line goes on after it).
	s.out.add(makeLine(s.stream, s.partial, true))
	s.dropping = true
	s.reset()
}

func (s *lineSplitter) reset() {
	if cap(s.partial) > keptPartialCap {
		s.partial = nil
	} else {
		s.partial = s.partial[:0]
	}
}

// end keeps a last line that had no newline.
func (s *lineSplitter) end() {
	if s.out != nil && !s.dropping && len(s.partial) > 0 {
		s.out.add(makeLine(s.stream, s.partial, false))
	}
	s.partial, s.dropping = nil, false
}

// makeLine copies b, without a trailing '\r', into a Line cut to
// MaxLineBytes; cut says the line was cut already (it went on after b).
func makeLine(stream Stream, b []byte, cut bool) Line {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	cut = cut || len(b) > MaxLineBytes
	if len(b) > MaxLineBytes {
		b = trimPartialRune(b[:MaxLineBytes])
	}
	return Line{Stream: stream, Text: string(b), Time: time.Now(), Cut: cut}
}

// trimPartialRune drops an incomplete UTF-8 sequence that a cut left at the
// end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}
