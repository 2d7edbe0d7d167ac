package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/taskvisor/taskvisor/actors/taskfile"
	"github.com/taskvisor/taskvisor/node"
)

// Address is where a node is reached, parsed from its written form
// (ParseAddress).
type Address struct {
	// Kind is how: "local" (a node of this machine by name), "unix" (a
	// socket path), "tls" (HOST:PORT with mutual TLS) or "ssh".
	Kind string
	// Name is a local node's name, or with ssh the remote node's (empty:
	// node.DefaultName there).
	Name string
	// Socket is the unix socket's path.
	Socket string
	// Host is the TCP HOST:PORT; with ssh, the host.
	Host string
	// User and Port are ssh's (empty: ssh's own defaults and config).
	User, Port string
}

// ParseAddress reads a node's address: `ssh://[user@]host[:port][/node]`
// (the node's socket on that host, reached through `ssh host taskvisor
// dial-stdio`), `unix:///path` or an absolute path (a socket), HOST:PORT
// (TCP with mutual TLS: serve --listen), or a bare name (a node of this
// machine, as --node NAME always was).
func ParseAddress(s string) (Address, error) {
	switch {
	case s == "":
		return Address{}, errors.New("empty node address")
	case strings.HasPrefix(s, "ssh://"):
		u, err := url.Parse(s)
		if err != nil {
			return Address{}, fmt.Errorf("node address %q: %w", s, err)
		}
		if u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
			return Address{}, fmt.Errorf("node address %q: want ssh://[user@]host[:port][/node]", s)
		}
		a := Address{Kind: "ssh", Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Name: strings.Trim(u.Path, "/")}
		if _, pw := u.User.Password(); pw {
			return Address{}, fmt.Errorf("node address %q: no passwords in addresses: ssh's keys and agent are used", s)
		}
		if strings.Contains(a.Name, "/") {
			return Address{}, fmt.Errorf("node address %q: %q is no node name", s, a.Name)
		}
		return a, nil
	case strings.HasPrefix(s, "unix://"):
		p := strings.TrimPrefix(s, "unix://")
		if !filepath.IsAbs(p) {
			return Address{}, fmt.Errorf("node address %q: want unix:///absolute/path", s)
		}
		return Address{Kind: "unix", Socket: p}, nil
	case filepath.IsAbs(s):
		return Address{Kind: "unix", Socket: s}, nil
	case strings.Contains(s, "://"):
		return Address{}, fmt.Errorf("node address %q: unknown scheme (ssh://, unix://, HOST:PORT or a node name)", s)
	case strings.Contains(s, ":"):
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return Address{}, fmt.Errorf("node address %q: %w", s, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" {
			return Address{}, fmt.Errorf("node address %q: want HOST:PORT with a port from 1 to 65535", s)
		}
		return Address{Kind: "tls", Host: s}, nil
	case strings.ContainsAny(s, "/ \t"):
		return Address{}, fmt.Errorf("node address %q: neither a node name nor an address", s)
	}
	return Address{Kind: "local", Name: s}, nil
}

// String is the address as written.
func (a Address) String() string {
	switch a.Kind {
	case "ssh":
		u := url.URL{Scheme: "ssh", Host: a.Host, Path: "/" + a.Name}
		if a.Port != "" {
			u.Host = net.JoinHostPort(a.Host, a.Port)
		}
		if a.User != "" {
			u.User = url.User(a.User)
		}
		return strings.TrimSuffix(u.String(), "/")
	case "unix":
		return "unix://" + a.Socket
	case "tls":
		return a.Host
	}
	return a.Name
}

// NodeEntry is one node of a nodes file.
type NodeEntry struct {
	// Name is what the client calls the node: in the UI's NODE column and
	// in node/task addresses. Unique in the file; no '/'.
	Name string
	// Address is where it is reached (ParseAddress).
	Address Address
	// Cert names the client certificate for a TLS address ("client" when
	// not given).
	Cert string
	// Certs is the certificates' directory for a TLS address (empty: the
	// client's default).
	Certs string
	// Remote is the command that runs taskvisor on an ssh node's host, as
	// its shell reads it ("taskvisor" when not given: found in the PATH of
	// ssh's remote shell).
	Remote string
	// Line is the line of its [[node]] header.
	Line int
}

// NodesPath is the nodes file of the user: $XDG_CONFIG_HOME/taskvisor/
// nodes.toml, else ~/.config/taskvisor/nodes.toml; empty when neither can
// be named.
func NodesPath() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "taskvisor", "nodes.toml")
}

// LoadNodes reads a nodes file; a missing file is os.ErrNotExist.
func LoadNodes(path string) ([]NodeEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseNodes(path, data)
}

