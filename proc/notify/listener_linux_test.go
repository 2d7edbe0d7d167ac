//go:build linux

package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/taskvisor/taskvisor/internal/proctest"
)

// collector records delivered messages; handle may run on the Serve
// goroutine or the one calling Flush.
type collector struct {
	mu   sync.Mutex
	msgs []Message
}

func (c *collector) handle(m Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) get() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

// self trusts only this test process.
func self(pid int) bool { return pid == os.Getpid() }

func listen(t *testing.T) *Listener {
	t.Helper()
	l, err := Listen(filepath.Join(t.TempDir(), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func send(t *testing.T, l *Listener, state string) {
	t.Helper()
	if err := SendTo(l.Path(), state); err != nil {
		t.Fatal(err)
	}
}

// sendFDs sends state with files' descriptors attached, as sd_notify does
// for BARRIER=1: a blocking sendmsg on an unconnected socket (Go's net
// refuses control data on a connected datagram socket).
func sendFDs(t *testing.T, l *Listener, state string, files ...*os.File) {
	t.Helper()
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if err := unix.Sendmsg(s, []byte(state), unix.UnixRights(fds...), &unix.SockaddrUnix{Name: l.Path()}, 0); err != nil {
		t.Fatal(err)
	}
}

// expectEOF reads r until EOF, which comes once every copy of the pipe's
// write end is closed.
func expectEOF(t *testing.T, r *os.File) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from the pipe = %d, %v; want EOF: the listener kept a passed descriptor open", n, err)
	}
}

func wantStats(t *testing.T, l *Listener, want Stats) {
	t.Helper()
	if got := l.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestListenerDelivers(t *testing.T) {
	l := listen(t)
	var c collector
	l.Serve(self, c.handle)
	send(t, l, "READY=1\nSTATUS=hello\n")
	l.Flush()
	got := c.get()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	m := got[0]
	if !m.Ready || m.Status != "hello" || !m.HasStatus || m.Sender != os.Getpid() {
		t.Errorf("got %#v, want READY, STATUS=hello from %d", m, os.Getpid())
	}
	wantStats(t, l, Stats{Received: 1, Delivered: 1})
}

func TestListenerForeign(t *testing.T) {
	l := listen(t)
	var c collector
	var asked []int
	l.Serve(func(pid int) bool { asked = append(asked, pid); return false }, c.handle)
	send(t, l, "READY=1")
	send(t, l, "READY=2") // foreign first: its content is not even parsed
	l.Flush()
	if got := c.get(); len(got) != 0 {
		t.Errorf("delivered %v from an untrusted sender", got)
	}
	if len(asked) != 2 || asked[0] != os.Getpid() {
		t.Errorf("trust was asked about %v, want this process (%d) twice", asked, os.Getpid())
	}
	wantStats(t, l, Stats{Received: 2, Foreign: 2})
}

// A datagram from another process carries that process's pid, and trust
// decides on it.
func TestListenerChildSender(t *testing.T) {
	for _, trustChild := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trustChild), func(t *testing.T) {
			l := listen(t)
			var c collector
			var asked []int
			l.Serve(func(pid int) bool { asked = append(asked, pid); return trustChild }, c.handle)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			// atexit_sleep_ms: a -race binary otherwise idles a second at exit.
			cmd.Env = append(os.Environ(), helperEnv+"=READY=1\nX_PROGRESS=2/5", "NOTIFY_SOCKET="+l.Path(), "GORACE=atexit_sleep_ms=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("helper: %v: %s", err, out)
			}
			l.Flush()
			if len(asked) != 1 || asked[0] != cmd.Process.Pid {
				t.Errorf("trust was asked about %v, want the child %d", asked, cmd.Process.Pid)
			}
			got := c.get()
			if !trustChild {
				wantStats(t, l, Stats{Received: 1, Foreign: 1})
				if len(got) != 0 {
					t.Errorf("delivered %v", got)
				}
				return
			}
			wantStats(t, l, Stats{Received: 1, Delivered: 1})
			if len(got) != 1 || got[0].Sender != cmd.Process.Pid || !got[0].Ready || got[0].Progress == nil || got[0].Progress.Step != 2 {
				t.Errorf("delivered %#v, want READY and progress 2/5 from %d", got, cmd.Process.Pid)
			}
		})
	}
}

