package main

import (
	"bytes"
	"strings"
	"testing"
)

// doctor names every mechanism, exits 0 and leaves no cgroup behind.
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
	if code := runDoctor([]string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("doctor extra: exit %d, want 2", code)
	}
}