// ParseNodes reads a nodes file's text, named name in its errors:
//
//	[[node]]
//	name = "box1"
//	address = "10.0.0.1:7070"   # or ssh://user@box1, unix:///path, a local name
//	cert = "laptop"             # TLS only: the client certificate's name
//	certs = "/path/to/certs"    # TLS only
//	remote = "/opt/bin/taskvisor"  # ssh only
//
// Every problem is a taskfile.Error with its file, line and column, all of
// them in one taskfile.Errors.
func ParseNodes(name string, data []byte) ([]NodeEntry, error) {
	np := &nodesParser{name: name, lines: []int{0}, names: map[string]int{}}
	for i, c := range data {
		if c == '\n' {
			np.lines = append(np.lines, i+1)
		}
	}
	var probe any
	if err := toml.Unmarshal(data, &probe); err != nil {
		var de *toml.DecodeError
		line, col := 0, 0
		if errors.As(err, &de) {
			line, col = de.Position()
		}
		np.problem(line, col, "", "invalid TOML: %s", strings.TrimPrefix(err.Error(), "toml: "))
		return nil, np.errs
	}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		expr := p.Expression()
		var keys []string
		var keyOff uint32
		for it := expr.Key(); it.Next(); {
			if len(keys) == 0 {
				keyOff = it.Node().Raw.Offset
			}
			keys = append(keys, string(it.Node().Data))
		}
		line, col := np.at(keyOff)
		switch expr.Kind {
		case unstable.ArrayTable, unstable.Table:
			np.table(expr.Kind == unstable.ArrayTable, keys, line, col)
		case unstable.KeyValue:
			np.keyValue(strings.Join(keys, "."), expr.Value(), line, col)
		}
	}
	np.finish()
	if err := p.Error(); err != nil {
		np.problem(0, 0, "", "invalid TOML: %v", err)
	}
	if len(np.out) == 0 && len(np.errs) == 0 {
		np.problem(0, 0, "", "no nodes: a nodes file has one [[node]] table or more")
	}
	if len(np.errs) > 0 {
		return nil, np.errs
	}
	return np.out, nil
}

// nodesParser is ParseNodes' state: the nodes read, the one being read,
// and the problems found.
type nodesParser struct {
	name  string
	lines []int // the offset of each line's start
	errs  taskfile.Errors
	out   []NodeEntry
	cur   *NodeEntry     // the [[node]] the keys go to; nil outside one
	seen  map[string]int // cur's keys, by the line each was set on
	names map[string]int // the names taken, by their node's line
	// addrLine and addrCol are where cur's address is.
	addrLine, addrCol int
}

// at is the 1-based line and column of a byte offset.
func (np *nodesParser) at(off uint32) (int, int) {
	line := 0
	for line+1 < len(np.lines) && np.lines[line+1] <= int(off) {
		line++
	}
	return line + 1, int(off) - np.lines[line] + 1
}

// problem records a problem of the current node (none when outside one).
func (np *nodesParser) problem(line, col int, field, format string, args ...any) {
	entry := ""
	if np.cur != nil {
		entry = fmt.Sprintf("node #%d", len(np.out))
		if np.cur.Name != "" {
			entry = fmt.Sprintf("node %q", np.cur.Name)
		}
	}
	np.errs = append(np.errs, &taskfile.Error{File: np.name, Line: line, Column: col, Entry: entry, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// table starts a [[node]], or reports any other table.
func (np *nodesParser) table(array bool, keys []string, line, col int) {
	np.finish()
	np.cur = nil
	if !array || len(keys) != 1 || keys[0] != "node" {
		np.problem(line, col, "", "unknown table %q: a nodes file has [[node]] tables only", strings.Join(keys, "."))
		return
	}
	np.out = append(np.out, NodeEntry{Line: line})
	np.cur, np.seen = &np.out[len(np.out)-1], map[string]int{}
}

// keyValue sets a field of the current node.
func (np *nodesParser) keyValue(field string, v *unstable.Node, line, col int) {
	switch {
	case np.cur == nil:
		np.problem(line, col, field, "outside any [[node]]")
		return
	case np.seen[field] > 0:
		np.problem(line, col, field, "set twice (first at line %d)", np.seen[field])
		return
	case !slices.Contains([]string{"name", "address", "cert", "certs", "remote"}, field):
		np.problem(line, col, field, "unknown key; a node has name, address, cert, certs and remote")
		return
	}
	np.seen[field] = line
	vline, vcol := np.at(v.Raw.Offset)
	if v.Kind != unstable.String {
		np.problem(vline, vcol, field, "want a string")
		return
	}
	s := string(v.Data)
	switch field {
	case "name":
		switch {
		case s == "" || strings.ContainsAny(s, "/ \t\n"):
			np.problem(vline, vcol, field, "%q: a name is not empty and has no '/' or spaces", s)
		case np.names[s] > 0:
			np.problem(vline, vcol, field, "%q: the name of the node at line %d too", s, np.names[s])
		default:
			np.cur.Name, np.names[s] = s, np.cur.Line
		}
	case "address":
		a, err := ParseAddress(s)
		if err != nil {
			np.problem(vline, vcol, field, "%v", err)
			return
		}
		np.cur.Address, np.addrLine, np.addrCol = a, vline, vcol
	case "cert":
		np.cur.Cert = s
	case "certs":
		np.cur.Certs = s
	case "remote":
		np.cur.Remote = s
	}
}

// finish checks the current node once its keys are read.
func (np *nodesParser) finish() {
	cur := np.cur
	if cur == nil {
		return
	}
	if cur.Name == "" && np.seen["name"] == 0 {
		np.problem(cur.Line, 1, "name", "missing: each node has a name")
	}
	if cur.Address.Kind == "" && np.seen["address"] == 0 {
		np.problem(cur.Line, 1, "address", "missing: each node has an address")
	}
	if cur.Remote != "" && cur.Address.Kind != "" && cur.Address.Kind != "ssh" {
		np.problem(np.addrLine, np.addrCol, "remote", "only for an ssh:// address")
	}
	if (cur.Cert != "" || cur.Certs != "") && cur.Address.Kind != "" && cur.Address.Kind != "tls" {
		np.problem(np.addrLine, np.addrCol, "cert", "only for a HOST:PORT (TLS) address")
	}
}

// Local is the address of a node of this machine by name (empty:
// node.DefaultName).
func Local(name string) Address {
	if name == "" {
		name = node.DefaultName
	}
	return Address{Kind: "local", Name: name}
}
