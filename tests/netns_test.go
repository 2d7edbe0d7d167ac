//go:build linux

package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
	"github.com/taskvisor/taskvisor/node/certs"
	"github.com/taskvisor/taskvisor/node/client"
)

// host is a network namespace of the test's own with a veth pair to the
// root namespace: a machine of its own, as far as the network goes. Its
// address is addr; link is the root side's end, which the test brings down
// and up.
type host struct {
	ns, link, addr string
}

// needNetns skips a test that needs network namespaces where it cannot
// have them: not root, or no ip(8) (iproute2; .ci/run installs it).
func needNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed: .ci/run installs it")
	}
}

// run runs a command and fails the test if it fails.
func run(t testing.TB, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

// newHost makes namespace number i (1-254) of this test process, with the
// address 10.231.i.2; the root side is 10.231.i.1. The cleanup deletes it
// (and with it the pair).
func newHost(t testing.TB, i int) host {
	t.Helper()
	tag := strconv.Itoa(os.Getpid() % 100000)
	h := host{ns: "tv" + tag + "n" + strconv.Itoa(i), link: "tv" + tag + "h" + strconv.Itoa(i), addr: fmt.Sprintf("10.231.%d.2", i)}
	peer := "tv" + tag + "p" + strconv.Itoa(i)
	run(t, "ip", "netns", "add", h.ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", h.link).Run()
		_ = exec.Command("ip", "netns", "del", h.ns).Run()
	})
	run(t, "ip", "link", "add", h.link, "type", "veth", "peer", "name", peer)
	run(t, "ip", "link", "set", peer, "netns", h.ns)
	run(t, "ip", "addr", "add", fmt.Sprintf("10.231.%d.1/24", i), "dev", h.link)
	run(t, "ip", "link", "set", h.link, "up")
	run(t, "ip", "-n", h.ns, "addr", "add", h.addr+"/24", "dev", peer)
	run(t, "ip", "-n", h.ns, "link", "set", peer, "up")
	run(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
	return h
}

// netNode is a `taskvisor serve` in a host's namespace, with a state and
// runtime directory of its own.
type netNode struct {
	name, dir string
	host      host
	cmd       *exec.Cmd
	stderr    *syncbuf.Buffer
}

// env is the node's environment: its own state and sockets.
func (n *netNode) env() []string {
	return []string{"XDG_STATE_HOME=" + filepath.Join(n.dir, "state"), "XDG_RUNTIME_DIR=" + filepath.Join(n.dir, "run")}
}

// start serves the node in its namespace on HOST:7070 with mutual TLS and
// waits until it answers there; the cleanup kills what is left.
func (n *netNode) start(t testing.TB, certDir, tasks string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.host.ns, binary, "serve", "--name", n.name, "--tasks", tasks,
		"--listen", n.host.addr+":7070", "--certs", certDir)
	cmd.Env = append(os.Environ(), n.env()...)
	n.stderr = &syncbuf.Buffer{}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	proctest.Eventually(t, wait, "node "+n.name+" to listen on "+n.host.addr, func() bool {
		c, err := net.DialTimeout("tcp", n.host.addr+":7070", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// netFixture is three hosts with a node each, their certificates, and a
// nodes file naming them for the client in the root namespace.
type netFixture struct {
	t         testing.TB
	dir       string
	certs     string
	nodes     []*netNode
	nodesToml string
}

func newNetFixture(t testing.TB, n int) *netFixture {
	t.Helper()
	needNetns(t)
	dir, err := os.MkdirTemp("", "tv18")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &netFixture{t: t, dir: dir, certs: filepath.Join(dir, "certs")}
	if _, err := certs.Init(f.certs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ro   bool
	}{{"alice", false}, {"bob", true}} {
		if _, err := certs.Client(f.certs, c.name, certs.Options{ReadOnly: c.ro}); err != nil {
			t.Fatal(err)
		}
	}
	tasks := filepath.Join(dir, "tasks.toml")
	procfile := "[[task]]\nname = \"ticker\"\ncommand = \"while :; do echo tick; sleep 0.2; done\"\nstop_grace = \"1s\"\n" +
		"[[task]]\nname = \"flap\"\ncommand = \"sleep 0.2; exit 1\"\nrestart = \"always\"\nmax_restarts = -1\nbackoff = { initial = \"50ms\", max = \"50ms\" }\n"
	if err := os.WriteFile(tasks, []byte(procfile), 0o644); err != nil {
		t.Fatal(err)
	}
	var toml strings.Builder
	for i := 1; i <= n; i++ {
		h := newHost(t, i)
		name := "box" + strconv.Itoa(i)
		if _, err := certs.Node(f.certs, name, certs.Options{Hosts: []string{h.addr}}); err != nil {
			t.Fatal(err)
		}
		nd := &netNode{name: name, dir: filepath.Join(dir, name), host: h}
		if err := os.MkdirAll(filepath.Join(nd.dir, "run"), 0o700); err != nil {
			t.Fatal(err)
		}
		nd.start(t, f.certs, tasks)
		f.nodes = append(f.nodes, nd)
		fmt.Fprintf(&toml, "[[node]]\nname = %q\naddress = \"%s:7070\"\ncerts = %q\ncert = \"alice\"\n\n", name, h.addr, f.certs)
	}
	f.nodesToml = filepath.Join(dir, "nodes.toml")
	if err := os.WriteFile(f.nodesToml, []byte(toml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// ctl runs a control command of the client in the root namespace with the
// nodes file; it returns stdout, stderr and the exit code.
func (f *netFixture) ctl(args ...string) (string, string, int) {
	f.t.Helper()
	args = append(args[:1:1], append([]string{"--nodes", f.nodesToml}, args[1:]...)...)
	return runBinary(f.t, []string{"XDG_RUNTIME_DIR=" + filepath.Join(f.dir, "client-run")}, args...)
}

func (f *netFixture) mustCtl(args ...string) string {
	f.t.Helper()
	out, stderr, code := f.ctl(args...)
	if code != 0 {
		f.t.Fatalf("taskvisor %v: exit %d: %s%s", args, code, out, stderr)
	}
	return out
}

// row is ls's row of node's task id, split into fields; nil when absent.
func row(ls, node, id string) []string {
	for _, line := range strings.Split(ls, "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[0] == node && f[1] == id {
			return f
		}
	}
	return nil
}

// Three nodes on three hosts, one client: the merged list with its NODE
// column, a kill on box2 reaching box2 only, a read-only certificate that
// cannot kill, a bare id that must say its node.
func TestThreeHosts(t *testing.T) {
	f := newNetFixture(t, 3)
	for _, n := range f.nodes {
		if got := strings.TrimSpace(f.mustCtl("start", "--node", n.name, "ticker")); got != "1" {
			t.Fatalf("start on %s: id %q, want 1", n.name, got)
		}
	}
	var ls string
	proctest.Eventually(t, wait, "ticker running on all three", func() bool {
		ls = f.mustCtl("ls")
		for _, n := range f.nodes {
			if r := row(ls, n.name, "1"); r == nil || r[3] != "running" {
				return false
			}
		}
		return true
	})
	if !strings.HasPrefix(ls, "NODE") {
		t.Errorf("ls of three nodes has no NODE column:\n%s", ls)
	}
	lines := strings.Split(strings.TrimSpace(f.mustCtl("ls", "--json")), "\n")
	for i, line := range lines {
		var got struct {
			Node  string            `json:"node"`
			Tasks []json.RawMessage `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.Node != f.nodes[i].name || len(got.Tasks) != 1 {
			t.Errorf("ls --json line %d: %q (%v), want node %s with its task", i, line, err, f.nodes[i].name)
		}
	}
	if len(lines) != 3 {
		t.Errorf("ls --json: %d lines, want one per node", len(lines))
	}
	pids := map[string]int{}
	for _, n := range f.nodes {
		pids[n.name], _ = strconv.Atoi(row(ls, n.name, "1")[4])
	}
	if _, stderr, code := f.ctl("kill", "1"); code != 2 || !strings.Contains(stderr, "say which, as box1/1") {
		t.Errorf("kill 1 with three nodes: exit %d, %q; want it to ask which node", code, stderr)
	}
	if _, stderr, code := f.ctl("kill", "--node", f.nodes[1].host.addr+":7070", "--cert", "bob", "--certs", f.certs, "1"); code != 1 || !strings.Contains(stderr, "read-only") {
		t.Errorf("a read-only client's kill: exit %d, %q; want it refused as read-only", code, stderr)
	}
	f.mustCtl("kill", "box2/1")
	proctest.Eventually(t, wait, "box2's ticker killed, the others running", func() bool {
		ls = f.mustCtl("ls")
		r1, r2, r3 := row(ls, "box1", "1"), row(ls, "box2", "1"), row(ls, "box3", "1")
		return r1 != nil && r1[3] == "running" && r2 != nil && r2[3] == "killed" && r3 != nil && r3[3] == "running"
	})
	if err := syscall.Kill(pids["box2"], 0); err == nil {
		t.Errorf("box2's ticker (pid %d) is still there", pids["box2"])
	}
	for _, n := range []string{"box1", "box3"} {
		if err := syscall.Kill(pids[n], 0); err != nil {
			t.Errorf("%s's ticker (pid %d): %v", n, pids[n], err)
		}
	}
	if _, stderr, code := f.ctl("kill", "box9/1"); code != 2 || !strings.Contains(stderr, `no node "box9"`) {
		t.Errorf("kill box9/1: exit %d, %q", code, stderr)
	}

	// attach to all three: one list with the NODE column and each node's
	// line; K on box3's row kills box3's task only.
	u := startTmuxWith(t, []string{"XDG_RUNTIME_DIR=" + filepath.Join(f.dir, "client-run")}, "attach", "--nodes", f.nodesToml)
	u.waitFor("the three nodes up", regexp.MustCompile(`box1 up \(1\)  box2 up \(1\)  box3 up \(1\)`), nil)
	u.waitFor("the NODE column", regexp.MustCompile(`(?m)^NODE ID STATE`), nil)
	u.waitFor("box3's running ticker", regexp.MustCompile(`(?m)^box3 +1 . running +ticker`), nil)
	u.keys("End", "Tab") // the last row, box3's task 1, and its detail pane
	u.waitFor("box3's task selected", regexp.MustCompile(`Task box3/1 ticker`), nil)
	u.keys("K")
	u.waitFor("box3's ticker killed", regexp.MustCompile(`(?m)^box3 +1 . killed`), nil)
	ls = f.mustCtl("ls")
	if r1, r3 := row(ls, "box1", "1"), row(ls, "box3", "1"); r1 == nil || r1[3] != "running" || r3 == nil || r3[3] != "killed" {
		t.Errorf("after K on box3's row in attach:\n%s", ls)
	}
	// S on box3's row stops box3 alone; the UI stays with the others.
	u.keys("S")
	u.waitFor("the question", regexp.MustCompile(`Stop node box3 and every task on it\?`), nil)
	u.keys("y")
	u.waitFor("box3 gone, the others up", regexp.MustCompile(`box1 up \(1\)  box2 up \(1\)  box3 unreachable`), nil)
	exited := make(chan error, 1)
	go func() { exited <- f.nodes[2].cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("box3's serve after its shutdown: %v, want exit 0", err)
		}
	case <-time.After(wait):
		t.Fatal("box3's serve did not exit after S, y")
	}
	if _, stderr, code := f.ctl("ls", "--node", "box1", "--node", "box2"); code != 0 {
		t.Errorf("box1 and box2 after box3's stop: exit %d, %s", code, stderr)
	}
	u.keys("q")
	u.waitFor("attach detached", regexp.MustCompile(`detached from nodes box1, box2, box3`), nil)
}

// dialNode is the client library's connection to n over mutual TLS with
// alice's certificate.
func (f *netFixture) dialNode(n *netNode) *client.Client {
	f.t.Helper()
	cfg, err := certs.ClientConfig(certs.In(f.certs, "alice"), filepath.Join(f.certs, "ca.pem"), n.host.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := client.Dial(client.Target{Node: n.name, Address: n.host.addr + ":7070", TLS: cfg})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// follower follows a node's events with the client library: the sequence
// numbers received, and each change of the connection.
type follower struct {
	seqs  chan uint64
	conns chan bool
	done  chan struct{}
	stop  context.CancelFunc
}

func follow(t testing.TB, c *client.Client) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{seqs: make(chan uint64, 100000), conns: make(chan bool, 1000), done: make(chan struct{}), stop: cancel}
	go func() {
		defer close(fl.done)
		_ = c.StreamEvents(ctx, 0, func(ev *pb.Event) error {
			fl.seqs <- ev.GetSeq()
			return nil
		}, func(up bool, err error) {
			fl.conns <- up
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-fl.done
	})
	return fl
}

// expectConn waits for the connection to be up or down.
func (fl *follower) expectConn(t testing.TB, up bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(within)
	for {
		select {
		case got := <-fl.conns:
			if got == up {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("the connection was not %v within %s", map[bool]string{true: "up", false: "down"}[up], within)
		}
	}
}

// Faults: a link down and up again (the client sees the node unreachable,
// then every event of the gap once, in order); a node SIGKILLed (its
// connection lost at once, its tasks gone with it); the node restarted (its
// history back).
func TestHostFaults(t *testing.T) {
	f := newNetFixture(t, 2)
	box1, box2 := f.nodes[0], f.nodes[1]
	f.mustCtl("start", "--node", "box1", "flap") // an event every ~0.25 s
	f.mustCtl("start", "--node", "box1", "ticker")
	f.mustCtl("start", "--node", "box2", "ticker")
	fl := follow(t, f.dialNode(box1))
	fl.expectConn(t, true, wait)

	// The link goes down: no FIN, no RST. Three heartbeats missed (6 s)
	// find it, well before gRPC's keepalive would (10 s, then 5 s for the
	// answer).
	run(t, "ip", "link", "set", box1.host.link, "down")
	took := fl.expectConn(t, false, 40*time.Second)
	t.Logf("a silent link found lost after %s", took.Round(100*time.Millisecond))
	if took > 14*time.Second {
		t.Errorf("a silent link found lost after %s: the keepalive's bound, not the heartbeats' (6 s)", took)
	}
	time.Sleep(time.Second) // events happen while it is away
	run(t, "ip", "link", "set", box1.host.link, "up")
	fl.expectConn(t, true, 40*time.Second)
	// Events go on; every sequence number once, in order, the gap included.
	cl := f.dialNode(box1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	info, err := cl.Info(ctx, &pb.InfoRequest{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	last := info.GetLastSeq()
	var seqs []uint64
	deadline := time.After(wait)
	for len(seqs) == 0 || seqs[len(seqs)-1] < last {
		select {
		case s := <-fl.seqs:
			seqs = append(seqs, s)
		case <-deadline:
			t.Fatalf("events up to %d not received; got up to %v", last, seqs[len(seqs)-1:])
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence %d followed by %d: an event lost or twice", seqs[i-1], seqs[i])
		}
	}
	t.Logf("%d events from %d to %d, each once", len(seqs), seqs[0], seqs[len(seqs)-1])

	// SIGKILL of box2: the client knows at once; the node's guard kills
	// its tasks.
	ls := f.mustCtl("ls", "--node", "box2")
	var tickerPID int
	for _, line := range strings.Split(ls, "\n") {
		if fs := strings.Fields(line); len(fs) > 3 && fs[0] == "1" {
			tickerPID, _ = strconv.Atoi(fs[3])
		}
	}
	fl2 := follow(t, f.dialNode(box2))
	fl2.expectConn(t, true, wait)
	killed := time.Now()
	_ = box2.cmd.Process.Signal(syscall.SIGKILL)
	fl2.expectConn(t, false, wait)
	t.Logf("box2 SIGKILLed: connection lost after %s", time.Since(killed).Round(time.Millisecond))
	proctest.Eventually(t, wait, "box2's ticker killed by its guard", func() bool { return syscall.Kill(tickerPID, 0) != nil })
	_ = box2.cmd.Wait()
	if out, stderr, code := f.ctl("ls"); code != 3 || !strings.Contains(stderr, "node box2") || row(out, "box1", "2") == nil {
		t.Errorf("ls with box2 gone: exit %d, stderr %q, stdout\n%s\nwant box1's rows and box2 named as unreachable", code, stderr, out)
	}

	// Restarted, box2 has its history: the earlier run's ticker.
	box2.start(t, f.certs, filepath.Join(f.dir, "tasks.toml"))
	fl2.expectConn(t, true, wait)
	if hist := f.mustCtl("ls", "--node", "box2", "--all"); !strings.Contains(hist, "ticker") || !strings.Contains(hist, "1.1") {
		t.Errorf("box2 restarted: ls --all\n%s\nwant the first run's ticker (1.1)", hist)
	}
}