func TestListenerMalformed(t *testing.T) {
	l := listen(t)
	var c collector
	l.Serve(self, c.handle)
	send(t, l, "READY=2")
	send(t, l, "no equals sign")
	send(t, l, "READY=1")
	l.Flush()
	if got := c.get(); len(got) != 1 || !got[0].Ready {
		t.Errorf("delivered %v, want just READY=1", got)
	}
	wantStats(t, l, Stats{Received: 3, Malformed: 2, Delivered: 1})
}

// SetOnDrop's function is called once for a read that dropped datagrams,
// never for one that dropped none.
func TestListenerOnDrop(t *testing.T) {
	l := listen(t)
	var c collector
	var drops atomic.Int32
	l.SetOnDrop(func() { drops.Add(1) })
	l.Serve(self, c.handle)
	send(t, l, "READY=1")
	l.Flush()
	if n := drops.Load(); n != 0 {
		t.Errorf("%d calls after a read that dropped nothing", n)
	}
	send(t, l, "READY=2")
	send(t, l, "no equals sign")
	l.Flush()
	if n := drops.Load(); n < 1 || n > 2 {
		t.Errorf("%d calls after two malformed datagrams, want 1 (2 if the reader took them one by one)", n)
	}
}

// A datagram larger than the receive buffer is truncated by the kernel and
// must not be parsed in part.
func TestListenerTruncated(t *testing.T) {
	l := listen(t)
	var c collector
	l.Serve(self, c.handle)
	send(t, l, "STATUS="+strings.Repeat("x", maxDatagram))
	send(t, l, "STATUS="+strings.Repeat("x", maxDatagram-len("STATUS=")))
	l.Flush()
	if got := c.get(); len(got) != 1 || len(got[0].Status) != maxDatagram-len("STATUS=") {
		t.Errorf("delivered %d messages, want only the one that fits", len(got))
	}
	wantStats(t, l, Stats{Received: 2, Malformed: 1, Delivered: 1})
}

// The kernel queues only about ten datagrams; the rest wait in blocked
// senders, and all must come out in the order they were sent.
func TestListenerOrder(t *testing.T) {
	const n = 1000
	l := listen(t)
	var c collector
	l.Serve(self, c.handle)
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: l.Path(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 1; i <= n; i++ {
		if _, err := conn.Write([]byte(fmt.Sprintf("X_PROGRESS=%d/%d", i, n))); err != nil {
			t.Fatal(err)
		}
	}
	l.Flush()
	got := c.get()
	if len(got) != n {
		t.Fatalf("delivered %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if m.Progress == nil || m.Progress.Step != i+1 {
			t.Fatalf("message %d is %v, want step %d", i, m, i+1)
		}
	}
	wantStats(t, l, Stats{Received: n, Delivered: n})
}

func TestFlushDeliversQueued(t *testing.T) {
	l := listen(t)
	var c collector
	for i := range 5 {
		send(t, l, "STATUS="+strconv.Itoa(i))
	}
	l.Flush() // before Serve: no handler yet, nothing happens
	wantStats(t, l, Stats{})
	l.Serve(self, c.handle)
	l.Flush() // the Serve goroutine may have started on them: either way all arrive
	got := c.get()
	if len(got) != 5 {
		t.Fatalf("after Flush %d messages delivered, want 5", len(got))
	}
	for i, m := range got {
		if m.Status != strconv.Itoa(i) {
			t.Errorf("message %d has STATUS=%s", i, m.Status)
		}
	}
	l.Close()
	l.Flush() // after Close: nothing to do, and no panic
}

// Flush must wait for a batch the Serve goroutine is in the middle of, and
// deliver what is queued behind it, in order.
func TestFlushWaitsForRunningBatch(t *testing.T) {
	l := listen(t)
	var c collector
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	// Runs before listen's Close, which would wait for a handler still
	// blocked if the test fails.
	t.Cleanup(unblock)
	l.Serve(self, func(m Message) {
		if m.Status == "1" {
			close(entered)
			<-release
		}
		c.handle(m)
	})
	send(t, l, "STATUS=1")
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not called within 5s")
	}
	send(t, l, "STATUS=2")
	send(t, l, "STATUS=3")
	flushed := make(chan struct{})
	go func() { l.Flush(); close(flushed) }()
	select {
	case <-flushed:
		t.Fatal("Flush returned while the handler of an earlier datagram was still running")
	case <-time.After(50 * time.Millisecond):
	}
	unblock()
	<-flushed
	var order []string
	for _, m := range c.get() {
		order = append(order, m.Status)
	}
	if strings.Join(order, ",") != "1,2,3" {
		t.Errorf("delivered %v, want 1,2,3", order)
	}
}

