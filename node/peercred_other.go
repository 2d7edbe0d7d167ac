//go:build !linux

package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// peerCred is not implemented here: the socket's mode (0600, in a 0700
// directory) is the only check.
func peerCred(net.Conn) (uid, pid int, err error) {
	return -1, 0, errors.ErrUnsupported
}

// checkOwner refuses a directory that is not the user's own.
func checkOwner(dir string, st os.FileInfo) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("socket directory %s: owned by uid %d, not by this user (uid %d)", dir, sys.Uid, os.Getuid())
	}
	return nil
}
