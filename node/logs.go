package node

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// Defaults of the task logs.
const (
	// DefaultLogMaxBytes is the size at which a task's log file is rotated.
	DefaultLogMaxBytes = 10 << 20
	// DefaultLogFiles is how many files of a task's log are kept: the one
	// written and the rotated ones, NAME.log.1 the newer of them.
	DefaultLogFiles = 3
)

// logTimeFormat stamps each line of a task log: fixed width, UTC, so that the
// files sort and read with plain tools.
const logTimeFormat = "2006-01-02T15:04:05.000000Z"

// logPath is where task id of run writes its log: NAME is kept to letters,
// digits, '-', '_' and '.', so that the file is easy to name in a shell.
func logPath(dir string, run uint64, id int64, name string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if len(clean) > 64 {
		clean = clean[:64]
	}
	return filepath.Join(dir, fmt.Sprintf("%d-%d-%s.log", run, id, clean))
}

// logFile is a task's log being written, rotated by size.
type logFile struct {
	path     string
	maxBytes int64
	files    int
	f        *os.File
	w        *bufio.Writer
	size     int64
}

// openLog returns the log of path; the file is opened on the first line, so
// that a task that writes nothing costs neither a descriptor nor a buffer.
func openLog(path string, maxBytes int64, files int) (*logFile, error) {
	return &logFile{path: path, maxBytes: maxBytes, files: files}, nil
}

// open opens the file for appending, where an earlier follower of the task
// may have left lines.
func (lf *logFile) open() error {
	f, err := os.OpenFile(lf.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("task log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("task log: %w", err)
	}
	lf.f, lf.w, lf.size = f, bufio.NewWriterSize(f, logBufferBytes), st.Size()
	return nil
}

// logBufferBytes is the write buffer of a task log: small, since there is
// one per task that writes, and flushed every 50 ms anyway.
const logBufferBytes = 4 << 10

// formatLine is a line of a task log: "TIME STREAM TEXT", with " [cut]"
// after a line cut at the length bound, and a line of its own, with stream
// "taskvisor", for lines the log never got.
func formatLine(l actors.OutputLine) string {
	var b strings.Builder
	stamp := l.Time.UTC().Format(logTimeFormat)
	if l.Skipped > 0 {
		fmt.Fprintf(&b, "%s taskvisor (%d lines skipped: written faster than the log could follow)\n", stamp, l.Skipped)
	}
	b.WriteString(stamp)
	b.WriteByte(' ')
	b.WriteString(l.Stream.String())
	b.WriteByte(' ')
	b.WriteString(l.Text)
	if l.Cut {
		b.WriteString(" [cut]")
	}
	b.WriteByte('\n')
	return b.String()
}

// write appends a line, rotating first when the file would pass maxBytes.
func (lf *logFile) write(l actors.OutputLine) error {
	if lf.f == nil {
		if err := lf.open(); err != nil {
			return err
		}
	}
	line := formatLine(l)
	if lf.size > 0 && lf.size+int64(len(line)) > lf.maxBytes {
		if err := lf.rotate(); err != nil {
			return err
		}
	}
	n, err := lf.w.WriteString(line)
	lf.size += int64(n)
	return err
}

// flush writes what is buffered, so that tail -f sees it.
func (lf *logFile) flush() error {
	if lf.w == nil {
		return nil
	}
	return lf.w.Flush()
}

// rotate renames NAME.log to NAME.log.1, .1 to .2 and so on, dropping the
// oldest beyond files, and starts a new NAME.log.
func (lf *logFile) rotate() error {
	if err := lf.w.Flush(); err != nil {
		return err
	}
	if err := lf.f.Close(); err != nil {
		return err
	}
	for i := lf.files - 1; i >= 1; i-- {
		from := lf.path
		if i > 1 {
			from = lf.path + "." + strconv.Itoa(i-1)
		}
		if err := os.Rename(from, lf.path+"."+strconv.Itoa(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate task log: %w", err)
		}
	}
	if lf.files <= 1 {
		if err := os.Remove(lf.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate task log: %w", err)
		}
	}
	f, err := os.OpenFile(lf.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("rotate task log: %w", err)
	}
	lf.f, lf.size = f, 0
	lf.w.Reset(f)
	return nil
}

func (lf *logFile) close() error {
	if lf.f == nil {
		return nil
	}
	return errors.Join(lf.w.Flush(), lf.f.Close())
}

// removeLogs removes a task log and its rotated files.
func removeLogs(path string) {
	matches, _ := filepath.Glob(path + "*")
	for _, m := range matches {
		if m == path || strings.HasPrefix(m, path+".") {
			_ = os.Remove(m)
		}
	}
}

// readLogs returns the last lines of a task log (all for last <= 0), oldest
// first, from its rotated files and the current one.
func readLogs(path string, files, last int) ([]*pb.OutputLine, error) {
	var out []*pb.OutputLine
	found := false
	for i := files - 1; i >= 0; i-- {
		p := path
		if i > 0 {
			p = path + "." + strconv.Itoa(i)
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("task log: %w", err)
		}
		found = true
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			out = append(out, parseLogLine(sc.Text()))
			if last > 0 && len(out) > 2*last {
				out = append(out[:0], out[len(out)-last:]...)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("task log %s: %w", p, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("task log %s: %w", path, os.ErrNotExist)
	}
	if last > 0 && len(out) > last {
		out = out[len(out)-last:]
	}
	return out, nil
}

// parseLogLine reads a line written by formatLine; one that does not parse
// is returned whole as its text.
func parseLogLine(s string) *pb.OutputLine {
	stamp, rest, ok := strings.Cut(s, " ")
	t, err := time.Parse(logTimeFormat, stamp)
	if !ok || err != nil {
		return &pb.OutputLine{Stream: "stdout", Text: s}
	}
	stream, text, _ := strings.Cut(rest, " ")
	l := &pb.OutputLine{Stream: stream, Text: text, Time: timestamppb.New(t)}
	if t, ok := strings.CutSuffix(text, " [cut]"); ok {
		l.Text, l.Cut = t, true
	}
	return l
}