func TestCloseRemovesSocket(t *testing.T) {
	l := listen(t)
	l.Serve(self, nil)
	send(t, l, "READY=1")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := SendTo(l.Path(), "READY=1"); err == nil {
		t.Error("SendTo a closed listener succeeded")
	}
	goleak.VerifyNone(t)
}

func TestCloseBeforeServe(t *testing.T) {
	l := listen(t)
	send(t, l, "READY=1")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	called := false
	l.Serve(self, func(Message) { called = true }) // after Close: does nothing
	l.Flush()
	if called {
		t.Error("handler called after Close")
	}
	if _, err := os.Stat(l.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	goleak.VerifyNone(t)
}

func TestServeTwicePanics(t *testing.T) {
	l := listen(t)
	l.Serve(self, nil)
	defer func() {
		if recover() == nil {
			t.Error("second Serve did not panic")
		}
	}()
	l.Serve(self, nil)
}

// BARRIER=1 works by the receiver closing the descriptor the sender passed;
// it must happen whatever becomes of the datagram itself.
func TestPassedDescriptorsAreClosed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		trust func(int) bool
		state string
		want  Stats
	}{
		{"delivered", self, "BARRIER=1", Stats{Received: 1, Delivered: 1}},
		{"foreign", func(int) bool { return false }, "BARRIER=1", Stats{Received: 1, Foreign: 1}},
		{"malformed", self, "BARRIER=2", Stats{Received: 1, Malformed: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := listen(t)
			var c collector
			l.Serve(tt.trust, c.handle)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			sendFDs(t, l, tt.state, w, w) // two copies: both must be closed
			w.Close()
			expectEOF(t, r)
			l.Flush()
			wantStats(t, l, tt.want)
			if tt.want.Delivered == 1 {
				if got := c.get(); len(got) != 1 || !got[0].Barrier {
					t.Errorf("delivered %v, want BARRIER=1", got)
				}
			}
		})
	}
}

// When the control buffer cannot hold every descriptor the kernel sets
// MSG_CTRUNC and drops the rest; the datagram is malformed, and the
// descriptors that did arrive are still closed.
func TestControlTruncated(t *testing.T) {
	l := listen(t)
	l.oobLen = unix.CmsgSpace(unix.SizeofUcred) + unix.CmsgSpace(4) // room for one descriptor
	var c collector
	l.Serve(self, c.handle)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sendFDs(t, l, "BARRIER=1", w, w, w)
	w.Close()
	expectEOF(t, r)
	l.Flush()
	wantStats(t, l, Stats{Received: 1, Malformed: 1})
}

