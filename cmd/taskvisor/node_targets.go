package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/certs"
	"github.com/taskvisor/taskvisor/node/client"
)

// nodesFlag is a repeatable --node.
type nodesFlag []string

func (f *nodesFlag) String() string { return strings.Join(*f, ",") }

func (f *nodesFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty node")
	}
	*f = append(*f, s)
	return nil
}

// target is one node a command acts on: its name, as the user calls it,
// and how to reach it.
type target struct {
	name   string
	t      client.Target
	client *client.Client
	// err says why the node cannot be reached at all (its certificate
	// cannot be loaded, its socket is not there): the commands of other
	// nodes go on, and those of this one fail with it.
	err error
}

// targets resolves the nodes the command acts on, in order: each --node (a
// name in the nodes file, else an address: client.ParseAddress), else
// --addr or --socket, else every node of the nodes file when there is one,
// else this machine's node of TASKVISOR_NODE or "default".
func (cl *cli) targets() ([]*target, error) {
	if cl.resolved != nil {
		return cl.resolved, nil
	}
	entries, err := cl.nodesFile()
	if err != nil {
		return nil, err
	}
	var out []*target
	add := func(name string, a client.Address, e *client.NodeEntry) error {
		if slices.ContainsFunc(out, func(o *target) bool { return o.name == name }) {
			return fmt.Errorf("node %q named twice", name)
		}
		t, err := cl.targetOf(a, e)
		if err != nil {
			err = fmt.Errorf("node %s: %w", name, err)
		}
		out = append(out, &target{name: name, t: t, err: err})
		return nil
	}
	switch {
	case len(cl.nodes) > 0:
		for _, n := range cl.nodes {
			if i := slices.IndexFunc(entries, func(e client.NodeEntry) bool { return e.Name == n }); i >= 0 {
				if err := add(n, entries[i].Address, &entries[i]); err != nil {
					return nil, err
				}
				continue
			}
			a, err := client.ParseAddress(n)
			if err != nil {
				return nil, fmt.Errorf("--node %s: not in %s, and %w", n, cl.nodesPath(), err)
			}
			if err := add(n, a, nil); err != nil {
				return nil, err
			}
		}
	case *cl.addr != "":
		if err := add(*cl.addr, client.Address{Kind: "tls", Host: *cl.addr}, nil); err != nil {
			return nil, err
		}
	case *cl.socket != "":
		if err := add(nodeNameDefault(), client.Address{Kind: "unix", Socket: *cl.socket}, nil); err != nil {
			return nil, err
		}
	case len(entries) > 0:
		for i := range entries {
			if err := add(entries[i].Name, entries[i].Address, &entries[i]); err != nil {
				return nil, err
			}
		}
	default:
		if err := add(nodeNameDefault(), client.Local(nodeNameDefault()), nil); err != nil {
			return nil, err
		}
	}
	cl.resolved = out
	return out, nil
}

// nodesPath is the nodes file: --nodes, else client.NodesPath.
func (cl *cli) nodesPath() string {
	if cl.nodesFilePath != nil && *cl.nodesFilePath != "" {
		return *cl.nodesFilePath
	}
	return client.NodesPath()
}

// nodesFile reads the nodes file: none when the default one is missing; a
// --nodes file must be there.
func (cl *cli) nodesFile() ([]client.NodeEntry, error) {
	path := cl.nodesPath()
	if path == "" {
		return nil, nil
	}
	entries, err := client.LoadNodes(path)
	if errors.Is(err, os.ErrNotExist) && (cl.nodesFilePath == nil || *cl.nodesFilePath == "") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nodes file: %w", err)
	}
	return entries, nil
}

// targetOf is the client.Target of an address; e, when set, is its entry in
// the nodes file (certificates, remote program).
func (cl *cli) targetOf(a client.Address, e *client.NodeEntry) (client.Target, error) {
	switch a.Kind {
	case "local":
		return client.Target{Node: a.Name}, nil
	case "unix":
		return client.Target{Node: nodeNameDefault(), Socket: a.Socket}, nil
	case "ssh":
		t := client.Target{Node: a.Name, SSH: a.Host, SSHPort: a.Port}
		if a.User != "" {
			t.SSH = a.User + "@" + a.Host
		}
		if e != nil {
			t.Remote = e.Remote
		}
		return t, nil
	}
	dir, name := *cl.certs, *cl.cert
	if e != nil && e.Certs != "" {
		dir = e.Certs
	}
	if e != nil && e.Cert != "" {
		name = e.Cert
	}
	host, _, err := net.SplitHostPort(a.Host)
	if err != nil {
		return client.Target{}, fmt.Errorf("node %s: %w", a.Host, err)
	}
	cfg, err := certs.ClientConfig(certs.In(dir, name), filepath.Join(dir, "ca.pem"), host)
	if err != nil {
		return client.Target{}, err
	}
	return client.Target{Address: a.Host, TLS: cfg}, nil
}

