package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A run's limits are written to its cgroup v2 where the tree has the
// controller (memory.max, cpu.max, pids.max, before the clone that starts
// the run into it), else to a cgroup v1 of its own for that controller (a
// hybrid host, where memory, cpu and pids are v1 hierarchies): the run's
// first process, a /bin/sh, writes its pid into them and then execs the
// task, so that the task's first instruction already runs under them.

// cpuPeriod is the period of cpu.max and cpu.cfs_period_us, in µs.
const cpuPeriod = 100000

// v2Enabled reports whether the tree's run cgroups have controller ctl,
// enabling it in the tree the first time (it must be available there).
func (t *cgroupTree) v2Enabled(ctl string) bool {
	t.ctlOnce.Do(func() {
		t.ctl = map[string]bool{}
		avail, _ := os.ReadFile(filepath.Join(t.dir, "cgroup.controllers"))
		for _, c := range strings.Fields(string(avail)) {
			if c != "memory" && c != "cpu" && c != "pids" {
				continue
			}
			if err := os.WriteFile(filepath.Join(t.dir, "cgroup.subtree_control"), []byte("+"+c), 0); err == nil {
				t.ctl[c] = true
			}
		}
	})
	return t.ctl[ctl]
}

// v2Any reports whether the tree's run cgroups have any limit controller.
func (t *cgroupTree) v2Any() bool {
	return t.v2Enabled("memory") || t.v2Enabled("cpu") || t.v2Enabled("pids")
}

// v1Trees are this program's cgroup v1 directories, by controller: made
// on first use under its own cgroup of that hierarchy.
var v1Trees struct {
	sync.Mutex
	dirs map[string]string // controller -> taskvisor-<pid> directory, "" when none
	errs map[string]error
	seq  uint64
}

// v1Tree returns this program's directory in the v1 hierarchy of ctl.
func v1Tree(ctl string) (string, error) {
	v1Trees.Lock()
	defer v1Trees.Unlock()
	if v1Trees.dirs == nil {
		v1Trees.dirs, v1Trees.errs = map[string]string{}, map[string]error{}
	}
	if d, ok := v1Trees.dirs[ctl]; ok {
		return d, v1Trees.errs[ctl]
	}
	d, err := makeV1Tree(ctl)
	v1Trees.dirs[ctl], v1Trees.errs[ctl] = d, err
	return d, err
}

func makeV1Tree(ctl string) (string, error) {
	if os.Getenv(CgroupsEnv) == "off" {
		return "", errCgroupsOff
	}
	mount, err := v1Mount(ctl)
	if err != nil {
		return "", err
	}
	own, err := ownV1Cgroup(ctl)
	if err != nil {
		return "", err
	}
	parent := filepath.Join(mount, own)
	removeStaleV1(parent)
	dir := filepath.Join(parent, "taskvisor-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create cgroup v1 %s: %w", ctl, err)
	}
	// The guard removes it (os.RemoveAll takes a cgroup v1 tree whose
	// processes are gone) once this program has ended, however it ended.
	_ = RemoveAtExit(dir)
	return dir, nil
}

// v1Mount finds the mount of the cgroup v1 hierarchy that has ctl.
func v1Mount(ctl string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup ") {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		for _, o := range strings.Split(qf[2], ",") {
			if o == ctl {
				return unescapeMount(pf[4]), nil
			}
		}
	}
	return "", fmt.Errorf("no cgroup v1 hierarchy with the %s controller is mounted", ctl)
}

