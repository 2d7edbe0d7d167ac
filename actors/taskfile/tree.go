package taskfile

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/taskvisor/taskvisor/actors"
)

// WriteTree prints the supervision tree the file describes: the top level,
// then each group nested under its parent with its strategy and restart
// limit, each task under its group with its key, what it runs and its
// policy. Tasks and groups are listed in file order.
func (f *File) WriteTree(w io.Writer) error {
	ew := &errWriter{w: w}
	groups := len(f.Groups)
	fmt.Fprintf(ew, "%s: %s, %s\n", f.Name, plural(len(f.Tasks), "task"), plural(groups, "group"))
	f.writeLevel(ew, "", 1)
	return ew.err
}

// writeLevel writes the children of group (empty: the top level).
func (f *File) writeLevel(w io.Writer, group string, depth int) {
	indent := strings.Repeat("  ", depth)
	order := f.order
	if len(order) != len(f.Tasks)+len(f.Groups) {
		// A File built by hand: tasks, then groups.
		order = nil
		for i := range f.Tasks {
			order = append(order, i)
		}
		for i := range f.Groups {
			order = append(order, -1-i)
		}
	}
	for _, i := range order {
		if i >= 0 {
			t := f.Tasks[i]
			if t.Group != group {
				continue
			}
			key := "-"
			if t.Key != "" {
				key = t.Key
			}
			auto := ""
			if t.Autostart {
				auto = ", autostart"
			}
			if len(t.After) > 0 {
				auto += ", after " + strings.Join(t.After, ", ")
			}
			fmt.Fprintf(w, "%s[%s] task %s: %s\n", indent, key, t.Name, runs(t))
			fmt.Fprintf(w, "%s      %s%s\n", indent, t.Policy(), auto)
			continue
		}
		g := f.Groups[-1-i]
		if g.Parent != group || g.Name == group {
			continue
		}
		fmt.Fprintf(w, "%sgroup %s: %s\n", indent, g.Name, groupPolicy(g))
		f.writeLevel(w, g.Name, depth+1)
	}
}

// runs says what a task runs.
func runs(t actors.TaskSpec) string {
	var b strings.Builder
	if t.Command != "" {
		b.WriteString("sh -c " + strconv.Quote(t.Command))
	} else {
		q := make([]string, len(t.Argv))
		for i, a := range t.Argv {
			q[i] = strconv.Quote(a)
		}
		b.WriteString("[" + strings.Join(q, " ") + "]")
	}
	if t.Dir != "" {
		b.WriteString(" in " + t.Dir)
	}
	return b.String()
}

// groupPolicy describes a group's strategy and limit as Policy does a task's.
func groupPolicy(g actors.GroupSpec) string {
	strategy := g.Strategy
	if strategy == "" {
		strategy = actors.OneForOne
	}
	max, window := g.MaxRestarts, g.RestartWindow
	if max == 0 {
		max = actors.DefaultMaxRestarts
	}
	if window == 0 {
		window = actors.DefaultRestartWindow
	}
	if max < 0 {
		return string(strategy) + ", no restart limit"
	}
	return fmt.Sprintf("%s, at most %d restarts in %s", strategy, max, window)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
