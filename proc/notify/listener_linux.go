//go:build linux

package notify

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether Listen can work on this system: on Linux it does.
const Supported = true

// maxDatagram is the receive buffer. systemd itself reads at most 4 KiB; we
// allow more so that a long STATUS= survives, and a larger datagram is
// reported as truncated (Malformed) rather than half-parsed.
const maxDatagram = 64 << 10

// maxFDs is how many descriptors we take from one datagram. sd_notify passes
// one (BARRIER=1) or a few (FDSTORE=1, which we do not keep); the kernel
// allows 253 (SCM_MAX_FD). The control buffer has room for maxFDs only, so
// the kernel installs at most that many in our descriptor table and discards
// the rest itself (MSG_CTRUNC: the datagram is Malformed). A batch therefore
// holds at most recvBatch*maxFDs = 128 passed descriptors at once, however
// many a task sends, and they are closed as each datagram is dispatched: a
// task cannot make another's start fail with "too many open files".
const maxFDs = 16

// oobSize holds the sender's credentials and maxFDs descriptors.
var oobSize = unix.CmsgSpace(unix.SizeofUcred) + unix.CmsgSpace(4*maxFDs)

// recvBatch is how many datagrams one recvmmsg call can return. A call that
// returns fewer found the socket empty, so a wake-up for one datagram costs
// one system call rather than two (the datagram, then the EAGAIN that ends
// the batch), and a full queue (at most max_dgram_qlen+1 = 11) takes two.
const recvBatch = 8

// mmsghdr is struct mmsghdr; Go pads it to Msghdr's alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32 // bytes received
}

// recvBuffers are what one batch receives into: recvBatch slots of a datagram
// and its control data, and the headers that point at them. They are pooled
// rather than owned by each Listener because a batch needs them only
// briefly, and a thousand idle tasks should not hold 0.5 GB of buffers.
type recvBuffers struct {
	data [recvBatch][]byte
	oob  [recvBatch][]byte
	iov  [recvBatch]unix.Iovec
	msgs [recvBatch]mmsghdr
}

var recvPool = sync.Pool{New: func() any {
	b := &recvBuffers{}
	data, oob := make([]byte, recvBatch*maxDatagram), make([]byte, recvBatch*oobSize)
	for i := range recvBatch {
		b.data[i] = data[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
		b.oob[i] = oob[i*oobSize : (i+1)*oobSize : (i+1)*oobSize]
		b.iov[i].Base = &b.data[i][0]
		b.msgs[i].hdr.Iov = &b.iov[i]
		b.msgs[i].hdr.SetIovlen(1)
		b.msgs[i].hdr.Control = &b.oob[i][0]
	}
	return b
}}

// recv receives up to recvBatch datagrams without blocking, offering oobLen
// bytes of control buffer to each, and returns how many it received.
func (b *recvBuffers) recv(fd, oobLen int) (int, error) {
	for i := range b.msgs {
		// The kernel writes the lengths back: reset them for every call.
		b.iov[i].SetLen(maxDatagram)
		b.msgs[i].hdr.SetControllen(oobLen)
		b.msgs[i].hdr.Flags = 0
		b.msgs[i].n = 0
	}
	// MSG_CMSG_CLOEXEC: the process layer forks children concurrently, and
	// a passed descriptor must not leak into one of them in the instant
	// before we close it.
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.msgs[0])), recvBatch,
		unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// Listener receives the sd_notify datagrams of one task on a unixgram socket.
