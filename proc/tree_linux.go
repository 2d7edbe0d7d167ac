package proc

import (
	"bytes"
	"os"
	"strconv"
)

// maxTreeDepth bounds the walk up the parent chain.
const maxTreeDepth = 64

// descendsFrom reports whether ancestor is found on pid's chain of parents,
// as /proc shows it now. A process whose parent died was reparented (to init
// or a subreaper) and is no longer found this way.
func descendsFrom(pid, ancestor int) bool {
	for range maxTreeDepth {
		st, ok := readStat(pid)
		if !ok || st.ppid <= 1 {
			return false
		}
		if st.ppid == ancestor {
			return true
		}
		pid = st.ppid
	}
	return false
}

// groupHasLive reports whether a process of group pgid is running, that is
// exists and is not a zombie. Killed members whose new parent does not reap
// them (an init that never waits) stay zombies: they do not count.
func groupHasLive(pgid int) bool {
	d, err := os.Open("/proc")
	if err != nil {
		return true // cannot tell: assume the worst
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return true
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.live() {
			return true
		}
	}
	return false
}

// procStat holds the fields of /proc/PID/stat that proc uses.
type procStat struct {
	state      byte // R, S, D, T, Z, X, ...
	ppid, pgrp int
}

// live reports whether the process is neither a zombie nor dead.
func (s procStat) live() bool { return s.state != 'Z' && s.state != 'X' }

// readStat reads /proc/PID/stat.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and
	// parentheses, so the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{state: f[0][0], ppid: ppid, pgrp: pgrp}, true
}
