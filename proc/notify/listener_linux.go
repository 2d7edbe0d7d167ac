//go:build linux

package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Supported reports whether Listen can work on this system: on Linux it does.
const Supported = true

// maxDatagram is the receive buffer. systemd itself reads at most 4 KiB; we
// allow more so that a long STATUS= survives, and a larger datagram is
// reported as truncated (Malformed) rather than half-parsed.
const maxDatagram = 64 << 10

// maxFDs is how many descriptors one datagram can carry: the kernel's
// SCM_MAX_FD. With room for all of them the kernel never has to truncate the
// control data of a well-formed datagram.
const maxFDs = 253

// oobSize holds the sender's credentials and maxFDs descriptors.
var oobSize = unix.CmsgSpace(unix.SizeofUcred) + unix.CmsgSpace(4*maxFDs)

// recvBuffers are what one batch receives into. They are pooled rather than
// owned by each Listener because a batch needs them only briefly, and a
// thousand idle tasks should not hold 65 MB of buffers.
type recvBuffers struct{ data, oob []byte }

var recvPool = sync.Pool{New: func() any {
	return &recvBuffers{data: make([]byte, maxDatagram), oob: make([]byte, oobSize)}
}}

// Listener receives the sd_notify datagrams of one task on a unixgram socket.
//
// Datagrams queue in the kernel from Listen on, until Serve starts reading.
// The kernel queues at most net.unix.max_dgram_qlen + 1 datagrams per socket
// (11 with the default of 10); a sender then blocks, as sd_notify's send is
// blocking, until we read. SO_RCVBUF does not change that limit (the queue
// of a unix datagram socket is bounded by count and charged to the sender's
// buffer), so Listen leaves it alone.
type Listener struct {
	conn     *net.UnixConn
	raw      syscall.RawConn
	path     string
	abstract bool

	// mu serialises batches of "receive until EAGAIN and handle each": the
	// Serve goroutine runs one whenever the netpoller reports the socket
	// readable, Flush runs one on demand. Holding mu across both the receive
	// and the handler is what keeps delivery in arrival order.
	mu      sync.Mutex
	trust   func(pid int) bool
	handle  func(Message)
	done    chan struct{} // closed when the Serve goroutine ends; nil before Serve
	oobLen  int           // how much of the pooled oob buffer to offer; tests shrink it
	serving bool

	// closing is set first thing by Close; a batch checks it between
	// datagrams so that a flood cannot hold Close up.
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// limit is the token bucket of the rate limit; mu guards it.
	limit tokenBucket

	received, malformed, foreign, delivered, throttled atomic.Uint64
}

// Listen binds a unixgram socket at path and returns a Listener for it.
// A path starting with '@' is an abstract socket (no file, no permissions:
// only the credentials check guards it). A file path must not exist yet; it
// should lie in a private directory such as NewDir's.
//
// SO_PASSCRED is set before the socket is bound, so every datagram that can
// ever arrive carries its sender's credentials. The socket file is made 0600:
// only our uid can send (root can anyway).
func Listen(path string) (*Listener, error) {
	l := &Listener{path: path, abstract: len(path) > 0 && path[0] == '@'}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
			if err != nil {
				err = os.NewSyscallError("setsockopt SO_PASSCRED", err)
				return
			}
			if !l.abstract {
				// bind gives the file the socket inode's mode minus the
				// umask, so this closes the window between bind and the
				// Chmod below in which another user could send. Best
				// effort: the Chmod after bind is what we rely on.
				_ = unix.Fchmod(int(fd), 0o600)
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	pc, err := lc.ListenPacket(context.Background(), "unixgram", path)
	if err != nil {
		return nil, fmt.Errorf("sd_notify: %w", err)
	}
	l.conn = pc.(*net.UnixConn)
	fail := func(err error) (*Listener, error) {
		l.conn.Close()
		if !l.abstract {
			os.Remove(path)
		}
		return nil, fmt.Errorf("sd_notify: %w", err)
	}
	if !l.abstract {
		if err := os.Chmod(path, 0o600); err != nil {
			return fail(err)
		}
	}
	if l.raw, err = l.conn.SyscallConn(); err != nil {
		return fail(err)
	}
	l.oobLen = oobSize
	l.limit = newTokenBucket(DefaultRate, DefaultBurst)
	return l, nil
}

// Path returns the socket's address as given to Listen: the value for the
// task's NOTIFY_SOCKET.
func (l *Listener) Path() string { return l.path }

// Serve starts the one goroutine that reads datagrams, and returns at once.
// The goroutine waits in the netpoller, not in a blocking system call, so a
// thousand idle listeners cost no OS threads.
//
// For each datagram, in arrival order: if it has no credentials, or trust
// rejects the sender's pid, it is dropped as Foreign; every descriptor it
// carries is then closed, whoever sent it (that releases a BARRIER=1
// sender); if it does not parse it is dropped as Malformed; otherwise handle
// receives it with Sender set.
// A nil trust accepts every sender; a nil handle discards messages.
//
// trust and handle run on the Serve goroutine or on a goroutine calling
// Flush, one call at a time, never concurrently. They must not call Flush or
// Close on this Listener: both wait for the running batch, which waits for
// them. Serve may be called once; after Close it does nothing.
func (l *Listener) Serve(trust func(pid int) bool, handle func(Message)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.serving {
		panic("notify: Serve called twice")
	}
	l.serving = true
	if l.closing.Load() {
		return
	}
	l.trust, l.handle = trust, handle
	l.done = make(chan struct{})
	go l.serve()
}

func (l *Listener) serve() {
	defer close(l.done)
	// RawRead calls the function each time the netpoller reports the socket
	// readable, and parks the goroutine in between while it returns false.
	// It returns once Close has evicted the descriptor from the poller.
	_ = l.raw.Read(func(fd uintptr) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.batch(int(fd))
		return l.closing.Load()
	})
}