//
// Datagrams queue in the kernel from Listen on, until Serve starts reading.
// The kernel queues at most net.unix.max_dgram_qlen + 1 datagrams per socket
// (11 with the default of 10); a sender then blocks, as sd_notify's send is
// blocking, until we read. SO_RCVBUF does not change that limit (the queue
// of a unix datagram socket is bounded by count and charged to the sender's
// buffer), so Listen leaves it alone.
type Listener struct {
	path     string
	abstract bool

	// mu serialises batches of "receive until empty and handle each": the
	// program's notify reader (see hub) runs one whenever the socket is
	// readable, Flush runs one on demand. Holding mu across both the receive
	// and the handler is what keeps delivery in arrival order. Close closes
	// fd under mu, so a batch never reads a descriptor number reused.
	mu      sync.Mutex
	fd      int
	trust   func(pid int) bool
	handle  func(Message)
	hub     *hub   // the reader serving it; nil before Serve, or if join failed
	id      uint64 // its key in hub
	oobLen  int    // how much of the pooled oob buffer to offer; tests shrink it
	serving bool

	// Without a hub (ServeErr), a goroutine of its own reads the socket
	// until Close closes pollStop; it closes pollDone as it ends.
	serveErr           error
	pollStop, pollDone chan struct{}

	// closing is set first thing by Close; a batch checks it between
	// datagrams so that a flood cannot hold Close up.
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// limit is the token bucket of the rate limit; mu guards it.
	limit tokenBucket

	// pace is SetPace's interval; 0 reads at once. hurry: until then the
	// socket is read without pause, as it was busy. mu guards hurry.
	pace  time.Duration
	hurry time.Time

	// onDrop is SetOnDrop's function; nil: none.
	onDrop func()

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
	l := &Listener{path: path, abstract: len(path) > 0 && path[0] == '@', fd: -1}
	// Not Go's net package: its netpoller registration would report every
	// datagram's arrival, also while a paced socket is not to be read; the
	// hub polls the socket with EPOLLONESHOT instead.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("sd_notify: %w", os.NewSyscallError("socket", err))
	}
	fail := func(err error) (*Listener, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("sd_notify: listen %s: %w", path, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		return fail(os.NewSyscallError("setsockopt SO_PASSCRED", err))
	}
	if !l.abstract {
		// bind gives the file the socket inode's mode minus the umask, so
		// this closes the window between bind and the Chmod below in which
		// another user could send. Best effort: the Chmod after bind is
		// what we rely on.
		_ = unix.Fchmod(fd, 0o600)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fail(os.NewSyscallError("bind", err))
	}
	if !l.abstract {
		if err := os.Chmod(path, 0o600); err != nil {
			os.Remove(path)
			return fail(err)
		}
	}
	l.fd = fd
	l.oobLen = oobSize
	l.limit = newTokenBucket(DefaultRate, DefaultBurst)
	return l, nil
}

// Path returns the socket's address as given to Listen: the value for the
// task's NOTIFY_SOCKET.
func (l *Listener) Path() string { return l.path }

// Serve hands the socket to the program's notify reader, and returns at
// once. One goroutine reads every served socket of the program (see hub);
// it waits in the netpoller, not in a blocking system call, so a thousand
// idle listeners cost no OS thread and no goroutine each. A socket the
// reader cannot take gets a goroutine of its own instead (see ServeErr).
//
// For each datagram, in arrival order: if it has no credentials, or trust
// rejects the sender's pid, it is dropped as Foreign; every descriptor it
// carries is then closed, whoever sent it (that releases a BARRIER=1
// sender); if it does not parse it is dropped as Malformed; otherwise handle
// receives it with Sender set.
// A nil trust accepts every sender; a nil handle discards messages.
//
// trust and handle run on the notify reader (or the socket's own goroutine)
// or on a goroutine calling Flush, one call at a time, never concurrently. They must be quick: while
// they run, no other Listener of the program is read. They must not call
// Flush or Close on this Listener: both wait for the running batch, which
// waits for them. Serve may be called once; after Close it does nothing.
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
	h, err := join(l)
	if err != nil {
		l.serveErr = fmt.Errorf("sd_notify: serve %s: %w", l.path, err)
		l.pollStop, l.pollDone = make(chan struct{}), make(chan struct{})
		go l.pollUnserved(cmp.Or(l.pace, unservedPoll), l.pollStop, l.pollDone)
		return
	}
	l.hub = h
}

// ServeErr says why the program's notify reader could not take the socket
// (out of epoll watches, say); nil when it serves it, and before Serve. Such
// a socket is still read: every pace interval (every 10 ms unpaced) by a
// goroutine of its own, and by Flush.
func (l *Listener) ServeErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.serveErr
}

// unservedPoll is how often a socket that the reader could not take is read
// when it has no pace.
const unservedPoll = 10 * time.Millisecond

// pollUnserved reads the socket every interval until stop is closed.
func (l *Listener) pollUnserved(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		if !l.closing.Load() {
			_, _ = l.batch(l.fd)
		}
		l.mu.Unlock()
	}
}

// serveReady runs a batch once the hub found the socket readable, and says
// when to poll it again: now, or at the next pace tick.
func (l *Listener) serveReady() (pause bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing.Load() {
		return false
	}
	n, busy := l.batch(l.fd)
	if l.pace <= 0 || n == 0 {
		return false
	}
	now := time.Now()
	if busy {
		l.hurry = now.Add(busyUnpaced)
		return false
	}
	return now.After(l.hurry)
}

// busyUnpaced is how long a paced Listener reads without pause after a
// receive call came back full: a sender that floods its socket is not held
// up by pauses, which would turn the rate limit's drops into a sender
// blocked for most of each interval.
const busyUnpaced = time.Second

