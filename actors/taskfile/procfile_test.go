package taskfile

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/taskvisor/taskvisor/actors"
)

func TestProcfile(t *testing.T) {
	data := "# the app\nweb: bundle exec rails server -p $PORT\n\nworker:python3 worker.py --queue default  \r\nclock_1: ./clock\n"
	f, err := ParseProcfile("Procfile", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := actors.Catalogue{
		{Name: "web", Key: "1", Command: "bundle exec rails server -p $PORT", Autostart: true},
		{Name: "worker", Key: "2", Command: "python3 worker.py --queue default", Autostart: true},
		{Name: "clock_1", Key: "3", Command: "./clock", Autostart: true},
	}
	if !reflect.DeepEqual(f.Tasks, want) {
		t.Errorf("tasks:\n%+v\nwant:\n%+v", f.Tasks, want)
	}
}

// Only the first nine tasks get keys.
func TestProcfileKeys(t *testing.T) {
	var b strings.Builder
	for i := range 11 {
		b.WriteString("t" + strconv.Itoa(i) + ": sleep 1\n")
	}
	f, err := ParseProcfile("Procfile", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Tasks[8].Key != "9" || f.Tasks[9].Key != "" || f.Tasks[10].Key != "" {
		t.Errorf("keys: %q %q %q", f.Tasks[8].Key, f.Tasks[9].Key, f.Tasks[10].Key)
	}
}

func TestProcfileErrors(t *testing.T) {
	data := "web: serve\nno colon here\nempty:\n# fine\nweb: again\nbad name: x\n"
	_, err := ParseProcfile("Procfile", []byte(data))
	want := strings.Join([]string{
		`Procfile:2:1: expected ` + "`name: command`" + ` (a name of letters, digits, '_' and '-'), got "no colon here"`,
		`Procfile:3:7: task "empty": the command is empty`,
		`Procfile:5:1: task "web": the name is also on line 1`,
		`Procfile:6:1: expected ` + "`name: command`" + ` (a name of letters, digits, '_' and '-'), got "bad name: x"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
	// foreman has no continuation lines: an indented line is an error, not
	// a task of its own or a part of the line above.
	_, err = ParseProcfile("Procfile", []byte("web: serve \\\n  --port 80\n\tworker: work\n"))
	want = strings.Join([]string{
		`Procfile:2:1: the line is indented: a Procfile line starts with its name in column 1 (no continuation lines), got "  --port 80"`,
		`Procfile:3:1: the line is indented: a Procfile line starts with its name in column 1 (no continuation lines), got "\tworker: work"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("indented lines:\n%v\nwant:\n%s", err, want)
	}
	if _, err := ParseProcfile("Procfile", []byte("\n# only comments\n")); err == nil || err.Error() != "Procfile: no tasks: a Procfile has at least one `name: command` line" {
		t.Errorf("empty Procfile: %v", err)
	}
}
