package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// listen creates the node's unix socket at path, mode 0600, in a private
// directory. A socket file left there by a node that died is removed: the
// caller holds the store's lock, so no live node of the name owns it.
func listen(path string) (*net.UnixListener, error) {
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("socket %s: a file that is not a socket is in the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
	}
	// The umask makes the socket 0600 from its creation on, so that there is
	// no moment in which another user could connect.
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return l, nil
}

// peerListener accepts only connections from the node's own uid and root,
// checked by the peer's credentials; others are closed at once, with a log
// line, and never reach gRPC.
type peerListener struct {
	net.Listener
	uid int
	log *slog.Logger
}

// Accept implements net.Listener.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, pid, err := peerCred(c)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			return c, nil // the socket's mode is the check here
		case err != nil:
			l.log.Warn("refused a connection: its credentials cannot be read", "err", err)
		case uid == l.uid || uid == 0:
			return c, nil
		default:
			l.log.Warn("refused a connection from another user: only the node's own uid and root may connect",
				"uid", uid, "pid", pid, "node_uid", l.uid)
		}
		c.Close()
	}
}
