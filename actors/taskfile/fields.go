package taskfile

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/actors"
)

// field is one key of a table of the task file. The tables below
// (taskFields, backoffFields, groupFields) are the decoder's one list of
// keys: a key is decoded by its set, an unknown key is named against them,
// and docs/taskfile.md's tables list the same keys in the same order with
// the same defaults (TestDocsTablesMatchTheDecoder).
type field struct {
	key string
	// doc is the default as docs/taskfile.md's table writes it, made from
	// the actors.Default* constants; empty where the docs say it in words.
	doc string
	// set decodes the value into the entry; nil for a key that is a table
	// of its own (env, backoff), decoded by its own function.
	set func(l *loader, e *entry, name string, v value)
}

// taskFields are the keys of a [[task]] table.
var taskFields = []field{
	{key: "name", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.str(e, name, v); ok && l.checkName(e, name, v, s) {
			e.task.Name, e.hasName, e.nameAt = s, true, v.at
		}
	}},
	{key: "key", set: (*loader).taskKey},
	{key: "description", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.str(e, name, v); ok {
			e.task.Description = s
		}
	}},
	{key: "command", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.str(e, name, v); ok {
			if strings.TrimSpace(s) == "" {
				l.problem(e, v.at, name, "must not be empty")
				return
			}
			e.task.Command, e.commandAt = s, v.at
		}
	}},
	{key: "argv", set: (*loader).argv},
	{key: "dir", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.nonEmpty(e, name, v, "leave it out to run in taskvisor's working directory"); ok {
			if !filepath.IsAbs(s) && l.opts.BaseDir != "" {
				s = filepath.Join(l.opts.BaseDir, s)
			}
			e.task.Dir, e.dirAt = s, v.at
		}
	}},
	{key: "env"},
	{key: "group", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.nonEmpty(e, name, v, "leave it out for the top level"); ok {
			e.task.Group, e.groupAt = s, v.at
		}
	}},
	{key: "stop_signal", doc: quoted(unix.SignalName(actors.DefaultStopSignal)), set: func(l *loader, e *entry, name string, v value) {
		e.task.StopSignal = l.signal(e, name, v)
	}},
	durationField("stop_grace", actors.DefaultStopGrace, func(e *entry) *time.Duration { return &e.task.StopGrace }),
	{key: "output_lines", doc: code(actors.DefaultOutputLines), set: func(l *loader, e *entry, name string, v value) {
		if n, ok := l.integer(e, name, v, 1, 10_000_000, fmt.Sprint(actors.DefaultOutputLines)); ok {
			e.task.OutputLines = n
		}
	}},
	enumField("restart", func(e *entry) *actors.RestartMode { return &e.task.Restart },
		actors.RestartNever, actors.RestartOnFailure, actors.RestartAlways),
	{key: "backoff"},
	{key: "max_restarts", doc: code(actors.DefaultMaxRestarts), set: func(l *loader, e *entry, name string, v value) {
		e.task.MaxRestarts = l.maxRestarts(e, name, v)
	}},
	durationField("restart_window", actors.DefaultRestartWindow, func(e *entry) *time.Duration { return &e.task.RestartWindow }),
	durationField("stall_timeout", 0, func(e *entry) *time.Duration { return &e.task.StallTimeout }),
	enumField("stall_action", func(e *entry) *actors.StallAction { return &e.task.StallAction },
		actors.StallWarn, actors.StallCancel, actors.StallKill, actors.StallRestart),
	{key: "stall_grace", doc: quoted(durationText(actors.DefaultStallGrace)), set: func(l *loader, e *entry, name string, v value) {
		// "0s" is allowed and means none: the action comes with the stall.
		if d := l.duration(e, name, v, ""); d > 0 {
			e.task.StallGrace = d
		} else if v.n.Kind == unstable.String && string(v.n.Data) != "" {
			if d, err := time.ParseDuration(string(v.n.Data)); err == nil && d == 0 {
				e.task.StallGrace = actors.NoStallGrace
			}
		}
	}},
	durationField("timeout", 0, func(e *entry) *time.Duration { return &e.task.Timeout }),
	enumField("timeout_action", func(e *entry) *actors.TimeoutAction { return &e.task.TimeoutAction },
		actors.TimeoutCancel, actors.TimeoutKill, actors.TimeoutRestart),
	{key: "after", doc: "none", set: (*loader).after},
	{key: "memory_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		e.task.MemoryMax = l.size(e, name, v)
	}},
	{key: "cpu_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		e.task.CPUMax = l.cores(e, name, v)
	}},
	{key: "pids_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		if n, ok := l.integer(e, name, v, 1, math.MaxInt32, "no limit"); ok {
			e.task.PidsMax = n
		}
	}},
	{key: "limits", doc: quoted("strict"), set: func(l *loader, e *entry, name string, v value) {
		e.task.LimitsBestEffort = l.enum(e, name, v, "strict", "best-effort") == "best-effort"
	}},
	{key: "memory_restart", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		e.task.MemoryRestart = l.size(e, name, v)
	}},
	{key: "activity", doc: "see below", set: func(l *loader, e *entry, name string, v value) {
		e.task.Activity = actors.ActivityMode(l.enum(e, name, v, string(actors.ActivityNotify), string(actors.ActivityOutput), string(actors.ActivityBoth)))
	}},
	enumField("ready", func(e *entry) *actors.ReadyMode { return &e.task.Ready }, actors.ReadyStarted, actors.ReadyNotify),
	durationField("start_timeout", actors.DefaultStartTimeout, func(e *entry) *time.Duration { return &e.task.StartTimeout }),
	{key: "autostart", doc: "`false`", set: func(l *loader, e *entry, name string, v value) {
		if v.n.Kind != unstable.Bool {
			l.typeProblem(e, name, v, "a boolean (true or false)")
			return
		}
		e.task.Autostart = string(v.n.Data) == "true"
	}},
}