// connect dials every target (a dial makes no connection yet: the first
// call does); a target that cannot be dialled keeps the reason in its err.
func (cl *cli) connect() ([]*target, error) {
	ts, err := cl.targets()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.client != nil || t.err != nil {
			continue
		}
		c, err := client.Dial(t.t)
		if err != nil {
			t.err = err // a local node's error names it
			if local := t.t.Socket == "" && t.t.Address == "" && t.t.SSH == ""; !local && len(ts) > 1 {
				t.err = fmt.Errorf("node %s: %w", t.name, err)
			}
			continue
		}
		if c.Node == "" || len(ts) > 1 {
			c.Node = t.name
		}
		t.client = c
	}
	return ts, nil
}

// connectEach is connect for the commands of every node (ls, events,
// attach): each node that cannot be dialled is said on stderr, and code is
// then exitNoNode; with one node, that is the command's failure (ok false).
func (cl *cli) connectEach() (ts []*target, code int, ok bool) {
	ts, err := cl.connect()
	if err != nil {
		return nil, cl.dialFailed(err), false
	}
	if len(ts) == 1 && ts[0].err != nil {
		return nil, cl.dialFailed(ts[0].err), false
	}
	for _, t := range ts {
		if t.err != nil {
			fmt.Fprintf(cl.stderr, "taskvisor %s: %v\n", cl.name, t.err)
			code = exitNoNode
		}
	}
	return ts, code, true
}

// closeAll closes the targets' connections.
func (cl *cli) closeAll() {
	for _, t := range cl.resolved {
		if t.client != nil {
			t.client.Close()
		}
	}
}

// forTask splits a task argument: node/TASK names the node (one of the
// targets, or of the nodes file); TASK alone is of the one target.
func (cl *cli) forTask(arg string) (*target, string, error) {
	ts, err := cl.connect()
	if err != nil {
		return nil, "", err
	}
	if name, task, ok := strings.Cut(arg, "/"); ok {
		for _, t := range ts {
			if t.name == name {
				return t, task, t.err
			}
		}
		if len(cl.nodes) == 0 {
			return nil, "", fmt.Errorf("task %s: no node %q (nodes: %s)", arg, name, targetNames(ts))
		}
		return nil, "", fmt.Errorf("task %s: node %q is not among the --node given (%s)", arg, name, targetNames(ts))
	}
	if len(ts) == 1 {
		return ts[0], arg, ts[0].err
	}
	return nil, "", fmt.Errorf("task %s: %d nodes are addressed (%s): say which, as %s/%s", arg, len(ts), targetNames(ts), ts[0].name, arg)
}

// one is the command's only node; it is an error to address several.
func (cl *cli) one() (*client.Client, error) {
	ts, err := cl.connect()
	if err != nil {
		return nil, err
	}
	if len(ts) > 1 {
		return nil, fmt.Errorf("%d nodes are addressed (%s): this command acts on one; choose it with --node NAME", len(ts), targetNames(ts))
	}
	return ts[0].client, ts[0].err
}

func targetNames(ts []*target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return strings.Join(names, ", ")
}

// eachNode calls f for every target that could be dialled, all at once,
// and waits for all.
func eachNode(ts []*target, f func(i int, t *target)) {
	var wg sync.WaitGroup
	for i, t := range ts {
		if t.client == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, t)
		}()
	}
	wg.Wait()
}

// runDialStdio is `taskvisor dial-stdio`: it joins its stdin and stdout to
// a node's unix socket, for a client that reaches this machine over ssh
// (ssh://host addresses run it there). It ends when either side ends.
func runDialStdio(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cl := &cli{name: "dial-stdio", stdout: stdout, stderr: stderr}
	cl.flags("[--node NAME | --socket PATH]  (for ssh://; not for people)", false)
	if code, ok := cl.parse(args, 0); !ok {
		return code
	}
	path := *cl.socket
	if path == "" {
		name := nodeNameDefault()
		if len(cl.nodes) > 0 {
			name = cl.nodes[len(cl.nodes)-1]
		}
		var err error
		if path, err = node.SocketPath(name); err != nil {
			fmt.Fprintf(stderr, "taskvisor dial-stdio: %v\n", err)
			return exitUsage
		}
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor dial-stdio: %v: %v (is the node running? taskvisor serve)\n", client.ErrNoNode, err)
		return exitNoNode
	}
	defer conn.Close()
	go func() {
		_, _ = io.Copy(conn, stdin)
		_ = conn.(*net.UnixConn).CloseWrite()
	}()
	_, _ = io.Copy(stdout, conn)
	// The node has closed: what stdin still brings has nowhere to go. The
	// goroutine ends with stdin, which ssh closes as it ends.
	return exitOK
}
