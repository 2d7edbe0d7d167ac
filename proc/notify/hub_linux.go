//go:build linux

package notify

import (
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hub is the program's one notify reader: one goroutine and one epoll set
// for every served Listener, instead of a goroutine per socket in Go's
// netpoller. Each socket is registered EPOLLONESHOT: once reported readable
// it reports nothing more until the hub polls it again, which it does at
// once after an unpaced read, and at the next tick of the Listener's own
// pace after a paced one (one timer serves every pace: it is set for the
// earliest tick due). So the datagrams that arrive at a paced socket
// meanwhile wake no thread, and one wake-up of the reader reads every socket
// due.
//
// The epoll descriptor itself waits in Go's netpoller, so the hub holds no
// OS thread while idle. It ends when its last Listener closes; the next
// Serve starts a new one.
type hub struct {
	mu        sync.Mutex
	epfd      int
	file      *os.File // epfd, in the netpoller
	listeners map[uint64]*Listener
	next      uint64
	due       []dueListener // paced: polled again at their ticks
	tickAt    time.Time     // when timer fires; zero: not scheduled
	timer     *time.Timer   // runs onTick
	closed    bool
}

// dueListener is a paced Listener and when to poll it again: the next
// multiple of its own pace.
type dueListener struct {
	l  *Listener
	at time.Time
}

var hubs struct {
	mu  sync.Mutex
	cur *hub
}

// join registers l (whose mu is held) with the program's hub, starting one
// if there is none, and returns it. It returns why not when no hub can be
// had (no epoll: never on Linux 2.6.27+) or the hub cannot watch l's socket
// (ENOSPC: the user's epoll watches are used up); l is then not served by a
// hub, and a hub started for it alone is closed.
func join(l *Listener) (*hub, error) {
	hubs.mu.Lock()
	defer hubs.mu.Unlock()
	h := hubs.cur
	if h == nil {
		var err error
		if h, err = startHub(); err != nil {
			return nil, err
		}
		hubs.cur = h
	}
	h.mu.Lock()
	h.next++
	id := h.next
	if err := epollAdd(h.epfd, l.fd, h.event(id)); err != nil {
		unused := len(h.listeners) == 0
		if unused {
			h.closed = true
			hubs.cur = nil
		}
		h.mu.Unlock()
		if unused {
			h.file.Close() // ends its goroutine, as leave does
		}
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	l.id = id
	h.listeners[id] = l
	h.mu.Unlock()
	return h, nil
}

// startHub and epollAdd are newHub and EPOLL_CTL_ADD; tests make them fail.
var (
	startHub = newHub
	epollAdd = func(epfd, fd int, ev *unix.EpollEvent) error {
		return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, ev)
	}
)

func newHub() (*hub, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile puts it in the netpoller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	h := &hub{epfd: epfd, file: os.NewFile(uintptr(epfd), "sd_notify epoll"), listeners: map[uint64]*Listener{}}
	raw, err := h.file.SyscallConn()
	if err != nil {
		h.file.Close()
		return nil, err
	}
	go h.run(raw)
	return h, nil
}

// event is the registration of listener id: readable, once.
func (h *hub) event(id uint64) *unix.EpollEvent {
	return &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
}

// run is the reader's goroutine. RawRead calls the function whenever the
// epoll set has ready sockets, and parks in between while it returns false;
// it returns once the hub's last Listener has closed the set.
func (h *hub) run(raw syscall.RawConn) {
	events := make([]unix.EpollEvent, 128)
	_ = raw.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return false
			}
			for _, ev := range events[:n] {
				h.ready(uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32)
			}
			if n < len(events) {
				return false
			}
		}
	})
}

// ready reads the socket of listener id and polls it again, now or at the
// next tick.
func (h *hub) ready(id uint64) {
	h.mu.Lock()
	l := h.listeners[id]
	h.mu.Unlock()
	if l == nil {
		return
	}
	pause := l.serveReady()
	h.mu.Lock()
	defer h.mu.Unlock()
	if pause {
		// now keeps its monotonic reading, so at does too.
		now := time.Now()
		at := now.Add(now.Truncate(l.pace).Add(l.pace).Sub(now))
		h.due = append(h.due, dueListener{l, at})
		h.schedule(at)
		return
	}
	h.rearm(l)
}

// schedule makes the tick come at at, unless one comes earlier. h.mu is held.
func (h *hub) schedule(at time.Time) {
	if h.closed || !h.tickAt.IsZero() && !at.Before(h.tickAt) {
		return
	}
	h.tickAt = at
	if h.timer == nil {
		h.timer = time.AfterFunc(time.Until(at), h.onTick)
	} else {
		h.timer.Reset(time.Until(at))
	}
}

// rearm polls l's socket again: if datagrams are queued, it is reported
// readable at once. h.mu is held; a closing Listener has left (or is about
// to leave, under h.mu) and its descriptor may be closed: it is skipped.
func (h *hub) rearm(l *Listener) {
	if h.closed || l.closing.Load() {
		return
	}
	_ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_MOD, l.fd, h.event(l.id))
}

// onTick polls again the Listeners whose tick has come, and schedules the
// next tick for the others. It may run early, or twice for one tick (Reset
// of a timer that has fired): it rearms only what is due.
func (h *hub) onTick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.tickAt = time.Time{}
	keep := h.due[:0]
	var next time.Time
	for _, d := range h.due {
		if d.at.After(now) {
			keep = append(keep, d)
			if next.IsZero() || d.at.Before(next) {
				next = d.at
			}
			continue
		}
		h.rearm(d.l)
	}
	clear(h.due[len(keep):])
	h.due = keep
	if !next.IsZero() {
		h.schedule(next)
	}
}

// leave takes l (closing already set) out of the hub; the last one out
// closes it, which ends its goroutine.
func (h *hub) leave(l *Listener) {
	hubs.mu.Lock()
	defer hubs.mu.Unlock()
	h.mu.Lock()
	if _, ok := h.listeners[l.id]; ok {
		delete(h.listeners, l.id)
		_ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_DEL, l.fd, nil)
	}
	// Not kept until its tick, which may be an hour away.
	h.due = slices.DeleteFunc(h.due, func(d dueListener) bool { return d.l == l })
	last := len(h.listeners) == 0
	if last {
		h.closed = true
		if hubs.cur == h {
			hubs.cur = nil
		}
		if h.timer != nil {
			h.timer.Stop()
		}
		clear(h.due)
		h.due = nil
	}
	h.mu.Unlock()
	if last {
		// Wakes the parked RawRead, which then returns; the descriptor is
		// closed once it has.
		h.file.Close()
	}
}