// backoffFields are the keys of a task's backoff table.
var backoffFields = []field{
	durationField("initial", actors.DefaultBackoffInitial, func(e *entry) *time.Duration { return &e.task.Backoff.Initial }),
	{key: "factor", doc: code(actors.DefaultBackoffFactor), set: func(l *loader, e *entry, name string, v value) {
		if f, ok := l.float(e, name, v); ok {
			if f < 1 || math.IsInf(f, 0) {
				l.problem(e, v.at, name, "expected a number of at least 1 (the delay is multiplied by it), got %v", f)
				return
			}
			e.task.Backoff.Factor = f
		}
	}},
	{key: "max", doc: quoted(durationText(actors.DefaultBackoffMax)), set: func(l *loader, e *entry, name string, v value) {
		e.task.Backoff.Max, e.backoffMaxAt = l.duration(e, name, v, durationText(actors.DefaultBackoffMax)), v.at
	}},
	{key: "jitter", doc: "`0`", set: func(l *loader, e *entry, name string, v value) {
		if f, ok := l.float(e, name, v); ok {
			if f < 0 || f > 1 {
				l.problem(e, v.at, name, "expected a fraction from 0 to 1 (like 0.1), got %v", f)
				return
			}
			e.task.Backoff.Jitter = f
		}
	}},
	durationField("reset_after", actors.DefaultBackoffResetAfter, func(e *entry) *time.Duration { return &e.task.Backoff.ResetAfter }),
}

