//go:build linux

package proc

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func addTexts(o *Output, texts ...string) {
	for _, s := range texts {
		o.add(Line{Stream: Stdout, Text: s})
	}
}

func TestOutputRing(t *testing.T) {
	o := NewOutput(3)
	if got := o.Lines(); len(got) != 0 || o.Total() != 0 {
		t.Fatalf("new Output has %v, total %d", got, o.Total())
	}
	addTexts(o, "1", "2")
	if got := texts(o.Lines()); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("Lines = %q", got)
	}
	addTexts(o, "3", "4", "5")
	if got := texts(o.Lines()); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("Lines = %q, want the last 3, oldest first", got)
	}
	if got := o.Total(); got != 5 {
		t.Errorf("Total = %d, want 5", got)
	}
	for n, want := range map[int][]string{0: {}, 1: {"5"}, 2: {"4", "5"}, 3: {"3", "4", "5"}, 10: {"3", "4", "5"}, -1: {"3", "4", "5"}} {
		if got := texts(o.Last(n)); !slices.Equal(got, want) {
			t.Errorf("Last(%d) = %q, want %q", n, got, want)
		}
	}
	// A snapshot does not change with the buffer.
	snap := o.Lines()
	addTexts(o, "6")
	if got := texts(snap); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("snapshot changed to %q", got)
	}
}

func TestOutputDefaultSize(t *testing.T) {
	o := NewOutput(0)
	for i := range 1500 {
		addTexts(o, strconv.Itoa(i))
	}
	lines := o.Lines()
	if len(lines) != DefaultMaxLines || lines[0].Text != "500" || lines[len(lines)-1].Text != "1499" {
		t.Errorf("%d lines from %q to %q, want 1000 from 500 to 1499", len(lines), lines[0].Text, lines[len(lines)-1].Text)
	}
}

func TestOutputConcurrent(t *testing.T) {
	o := NewOutput(100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				o.add(Line{Text: fmt.Sprint(w, i)})
				if i%100 == 0 {
					_ = o.Lines()
				}
			}
		})
	}
	wg.Wait()
	if o.Total() != 4000 || len(o.Lines()) != 100 {
		t.Errorf("Total %d, %d lines; want 4000, 100", o.Total(), len(o.Lines()))
	}
}

// chunkReader returns its input in pieces of at most n bytes, as a pipe may.
type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.s))
	copy(p, r.s[:k])
	r.s = r.s[k:]
	return k, nil
}

func TestReadStream(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes)
	tests := []struct {
		name string
		in   string
		want []Line
	}{
		{"lines", "one\ntwo\n", []Line{{Text: "one"}, {Text: "two"}}},
		{"empty lines", "\n\nx\n", []Line{{Text: ""}, {Text: ""}, {Text: "x"}}},
		{"crlf", "dos\r\nmid\rdle\r\n\r\n", []Line{{Text: "dos"}, {Text: "mid\rdle"}, {Text: ""}}},
		{"last line without newline", "a\nb", []Line{{Text: "a"}, {Text: "b"}}},
		{"nothing", "", nil},
		{"exactly MaxLineBytes", long + "\nnext\n", []Line{{Text: long}, {Text: "next"}}},
		{"exactly MaxLineBytes crlf", long + "\r\nnext\n", []Line{{Text: long}, {Text: "next"}}},
		{"one byte too long", long + "b\nnext\n", []Line{{Text: long, Cut: true}, {Text: "next"}}},
		{"MaxLineBytes then a lone CR", long + "\rtail\nnext\n", []Line{{Text: long, Cut: true}, {Text: "next"}}},
		{"much too long", long + strings.Repeat("b", 3*MaxLineBytes+7) + "\nnext\n", []Line{{Text: long, Cut: true}, {Text: "next"}}},
		{"too long at the end", long + strings.Repeat("b", 100), []Line{{Text: long, Cut: true}}},
		{"cut inside a rune", strings.Repeat("a", MaxLineBytes-1) + "é tail\n",
			[]Line{{Text: strings.Repeat("a", MaxLineBytes-1), Cut: true}}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1 << 20, 4096, 7} {
			if chunk == 7 && len(tt.in) > 1<<16 {
				continue // slow and no different
			}
			o := NewOutput(10)
			readStream(&chunkReader{s: tt.in, n: chunk}, o, Stderr)
			got := o.Lines()
			if len(got) != len(tt.want) {
				t.Errorf("%s (chunks of %d): %d lines, want %d: %.40q", tt.name, chunk, len(got), len(tt.want), texts(got))
				continue
			}
			for i, l := range got {
				w := tt.want[i]
				if l.Text != w.Text || l.Cut != w.Cut || l.Stream != Stderr || l.Time.IsZero() {
					t.Errorf("%s (chunks of %d): line %d = {%.40q cut=%v %v}, want {%.40q cut=%v stderr}",
						tt.name, chunk, i, l.Text, l.Cut, l.Stream, w.Text, w.Cut)
				}
			}
		}
	}
}

