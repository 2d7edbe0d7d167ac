package taskfile

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/actors"
)

// The loader reads the file twice: go-toml's Unmarshal checks that it is
// valid TOML (syntax, duplicate keys, redefined tables) and reports the first
// problem with its position; then go-toml's AST parser, which keeps the byte
// range of every key and value, is walked to fill the specs field by field,
// so that each problem has a position and all of them are reported.

// pos is a place in the file.
type pos struct{ line, col int }

// entry is one [[task]] or [[group]] table being filled.
type entry struct {
	isGroup bool
	index   int // among tasks or among groups
	at      pos // of the table header
	task    actors.TaskSpec
	group   actors.GroupSpec
	seen    map[string]pos // field path -> where it was set
	// where some values were, for the checks across fields and entries
	nameAt, keyAt, groupAt, parentAt, argvAt, commandAt, backoffMaxAt, dirAt pos
	hasName                                                                  bool
	afterAt                                                                  []pos // of each entry of after
}

// label names the entry in errors.
func (e *entry) label() string {
	switch {
	case e.isGroup && e.hasName:
		return fmt.Sprintf("group %q", e.group.Name)
	case e.isGroup:
		return fmt.Sprintf("group #%d", e.index+1)
	case e.hasName:
		return fmt.Sprintf("task %q", e.task.Name)
	default:
		return fmt.Sprintf("task #%d", e.index+1)
	}
}

// problem is an Error whose entry label is filled in once the entry is
// complete (its name may come after the problem).
type problem struct {
	ent *entry
	err *Error
}

type loader struct {
	name       string
	data       []byte
	opts       Options
	p          unstable.Parser
	lineStarts []int
	tasks      []*entry
	groups     []*entry
	order      []int
	problems   []problem
}

func newLoader(name string, data []byte, opts Options) *loader {
	l := &loader{name: name, data: data, opts: opts, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			l.lineStarts = append(l.lineStarts, i+1)
		}
	}
	return l
}

// at converts a byte offset into a position.
func (l *loader) at(offset int) pos {
	offset = max(0, min(offset, len(l.data)))
	line := sort.Search(len(l.lineStarts), func(i int) bool { return l.lineStarts[i] > offset })
	return pos{line: line, col: offset - l.lineStarts[line-1] + 1}
}

func (l *loader) problem(ent *entry, at pos, field, format string, args ...any) {
	l.problems = append(l.problems, problem{ent: ent, err: &Error{
		File: l.name, Line: at.line, Column: at.col, Field: field, Msg: fmt.Sprintf(format, args...),
	}})
}

// load fills tasks and groups, recording problems.
func (l *loader) load() {
	var doc any
	if err := toml.Unmarshal(l.data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			l.problem(nil, pos{line, col}, "", "invalid TOML: %s", strings.TrimPrefix(de.Error(), "toml: "))
		} else {
			l.problem(nil, pos{}, "", "invalid TOML: %s", strings.TrimPrefix(err.Error(), "toml: "))
		}
		return
	}
	l.p.Reset(l.data)
	var (
		cur    *entry   // the table keys go to; nil at the top or in a bad table
		prefix []string // the path of a [task.backoff] or [task.env] table
		skip   bool     // inside a table already reported as wrong
	)
	for l.p.NextExpression() {
		expr := l.p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, keyAt := l.keyParts(expr.Key())
			cur, prefix, skip = l.header(expr.Kind == unstable.ArrayTable, keys, keyAt)
		case unstable.KeyValue:
			keys, keyAt := l.keyParts(expr.Key())
			switch {
			case skip:
			case cur == nil:
				l.problem(nil, keyAt[0], "", "unknown key %q at the top level; tasks are [[task]] tables and groups [[group]] tables", strings.Join(keys, "."))
			default:
				l.assign(cur, append(slices.Clone(prefix), keys...), keyAt[0], expr)
			}
		}
	}
	if err := l.p.Error(); err != nil {
		// Unmarshal accepted the file, so the parser should too.
		l.problem(nil, pos{}, "", "invalid TOML: %v", err)
	}
	if len(l.tasks) == 0 && len(l.problems) == 0 {
		l.problem(nil, pos{}, "", "no tasks: a task file defines at least one [[task]]")
	}
}

