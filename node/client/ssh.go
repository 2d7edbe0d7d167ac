package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// SSHCommandEnv names the environment variable that replaces the ssh
// program and its options, as GIT_SSH_COMMAND does for git: split at
// spaces ("ssh -F /path/config"). Unset: "ssh".
const SSHCommandEnv = "TASKVISOR_SSH_COMMAND"

// sshArgv is the command that reaches a node over ssh: the user's ssh with
// its config, keys and agent as they are (BatchMode: it never asks for a
// password on a terminal it does not have), running `taskvisor dial-stdio`
// on the host, which joins the pipe to the node's unix socket there.
func sshArgv(t Target) []string {
	argv := strings.Fields(os.Getenv(SSHCommandEnv))
	if len(argv) == 0 {
		argv = []string{"ssh"}
	}
	argv = append(argv, "-T", "-o", "BatchMode=yes")
	if t.SSHPort != "" {
		argv = append(argv, "-p", t.SSHPort)
	}
	remote := t.Remote
	if remote == "" {
		remote = "taskvisor"
	}
	cmd := remote + " dial-stdio" // the user's words, as the remote shell reads them
	if t.Node != "" {
		cmd += " --node " + shellQuote(t.Node)
	}
	return append(argv, "--", t.SSH, cmd)
}

// shellQuote quotes s for the remote shell, which ssh hands the command to.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dialSSH starts ssh for t and returns its pipes as a connection; closing it
// ends ssh and reaps it.
func dialSSH(ctx context.Context, t Target) (net.Conn, error) {
	argv := sshArgv(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.SSH, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.SSH, err)
	}
	c := &sshConn{host: t.SSH, cmd: cmd, stdin: stdin, stdout: stdout, done: make(chan struct{})}
	cmd.Stderr = &c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.SSH, err)
	}
	go func() {
		defer close(c.done)
		c.waitErr = cmd.Wait()
	}()
	if ctx.Err() != nil {
		c.Close()
		return nil, ctx.Err()
	}
	return c, nil
}

// sshConn is an ssh process's stdin and stdout as a net.Conn. Deadlines are
// not kept (gRPC's keepalives bound a silent connection instead).
type sshConn struct {
	host    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.ReadCloser
	stderr  limitedBuffer
	done    chan struct{} // closed once ssh is reaped
	waitErr error
	once    sync.Once
}

// Read reads from ssh's stdout; at its end the error says what ssh said.
func (c *sshConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil && n == 0 && errors.Is(err, io.EOF) {
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return 0, fmt.Errorf("ssh %s: %s", c.host, msg)
		}
	}
	return n, err
}

func (c *sshConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// Close ends the session: stdin closed, then ssh killed if it has not
// ended within a second, and reaped.
func (c *sshConn) Close() error {
	c.once.Do(func() {
		c.stdin.Close()
		select {
		case <-c.done:
		case <-time.After(time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return nil
}

func (c *sshConn) LocalAddr() net.Addr  { return sshAddr("local") }
func (c *sshConn) RemoteAddr() net.Addr { return sshAddr(c.host) }

func (c *sshConn) SetDeadline(time.Time) error      { return nil }
func (c *sshConn) SetReadDeadline(time.Time) error  { return nil }
func (c *sshConn) SetWriteDeadline(time.Time) error { return nil }

// sshAddr is the address of either end of an ssh connection.
type sshAddr string

func (a sshAddr) Network() string { return "ssh" }
func (a sshAddr) String() string  { return string(a) }

// limitedBuffer keeps the first 4 KiB written to it: ssh's messages.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