// ownV1Cgroup is this process's path in the v1 hierarchy of ctl.
func ownV1Cgroup(ctl string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && f[1] != "" {
			for _, c := range strings.Split(f[1], ",") {
				if c == ctl {
					return f[2], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no cgroup v1 %s entry in /proc/self/cgroup", ctl)
}

// removeStaleV1 removes the v1 directories of taskvisors that died (their
// processes are gone: the guard killed them).
func removeStaleV1(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pid, ok := strings.CutPrefix(e.Name(), "taskvisor-")
		if !ok || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(pid); err != nil || n == os.Getpid() || unix.Kill(n, 0) == nil {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		runs, _ := os.ReadDir(dir)
		for _, r := range runs {
			if r.IsDir() {
				_ = unix.Rmdir(filepath.Join(dir, r.Name()))
			}
		}
		_ = unix.Rmdir(dir)
	}
}

// runLimit is one controller's limit of a run, as applyLimits writes it.
type runLimit struct {
	ctl, key string            // the controller, the task file's key
	on       bool              // the run itself is bounded
	v2, v1   map[string]string // file -> value, in either version
	rlimit   string            // the shell's best-effort stand-in; "" for none
}

// runLimits lists l's limits by controller.
func runLimits(l Limits) []runLimit {
	mem, cpu, pids := "max", "max", "max"
	if l.MemoryMax > 0 {
		mem = strconv.FormatUint(l.MemoryMax, 10)
	}
	quota := int64(-1)
	if l.CPUMax > 0 {
		quota = int64(l.CPUMax * cpuPeriod)
		cpu = strconv.FormatInt(quota, 10) + " " + strconv.Itoa(cpuPeriod)
	}
	if l.PidsMax > 0 {
		pids = strconv.Itoa(l.PidsMax)
	}
	return []runLimit{
		{"memory", "memory_max", l.MemoryMax > 0, map[string]string{"memory.max": mem},
			map[string]string{"memory.limit_in_bytes": strconv.FormatUint(l.MemoryMax, 10)},
			"ulimit -v " + strconv.FormatUint(l.MemoryMax/1024, 10)},
		{"cpu", "cpu_max", l.CPUMax > 0, map[string]string{"cpu.max": cpu},
			map[string]string{"cpu.cfs_period_us": strconv.Itoa(cpuPeriod), "cpu.cfs_quota_us": strconv.FormatInt(quota, 10)}, ""},
		{"pids", "pids_max", l.PidsMax > 0, map[string]string{"pids.max": pids},
			map[string]string{"pids.max": pids},
			"ulimit -u " + pids + " 2>/dev/null || ulimit -p " + pids},
	}
}

// applyLimits sets l for the run: in its cgroup v2, else in cgroup v1
// directories of its own (the shell prefix that joins them is returned),
// else, with BestEffort, as rlimits (in the prefix too); or says which limit
// cannot be enforced.
func (r *taskRun) applyLimits(l Limits, noV1 bool) (prefix string, err error) {
	if !l.Any() && (r.cg == nil || !r.cg.tree.v2Any()) {
		return "", nil
	}
	var lines []string
	for _, lim := range runLimits(l) {
		line, err := r.applyLimit(lim, l, noV1)
		if err != nil {
			return "", err
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// applyLimit sets one controller's limit and returns the shell line it
// needs, if any.
func (r *taskRun) applyLimit(lim runLimit, l Limits, noV1 bool) (line string, err error) {
	grouped := l.groupsBound(lim.ctl)
	// A reused run cgroup may hold an earlier run's limit: each
	// controller the tree has is written, "max" where unbounded.
	if r.cg != nil && r.cg.tree.v2Enabled(lim.ctl) {
		for file, v := range lim.v2 {
			if grouped {
				v = "max" // the group's v1 directory holds this run's limits too
			}
			if err := writeAt(r.cg.fd, file, v); err != nil {
				return "", fmt.Errorf("%s: write %s: %w", lim.key, file, err)
			}
		}
		if !grouped {
			return "", nil
		}
	}
	if !lim.on && !grouped {
		return "", nil
	}
	dir, v1err := "", errors.New("cgroup v1 is not to be used (a test)")
	if !noV1 {
		dir, v1err = r.v1Dir(lim.ctl, l.Groups)
	}
	if v1err == nil {
		return joinV1(lim, dir)
	}
	switch {
	case grouped && !l.BestEffort:
		return "", limitError(lim.key+" of a group", fmt.Sprintf("a group's limit needs a cgroup v1 %s hierarchy here: %v", lim.ctl, v1err))
	case !lim.on:
		return "", nil // only a group's limit, best effort: no rlimit is shared
	case l.BestEffort:
		return lim.rlimit, nil // none for CPU: best effort is none
	}
	why := "no cgroup " + lim.ctl + " controller"
	if r.cg == nil {
		why = "cgroups are not in force"
	}
	return "", limitError(lim.key, fmt.Sprintf("%s here: cgroup v2 lacks it and v1 says: %v", why, v1err))
}

// joinV1 writes the run's own limit into its v1 directory dir and returns
// the shell line that joins it.
func joinV1(lim runLimit, dir string) (string, error) {
	for _, file := range []string{"cpu.cfs_period_us", "cpu.cfs_quota_us", "memory.limit_in_bytes", "pids.max"} {
		if v, ok := lim.v1[file]; ok && lim.on {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0); err != nil {
				return "", fmt.Errorf("%s: write %s: %w", lim.key, file, err)
			}
		}
	}
	if strings.ContainsRune(dir, '\'') {
		return "", fmt.Errorf("%s: cgroup path %q cannot be quoted", lim.key, dir)
	}
	return "echo $$ > '" + filepath.Join(dir, "cgroup.procs") + "' || exit 125", nil
}

// v1Dir makes the run's directory in the v1 hierarchy of ctl, below the
// directories of its groups (made as needed, their limits written each
// time: a group's spec does not change).
func (r *taskRun) v1Dir(ctl string, groups []GroupLimits) (string, error) {
	tree, err := v1Tree(ctl)
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if strings.ContainsAny(g.Name, "/'") || g.Name == "" {
			return "", fmt.Errorf("group %q cannot name a cgroup", g.Name)
		}
		tree = filepath.Join(tree, "group-"+g.Name)
		if err := os.Mkdir(tree, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create cgroup v1 %s of group %s: %w", ctl, g.Name, err)
		}
		if err := writeGroupLimit(tree, ctl, g); err != nil {
			return "", fmt.Errorf("group %s: %w", g.Name, err)
		}
	}
	v1Trees.Lock()
	v1Trees.seq++
	dir := filepath.Join(tree, "run-"+strconv.FormatUint(v1Trees.seq, 10))
	v1Trees.Unlock()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cgroup v1 %s: %w", ctl, err)
	}
	if r.v1 == nil {
		r.v1 = map[string]string{}
	}
	r.v1[ctl] = dir
	return dir, nil
}

// limitEvents reads, once the leader has been reaped and before the rest
// is killed, whether the kernel's OOM killer acted in the run, its peak
// memory where the cgroup kept it, and whether a fork hit pids.max.
func (r *taskRun) limitEvents() (oom bool, peak uint64, pidsHit bool) {
	if r.cg != nil && r.cg.tree.v2Enabled("memory") {
		b, _ := readAtFD(r.cg.fd, "memory.events")
		if v, ok := field(b, "oom_kill"); ok && v > 0 {
			oom = true
		}
		if b, err := readAtFD(r.cg.fd, "memory.peak"); err == nil {
			peak, _ = parseUint(bytes.TrimSpace(b))
		}
	}
	if r.cg != nil && r.cg.tree.v2Enabled("pids") {
		b, _ := readAtFD(r.cg.fd, "pids.events")
		if v, ok := field(b, "max"); ok && v > 0 {
			pidsHit = true
		}
	}
	if dir := r.v1["memory"]; dir != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "memory.oom_control"))
		if v, ok := field(b, "oom_kill"); ok && v > 0 {
			oom = true
		}
		b, _ = os.ReadFile(filepath.Join(dir, "memory.max_usage_in_bytes"))
		peak, _ = parseUint(bytes.TrimSpace(b))
	}
	if dir := r.v1["pids"]; dir != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
		if v, ok := field(b, "max"); ok && v > 0 {
			pidsHit = true
		}
	}
	return oom, peak, pidsHit
}