// A line of MaxLineBytes and a '\r' in one write, its rest in the next: the
// '\r' is not a CRLF's, the line is longer than MaxLineBytes and cut.
func TestLineCutAfterCR(t *testing.T) {
	o := NewOutput(10)
	s := lineSplitter{out: o, stream: Stdout}
	s.write([]byte(strings.Repeat("a", MaxLineBytes) + "\r"))
	s.write([]byte("tail\n"))
	s.end()
	got := o.Lines()
	if len(got) != 1 || got[0].Text != strings.Repeat("a", MaxLineBytes) || !got[0].Cut {
		t.Fatalf("got %d lines, want one of MaxLineBytes, cut", len(got))
	}
}

func TestReadStreamNilOutput(t *testing.T) {
	r := &chunkReader{s: strings.Repeat("x\n", 100000), n: 1000}
	readStream(r, nil, Stdout)
	if r.s != "" {
		t.Errorf("%d bytes left unread", len(r.s))
	}
}

func TestOutputLineLimitFromProcess(t *testing.T) {
	t.Parallel()
	out := NewOutput(0)
	p := startT(t, Spec{Argv: []string{"seq", "1", "1500"}, Output: out})
	waitDone(t, p, 10*time.Second)
	lines := out.Lines()
	if len(lines) != 1000 || lines[0].Text != "501" || lines[999].Text != "1500" || out.Total() != 1500 {
		t.Errorf("%d lines (%q..%q), total %d; want 1000 lines 501..1500, total 1500",
			len(lines), lines[0].Text, lines[len(lines)-1].Text, out.Total())
	}
}

// heapInUse is the live heap after two collections: the second frees what
// the first moved to sync.Pool's victim cache (pooled read buffers).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestOutputMemoryBounded feeds 200 MB through the pipes at full speed, as
// short lines, as lines of 4 KB, as one endless line and into no Output, and
// checks that the heap stays far below the volume while it flows, and that
// what it keeps afterwards is bounded by the Output (DefaultMaxBytes) plus
// the reader's current line (MaxLineBytes). Not parallel: it measures the
// heap.
func TestOutputMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("800 MB of output")
	}
	const (
		volume    = 200000000
		peakLimit = 64 << 20
		keptLimit = DefaultMaxBytes + 2*MaxLineBytes + 256<<10
		short     = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456"
	)
	for _, c := range []struct {
		name   string
		shell  string
		output *Output
		lines  uint64 // at least
	}{
		{"short lines", `yes ` + short + ` | head -c ` + strconv.Itoa(volume), NewOutput(0), volume / uint64(len(short)+1)},
		{"4 KB lines", `head -c ` + strconv.Itoa(volume) + ` /dev/zero | tr '\0' a | fold -w 4000`, NewOutput(0), volume / 4000},
		{"one endless line", `head -c ` + strconv.Itoa(volume) + ` /dev/zero`, NewOutput(0), 1},
		{"no Output", `head -c ` + strconv.Itoa(volume) + ` /dev/zero`, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := heapInUse()
			var peak atomic.Uint64
			stop := make(chan struct{})
			var sampler sync.WaitGroup
			sampler.Go(func() {
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			})
			p := startT(t, Spec{Shell: c.shell, Output: c.output})
			e := waitExited(t, p, 60*time.Second)
			waitDone(t, p, 10*time.Second)
			close(stop)
			sampler.Wait()
			kept := int64(heapInUse()) - int64(before)
			if !e.Success() {
				t.Errorf("%s", e)
			}
			if c.output != nil && c.output.Total() < c.lines {
				t.Errorf("%d lines, want at least %d", c.output.Total(), c.lines)
			}
			if c.name == "one endless line" {
				if l := c.output.Lines(); len(l) != 1 || !l[0].Cut || len(l[0].Text) != MaxLineBytes {
					t.Errorf("want one cut line of MaxLineBytes, got %d lines", len(l))
				}
			}
			if got := peak.Load(); got > peakLimit {
				t.Errorf("heap peaked at %d MB for 200 MB of output, want under %d MB", got>>20, peakLimit>>20)
			}
			if kept > keptLimit {
				t.Errorf("heap grew by %d bytes with the Output kept, want at most %d", kept, keptLimit)
			}
			t.Logf("%s: heap peak %.1f MiB (%.1f MiB over the start), %+.2f MiB kept", e.RunTime().Round(time.Millisecond),
				float64(peak.Load())/(1<<20), float64(int64(peak.Load())-int64(before))/(1<<20), float64(kept)/(1<<20))
			runtime.KeepAlive(c.output)
		})
	}
}

