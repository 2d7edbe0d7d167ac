package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mechanism is one of the means by which proc keeps a task's processes from
// outliving it, and whether it is in force on this machine.
type Mechanism struct {
	// Name names it: "subreaper", "cgroup v2", ...
	Name string
	// InForce says it works here.
	InForce bool
	// Detail says where or how, or why not.
	Detail string
}

// Diagnose tries each mechanism as a task start would, without starting a
// task or a guard. It creates this program's cgroup tree if it can (the
// guard, not started here, would remove it; call RemoveCgroupTree when the
// program starts no task).
func Diagnose() []Mechanism {
	var ms []Mechanism

	// In force only where this program made itself one (BecomeSubreaper, as
	// taskvisor run does); available where the kernel has it.
	switch on, err := subreaperState(); {
	case err != nil:
		ms = append(ms, Mechanism{"subreaper", false, fmt.Sprintf("not available: PR_GET_CHILD_SUBREAPER: %v; orphans of a task go to init", err)})
	case on:
		ms = append(ms, Mechanism{"subreaper", true, "this program is a child subreaper: orphans of a task come back to it and are reaped"})
	default:
		ms = append(ms, Mechanism{"subreaper", false, "available (PR_SET_CHILD_SUBREAPER), not set in this program: a program that calls BecomeSubreaper, as taskvisor run does, gets the orphans of its tasks back and reaps them"})
	}

	if t, err := taskCgroups(); err != nil {
		ms = append(ms, Mechanism{"cgroup v2", false, fmt.Sprintf("%v; escapees are found by their %s marker instead", err, RunEnv)})
	} else {
		ms = append(ms, Mechanism{"cgroup v2", true, "a cgroup per task run under " + t.dir + ", started into it by clone3 CLONE_INTO_CGROUP, ended by cgroup.kill"})
	}

	ms = append(ms, usageMechanism(), limitsMechanism())

	if fd, err := unix.PidfdOpen(os.Getpid(), 0); err != nil {
		ms = append(ms, Mechanism{"pidfd", false, fmt.Sprintf("pidfd_open: %v", err)})
	} else {
		_ = unix.Close(fd)
		ms = append(ms, Mechanism{"pidfd", true, "task leaders are waited for through PIDFD_NONBLOCK pidfds in the program's one poller (no thread per task); escapees are signalled by pidfd"})
	}

	if _, err := os.Stat("/proc/self/exe"); err != nil {
		ms = append(ms, Mechanism{"guard", false, fmt.Sprintf("/proc/self/exe: %v: if taskvisor is killed, its tasks live on", err)})
	} else {
		what := "one guard process (" + GuardName + ", taskvisor re-run) kills every task's processes within milliseconds if taskvisor dies, even of SIGKILL; if the guard itself is killed, a new one is started within a second while a task runs (else at the next start), and a notice says so"
		if n, last := GuardLosses(); n > 0 {
			what += fmt.Sprintf("; %d guard(s) lost and replaced, the last: %s", n, last)
		}
		ms = append(ms, Mechanism{"guard", true, what})
	}
	ms = append(ms, Mechanism{"pdeathsig", false, "not used: it fires when the starting thread exits, and covers the direct child only; the guard covers the whole tree"})

	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		ms = append(ms, Mechanism{"RLIMIT_NOFILE", false, err.Error()})
	} else {
		ok := lim.Cur >= 4*1000+64
		ms = append(ms, Mechanism{"RLIMIT_NOFILE", ok, fmt.Sprintf("soft %d, hard %d (Go raises the soft limit to the hard one at start; tasks get the original back); a task holds %d descriptors: %d tasks fit", lim.Cur, lim.Max, descriptorsPerTask, (lim.Cur-64)/descriptorsPerTask)})
	}
	return ms
}

// usageMechanism says where a task's usage (Sampler) comes from here.
func usageMechanism() Mechanism {
	const fds = "; while sampled (a UI, a usage stream), 3 descriptors more a task"
	t, err := taskCgroups()
	if err != nil {
		return Mechanism{"usage", false, "CPU, memory and processes from /proc, summed over each task's process group: escapees that left it are not counted" + fds}
	}
	b, _ := os.ReadFile(filepath.Join(t.dir, "cgroup.subtree_control"))
	on := strings.Fields(string(b))
	from := func(ctl, file, instead string) string {
		if slices.Contains(on, ctl) {
			return file
		}
		return instead + " (the " + ctl + " controller is not enabled here)"
	}
	return Mechanism{"usage", true, "of each task's whole run, escapees included: CPU from its cgroup's cpu.stat, memory from " +
		from("memory", "memory.current", "/proc, summed over the processes in its cgroup") +
		", processes from " + from("pids", "pids.current", "cgroup.procs") + fds}
}

// limitsMechanism says how memory_max, cpu_max and pids_max are enforced
// here: by cgroup v2, by cgroup v1 directories of each run's own (a hybrid
// host), or not at all (strict limits then refuse to start).
func limitsMechanism() Mechanism {
	t, v2err := taskCgroups()
	var parts []string
	all := true
	for _, ctl := range []string{"memory", "cpu", "pids"} {
		switch {
		case v2err == nil && t.v2Enabled(ctl):
			parts = append(parts, ctl+": cgroup v2")
		default:
			if mount, err := v1Mount(ctl); err == nil && os.Getenv(CgroupsEnv) != "off" {
				own, err := ownV1Cgroup(ctl)
				if err == nil && unix.Access(filepath.Join(mount, own), unix.W_OK) == nil {
					parts = append(parts, ctl+": cgroup v1 under "+filepath.Join(mount, own))
					continue
				}
			}
			all = false
			parts = append(parts, ctl+": none (strict limits refuse to start; best-effort ones use rlimits)")
		}
	}
	return Mechanism{"limits", all, strings.Join(parts, "; ")}
}

// RemoveCgroupTree removes this program's cgroup tree if Diagnose or a start
// created it and no guard will: for programs that start no task.
func RemoveCgroupTree() {
	if t, err := taskCgroups(); err == nil {
		if pid, _ := GuardPid(); pid == 0 {
			_ = removeCgroupTree(t.dir, time.Now().Add(guardTimeout))
		}
	}
}

// descriptorsPerTask is what a running task holds of this program's
// descriptors: its leader's pidfd, the read ends of its stdout and stderr
// pipes, its notify socket and its run cgroup's directory (one fewer without
// a socket or a cgroup). TestDescriptorsPerTask measures it.
const descriptorsPerTask = 5
