package taskfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

// FuzzLoad feeds arbitrary bytes to the TOML loader and the Procfile parser:
// neither may panic, a load that succeeds gives specs that actors accepts, and
// one that fails gives Errors whose positions lie inside the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("[[task]]\nname = \"web\"\ncommand = \"serve\"\nstall_timeout = \"10\"\n"))
	f.Add([]byte("[[group]]\nname = \"a\"\nparent = \"a\"\n[[task]]\nname = \"t\"\nargv = [\"x\", [1]]\n"))
	f.Add([]byte("web: serve\nworker: run --fast\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		check := func(file *File, err error) {
			if err == nil {
				if len(file.Tasks) == 0 {
					t.Fatal("loaded a file without tasks")
				}
				if err := file.Tasks.Validate(); err != nil {
					t.Fatalf("loaded tasks that actors rejects: %v", err)
				}
				if err := actors.ValidateGroups(file.Groups, file.Tasks); err != nil {
					t.Fatalf("loaded groups that actors rejects: %v", err)
				}
				var b strings.Builder
				if err := file.WriteTree(&b); err != nil {
					t.Fatal(err)
				}
				return
			}
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			for _, e := range list {
				if e.Line < 0 || e.Line > lines || e.Column < 0 || e.Msg == "" {
					t.Fatalf("problem out of the file (%d lines): %+v", lines, *e)
				}
			}
		}
		check(Parse("fuzz.toml", data, Options{Self: "/bin/taskvisor"}))
		check(ParseProcfile("Procfile", data))
	})
}