// keyParts returns the parts of a dotted key and the position of each.
func (l *loader) keyParts(it unstable.Iterator) ([]string, []pos) {
	var keys []string
	var at []pos
	for it.Next() {
		n := it.Node()
		keys = append(keys, string(n.Data))
		at = append(at, l.at(int(n.Raw.Offset)))
	}
	if len(keys) == 0 {
		keys, at = []string{""}, []pos{{}}
	}
	return keys, at
}

// header handles a [table] or [[array table]] line: it returns the entry
// that the following keys fill, their path prefix inside it, and whether
// they are to be skipped.
func (l *loader) header(array bool, keys []string, keyAt []pos) (*entry, []string, bool) {
	shown := "[" + strings.Join(keys, ".") + "]"
	if array {
		shown = "[" + shown + "]"
	}
	switch {
	case array && len(keys) == 1 && (keys[0] == "task" || keys[0] == "group"):
		e := &entry{isGroup: keys[0] == "group", at: l.headerStart(keyAt[0]), seen: map[string]pos{}}
		if e.isGroup {
			e.index = len(l.groups)
			l.groups = append(l.groups, e)
			l.order = append(l.order, -1-e.index)
		} else {
			e.index = len(l.tasks)
			l.tasks = append(l.tasks, e)
			l.order = append(l.order, e.index)
		}
		return e, nil, false
	case !array && len(keys) == 2 && keys[0] == "task" && (keys[1] == "backoff" || keys[1] == "env") && len(l.tasks) > 0:
		e := l.tasks[len(l.tasks)-1]
		if where, dup := e.seen[keys[1]]; dup {
			l.problem(e, keyAt[1], keys[1], "set twice (first at line %d)", where.line)
			return nil, nil, true
		}
		e.seen[keys[1]] = keyAt[1]
		return e, keys[1:], false
	case len(keys) == 1 && (keys[0] == "task" || keys[0] == "group"):
		l.problem(nil, l.headerStart(keyAt[0]), "", "%s: each %s is an array table: write [[%s]]", shown, keys[0], keys[0])
	case len(keys) > 1 && keys[0] == "task" && len(l.tasks) > 0:
		l.problem(l.tasks[len(l.tasks)-1], keyAt[1], "", "unknown table %s; a task has the tables [task.backoff] and [task.env]", shown)
	case len(keys) > 1 && keys[0] == "group" && len(l.groups) > 0:
		l.problem(l.groups[len(l.groups)-1], keyAt[1], "", "unknown table %s; a group has no tables", shown)
	case len(keys) > 1 && (keys[0] == "task" || keys[0] == "group"):
		l.problem(nil, l.headerStart(keyAt[0]), "", "%s comes before any [[%s]] it could belong to", shown, keys[0])
	default:
		l.problem(nil, l.headerStart(keyAt[0]), "", "unknown table %s; expected [[task]] or [[group]]", shown)
	}
	return nil, nil, true
}

// headerStart returns where the header whose first key is at key starts:
// at its first '['.
func (l *loader) headerStart(key pos) pos {
	if key.line < 1 || key.line > len(l.lineStarts) {
		return key
	}
	start := l.lineStarts[key.line-1]
	end := min(start+key.col-1, len(l.data))
	before := string(l.data[start:end])
	return pos{line: key.line, col: len(before) - len(strings.TrimLeft(before, " \t")) + 1}
}

// value is a TOML value with where it starts.
type value struct {
	n  *unstable.Node
	at pos
}