// readStream feeds r to a lineSplitter as readPipe does, without a pipe, so
// that the splitting can be tested with any chunking.
func readStream(r io.Reader, out *Output, stream Stream) {
	s := lineSplitter{out: out, stream: stream}
	readAll(r, &s)
	s.end()
}

// The byte limit drops the oldest lines first, keeps the newest line even
// when it alone is over the limit, and the ring stays in order through it.
func TestOutputByteLimit(t *testing.T) {
	o := NewOutputLimits(4, 10)
	for _, s := range []string{"aaa", "bbb", "ccc", "dddd", "e", "ffffffffffff", "g", "h", "i", "j", "k"} {
		o.add(Line{Text: s})
	}
	got := strings.Join(texts(o.Lines()), ",")
	if got != "h,i,j,k" {
		t.Errorf("kept %q, want h,i,j,k", got)
	}
	o.add(Line{Text: "0123456789"})
	if got := strings.Join(texts(o.Lines()), ","); got != "0123456789" {
		t.Errorf("kept %q, want the 10-byte line alone", got)
	}
	o.add(Line{Text: "xx"})
	o.add(Line{Text: "yy"})
	if got := strings.Join(texts(o.Lines()), ","); got != "xx,yy" || o.Total() != 14 {
		t.Errorf("kept %q (total %d), want xx,yy (14)", got, o.Total())
	}
	var kept int
	for _, l := range o.Lines() {
		kept += len(l.Text)
	}
	if kept != o.bytes {
		t.Errorf("byte count %d, lines hold %d", o.bytes, kept)
	}
}

func TestOutputSinceAndWait(t *testing.T) {
	o := NewOutput(3)
	if lines, total, skipped := o.Since(0); len(lines) != 0 || total != 0 || skipped != 0 {
		t.Fatalf("empty: Since(0) = %v, %d, %d", lines, total, skipped)
	}
	woken := o.Wait(0)
	select {
	case <-woken:
		t.Fatal("Wait(0) is closed before any line")
	default:
	}
	addTexts(o, "1", "2")
	select {
	case <-woken:
	default:
		t.Fatal("Wait(0) is still open after a line")
	}
	lines, total, skipped := o.Since(0)
	if got := texts(lines); !slices.Equal(got, []string{"1", "2"}) || total != 2 || skipped != 0 {
		t.Errorf("Since(0) = %q, %d, %d; want [1 2], 2, 0", got, total, skipped)
	}
	addTexts(o, "3", "4", "5", "6")
	// Lines 3 to 6 came after the 2 seen; the ring of 3 lost line 3.
	lines, total, skipped = o.Since(2)
	if got := texts(lines); !slices.Equal(got, []string{"4", "5", "6"}) || total != 6 || skipped != 1 {
		t.Errorf("Since(2) = %q, %d, %d; want [4 5 6], 6, 1", got, total, skipped)
	}
	lines, _, skipped = o.Since(5)
	if got := texts(lines); !slices.Equal(got, []string{"6"}) || skipped != 0 {
		t.Errorf("Since(5) = %q, %d; want [6], 0", got, skipped)
	}
	if lines, total, _ := o.Since(6); len(lines) != 0 || total != 6 {
		t.Errorf("Since(6) = %v, %d; want nothing new", lines, total)
	}
	select {
	case <-o.Wait(5):
	default:
		t.Error("Wait(5) with 6 written is not closed")
	}
	later := o.Wait(6)
	addTexts(o, "7")
	select {
	case <-later:
	default:
		t.Error("Wait(6) is still open after line 7")
	}
}
