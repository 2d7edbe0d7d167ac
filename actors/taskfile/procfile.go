package taskfile

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/taskvisor/taskvisor/actors"
)

// procfileLine is foreman's: a name of letters, digits, '_' and '-', a
// colon, the command.
var procfileLine = regexp.MustCompile(`^([A-Za-z0-9_-]+):[ \t]*(.*)$`)

// LoadProcfile reads and parses the Procfile at path.
func LoadProcfile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("procfile: %w", err)
	}
	return ParseProcfile(path, data)
}

// ParseProcfile parses a Procfile: one `name: command` a line, the command
// run by /bin/sh -c; blank lines and lines starting with '#' are skipped;
// a line that starts with a space or tab is an error (foreman has no
// continuation lines).
// As foreman runs every process of a Procfile, each task has autostart set,
// and the first nine get the keys "1" to "9" in file order; every other field
// has its default. On error it returns Errors.
func ParseProcfile(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	var errs Errors
	first := map[string]int{}
	bad := func(line, col int, field, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		text := strings.TrimSuffix(string(raw), "\r")
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(text) - len(strings.TrimLeft(text, " \t"))
		if indent > 0 {
			// foreman has no continuation lines: an indented line would be
			// a task by accident, or a command's second line lost.
			bad(line, 1, "", "the line is indented: a Procfile line starts with its name in column 1 (no continuation lines), got %s", quoteShort(text))
			continue
		}
		m := procfileLine.FindStringSubmatch(trimmed)
		if m == nil {
			bad(line, indent+1, "", "expected `name: command` (a name of letters, digits, '_' and '-'), got %s", quoteShort(trimmed))
			continue
		}
		taskName, command := m[1], strings.TrimSpace(m[2])
		if command == "" {
			bad(line, indent+len(m[1])+2, "", "task %q: the command is empty", taskName)
			continue
		}
		if strings.ContainsRune(command, 0) {
			bad(line, indent+len(m[1])+2, "", "task %q: the command contains a NUL byte", taskName)
			continue
		}
		if at, dup := first[taskName]; dup {
			bad(line, indent+1, "", "task %q: the name is also on line %d", taskName, at)
			continue
		}
		first[taskName] = line
		spec := actors.TaskSpec{Name: taskName, Command: command, Autostart: true}
		if n := len(f.Tasks); n < 9 {
			spec.Key = strconv.Itoa(n + 1)
		}
		f.order = append(f.order, len(f.Tasks))
		f.Tasks = append(f.Tasks, spec)
	}
	if len(errs) == 0 && len(f.Tasks) == 0 {
		bad(0, 0, "", "no tasks: a Procfile has at least one `name: command` line")
	}
	if len(errs) == 0 {
		if err := f.Tasks.Validate(); err != nil {
			bad(0, 0, "", "%v", err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strconv.Quote(s)
}