// Flush delivers, before it returns, every datagram that was queued in the
// socket when it was called, in order after those Serve has delivered
// already: when the task's leader has exited, Flush makes its last datagrams
// arrive before its exit is reported. If the Serve goroutine is in the middle
// of a batch, Flush waits for it.
//
// Before Serve (no handler yet) and after Close, Flush does nothing.
func (l *Listener) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil || l.closing.Load() {
		return
	}
	// Control does not take the descriptor's read lock, which the Serve
	// goroutine holds while it is parked in RawRead; it only keeps the
	// descriptor open until the function returns.
	_ = l.raw.Control(func(fd uintptr) { l.batch(int(fd)) })
}

// batch receives and dispatches datagrams until the socket is empty or the
// Listener is closing. mu is held.
func (l *Listener) batch(fd int) {
	bufs := recvPool.Get().(*recvBuffers)
	defer recvPool.Put(bufs)
	data, oob := bufs.data, bufs.oob[:l.oobLen]
	for !l.closing.Load() {
		// MSG_CMSG_CLOEXEC: the process layer forks children concurrently,
		// and a passed descriptor must not leak into one of them in the
		// instant before we close it.
		n, oobn, flags, _, err := unix.Recvmsg(fd, data, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// EAGAIN: empty, back to the netpoller. Anything else cannot
			// be fixed by retrying at once; the next readiness retries.
			return
		}
		l.dispatch(data[:n], oob[:oobn], flags)
	}
}

// dispatch handles one received datagram. mu is held.
func (l *Listener) dispatch(data, oob []byte, flags int) {
	l.received.Add(1)
	pid, fds, cerr := readControl(oob)
	trusted := pid > 0 && (l.trust == nil || l.trust(pid))
	// The descriptors are closed only after trust has run: a BARRIER=1
	// sender waits for that, so it is still alive while trust looks it up
	// and its pid cannot have been reused. Still before the handler, so that
	// a slow handler does not hold the sender up.
	for _, fd := range fds {
		unix.Close(fd)
	}
	if !trusted {
		l.foreign.Add(1)
		return
	}
	if cerr != nil || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		l.malformed.Add(1)
		return
	}
	m, err := Parse(data)
	if err != nil {
		l.malformed.Add(1)
		return
	}
	if !l.limit.take(time.Now()) {
		l.throttled.Add(1)
		return
	}
	m.Sender = pid
	l.delivered.Add(1)
	if l.handle != nil {
		l.handle(m)
	}
}

// readControl returns the sender's pid from SCM_CREDENTIALS, 0 when there is
// none (or the sender lives in a pid namespace we cannot see, where the
// kernel reports 0), and every descriptor passed with SCM_RIGHTS, for the
// caller to close.
//
// The kernel writes well-formed headers even when it truncates (MSG_CTRUNC),
// so a parse error should never happen; if it did, the integers in the buffer
// could not be told from our own descriptors and are better leaked than
// closed at a guess.
func readControl(oob []byte) (pid int, fds []int, err error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, nil, err
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_RIGHTS:
			rights, rerr := unix.ParseUnixRights(m)
			fds = append(fds, rights...)
			if rerr != nil {
				err = rerr
			}
		case unix.SCM_CREDENTIALS:
			if cred, cerr := unix.ParseUnixCredentials(m); cerr == nil {
				pid = int(cred.Pid)
			} else {
				err = cerr
			}
		}
	}
	return pid, fds, err
}

// Close stops the Serve goroutine and waits for it, closes the socket and
// removes its file. Datagrams still queued are discarded (the kernel closes
// the descriptors they carry). Close is idempotent; later calls return the
// first call's result.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		// Serve checks closing under mu, so after this either done is
		// visible here or Serve will not start a goroutine.
		l.mu.Lock()
		done := l.done
		l.mu.Unlock()
		// Closing the conn wakes the parked RawRead and then waits until no
		// Read or Control is using the descriptor any more.
		l.closeErr = l.conn.Close()
		if done != nil {
			<-done
		}
		if !l.abstract {
			if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) && l.closeErr == nil {
				l.closeErr = err
			}
		}
	})
	return l.closeErr
}

// SetLimit replaces the rate limit: at most rate datagrams a second are
// delivered, in bursts of at most burst; the rest are counted as Throttled.
// A rate of zero or less turns the limit off.
func (l *Listener) SetLimit(rate float64, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = newTokenBucket(rate, burst)
}

// Stats returns the counters. They are read one by one, so a batch running
// at the same time may show in some and not yet in others.
func (l *Listener) Stats() Stats {
	return Stats{
		Received:  l.received.Load(),
		Malformed: l.malformed.Load(),
		Foreign:   l.foreign.Load(),
		Delivered: l.delivered.Load(),
		Throttled: l.throttled.Load(),
	}
}
