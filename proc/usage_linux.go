package proc

import (
	"bytes"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The clock ticks of /proc/PID/stat's times, and the page size of statm.
var (
	clockTick = 100 // USER_HZ: 100 on every Linux Go runs on
	pageSize  = uint64(os.Getpagesize())
)

// usage reads run's usage: from its cgroup where it has one, else from the
// live members of its process group (leader pgid).
func (s *Sampler) usage(run *taskRun, pgid int) Usage {
	if cg := run.cg; cg != nil {
		return s.cgroupUsage(cg)
	}
	if !s.scanned {
		s.scanGroups()
	}
	var u Usage
	for _, pid := range s.groups[pgid] {
		cpu, rss, ok := s.procUsage(pid)
		if ok {
			u.CPU += cpu
			u.Memory += rss
			u.Procs++
		}
	}
	return u
}

// cgroupUsage reads cpu.stat's usage_usec, memory.current and pids.current
// where those controllers are on, and else sums the members of
// cgroup.procs from /proc.
func (s *Sampler) cgroupUsage(cg *runCgroup) Usage {
	u := Usage{FromCgroup: true}
	if b := s.readAt(cg, "cpu.stat"); b != nil {
		if v, ok := field(b, "usage_usec"); ok {
			u.CPU = time.Duration(v) * time.Microsecond
		}
	}
	// The controllers are the tree's: a file found missing once is not
	// looked for again.
	memOK, pidsOK := false, false
	if !s.noMemory {
		if b := s.readAt(cg, "memory.current"); b != nil {
			u.Memory, memOK = parseUint(bytes.TrimSpace(b))
		} else {
			s.noMemory = true
		}
	}
	if !s.noPids {
		if b := s.readAt(cg, "pids.current"); b != nil {
			var n uint64
			n, pidsOK = parseUint(bytes.TrimSpace(b))
			u.Procs = int(n)
		} else {
			s.noPids = true
		}
	}
	if memOK && pidsOK {
		return u
	}
	s.members = s.members[:0]
	if b := s.readAt(cg, "cgroup.procs"); b != nil {
		for f := range bytes.FieldsSeq(b) {
			if pid, ok := parseUint(f); ok {
				s.members = append(s.members, int(pid))
			}
		}
	}
	if !memOK {
		for _, pid := range s.members {
			u.Memory += s.rss(pid)
		}
	}
	if !pidsOK {
		u.Procs = len(s.members)
	}
	return u
}

// rss reads a process's resident set from /proc/PID/statm ("size resident
// shared ...", in pages); 0 when it is gone.
func (s *Sampler) rss(pid int) uint64 {
	m := s.readProc(pid, "/statm")
	if m == nil {
		return 0
	}
	if _, rest, ok := bytes.Cut(m, []byte(" ")); ok {
		if end := bytes.IndexByte(rest, ' '); end > 0 {
			pages, _ := parseUint(rest[:end])
			return pages * pageSize
		}
	}
	return 0
}

// procUsage reads a process's CPU time (utime + stime) from
// /proc/PID/stat and its resident set from /proc/PID/statm.
func (s *Sampler) procUsage(pid int) (cpu time.Duration, rss uint64, ok bool) {
	b := s.readProc(pid, "/stat")
	if b == nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	// After "pid (comm)": state is field 0, utime 11, stime 12.
	f := b[i+1:]
	var utime, stime uint64
	for n := 0; n <= 12; n++ {
		f = bytes.TrimLeft(f, " ")
		end := bytes.IndexByte(f, ' ')
		if end < 0 {
			return 0, 0, false
		}
		switch n {
		case 0:
			if f[0] == 'Z' || f[0] == 'X' {
				return 0, 0, false // a zombie runs and holds nothing
			}
		case 11:
			utime, _ = parseUint(f[:end])
		case 12:
			stime, _ = parseUint(f[:end])
		}
		f = f[end:]
	}
	cpu = time.Duration(utime+stime) * time.Second / time.Duration(clockTick)
	return cpu, s.rss(pid), true
}

// scanGroups walks /proc once, grouping the live processes by process
// group.
func (s *Sampler) scanGroups() {
	s.scanned = true
	if s.groups == nil {
		s.groups = map[int][]int{}
	}
	for k, v := range s.groups {
		s.groups[k] = v[:0]
	}
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.live() {
			s.groups[st.pgrp] = append(s.groups[st.pgrp], pid)
		}
	}
}