// valueOf returns the value of a key-value node and its position. go-toml
// gives arrays no byte range, so theirs is found after the key's '='.
func (l *loader) valueOf(kv *unstable.Node) value {
	v := kv.Value()
	if v.Raw.Length > 0 || v.Kind != unstable.Array {
		return value{n: v, at: l.at(int(v.Raw.Offset))}
	}
	var last *unstable.Node
	for it := kv.Key(); it.Next(); {
		last = it.Node()
	}
	off := len(l.data)
	if last != nil {
		off = int(last.Raw.Offset + last.Raw.Length)
	}
	for off < len(l.data) && (l.data[off] == ' ' || l.data[off] == '\t' || l.data[off] == '=' || l.data[off] == '"' || l.data[off] == '\'') {
		if l.data[off] == '=' {
			off++
			for off < len(l.data) && (l.data[off] == ' ' || l.data[off] == '\t') {
				off++
			}
			break
		}
		off++
	}
	return value{n: v, at: l.at(off)}
}

// assign sets the field at path in e from the key-value node kv; keyAt is
// where the key starts.
func (l *loader) assign(e *entry, path []string, keyAt pos, kv *unstable.Node) {
	v := l.valueOf(kv)
	field := strings.Join(path, ".")
	// A table value for backoff or env is taken apart into its keys.
	if v.n.Kind == unstable.InlineTable && len(path) == 1 && !e.isGroup && (path[0] == "backoff" || path[0] == "env") {
		if where, dup := e.seen[field]; dup {
			l.problem(e, keyAt, field, "set twice (first at line %d)", where.line)
			return
		}
		e.seen[field] = keyAt
		for it := v.n.Children(); it.Next(); {
			child := it.Node()
			if child.Kind != unstable.KeyValue {
				continue
			}
			keys, at := l.keyParts(child.Key())
			l.assign(e, append(slices.Clone(path), keys...), at[0], child)
		}
		return
	}
	if where, dup := e.seen[field]; dup {
		l.problem(e, keyAt, field, "set twice (first at line %d)", where.line)
		return
	}
	e.seen[field] = keyAt
	if e.isGroup {
		l.groupField(e, path, field, keyAt, v)
	} else {
		l.taskField(e, path, field, keyAt, v)
	}
}

// The keys of each table, for the unknown-key hints.
var (
	taskKeys    = keysOf(taskFields)
	backoffKeys = prefixed("backoff.", keysOf(backoffFields))
	groupKeys   = keysOf(groupFields)
)

func (l *loader) taskField(e *entry, path []string, field string, keyAt pos, v value) {
	switch path[0] {
	case "env":
		l.envField(e, path, field, keyAt, v)
		return
	case "backoff":
		l.backoffField(e, path, field, keyAt, v)
		return
	}
	if len(path) > 1 {
		l.unknownKey(e, keyAt, field, taskKeys)
		return
	}
	l.set(taskFields, e, field, keyAt, v, taskKeys)
}

func (l *loader) envField(e *entry, path []string, field string, keyAt pos, v value) {
	if len(path) == 1 {
		l.typeProblem(e, field, v, `a table of strings (like env = { PORT = "8080" })`)
		return
	}
	if len(path) > 2 {
		l.problem(e, keyAt, field, "an environment variable's value is a string, not a table")
		return
	}
	name := path[1]
	if name == "" || strings.ContainsAny(name, "=\x00") {
		l.problem(e, keyAt, field, "%q is not a valid environment variable name", name)
		return
	}
	s, ok := l.str(e, field, v)
	if !ok {
		return
	}
	if strings.ContainsRune(s, 0) {
		l.problem(e, v.at, field, "the value must not contain a NUL byte")
		return
	}
	if e.task.Env == nil {
		e.task.Env = map[string]string{}
	}
	e.task.Env[name] = s
}

