//go:build linux

package tests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/internal/syncbuf"
)

// A node reached over ssh: a real sshd (openssh-server) in a namespace of
// its own, key-only, and the client in the root namespace reaching the node
// there through an ssh:// address, with ssh's own config, key and
// known_hosts (TASKVISOR_SSH_COMMAND points ssh at the test's files).
func TestNodeOverSSH(t *testing.T) {
	needNetns(t)
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/sshd"); err != nil {
			t.Skip("sshd (openssh-server) is not installed: .ci/run installs it")
		}
		sshd = "/usr/sbin/sshd"
	}
	dir, err := os.MkdirTemp("", "tvssh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := newHost(t, 100)
	for _, key := range []string{"host", "user"} {
		run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", filepath.Join(dir, key))
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hostPub, err := os.ReadFile(filepath.Join(dir, "host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	authorized := write("authorized_keys", string(pub))
	known := write("known_hosts", fmt.Sprintf("[%s]:2222 %s", h.addr, hostPub))
	config := write("sshd_config", strings.Join([]string{
		"Port 2222", "ListenAddress " + h.addr, "HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + authorized, "PermitRootLogin prohibit-password",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
		"UsePAM no", "StrictModes no", "PidFile " + filepath.Join(dir, "sshd.pid"), "LogLevel VERBOSE",
	}, "\n")+"\n")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatal(err)
	}
	var sshdLog syncbuf.Buffer
	daemon := exec.Command("ip", "netns", "exec", h.ns, sshd, "-D", "-e", "-f", config)
	daemon.Stderr = &sshdLog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = daemon.Process.Kill()
		_ = daemon.Wait()
		if t.Failed() {
			t.Logf("sshd said:\n%s", sshdLog.String())
		}
	})
	proctest.Eventually(t, wait, "sshd to listen", func() bool {
		c, err := net.DialTimeout("tcp", h.addr+":2222", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// The node in the namespace, on its unix socket only.
	n := &netNode{name: "far", dir: filepath.Join(dir, "far"), host: h}
	if err := os.MkdirAll(filepath.Join(n.dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	tasks := write("tasks.toml", "[[task]]\nname = \"ticker\"\ncommand = \"while :; do echo tick; sleep 0.2; done\"\nstop_grace = \"1s\"\n")
	serve := exec.Command("ip", "netns", "exec", h.ns, binary, "serve", "--name", "far", "--tasks", tasks)
	serve.Env = append(os.Environ(), n.env()...)
	var serveLog syncbuf.Buffer
	serve.Stderr = &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		_ = serve.Wait()
	})
	socket := filepath.Join(n.dir, "run", "taskvisor", "far.sock")
	proctest.Eventually(t, wait, "the node's socket", func() bool { _, err := os.Stat(socket); return err == nil })

	// The client: ssh with the test's key and known_hosts, the node named
	// in a nodes file with the remote command (the node's runtime
	// directory is the test's, not the login's default).
	nodes := write("nodes.toml", fmt.Sprintf("[[node]]\nname = \"far\"\naddress = \"ssh://root@%s:2222/far\"\nremote = \"XDG_RUNTIME_DIR=%s %s\"\n",
		h.addr, filepath.Join(n.dir, "run"), binary))
	sshCmd := fmt.Sprintf("ssh -F /dev/null -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes", filepath.Join(dir, "user"), known)
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		args = append(args[:1:1], append([]string{"--nodes", nodes}, args[1:]...)...)
		return runBinary(t, []string{"TASKVISOR_SSH_COMMAND=" + sshCmd, "XDG_RUNTIME_DIR=" + filepath.Join(dir, "client-run")}, args...)
	}
	if out, stderr, code := ctl("start", "ticker"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Fatalf("start over ssh: exit %d, %q, %q", code, out, stderr)
	}
	proctest.Eventually(t, wait, "the ticker running, seen over ssh", func() bool {
		out, _, _ := ctl("ls")
		return strings.Contains(out, "running") && strings.Contains(out, "ticker")
	})
	if out, stderr, code := ctl("logs", "-n", "1", "far/1"); code != 0 || !strings.Contains(out, "tick") {
		t.Errorf("logs over ssh: exit %d, %q, %q", code, out, stderr)
	}
	if _, stderr, code := ctl("kill", "far/1"); code != 0 {
		t.Fatalf("kill over ssh: exit %d, %q", code, stderr)
	}
	proctest.Eventually(t, wait, "the ticker killed", func() bool {
		out, _, _ := ctl("ls")
		return strings.Contains(out, "killed")
	})
	if !strings.Contains(sshdLog.String(), "Accepted publickey for root") {
		t.Errorf("sshd did not log a key login:\n%s", sshdLog.String())
	}

	// Without the key, ssh is refused and the client says what ssh said.
	sshCmd = fmt.Sprintf("ssh -F /dev/null -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes", filepath.Join(dir, "host"), known)
	if _, stderr, code := ctl("ls"); code != 3 || !strings.Contains(stderr, "Permission denied") {
		t.Errorf("ls with a key sshd does not know: exit %d, %q; want ssh's refusal", code, stderr)
	}
}
