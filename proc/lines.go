package proc

import (
	"bufio"
	"errors"
	"io"
	"time"
	"unicode/utf8"
)

// MaxLineBytes is the longest line an Output keeps; the rest of a longer line
// is dropped and the line is marked Cut.
const MaxLineBytes = 64 << 10

// discardBufferSize is the read buffer of a stream nobody keeps.
const discardBufferSize = 32 << 10

// readStream copies r into out line by line until r ends or fails (EOF, read
// deadline, closed). Its memory is fixed whatever the volume or shape of the
// output: one buffer of MaxLineBytes plus the lines it stores. A nil out
// reads and drops everything.
func readStream(r io.Reader, out *Output, stream Stream) {
	if out == nil {
		discard(r)
		return
	}
	// Room for a line of MaxLineBytes and its "\r\n": a line that fills the
	// buffer without a newline is longer than MaxLineBytes.
	br := bufio.NewReaderSize(r, MaxLineBytes+2)
	dropping := false // in the tail of a cut line, up to its newline
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if !dropping {
				out.add(makeLine(stream, chunk))
			}
			dropping = false
		case errors.Is(err, bufio.ErrBufferFull):
			if !dropping {
				out.add(makeLine(stream, chunk))
				dropping = true
			}
		default: // the stream ended: keep a last line without newline
			if !dropping && len(chunk) > 0 {
				out.add(makeLine(stream, chunk))
			}
			return
		}
	}
}

// makeLine copies b, without its line ending, into a Line cut to
// MaxLineBytes.
func makeLine(stream Stream, b []byte) Line {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	cut := len(b) > MaxLineBytes
	if cut {
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

// discard reads r to its end with a fixed buffer.
func discard(r io.Reader) {
	buf := make([]byte, discardBufferSize)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}