func (l *loader) backoffField(e *entry, path []string, field string, keyAt pos, v value) {
	if len(path) == 1 {
		l.typeProblem(e, field, v, `a table (like backoff = { initial = "1s", max = "1m" })`)
		return
	}
	if len(path) > 2 {
		l.unknownKey(e, keyAt, field, nil)
		return
	}
	for _, f := range backoffFields {
		if f.key == path[1] {
			f.set(l, e, field, v)
			return
		}
	}
	l.unknownKey(e, keyAt, field, backoffKeys)
}

func (l *loader) groupField(e *entry, path []string, field string, keyAt pos, v value) {
	if len(path) > 1 {
		l.unknownKey(e, keyAt, field, groupKeys)
		return
	}
	l.set(groupFields, e, field, keyAt, v, groupKeys)
}

// checkName requires a name to be a word: it is typed in commands
// ("start web").
func (l *loader) checkName(e *entry, field string, v value, s string) bool {
	switch {
	case s == "":
		l.problem(e, v.at, field, "must not be empty")
		return false
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		l.problem(e, v.at, field, "%q contains a space or control character; a name is one word (like \"web\" or \"db-migrate\")", s)
		return false
	}
	return true
}

func (l *loader) argv(e *entry, field string, v value) {
	if v.n.Kind != unstable.Array {
		l.typeProblem(e, field, v, `an array of strings (like ["server", "--port", "8080"])`)
		return
	}
	var argv []string
	ok := true
	i := 0
	for it := v.n.Children(); it.Next(); i++ {
		n := it.Node()
		if n.Kind == unstable.Comment {
			i--
			continue
		}
		ev := value{n: n, at: l.at(int(n.Raw.Offset))}
		if n.Kind == unstable.Array {
			ev.at = v.at
		}
		s, good := l.str(e, fmt.Sprintf("%s[%d]", field, i), ev)
		if !good {
			ok = false
			continue
		}
		if strings.ContainsRune(s, 0) {
			l.problem(e, ev.at, fmt.Sprintf("%s[%d]", field, i), "must not contain a NUL byte")
			ok = false
			continue
		}
		argv = append(argv, s)
	}
	if !ok {
		return
	}
	if len(argv) == 0 {
		l.problem(e, v.at, field, "must not be empty: argv[0] is the program to run")
		return
	}
	if argv[0] == "" {
		l.problem(e, v.at, field+"[0]", "the program to run must not be empty")
		return
	}
	if argv[0] == SelfArg {
		if l.opts.Self == "" {
			l.problem(e, v.at, field+"[0]", "%q stands for the taskvisor executable, which is not known here", SelfArg)
			return
		}
		argv[0] = l.opts.Self
	}
	e.task.Argv, e.argvAt = argv, v.at
}

// after reads a task's dependencies: an array of "name" or
// "name:condition"; the names are checked against the file's tasks once
// all are read (checkAfter).
func (l *loader) after(e *entry, field string, v value) {
	if v.n.Kind != unstable.Array {
		l.typeProblem(e, field, v, `an array of task names (like ["fetch", "build:started"])`)
		return
	}
	i := 0
	for it := v.n.Children(); it.Next(); i++ {
		n := it.Node()
		if n.Kind == unstable.Comment {
			i--
			continue
		}
		ev := value{n: n, at: l.at(int(n.Raw.Offset))}
		name := fmt.Sprintf("%s[%d]", field, i)
		s, ok := l.str(e, name, ev)
		if !ok {
			continue
		}
		d, err := actors.ParseDependency(s)
		switch {
		case err != nil:
			l.problem(e, ev.at, name, "%v", err)
		case d.ID > 0:
			l.problem(e, ev.at, name, "%q: a task file names tasks; an id (%d) is for tasks started by hand", s, d.ID)
		default:
			e.task.After = append(e.task.After, s)
			e.afterAt = append(e.afterAt, ev.at)
		}
	}
}

// str returns a string value, or reports what else it is.
func (l *loader) str(e *entry, field string, v value) (string, bool) {
	if v.n.Kind != unstable.String {
		l.typeProblem(e, field, v, "a string")
		return "", false
	}
	return string(v.n.Data), true
}

