package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/taskvisor/taskvisor/actors/taskfile"
)

func TestParseAddress(t *testing.T) {
	good := map[string]Address{
		"box1":                        {Kind: "local", Name: "box1"},
		"/run/tv.sock":                {Kind: "unix", Socket: "/run/tv.sock"},
		"unix:///run/tv.sock":         {Kind: "unix", Socket: "/run/tv.sock"},
		"10.0.0.1:7070":               {Kind: "tls", Host: "10.0.0.1:7070"},
		"[::1]:7070":                  {Kind: "tls", Host: "[::1]:7070"},
		"ssh://box2":                  {Kind: "ssh", Host: "box2"},
		"ssh://ops@box2:2222/build":   {Kind: "ssh", Host: "box2", Port: "2222", User: "ops", Name: "build"},
		"ssh://ops@[fd00::2]:22/main": {Kind: "ssh", Host: "fd00::2", Port: "22", User: "ops", Name: "main"},
	}
	for in, want := range good {
		got, err := ParseAddress(in)
		if err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", in, got, err, want)
			continue
		}
		if again, err := ParseAddress(got.String()); err != nil || again != got {
			t.Errorf("%q: String %q reads back as %+v, %v", in, got.String(), again, err)
		}
	}
	bad := map[string]string{
		"":                     "empty",
		"http://box":           "unknown scheme",
		"box:port":             "port from 1 to 65535",
		"box:0":                "port from 1 to 65535",
		"ssh://u:pw@box":       "no passwords",
		"ssh://box/a/b":        "no node name",
		"ssh://box?x=1":        "want ssh://",
		"unix://relative/path": "absolute",
		"two words":            "neither a node name",
		"relative/path.sock":   "neither a node name",
		":7070":                "port from 1 to 65535",
	}
	for in, want := range bad {
		if _, err := ParseAddress(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAddress(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

func TestParseNodes(t *testing.T) {
	nodes, err := ParseNodes("nodes.toml", []byte(`
[[node]]
name = "box1"
address = "10.0.0.1:7070"
cert = "laptop"

[[node]]
name = "box2"
address = "ssh://ops@box2/main"
remote = "/opt/bin/taskvisor"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Name != "box1" || nodes[0].Cert != "laptop" || nodes[0].Address.Kind != "tls" ||
		nodes[1].Address != (Address{Kind: "ssh", Host: "box2", User: "ops", Name: "main"}) || nodes[1].Remote != "/opt/bin/taskvisor" || nodes[1].Line != 7 {
		t.Errorf("nodes %+v", nodes)
	}
	cases := []struct{ text, want string }{
		{"[[node]]\nname = \"a\"\n", `nodes.toml:1:1: node "a": address: missing`},
		{"[[node]]\naddress = \"x\"\n", `nodes.toml:1:1: node #1: name: missing`},
		{"[[node]]\nname = \"a\"\naddress = \"b:c\"\n", `nodes.toml:3:11: node "a": address: node address "b:c": want HOST:PORT`},
		{"[[node]]\nname = \"a\"\naddress = \"x\"\n[[node]]\nname = \"a\"\naddress = \"y\"\n", `nodes.toml:5:8: node #2: name: "a": the name of the node at line 1 too`},
		{"[[node]]\nname = \"a\"\naddress = \"x\"\nport = 7\n", `nodes.toml:4:1: node "a": port: unknown key`},
		{"[[node]]\nname = \"a\"\naddress = 7\n", `nodes.toml:3:11: node "a": address: want a string`},
		{"[nodes]\n", `nodes.toml:1:2: unknown table "nodes"`},
		{"name = \"a\"\n", `nodes.toml:1:1: name: outside any [[node]]`},
		{"[[node]]\nname = \"a\"\naddress = \"x\"\nremote = \"/bin/tv\"\n", `node "a": remote: only for an ssh:// address`},
		{"[[node]\n", `nodes.toml:1:`},
		{"", `nodes.toml: no nodes`},
	}
	for _, c := range cases {
		_, err := ParseNodes("nodes.toml", []byte(c.text))
		var es taskfile.Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.text, err, c.want)
		}
	}
}

func TestLocalIDs(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {0, 1<<nodeShift - 1}, {2, 7}, {99, 123456}} {
		local := LocalID(c[0], c[1])
		i, id, ok := SplitID(local)
		if !ok || i != c[0] || id != c[1] {
			t.Errorf("LocalID(%d, %d) = %d splits into %d, %d, %v", c[0], c[1], local, i, id, ok)
		}
		if c[1] < 1<<nodeShift-1 && LocalID(c[0], c[1]+1) <= local || LocalID(c[0]+1, 1) <= local {
			t.Errorf("local IDs are not in node order, then in the node's order")
		}
	}
	if _, _, ok := SplitID(5); ok {
		t.Error("a plain ID splits as Multi's")
	}
}

func TestSSHArgv(t *testing.T) {
	t.Setenv(SSHCommandEnv, "ssh -F /tmp/cfg")
	got := strings.Join(sshArgv(Target{SSH: "ops@box", SSHPort: "2222", Node: "it's", Remote: "env A=1 /opt/tv"}), " ")
	want := `ssh -F /tmp/cfg -T -o BatchMode=yes -p 2222 -- ops@box env A=1 /opt/tv dial-stdio --node 'it'\''s'`
	if got != want {
		t.Errorf("argv\n%s\nwant\n%s", got, want)
	}
}