// groupFields are the keys of a [[group]] table.
var groupFields = []field{
	{key: "name", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.str(e, name, v); ok && l.checkName(e, name, v, s) {
			e.group.Name, e.hasName, e.nameAt = s, true, v.at
		}
	}},
	{key: "parent", set: func(l *loader, e *entry, name string, v value) {
		if s, ok := l.nonEmpty(e, name, v, "leave it out for the top level"); ok {
			e.group.Parent, e.parentAt = s, v.at
		}
	}},
	enumField("strategy", func(e *entry) *actors.Strategy { return &e.group.Strategy },
		actors.OneForOne, actors.OneForAll, actors.RestForOne),
	{key: "max_restarts", doc: code(actors.DefaultMaxRestarts), set: func(l *loader, e *entry, name string, v value) {
		e.group.MaxRestarts = l.maxRestarts(e, name, v)
	}},
	durationField("restart_window", actors.DefaultRestartWindow, func(e *entry) *time.Duration { return &e.group.RestartWindow }),
	{key: "max_parallel", set: func(l *loader, e *entry, name string, v value) {
		if n, ok := l.integer(e, name, v, 1, math.MaxInt32, "no limit"); ok {
			e.group.MaxParallel = n
		}
	}},
	{key: "memory_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		e.group.MemoryMax = l.size(e, name, v)
	}},
	{key: "cpu_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		e.group.CPUMax = l.cores(e, name, v)
	}},
	{key: "pids_max", doc: "none", set: func(l *loader, e *entry, name string, v value) {
		if n, ok := l.integer(e, name, v, 1, math.MaxInt32, "no limit"); ok {
			e.group.PidsMax = n
		}
	}},
}

// durationField is a duration key whose zero would quietly mean def (a
// zero def: zero means none, which is allowed).
func durationField(key string, def time.Duration, at func(*entry) *time.Duration) field {
	f := field{key: key, set: func(l *loader, e *entry, name string, v value) {
		*at(e) = l.duration(e, name, v, durationText(def))
	}}
	if def > 0 {
		f.doc = quoted(durationText(def))
	}
	return f
}

// enumField is a key with one of allowed as its value; the first is the
// default.
func enumField[T ~string](key string, at func(*entry) *T, allowed ...T) field {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return field{key: key, doc: quoted(names[0]), set: func(l *loader, e *entry, name string, v value) {
		*at(e) = T(l.enum(e, name, v, names...))
	}}
}

// taskKey reads a task's key: a string "1" to "9".
func (l *loader) taskKey(e *entry, name string, v value) {
	if v.n.Kind == unstable.Integer {
		l.problem(e, v.at, name, "expected a string \"1\" to \"9\", got integer %s (write key = \"%s\")", v.n.Data, v.n.Data)
		return
	}
	if s, ok := l.str(e, name, v); ok {
		if len(s) != 1 || s[0] < '1' || s[0] > '9' {
			l.problem(e, v.at, name, "expected one of \"1\" to \"9\", got %q", s)
			return
		}
		e.task.Key, e.keyAt = s, v.at
	}
}

// nonEmpty reads a string that must not be empty; hint says what to do
// instead.
func (l *loader) nonEmpty(e *entry, name string, v value, hint string) (string, bool) {
	s, ok := l.str(e, name, v)
	if !ok {
		return "", false
	}
	if s == "" {
		l.problem(e, v.at, name, "must not be empty (%s)", hint)
		return "", false
	}
	return s, true
}

// durationText writes a default duration as the docs and messages do:
// "500ms", "5s", "90s" (not "1m30s").
func durationText(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// quoted is a string value as the docs' tables write it: `"5s"`.
func quoted(s string) string { return "`\"" + s + "\"`" }

// code is a number as the docs' tables write it: `1000`.
func code(v any) string { return fmt.Sprintf("`%v`", v) }

// keysOf lists the keys of fields, in order.
func keysOf(fields []field) []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// set decodes the key name of fields, or reports it unknown.
func (l *loader) set(fields []field, e *entry, name string, keyAt pos, v value, known []string) {
	for _, f := range fields {
		if f.key == name && f.set != nil {
			f.set(l, e, name, v)
			return
		}
	}
	l.unknownKey(e, keyAt, name, known)
}
