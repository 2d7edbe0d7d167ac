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
		ppid, ok := parentPid(pid)
		if !ok || ppid <= 1 {
			return false
		}
		if ppid == ancestor {
			return true
		}
		pid = ppid
	}
	return false
}

// parentPid reads the PPid field of /proc/PID/stat.
func parentPid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	// so the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	return ppid, err == nil
}
