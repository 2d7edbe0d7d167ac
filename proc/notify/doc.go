// Package notify receives the sd_notify datagrams of supervised tasks and
// sends them from Go programs that taskvisor supervises.
//
// A task learns where to send through NOTIFY_SOCKET, as under systemd. Each
// task gets its own Listener on a unixgram socket inside a private directory
// (NewDir), so a datagram's socket already says which task it concerns; the
// sender's credentials (SO_PASSCRED) say whether it really comes from that
// task's process tree, which the caller decides through a trust function.
// One goroutine reads every served Listener of the program, each socket
// polled once (EPOLLONESHOT) and, when paced (SetPace), again only at the
// next tick of its pace, so a busy socket costs no wake-up per datagram. A
// socket it cannot take (ServeErr) is read by a goroutine of its own.
//
// Parse understands the systemd fields that a supervisor acts on and
// taskvisor's X_PROGRESS extension; it is portable. Receiving needs
// SCM_CREDENTIALS and is Linux only: elsewhere Listen returns an error that
// matches errors.ErrUnsupported, while Send and SendTo still work.
package notify