// duration parses a Go duration string. def is the default that a zero
// would silently mean; empty when zero means "none", which is allowed.
func (l *loader) duration(e *entry, field string, v value, def string) time.Duration {
	const like = `(like "10s" or "1m30s")`
	if v.n.Kind != unstable.String {
		l.typeProblem(e, field, v, "a duration string "+like)
		return 0
	}
	s := string(v.n.Data)
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		l.problem(e, v.at, field, "%q is not a duration %s", s, like)
	case d < 0:
		l.problem(e, v.at, field, "%q is negative; expected a duration of 0s or more", s)
	case d == 0 && def != "":
		l.problem(e, v.at, field, "%q: expected a duration of more than 0 (leave %s out for the default, %s)", s, field, def)
	default:
		return d
	}
	return 0
}

// integer returns an integer value within [lo, hi]; def is the default that
// a zero would mean, for the message.
func (l *loader) integer(e *entry, field string, v value, lo, hi int64, def string) (int, bool) {
	if v.n.Kind != unstable.Integer {
		l.typeProblem(e, field, v, "an integer")
		return 0, false
	}
	n, err := strconv.ParseInt(string(v.n.Data), 0, 64)
	if err != nil {
		l.problem(e, v.at, field, "%s is not an integer from %d to %d", v.n.Data, lo, hi)
		return 0, false
	}
	if n < lo || n > hi {
		extra := ""
		if n == 0 && def != "" {
			extra = fmt.Sprintf(" (leave %s out for the default, %s)", field, def)
		}
		l.problem(e, v.at, field, "expected an integer from %d to %d, got %d%s", lo, hi, n, extra)
		return 0, false
	}
	return int(n), true
}

// maxRestarts reads a restart limit: a positive count, or -1 for none.
func (l *loader) maxRestarts(e *entry, field string, v value) int {
	if v.n.Kind != unstable.Integer {
		l.typeProblem(e, field, v, "an integer (a count of 1 or more, or -1 for no limit)")
		return 0
	}
	n, err := strconv.ParseInt(string(v.n.Data), 0, 64)
	switch {
	case err != nil || n < -1 || n > math.MaxInt32:
		l.problem(e, v.at, field, "expected a count of 1 or more, or -1 for no limit, got %s", v.n.Data)
	case n == 0:
		l.problem(e, v.at, field, "0 is not allowed: it would mean the default, 5 (for no restarts at all, a task says restart = \"never\")")
	default:
		return int(n)
	}
	return 0
}

func (l *loader) float(e *entry, field string, v value) (float64, bool) {
	var f float64
	var err error
	switch v.n.Kind {
	case unstable.Float:
		f, err = strconv.ParseFloat(strings.ReplaceAll(string(v.n.Data), "_", ""), 64)
	case unstable.Integer:
		var n int64
		n, err = strconv.ParseInt(string(v.n.Data), 0, 64)
		f = float64(n)
	default:
		l.typeProblem(e, field, v, "a number")
		return 0, false
	}
	if err != nil || math.IsNaN(f) {
		l.problem(e, v.at, field, "%s is not a usable number", v.n.Data)
		return 0, false
	}
	return f, true
}

// enum returns a string value that must be one of allowed.
func (l *loader) enum(e *entry, field string, v value, allowed ...string) string {
	s, ok := l.str(e, field, v)
	if !ok {
		return ""
	}
	if !slices.Contains(allowed, s) {
		l.problem(e, v.at, field, "expected one of %s, got %q", quoteList(allowed), s)
		return ""
	}
	return s
}

