package notify

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Send sends state, one datagram of newline-separated KEY=VALUE assignments,
// to the socket named by $NOTIFY_SOCKET. Like sd_notify, it returns nil and
// sends nothing when NOTIFY_SOCKET is unset, so that a program runs the same
// with or without a supervisor.
func Send(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	return SendTo(path, state)
}

// SendTo sends state as one datagram to the unixgram socket at path, which
// is absolute or, starting with '@', an abstract socket (Linux).
//
// It blocks while the receiver's queue is full, as sd_notify does: progress
// is worth waiting for, and the wait ends when the receiver reads or closes.
// The socket is connected first, so that the kernel wakes the sender when
// the queue drains (an unconnected datagram socket never learns that).
func SendTo(path, state string) error {
	if path == "" || (path[0] != '/' && path[0] != '@') {
		return fmt.Errorf("sd_notify: socket %q is neither an absolute path nor abstract", path)
	}
	if state == "" {
		return errors.New("sd_notify: empty state")
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