// SetPace makes a busy socket be read once per interval instead of at every
// datagram: after a batch that found datagrams, but fewer than one receive
// call takes (8), the socket is not polled again until the next multiple of
// interval of the wall clock, and datagrams that come meanwhile wake
// nothing. The first datagram after a quiet interval is read at once; the
// ones that follow it within interval wait for at most interval. Every
// Listener of the program paced at the same interval is polled again at the
// same instants, and each read takes all that its socket queued meanwhile: a wake-up costs
// more than the datagram's own work (100 tasks sending every 10 ms: 33 µs
// of CPU a datagram unpaced, 22 µs read every 20 ms, 20 µs every 30 ms,
// with a goroutine per socket; fewer with the one reader). A socket that
// fills a receive call (a flood, or a queue longer than 8) is read without
// pause for a second, as an unpaced one.
//
// Meanwhile datagrams queue in the kernel, at most max_dgram_qlen + 1 (11 by
// default); a sender beyond that blocks until the next read, as sd_notify's
// send is blocking. SetPace must be called before Serve; 0 turns pacing off.
func (l *Listener) SetPace(interval time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.serving {
		panic("notify: SetPace called after Serve")
	}
	l.pace = interval
}

// SetOnDrop makes fn be called after each read of the socket in which
// datagrams were dropped (Stats.Dropped grew), at most once per read, on
// the goroutine that read it and in order with the handler's calls: a
// program that shows the count need not wait for the next datagram that
// gets through. fn must not block. SetOnDrop must be called before Serve.
func (l *Listener) SetOnDrop(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.serving {
		panic("notify: SetOnDrop called after Serve")
	}
	l.onDrop = fn
}

// dropped is Stats().Dropped(), read without building the Stats.
func (l *Listener) dropped() uint64 {
	return l.malformed.Load() + l.foreign.Load() + l.throttled.Load()
}

// Flush delivers, before it returns, every datagram that was queued in the
// socket when it was called, in order after those already delivered: when
// the task's leader has exited, Flush makes its last datagrams arrive before
// its exit is reported. If the reader is in the middle of a batch of this
// socket, Flush waits for it.
//
// Before Serve (no handler yet) and after Close, Flush does nothing. A
// socket that the reader could not take (ServeErr) is flushed all the same.
func (l *Listener) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.serving || l.closing.Load() {
		return
	}
	_, _ = l.batch(l.fd)
}

// batch receives and dispatches datagrams until the socket is empty or the
// Listener is closing. mu is held.
//
// It may stop before an EAGAIN: once recvmmsg returns fewer datagrams than it
// had room for, the socket was empty, and a datagram queued after that is
// seen when the socket is polled again: the hub re-arms its one-shot
// registration after the batch (at once, or at the pace's tick), and
// EPOLL_CTL_MOD reports a socket that holds datagrams then; a socket the hub
// does not serve is read at its goroutine's next tick.
//
// It returns how many datagrams it received, and busy when one receive call
// filled all its slots.
func (l *Listener) batch(fd int) (total int, busy bool) {
	bufs := recvPool.Get().(*recvBuffers)
	defer recvPool.Put(bufs)
	if l.onDrop != nil {
		before := l.dropped()
		defer func() {
			if l.dropped() != before {
				l.onDrop()
			}
		}()
	}
	for !l.closing.Load() {
		n, err := bufs.recv(fd, l.oobLen)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// EAGAIN: empty, back to the hub. Anything else cannot
			// be fixed by retrying at once; the next readiness retries.
			return total, busy
		}
		total += n
		for i := range n {
			if l.closing.Load() {
				// Close discards what is queued; these are closed here
				// because the kernel has handed them over already.
				closeRights(bufs.oob[i][:bufs.msgs[i].hdr.Controllen])
				continue
			}
			h := &bufs.msgs[i].hdr
			l.dispatch(bufs.data[i][:bufs.msgs[i].n], bufs.oob[i][:h.Controllen], int(h.Flags))
		}
		if n < recvBatch {
			return total, busy
		}
		busy = true
	}
	return total, busy
}

// closeRights closes the descriptors a received datagram carries.
func closeRights(oob []byte) {
	_, fds, _ := readControl(oob)
	for _, fd := range fds {
		unix.Close(fd)
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

// Close takes the socket from the reader, waits for a batch in progress,
// closes the socket and removes its file. Datagrams still queued are
// discarded (the kernel closes the descriptors they carry). Close is
// idempotent; later calls return the first call's result.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		// Serve checks closing under mu, so after this either hub is
		// visible here or Serve will not join one.
		l.mu.Lock()
		h, stop, done := l.hub, l.pollStop, l.pollDone
		l.mu.Unlock()
		if h != nil {
			h.leave(l)
		}
		if stop != nil {
			close(stop)
			<-done
		}
		l.mu.Lock()
		if err := unix.Close(l.fd); err != nil {
			l.closeErr = os.NewSyscallError("close", err)
		}
		l.fd = -1
		l.mu.Unlock()
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
