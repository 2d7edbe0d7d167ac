package taskfile

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

// Each bad file gives exactly these errors, in file order.
func TestBadFiles(t *testing.T) {
	const head = "[[task]]\nname = \"web\"\ncommand = \"serve\"\n"
	cases := []struct {
		name string
		file string
		want []string
	}{
		{"not a duration", head + "stall_timeout = \"10\"\n",
			[]string{`tasks.toml:4:17: task "web": stall_timeout: "10" is not a duration (like "10s" or "1m30s")`}},
		{"duration as an integer", head + "stop_grace = 5\n",
			[]string{`tasks.toml:4:14: task "web": stop_grace: expected a duration string (like "10s" or "1m30s"), got integer 5`}},
		{"negative duration", head + "restart_window = \"-1m\"\n",
			[]string{`tasks.toml:4:18: task "web": restart_window: "-1m" is negative; expected a duration of 0s or more`}},
		{"zero that would mean a default", head + "stop_grace = \"0s\"\n",
			[]string{`tasks.toml:4:14: task "web": stop_grace: "0s": expected a duration of more than 0 (leave stop_grace out for the default, 5s)`}},
		{"unknown key with a hint", head + "stall_timout = \"10s\"\n",
			[]string{`tasks.toml:4:1: task "web": unknown key "stall_timout" (did you mean "stall_timeout"?)`}},
		{"unknown key", head + "colour = \"red\"\n",
			[]string{`tasks.toml:4:1: task "web": unknown key "colour"`}},
		{"bad signal name", head + "stop_signal = \"SIGFOO\"\n",
			[]string{`tasks.toml:4:15: task "web": stop_signal: "SIGFOO" is not a signal (like "SIGTERM", "INT" or 15)`}},
		{"bad signal number", head + "stop_signal = 99\n",
			[]string{`tasks.toml:4:15: task "web": stop_signal: 99 is not the number of a signal with a name (like 15 for SIGTERM)`}},
		{"a signal that does not stop", head + "stop_signal = \"TSTP\"\n",
			[]string{`tasks.toml:4:15: task "web": stop_signal: SIGTSTP pauses or resumes a process, it does not stop it`}},
		{"bad enum", head + "restart = \"sometimes\"\n",
			[]string{`tasks.toml:4:11: task "web": restart: expected one of "never", "on-failure" or "always", got "sometimes"`}},
		{"bad stall action", head + "stall_action = \"panic\"\n",
			[]string{`tasks.toml:4:16: task "web": stall_action: expected one of "warn", "cancel", "kill" or "restart", got "panic"`}},
		{"dependency cycle", "[[task]]\nname = \"a\"\ncommand = \"x\"\nafter = [\"b\"]\n[[task]]\nname = \"b\"\ncommand = \"y\"\nafter = [\"a:started\"]\n",
			[]string{`tasks.toml:8:10: task "b": after[0]: "a:started" closes a dependency cycle: a -> b -> a`}},
		{"unknown dependency", head + "after = [\"wbe\"]\n",
			[]string{`tasks.toml:4:10: task "web": after[0]: "wbe" is not the name of a task in this file (did you mean "web"?)`}},
		{"bad dependency condition", head + "[[task]]\nname = \"x\"\ncommand = \"y\"\nafter = [\"web:done\"]\n",
			[]string{`tasks.toml:7:10: task "x": after[0]: "web:done": the condition "done" is not one of started, ready, completed, ended`}},
		{"a size in the wrong unit", head + "memory_max = \"512MB\"\n",
			[]string{`tasks.toml:4:14: task "web": memory_max: "512MB" is not a size (like "512MiB", "2GiB", "300KiB", or a number of bytes) (the units are KiB, MiB, GiB and TiB: powers of 1024)`}},
		{"no cores", head + "cpu_max = -1\n",
			[]string{`tasks.toml:4:11: task "web": cpu_max: expected a number of cores above 0 (like 1.5), got -1`}},
		{"missing name", "[[task]]\ncommand = \"serve\"\n",
			[]string{`tasks.toml:1:1: task #1: name: missing; every task needs one (like name = "web")`}},
		{"neither command nor argv", "\n  [[task]]\n  name = \"web\"\n",
			[]string{`tasks.toml:2:3: task "web": command or argv: one of the two is required (like command = "make test" or argv = ["make", "test"])`}},
		{"both command and argv", head + "argv = [\"serve\"]\n",
			[]string{`tasks.toml:4:8: task "web": argv: only one of command and argv may be set (command is set at line 3)`}},
		{"duplicate name", head + head,
			[]string{`tasks.toml:5:8: task "web": name: "web" is also the name of the task at line 1`}},
		{"duplicate key", "[[task]]\nname = \"a\"\nkey = \"1\"\ncommand = \"x\"\n[[task]]\nname = \"b\"\nkey = \"1\"\ncommand = \"y\"\n",
			[]string{`tasks.toml:7:7: task "b": key: "1" is also the key of task "a" (line 3)`}},
		{"key out of range", head + "key = \"0\"\n",
			[]string{`tasks.toml:4:7: task "web": key: expected one of "1" to "9", got "0"`}},
		{"key as an integer", head + "key = 3\n",
			[]string{`tasks.toml:4:7: task "web": key: expected a string "1" to "9", got integer 3 (write key = "3")`}},
		{"unknown group", head + "group = \"backend\"\n",
			[]string{`tasks.toml:4:9: task "web": group: "backend" is not a group defined in this file (no [[group]] is defined)`}},
		{"unknown parent", "[[group]]\nname = \"a\"\nparent = \"zz\"\n" + head,
			[]string{`tasks.toml:3:10: group "a": parent: "zz" is not a group defined in this file (defined: a)`}},
		{"cyclic parents", "[[group]]\nname = \"a\"\nparent = \"c\"\n[[group]]\nname = \"b\"\nparent = \"a\"\n[[group]]\nname = \"c\"\nparent = \"b\"\n" + head,
			[]string{`tasks.toml:3:10: group "a": parent: "c" makes a cycle of parents: a -> c -> b -> a`}},
		{"own parent", "[[group]]\nname = \"a\"\nparent = \"a\"\n" + head,
			[]string{`tasks.toml:3:10: group "a": parent: "a" makes a cycle of parents: a -> a`}},
		{"duplicate group", "[[group]]\nname = \"a\"\n[[group]]\nname = \"a\"\n" + head,
			[]string{`tasks.toml:4:8: group "a": name: "a" is also the name of the group at line 1`}},
		{"bad strategy", "[[group]]\nname = \"a\"\nstrategy = \"all-for-one\"\n" + head,
			[]string{`tasks.toml:3:12: group "a": strategy: expected one of "one-for-one", "one-for-all" or "rest-for-one", got "all-for-one"`}},
		{"negative numbers", head + "max_restarts = -3\noutput_lines = -5\n",
			[]string{
				`tasks.toml:4:16: task "web": max_restarts: expected a count of 1 or more, or -1 for no limit, got -3`,
				`tasks.toml:5:16: task "web": output_lines: expected an integer from 1 to 10000000, got -5`,
			}},
		{"max_restarts zero", head + "max_restarts = 0\n",
			[]string{`tasks.toml:4:16: task "web": max_restarts: 0 is not allowed: it would mean the default, 5 (for no restarts at all, a task says restart = "never")`}},
		{"backoff: unknown key and max below initial", head + "backoff = { initial = \"1s\", factr = 2, max = \"10ms\" }\n",
			[]string{
				`tasks.toml:4:29: task "web": unknown key "backoff.factr" (did you mean "backoff.factor"?)`,
				`tasks.toml:4:46: task "web": backoff.max: 10ms is less than backoff.initial, 1s`,
			}},
		{"backoff factor and jitter", head + "[task.backoff]\nfactor = 0.5\njitter = 2\n",
			[]string{
				`tasks.toml:5:10: task "web": backoff.factor: expected a number of at least 1 (the delay is multiplied by it), got 0.5`,
				`tasks.toml:6:10: task "web": backoff.jitter: expected a fraction from 0 to 1 (like 0.1), got 2`,
			}},
		{"argv element not a string", "[[task]]\nname = \"t\"\nargv = [\"a\", 1]\n",
			[]string{`tasks.toml:3:14: task "t": argv[1]: expected a string, got integer 1`}},
		{"argv empty", "[[task]]\nname = \"t\"\nargv = []\n",
			[]string{`tasks.toml:3:8: task "t": argv: must not be empty: argv[0] is the program to run`}},
		{"argv a string", "[[task]]\nname = \"t\"\nargv = \"ls -l\"\n",
			[]string{`tasks.toml:3:8: task "t": argv: expected an array of strings (like ["server", "--port", "8080"]), got string "ls -l"`}},
		{"self without Self", "[[task]]\nname = \"t\"\nargv = [\"@taskvisor\", \"worker\"]\n",
			[]string{`tasks.toml:3:8: task "t": argv[0]: "@taskvisor" stands for the taskvisor executable, which is not known here`}},
		{"env", head + "env = { \"A=B\" = \"1\", C = 2 }\n",
			[]string{
				`tasks.toml:4:9: task "web": env.A=B: "A=B" is not a valid environment variable name`,
				`tasks.toml:4:26: task "web": env.C: expected a string, got integer 2`,
			}},
		{"env not a table", head + "env = \"A=1\"\n",
			[]string{`tasks.toml:4:7: task "web": env: expected a table of strings (like env = { PORT = "8080" }), got string "A=1"`}},
		{"single brackets", "[task]\nname = \"t\"\n",
			[]string{`tasks.toml:1:1: [task]: each task is an array table: write [[task]]`}},
		{"unknown table", head + "[[service]]\nname = \"x\"\n",
			[]string{`tasks.toml:4:1: unknown table [[service]]; expected [[task]] or [[group]]`}},
		{"unknown sub-table", head + "[task.backof]\ninitial = \"1s\"\n",
			[]string{`tasks.toml:4:7: task "web": unknown table [task.backof]; a task has the tables [task.backoff] and [task.env]`}},
		{"top-level key", "version = 2\n" + head,
			[]string{`tasks.toml:1:1: unknown key "version" at the top level; tasks are [[task]] tables and groups [[group]] tables`}},
		{"name with a space, bad bool", "[[task]]\nname = \"my task\"\ncommand = \"x\"\nautostart = \"yes\"\n",
			[]string{
				`tasks.toml:2:8: task #1: name: "my task" contains a space or control character; a name is one word (like "web" or "db-migrate")`,
				`tasks.toml:4:13: task #1: autostart: expected a boolean (true or false), got string "yes"`,
			}},
		{"TOML syntax", "[[task]]\nname = \"web\nkey = \"1\"\n",
			[]string{`tasks.toml:2:12: invalid TOML: basic strings cannot have new lines`}},
		{"TOML duplicate key", head + "name = \"other\"\n",
			[]string{`tasks.toml:4:1: invalid TOML: key name is already defined`}},
		{"empty file", "# nothing yet\n",
			[]string{`tasks.toml: no tasks: a task file defines at least one [[task]]`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("tasks.toml", []byte(c.file), Options{})
			if err == nil {
				t.Fatalf("no error; loaded %+v", f.Tasks)
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			var list Errors
			if !errors.As(err, &list) || len(list) != len(c.want) {
				t.Errorf("errors.As(Errors): %d problems, want %d", len(list), len(c.want))
			}
		})
	}
}

// The error's parts are there for a program to use.
func TestErrorFields(t *testing.T) {
	_, err := Parse("tasks.toml", []byte("[[task]]\nname = \"web\"\ncommand = \"x\"\nstall_timeout = \"10\"\n"), Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed for %v", err)
	}
	want := Error{File: "tasks.toml", Line: 4, Column: 17, Entry: `task "web"`, Field: "stall_timeout",
		Msg: `"10" is not a duration (like "10s" or "1m30s")`}
	if *e != want {
		t.Errorf("error fields %+v, want %+v", *e, want)
	}
}

// A key from the file is printed with its control characters escaped, in
// the field as in the message: an error must not drive the terminal.
// Failed first: the field carried a raw ESC.
func TestErrorEscapesControlCharacters(t *testing.T) {
	_, err := Parse("tasks.toml", []byte("[[task]]\nname = \"x\"\ncommand = \"true\"\n[task.env]\n\"A=\\u001b[31mB\" = \"v\"\n"), Options{})
	if err == nil {
		t.Fatal("an env key with '=' was accepted")
	}
	got := err.Error()
	if strings.ContainsFunc(got, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		t.Errorf("the error carries raw control characters: %q", got)
	}
	if !strings.Contains(got, `env.A=\x1b[31mB: `) {
		t.Errorf("the error %q does not name the field with its ESC escaped", got)
	}
}
