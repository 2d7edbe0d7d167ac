package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// doctor names every mechanism, exits 0 and leaves no cgroup behind, nor
// the notify directory it made to try it.
func TestDoctor(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runDoctor(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, name := range []string{"subreaper", "cgroup v2", "pidfd", "guard", "pdeathsig", "RLIMIT_NOFILE", "notify dir"} {
		if !strings.Contains(out.String(), "\n"+name+" ") && !strings.HasPrefix(out.String(), name+" ") {
			t.Errorf("no line for %s in:\n%s", name, out.String())
		}
	}
	// Where a mechanism is in force, its line names the directory that
	// doctor made to try it (this program's cgroup tree, a notify
	// directory); by doctor's return it is gone.
	for _, made := range []struct {
		name string
		dir  *regexp.Regexp
	}{
		{"cgroup v2", regexp.MustCompile(`^cgroup v2 +yes +a cgroup per task run under (/\S+), `)},
		{"notify dir", regexp.MustCompile(`^notify dir +yes +sockets in a private directory like (/\S+) `)},
	} {
		for line := range strings.Lines(out.String()) {
			rest, ok := strings.CutPrefix(line, made.name+" ")
			if !ok || !strings.HasPrefix(strings.TrimLeft(rest, " "), "yes ") {
				continue
			}
			m := made.dir.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s is in force, but its line names no directory: %q", made.name, line)
				continue
			}
			if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %s left behind by doctor: %v", made.name, m[1], err)
			}
		}
	}
	if code := runDoctor([]string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("doctor extra: exit %d, want 2", code)
	}
}
