package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCtl runs a control command in process with the nodes file given and
// no node running: what it prints and its exit code.
func runCtl(t *testing.T, nodes string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	path := filepath.Join(dir, "nodes.toml")
	if err := os.WriteFile(path, []byte(nodes), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code, ok := runNodeCommand(args[0], append([]string{"--nodes", path}, args[1:]...), &out, &errb)
	if !ok {
		t.Fatalf("%s is no node command", args[0])
	}
	return out.String(), errb.String(), code
}

// Which node a command goes to, and what it says when it cannot tell.
func TestNodeTargets(t *testing.T) {
	three := "[[node]]\nname = \"a\"\naddress = \"a\"\n\n[[node]]\nname = \"b\"\naddress = \"b\"\n\n" +
		"[[node]]\nname = \"c\"\naddress = \"127.0.0.1:7999\"\ncert = \"nobody\"\n"
	cases := []struct {
		args []string
		code int
		want []string
	}{
		// ls goes on past every node it cannot reach, and names each.
		{[]string{"ls"}, exitNoNode, []string{`taskvisor ls: node "a": no node is running here`, `taskvisor ls: node "b": no node is running here`,
			"taskvisor ls: node c: client certificate: open", "nobody.pem"}},
		{[]string{"kill", "7"}, exitUsage, []string{"task 7: 3 nodes are addressed (a, b, c): say which, as a/7"}},
		{[]string{"kill", "z/7"}, exitUsage, []string{`task z/7: no node "z" (nodes: a, b, c)`}},
		{[]string{"kill", "b/7"}, exitNoNode, []string{`node "b": no node is running here`}},
		{[]string{"start", "1"}, exitUsage, []string{"3 nodes are addressed (a, b, c): this command acts on one; choose it with --node NAME"}},
		{[]string{"shutdown"}, exitUsage, []string{"this command acts on one"}},
		{[]string{"events", "--since", "5"}, exitUsage, []string{"sequence numbers are each node's"}},
		{[]string{"kill", "--node", "a", "b/7"}, exitUsage, []string{`task b/7: node "b" is not among the --node given (a)`}},
		{[]string{"ls", "--node", "ssh://u:pw@box"}, exitUsage, []string{"no passwords in addresses"}},
		{[]string{"ls", "--node", "a", "--node", "a"}, exitUsage, []string{`node "a" named twice`}},
	}
	for _, c := range cases {
		_, stderr, code := runCtl(t, three, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, stderr, w)
			}
		}
	}
	// A bad nodes file is named by file:line:col, and nothing is called.
	_, stderr, code := runCtl(t, "[[node]]\nname = \"a\"\naddress = \"ftp://x\"\n", "ls")
	if code != exitUsage || !strings.Contains(stderr, `nodes.toml:3:11: node "a": address: node address "ftp://x": unknown scheme`) {
		t.Errorf("a bad nodes file: exit %d, %q", code, stderr)
	}
}
