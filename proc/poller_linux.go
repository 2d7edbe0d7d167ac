package proc

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// poller waits for every running task's pidfd and output pipes on one
// goroutine, in an epoll instance of its own. A running task then costs no
// goroutine of proc's: a task's own goroutine starts when its leader exits. Before, each task had
// three parked (the pidfd waiter and a reader per pipe), with their stacks.
//
// Handlers run on the poller goroutine, so they must not block: a pipe
// handler reads what is there (at most maxReadsPerWake reads a wake-up, so a
// flood cannot starve the others), an exit handler starts a goroutine.
type poller struct {
	epfd int
	wake int // an eventfd in epfd (id 0): wakes the goroutine to see it has nothing left

	mu      sync.Mutex
	seq     uint64
	regs    map[uint64]*pollReg
	running bool // its goroutine runs: from the first registration until none is left
}

// pollReg is one registered descriptor. handle is called on the poller
// goroutine with mu held; once the descriptor is done it returns done and,
// optionally, then: the registration is removed from the epoll set first,
// and then runs. Whatever may close the descriptor must happen in then, not
// in handle: epoll_ctl(DEL) finds a registration by descriptor number, and a
// number closed and reused by a new registration before the DEL would lose
// the new one (a task's exit never seen, its leader a zombie).
type pollReg struct {
	id     uint64
	fd     int
	mu     sync.Mutex
	done   bool
	handle func(events uint32) (done bool, then func())
}

// pollerEnv turns the poller off when "off" (each task then waits on
// goroutines of its own, as before the poller).
const pollerEnv = "TASKVISOR_POLLER"

var (
	pollerOnce   sync.Once
	sharedPoller *poller
)

// thePoller returns the program's poller, started on first use; nil if it
// could not be, or TASKVISOR_POLLER=off (then each task waits on goroutines
// of its own).
func thePoller() *poller {
	pollerOnce.Do(func() {
		if os.Getenv(pollerEnv) == "off" {
			return
		}
		p, err := newPoller()
		if err == nil {
			sharedPoller = p
		}
	})
	return sharedPoller
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // id 0
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_, _ = unix.Close(epfd), unix.Close(wake)
		return nil, err
	}
	return &poller{epfd: epfd, wake: wake, regs: map[uint64]*pollReg{}}, nil
}

// run waits for events until nothing is registered. It blocks in
// epoll_wait, one OS thread while tasks run: waiting for the epoll
// descriptor in Go's netpoller instead (nested epoll, edge-triggered) lost
// wake-ups here (kernel 6.18): a leader's exit went unseen.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			n = 0 // cannot happen with a valid epfd
		}
		for _, ev := range events[:n] {
			p.dispatch(uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32, ev.Events)
		}
		p.mu.Lock()
		if len(p.regs) == 0 {
			p.running = false // the next add starts a goroutine again
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// dispatch runs the handler of registration id, if it is still registered.
func (p *poller) dispatch(id uint64, events uint32) {
	if id == 0 {
		var b [8]byte
		_, _ = unix.Read(p.wake, b[:])
		return
	}
	p.mu.Lock()
	r := p.regs[id]
	p.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	if done, then := r.handle(events); done {
		p.removeLocked(r)
		if then != nil {
			then()
		}
	}
}

// add registers fd, level-triggered, for reading.
func (p *poller) add(fd int, handle func(events uint32) (bool, func())) (*pollReg, error) {
	p.mu.Lock()
	p.seq++
	r := &pollReg{id: p.seq, fd: fd, handle: handle}
	p.regs[r.id] = r
	if !p.running {
		p.running = true
		go p.run()
	}
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(uint32(r.id)), Pad: int32(uint32(r.id >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.regs, r.id)
		empty := len(p.regs) == 0
		p.mu.Unlock()
		if empty {
			// The goroutine started for it must see that nothing is left.
			_, _ = unix.Write(p.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		}
		return nil, err
	}
	return r, nil
}

// remove deregisters r unless its handler finished it, and reports whether
// it did; after it returns the handler runs no more.
func (p *poller) remove(r *pollReg) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return false
	}
	p.removeLocked(r)
	return true
}

func (p *poller) removeLocked(r *pollReg) {
	r.done = true
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	p.mu.Lock()
	delete(p.regs, r.id)
	empty := len(p.regs) == 0
	p.mu.Unlock()
	if empty {
		// The goroutine may be parked: it ends once it sees nothing left.
		_, _ = unix.Write(p.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}
