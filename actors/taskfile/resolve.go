package taskfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/taskvisor/taskvisor/actors"
)

// resolve checks what concerns more than one field or entry, then labels
// every problem with its entry.
func (l *loader) resolve() Errors {
	if len(l.problems) == 0 || len(l.tasks)+len(l.groups) > 0 {
		l.checkTasks()
		l.checkGroups()
	}
	errs := make(Errors, 0, len(l.problems))
	for _, p := range l.problems {
		if p.ent != nil {
			p.err.Entry = p.ent.label()
		}
		errs = append(errs, p.err)
	}
	return errs
}

// checkAfter checks that each task's after names a task of the file, and
// that no chain of them comes back to where it began.
func (l *loader) checkAfter(names map[string]*entry) {
	for _, e := range l.tasks {
		for i, a := range e.task.After {
			d, _ := actors.ParseDependency(a)
			if _, ok := names[d.Name]; !ok {
				hint := ""
				if near := nearest(d.Name, keysOfEntries(names)); near != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", near)
				}
				l.problem(e, e.afterAt[i], fmt.Sprintf("after[%d]", i), "%q is not the name of a task in this file%s", d.Name, hint)
			}
		}
	}
	// A walk along after from each task: a task met again on the walk's
	// own path closes a cycle, reported once, at the entry that closes it.
	state := map[*entry]int{} // 0 unseen, 1 on the path, 2 done
	var path []string
	var walk func(e *entry)
	walk = func(e *entry) {
		state[e] = 1
		path = append(path, e.task.Name)
		for i, a := range e.task.After {
			d, _ := actors.ParseDependency(a)
			next, ok := names[d.Name]
			if !ok {
				continue
			}
			switch state[next] {
			case 1:
				start := slices.Index(path, next.task.Name)
				cyc := append(slices.Clone(path[start:]), next.task.Name)
				l.problem(e, e.afterAt[i], fmt.Sprintf("after[%d]", i), "%q closes a dependency cycle: %s", a, strings.Join(cyc, " -> "))
			case 0:
				walk(next)
			}
		}
		path = path[:len(path)-1]
		state[e] = 2
	}
	for _, e := range l.tasks {
		if state[e] == 0 {
			walk(e)
		}
	}
}

func keysOfEntries(m map[string]*entry) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (l *loader) checkTasks() {
	names := map[string]*entry{}
	keys := map[string]*entry{}
	for _, e := range l.tasks {
		t := &e.task
		if _, seen := e.seen["name"]; !seen {
			l.problem(e, e.at, "name", `missing; every task needs one (like name = "web")`)
		}
		_, cmdSeen := e.seen["command"]
		_, argvSeen := e.seen["argv"]
		switch {
		case !cmdSeen && !argvSeen:
			l.problem(e, e.at, "command or argv", `one of the two is required (like command = "make test" or argv = ["make", "test"])`)
		case cmdSeen && argvSeen && t.Command != "" && len(t.Argv) > 0:
			l.problem(e, e.argvAt, "argv", "only one of command and argv may be set (command is set at line %d)", e.commandAt.line)
		}
		if b := t.Backoff; b.Initial > 0 && b.Max > 0 && b.Max < b.Initial {
			l.problem(e, e.backoffMaxAt, "backoff.max", "%s is less than backoff.initial, %s", b.Max, b.Initial)
		}
		if l.opts.CheckPaths {
			l.checkPaths(e)
		}
		if e.hasName {
			if first, dup := names[t.Name]; dup {
				l.problem(e, e.nameAt, "name", "%q is also the name of the task at line %d", t.Name, first.at.line)
			} else {
				names[t.Name] = e
			}
		}
		if t.Key != "" {
			if first, dup := keys[t.Key]; dup {
				l.problem(e, e.keyAt, "key", "%q is also the key of %s (line %d)", t.Key, first.label(), first.keyAt.line)
			} else {
				keys[t.Key] = e
			}
		}
	}
	l.checkAfter(names)
}

func (l *loader) checkGroups() {
	byName := map[string]*entry{}
	for _, e := range l.groups {
		if _, seen := e.seen["name"]; !seen {
			l.problem(e, e.at, "name", `missing; every group needs one (like name = "pipeline")`)
		}
		if !e.hasName {
			continue
		}
		if first, dup := byName[e.group.Name]; dup {
			l.problem(e, e.nameAt, "name", "%q is also the name of the group at line %d", e.group.Name, first.at.line)
			continue
		}
		byName[e.group.Name] = e
	}
	known := func() string {
		if len(byName) == 0 {
			return "no [[group]] is defined"
		}
		var names []string
		for _, g := range l.groups {
			if g.hasName && byName[g.group.Name] == g {
				names = append(names, g.group.Name)
			}
		}
		return "defined: " + strings.Join(names, ", ")
	}
	for _, e := range l.groups {
		if p := e.group.Parent; p != "" && byName[p] == nil {
			l.problem(e, e.parentAt, "parent", "%q is not a group defined in this file (%s)", p, known())
		}
	}
	inCycle := map[*entry]bool{}
	for _, e := range l.groups {
		if inCycle[e] || e.group.Parent == "" {
			continue
		}
		path := []*entry{e}
		seen := map[*entry]bool{e: true}
		for g := byName[e.group.Parent]; g != nil; g = byName[g.group.Parent] {
			if g == e {
				chain := make([]string, 0, len(path)+1)
				for _, m := range path {
					chain = append(chain, m.group.Name)
					inCycle[m] = true
				}
				chain = append(chain, e.group.Name)
				l.problem(e, e.parentAt, "parent", "%q makes a cycle of parents: %s", e.group.Parent, strings.Join(chain, " -> "))
				break
			}
			if seen[g] || g.group.Parent == "" {
				break
			}
			seen[g] = true
			path = append(path, g)
		}
	}
	for _, e := range l.tasks {
		if g := e.task.Group; g != "" && byName[g] == nil {
			l.problem(e, e.groupAt, "group", "%q is not a group defined in this file (%s)", g, known())
		}
	}
}

// checkPaths checks that the task's dir exists and that its argv[0] can be
// run, as a start would find out (Options.CheckPaths).
func (l *loader) checkPaths(e *entry) {
	t := &e.task
	if t.Dir != "" {
		switch st, err := os.Stat(t.Dir); {
		case errors.Is(err, fs.ErrNotExist):
			l.problem(e, e.dirAt, "dir", "%q does not exist", t.Dir)
		case err != nil:
			l.problem(e, e.dirAt, "dir", "%v", err)
		case !st.IsDir():
			l.problem(e, e.dirAt, "dir", "%q is not a directory", t.Dir)
		}
	}
	if len(t.Argv) == 0 || t.Argv[0] == SelfArg || (l.opts.Self != "" && t.Argv[0] == l.opts.Self) {
		return
	}
	prog := t.Argv[0]
	if strings.ContainsRune(prog, '/') && !strings.HasPrefix(prog, "/") && t.Dir != "" {
		prog = t.Dir + "/" + prog // a relative path runs from the task's dir
	}
	if _, err := exec.LookPath(prog); err != nil {
		if strings.ContainsRune(t.Argv[0], '/') {
			l.problem(e, e.argvAt, "argv[0]", "%q cannot be run: %v", t.Argv[0], err)
		} else {
			l.problem(e, e.argvAt, "argv[0]", "%q is not found in PATH (give its full path, or use command = \"...\" for a shell command)", t.Argv[0])
		}
	}
}