// removeV1 removes the run's v1 directories once its processes are gone
// (a dead process leaves its v1 cgroup a moment after it is reaped).
func (r *taskRun) removeV1(deadline time.Time) {
	for ctl, dir := range r.v1 {
		for unix.Rmdir(dir) == unix.EBUSY && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		delete(r.v1, ctl)
	}
}

// writeGroupLimit writes a group's limit of controller ctl to its v1
// directory ("no limit" where it has none).
func writeGroupLimit(dir, ctl string, g GroupLimits) error {
	write := func(file, v string) error { return os.WriteFile(filepath.Join(dir, file), []byte(v), 0) }
	switch ctl {
	case "memory":
		v := "-1"
		if g.MemoryMax > 0 {
			v = strconv.FormatUint(g.MemoryMax, 10)
		}
		return write("memory.limit_in_bytes", v)
	case "cpu":
		if err := write("cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
			return err
		}
		quota := "-1"
		if g.CPUMax > 0 {
			quota = strconv.FormatInt(int64(g.CPUMax*cpuPeriod), 10)
		}
		return write("cpu.cfs_quota_us", quota)
	case "pids":
		v := "max"
		if g.PidsMax > 0 {
			v = strconv.Itoa(g.PidsMax)
		}
		return write("pids.max", v)
	}
	return nil
}

func writeAt(dirfd int, name, v string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(v))
	return err
}

func readAtFD(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