// signal reads a signal: a name with or without SIG ("SIGTERM", "TERM"), in
// any case, or its number.
func (l *loader) signal(e *entry, field string, v value) unix.Signal {
	var sig unix.Signal
	switch v.n.Kind {
	case unstable.String:
		name := strings.ToUpper(strings.TrimSpace(string(v.n.Data)))
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		sig = unix.SignalNum(name)
		if sig == 0 {
			l.problem(e, v.at, field, "%q is not a signal (like \"SIGTERM\", \"INT\" or 15)", v.n.Data)
			return 0
		}
	case unstable.Integer:
		n, err := strconv.ParseInt(string(v.n.Data), 0, 64)
		if err != nil || n < 1 || n > 64 || unix.SignalName(unix.Signal(n)) == "" {
			l.problem(e, v.at, field, "%s is not the number of a signal with a name (like 15 for SIGTERM)", v.n.Data)
			return 0
		}
		sig = unix.Signal(n)
	default:
		l.typeProblem(e, field, v, `a signal name or number (like "SIGTERM", "INT" or 15)`)
		return 0
	}
	if sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU || sig == unix.SIGCONT {
		l.problem(e, v.at, field, "%s pauses or resumes a process, it does not stop it", unix.SignalName(sig))
		return 0
	}
	return sig
}

// typeProblem reports a value of the wrong TOML type.
func (l *loader) typeProblem(e *entry, field string, v value, want string) {
	l.problem(e, v.at, field, "expected %s, got %s", want, describe(v.n))
}

// unknownKey reports a key no table has, with the nearest known key.
func (l *loader) unknownKey(e *entry, at pos, field string, known []string) {
	if near := nearest(field, known); near != "" {
		l.problem(e, at, "", "unknown key %q (did you mean %q?)", field, near)
		return
	}
	l.problem(e, at, "", "unknown key %q", field)
}

// describe says what a value is, for messages: `integer 10`, `string "x"`.
func describe(n *unstable.Node) string {
	raw := string(n.Data)
	if len(raw) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = raw[:cut] + "…"
	}
	switch n.Kind {
	case unstable.String:
		return fmt.Sprintf("string %q", raw)
	case unstable.Integer:
		return "integer " + raw
	case unstable.Float:
		return "float " + raw
	case unstable.Bool:
		return "boolean " + raw
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "a table"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "date/time " + raw
	}
	return "a " + strings.ToLower(n.Kind.String())
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func prefixed(p string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p + k
	}
	return out
}

// nearest returns the known key closest to s, if it is a likely typo.
func nearest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, capped for long input.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// size reads a size in bytes: "512MiB", "1.5GiB", "300KiB", or a plain
// integer of bytes.
func (l *loader) size(e *entry, field string, v value) uint64 {
	const like = `(like "512MiB", "2GiB", "300KiB", or a number of bytes)`
	switch v.n.Kind {
	case unstable.Integer:
		n, err := strconv.ParseInt(string(v.n.Data), 0, 64)
		if err != nil || n <= 0 {
			l.problem(e, v.at, field, "expected a size above 0 %s, got %s", like, v.n.Data)
			return 0
		}
		return uint64(n)
	case unstable.String:
	default:
		l.typeProblem(e, field, v, "a size "+like)
		return 0
	}
	s := string(v.n.Data)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}} {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || f*u.mult > math.MaxInt64 {
			break
		}
		return uint64(f * u.mult)
	}
	hint := ""
	if strings.HasSuffix(s, "B") || strings.HasSuffix(s, "M") || strings.HasSuffix(s, "G") || strings.HasSuffix(s, "K") {
		hint = " (the units are KiB, MiB, GiB and TiB: powers of 1024)"
	}
	l.problem(e, v.at, field, "%q is not a size %s%s", s, like, hint)
	return 0
}

// cores reads a number of CPU cores above 0 (1.5).
func (l *loader) cores(e *entry, field string, v value) float64 {
	f, ok := l.float(e, field, v)
	if !ok {
		return 0
	}
	if f <= 0 || math.IsInf(f, 0) || f > 4096 {
		l.problem(e, v.at, field, "expected a number of cores above 0 (like 1.5), got %v", f)
		return 0
	}
	return f
}