// readAt reads the file name in the directory dirfd into the Sampler's
// buffer; nil when it cannot be read. The bytes are valid until the next
// read.
func (s *Sampler) readAt(cg *runCgroup, name string) []byte {
	return s.cachedRead(fileKey{cg: cg, name: name}, func() int {
		s.path = append(append(s.path[:0], name...), 0)
		return s.open(cg.fd)
	})
}

// readProc reads /proc/PID/file (file starts with '/').
func (s *Sampler) readProc(pid int, file string) []byte {
	return s.cachedRead(fileKey{pid: pid, name: file}, func() int {
		s.path = append(strconv.AppendInt(append(s.path[:0], "/proc/"...), int64(pid), 10), file...)
		s.path = append(s.path, 0)
		return s.open(unix.AT_FDCWD)
	})
}

// fileKey names a file the Sampler keeps open: a run cgroup's, or a
// process's in /proc. An open /proc/PID file stays the process's: once it
// has exited, reads fail, whoever gets its pid next.
type fileKey struct {
	cg   *runCgroup
	pid  int
	name string
}

// cachedFile is a file kept open between rounds; used says the current
// round read it.
type cachedFile struct {
	fd   int
	used bool
}

// cachedRead reads a file the Sampler keeps open, from its start
// (pread(2) at 0 makes the kernel generate it anew), opening it with open
// the first time. One system call a file and a round, where opening,
// reading and closing it took three: the round of a thousand runs is
// mostly system calls.
func (s *Sampler) cachedRead(key fileKey, open func() int) []byte {
	f, ok := s.files[key]
	if !ok {
		fd := open()
		if fd < 0 {
			return nil
		}
		if s.files == nil {
			s.files = map[fileKey]*cachedFile{}
		}
		f = &cachedFile{fd: fd}
		s.files[key] = f
	}
	f.used = true
	b, ok := s.readFD(f.fd)
	if !ok {
		_ = unix.Close(f.fd)
		delete(s.files, key)
		return nil
	}
	return b
}

// closeUnused closes the files the last round did not read (runs and
// processes that have ended), and starts the next round's count.
func (s *Sampler) closeUnused() {
	for k, f := range s.files {
		if !f.used {
			_ = unix.Close(f.fd)
			delete(s.files, k)
			continue
		}
		f.used = false
	}
}

// closeAll closes every file the Sampler keeps open.
func (s *Sampler) closeAll() {
	for k, f := range s.files {
		_ = unix.Close(f.fd)
		delete(s.files, k)
	}
}

// open opens the NUL-terminated path in s.path, relative to dirfd; -1 when
// it cannot. It calls openat(2) itself: unix.Openat would copy the path to
// a new string for each file, an allocation a round of a thousand runs is
// to do without.
func (s *Sampler) open(dirfd int) int {
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&s.path[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if errno != 0 {
		return -1
	}
	return int(r)
}

// readFD reads fd to its end. A read that leaves room in the buffer is
// taken as the end: /proc and cgroup files of one record are generated
// whole by the first read that can hold them, and one read(2) fewer per
// file is a quarter of a sample's system calls.
func (s *Sampler) readFD(fd int) ([]byte, bool) {
	s.buf = s.buf[:0]
	for {
		if len(s.buf) == cap(s.buf) {
			s.buf = append(s.buf, 0)[:len(s.buf)]
		}
		room := cap(s.buf) - len(s.buf)
		n, err := unix.Pread(fd, s.buf[len(s.buf):cap(s.buf)], int64(len(s.buf)))
		if err != nil {
			return nil, false
		}
		if n <= 0 {
			break
		}
		s.buf = s.buf[:len(s.buf)+n]
		if n < room {
			break
		}
	}
	return s.buf, true
}

// field returns the value of the "key value" line key of b.
func field(b []byte, key string) (uint64, bool) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(" "))
		if ok && string(k) == key {
			return parseUint(v)
		}
	}
	return 0, false
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