// systemd-notify is the reference client. Without --no-block it sends its
// fields, then BARRIER=1 with a descriptor, and fails unless we close it. As
// measured here, systemd 252 sends the fields with its parent's pid
// (this test process) and the barrier with its own.
func TestSystemdNotify(t *testing.T) {
	bin := proctest.NeedSystemdNotify(t)
	l := listen(t)
	var c collector
	// The task's tree as the process layer sees it: us and our children.
	inTree := func(pid int) bool {
		st, ok := proctest.ReadStat(pid)
		return pid == os.Getpid() || ok && st.PPID == os.Getpid()
	}
	l.Serve(inTree, c.handle)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--ready", "--status=hello")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+l.Path())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-notify: %v: %s", err, out)
	}
	l.Flush()
	var ready, status, barrier bool
	for _, m := range c.get() {
		ready = ready || m.Ready
		status = status || m.HasStatus && m.Status == "hello"
		barrier = barrier || m.Barrier
	}
	if !ready || !status {
		t.Errorf("delivered %v, want READY=1 and STATUS=hello", c.get())
	}
	if !barrier {
		t.Errorf("delivered %v, want BARRIER=1 too", c.get())
	}
	if s := l.Stats(); s.Foreign != 0 || s.Malformed != 0 {
		t.Errorf("Stats() = %+v, want no foreign or malformed datagrams", s)
	}
}

func TestListenSocketIsPrivate(t *testing.T) {
	l := listen(t)
	fi, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if _, err := Listen(l.Path()); err == nil {
		t.Error("a second Listen on the same path succeeded")
	}
	if _, err := os.Stat(l.Path()); err != nil {
		t.Errorf("a failed Listen removed another listener's socket: %v", err)
	}
}

func TestSendAbstract(t *testing.T) {
	l, err := Listen(fmt.Sprintf("@taskvisor-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var c collector
	l.Serve(self, c.handle)
	t.Setenv("NOTIFY_SOCKET", l.Path())
	if err := Send("READY=1"); err != nil {
		t.Fatal(err)
	}
	l.Flush()
	if got := c.get(); len(got) != 1 || !got[0].Ready {
		t.Errorf("delivered %v, want READY=1", got)
	}
}

// Idle listeners wait in the netpoller: they cost no OS thread each.
func TestIdleListenersNeedNoThreads(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	before := proctest.Threads(t)
	ls := make([]*Listener, n)
	for i := range ls {
		l, err := Listen(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.Serve(self, nil)
		ls[i] = l
	}
	for _, l := range ls {
		send(t, l, "WATCHDOG=1")
		l.Flush()
	}
	time.Sleep(10 * time.Millisecond) // let every Serve goroutine park again
	if after := proctest.Threads(t); after > before+10 {
		t.Errorf("%d idle listeners raised the thread count from %d to %d", n, before, after)
	}
	for _, l := range ls {
		if s := l.Stats(); s.Delivered != 1 {
			t.Errorf("%s: %+v", l.Path(), s)
		}
	}
}

// A flood beyond the rate limit is dropped and counted, never handed on.
func TestListenerFloodIsThrottled(t *testing.T) {
	l := listen(t)
	begin := time.Now()
	l.SetLimit(100, 10)
	var c collector
	l.Serve(self, c.handle)
	const n = 500
	for i := range n {
		send(t, l, "STATUS=flood "+strconv.Itoa(i))
	}
	l.Flush()
	elapsed := time.Since(begin)
	s := l.Stats()
	if s.Received != n || s.Delivered+s.Throttled != n {
		t.Fatalf("Stats() = %+v, want %d received, each delivered or throttled", s, n)
	}
	// 10 at once, then 100 a second for as long as the sends took (and one
	// for the rounding of the refills).
	max := 10 + uint64(elapsed.Seconds()*100) + 1
	if s.Delivered < 10 || s.Delivered > max || len(c.get()) != int(s.Delivered) {
		t.Errorf("delivered %d (handler saw %d) of %d in %v at 100/s in bursts of 10, want 10 to %d",
			s.Delivered, len(c.get()), n, elapsed, max)
	}
	if s.Dropped() != s.Throttled {
		t.Errorf("Dropped() = %d, want the %d throttled", s.Dropped(), s.Throttled)
	}
}

// A paced Listener delivers everything, in order, whether the sender sends
// one datagram at a time (read, then a pause) or more than a receive call
// takes (read without pause); the sender blocks on a full queue meanwhile.
func TestPacedListenerOrder(t *testing.T) {
	for _, burst := range []int{1, 3, recvBatch + 5} {
		t.Run(strconv.Itoa(burst), func(t *testing.T) {
			const n = 60
			l := listen(t)
			l.SetPace(5 * time.Millisecond)
			var c collector
			l.Serve(self, c.handle)
			conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: l.Path(), Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for i := 1; i <= n; i++ {
				if _, err := conn.Write([]byte(fmt.Sprintf("X_PROGRESS=%d/%d", i, n))); err != nil {
					t.Fatal(err)
				}
				if i%burst == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(c.get()) < n && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			got := c.get()
			if len(got) != n {
				t.Fatalf("delivered %d messages, want %d", len(got), n)
			}
			for i, m := range got {
				if m.Progress == nil || m.Progress.Step != i+1 {
					t.Fatalf("message %d is %v, want step %d", i, m, i+1)
				}
			}
		})
	}
}

// Close ends a pause rather than waiting for it, and Flush reads what came
// during one.
func TestPacedListenerFlushAndClose(t *testing.T) {
	l := listen(t)
	l.SetPace(time.Hour) // every pause lasts until Close
	var c collector
	l.Serve(self, c.handle)
	send(t, l, "X_PROGRESS=1/2")
	// Read at once: the socket was quiet.
	proctest.Eventually(t, 5*time.Second, "the first datagram read without Flush", func() bool { return len(c.get()) == 1 })
	send(t, l, "X_PROGRESS=2/2") // the Serve goroutine is pausing now
	l.Flush()
	if got := c.get(); len(got) != 2 || got[1].Progress.Step != 2 {
		t.Fatalf("after Flush: %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSetPaceAfterServePanics(t *testing.T) {
	l := listen(t)
	l.Serve(nil, nil)
	defer func() {
		if recover() == nil {
			t.Error("SetPace after Serve did not panic")
		}
	}()
	l.SetPace(time.Millisecond)
}

// A Listener that no hub serves, because none could be started or the hub
// could not watch its socket (ENOSPC: out of epoll watches), says why, and
// its socket is still read: by Flush, and meanwhile by a goroutine of its
// own, so a sender of more than the kernel queues is not blocked until the
// task ends. A Listener served before is served on.
func TestUnservedListenerIsStillRead(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail func(t *testing.T)
	}{
		{"no hub", func(t *testing.T) {
			saved := startHub
			startHub = func() (*hub, error) { return nil, os.NewSyscallError("epoll_create1", unix.EMFILE) }
			t.Cleanup(func() { startHub = saved })
		}},
		{"epoll_ctl ADD fails", func(t *testing.T) {
			saved := epollAdd
			epollAdd = func(int, int, *unix.EpollEvent) error { return unix.ENOSPC }
			t.Cleanup(func() { epollAdd = saved })
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served := listen(t)
			var sc collector
			served.Serve(self, sc.handle)
			if err := served.ServeErr(); err != nil {
				t.Fatalf("ServeErr() = %v before the failure", err)
			}
			if tt.name == "no hub" {
				// No hub to join: the served Listener's is set aside (it
				// serves on, and closes with its last Listener).
				hubs.mu.Lock()
				hubs.cur = nil
				hubs.mu.Unlock()
			}
			tt.fail(t)

			l := listen(t)
			var c collector
			l.Serve(self, c.handle)
			if err := l.ServeErr(); err == nil {
				t.Fatal("ServeErr() = nil for a Listener no hub serves")
			}
			send(t, l, "STATUS=0")
			l.Flush()
			if got := c.get(); len(got) != 1 || got[0].Status != "0" {
				t.Fatalf("after Flush delivered %v, want STATUS=0", got)
			}
			// More than the kernel queues (11): the sender blocks until read.
			const n = 30
			sent := make(chan error, 1)
			go func() {
				for i := 1; i <= n; i++ {
					if err := SendTo(l.Path(), "STATUS="+strconv.Itoa(i)); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			select {
			case err := <-sent:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the sender is still blocked after 10s: nothing reads the socket")
			}
			l.Flush()
			got := c.get()
			if len(got) != n+1 {
				t.Fatalf("delivered %d messages, want %d", len(got), n+1)
			}
			for i, m := range got {
				if m.Status != strconv.Itoa(i) {
					t.Fatalf("message %d has STATUS=%s", i, m.Status)
				}
			}
			wantStats(t, l, Stats{Received: n + 1, Delivered: n + 1})

			send(t, served, "READY=1")
			proctest.Eventually(t, 5*time.Second, "the served Listener read without Flush", func() bool { return len(sc.get()) == 1 })
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := served.Close(); err != nil {
				t.Fatal(err)
			}
			goleak.VerifyNone(t)
		})
	}
}

// Listeners of different paces pausing at once are each polled again at
// their own pace: a 5 ms one does not wait for the tick of a 1 h one that
// paused first.
func TestPacesDoNotWaitForEachOther(t *testing.T) {
	slow, fast := listen(t), listen(t)
	slow.SetPace(time.Hour)
	fast.SetPace(5 * time.Millisecond)
	var sc, fc collector
	slow.Serve(self, sc.handle)
	fast.Serve(self, fc.handle)
	// Read at once (the socket was quiet), then the slow one pauses for
	// up to an hour; the hub has scheduled its tick before it reads fast.
	send(t, slow, "STATUS=slow")
	proctest.Eventually(t, 5*time.Second, "the slow Listener's first datagram", func() bool { return len(sc.get()) == 1 })
	for i := range 3 {
		send(t, fast, "STATUS="+strconv.Itoa(i))
		proctest.Eventually(t, 2*time.Second, "the fast Listener's datagram "+strconv.Itoa(i)+" without Flush", func() bool {
			return len(fc.get()) == i+1
		})
	}
	send(t, slow, "STATUS=slow again") // waits for the slow tick
	time.Sleep(50 * time.Millisecond)
	if got := sc.get(); len(got) != 1 {
		t.Errorf("the slow Listener delivered %d messages during its pause, want 1", len(got))
	}
	slow.Flush()
	if got := sc.get(); len(got) != 2 {
		t.Errorf("after Flush the slow Listener delivered %d messages, want 2", len(got))
	}
}

// A task passing the kernel's maximum of descriptors (253) with every
// datagram makes us hold at most 128 at once (recvBatch datagrams of at most
// maxFDs each), not recvBatch*253 = 2,024: a full batch of such datagrams
// is read while the trust check counts our open descriptors. Such a
// datagram is Malformed; one with a few descriptors is delivered. Failed
// first: with room for 253 per datagram, 2,024 were held.
func TestPassedDescriptorsAreBounded(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	many := make([]*os.File, 253)
	for i := range many {
		many[i] = devnull
	}
	openFDs := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	listen(t).Serve(self, func(Message) {}) // the hub's own descriptors open before base
	l := listen(t)
	for range recvBatch {
		sendFDs(t, l, "STATUS=flood", many...)
	}
	sendFDs(t, l, "STATUS=few", many[:4]...)
	base := openFDs()
	held := 0
	var c collector
	l.Serve(func(int) bool { held = max(held, openFDs()-base); return true }, c.handle)
	l.Flush()
	const bound = 128 // docs/reliability.md gives this figure
	t.Logf("descriptors held at once: at most %d (bound %d)", held, bound)
	if held > bound {
		t.Errorf("held %d passed descriptors at once, want at most %d", held, bound)
	}
	if got := openFDs() - base; got > 0 {
		t.Errorf("%d passed descriptors still open after the batch", got)
	}
	wantStats(t, l, Stats{Received: recvBatch + 1, Malformed: recvBatch, Delivered: 1})
	if got := c.get(); len(got) != 1 || got[0].Status != "few" {
		t.Errorf("delivered %v, want the datagram with four descriptors", got)
	}
}
