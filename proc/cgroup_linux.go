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
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// CgroupsEnv turns the per-task cgroups off when set to "off" in taskvisor's
// environment: escapees are then found through the run marker instead.
const CgroupsEnv = "TASKVISOR_CGROUPS"

// maxSpareCgroups bounds the emptied run cgroups kept for reuse.
const maxSpareCgroups = 64

// cgroupTree is the cgroup v2 directory that this program owns,
// taskvisor-<pid> under its own cgroup, and the run cgroups inside it: each
// task run is started straight into one of them (clone3 CLONE_INTO_CGROUP),
// so that everything it ever forks, setsid or not, stays inside and dies with
// one write to cgroup.kill.
//
// A run cgroup whose processes all ended with the leader (the common case) is
// kept and reused: mkdir costs about 50 µs, a quarter of a start. One that
// had to be killed is removed, as the kernel goes on killing what is started
// into it.
type cgroupTree struct {
	dir string // absolute path of taskvisor-<pid>
	rel string // the same relative to the cgroup2 mount, as /proc/PID/cgroup shows it

	seq   atomic.Uint64
	mu    sync.Mutex
	spare []*runCgroup

	// ctl holds the limit controllers its run cgroups have (v2Enabled).
	ctlOnce sync.Once
	ctl     map[string]bool
}

// runCgroup is one run cgroup, and an open descriptor of its directory for
// SysProcAttr.CgroupFD.
type runCgroup struct {
	tree   *cgroupTree
	name   string
	fd     int
	killed bool // cgroup.kill was written: never reused
}

var (
	cgroupOnce   sync.Once
	cgroupShared *cgroupTree
	cgroupErr    error
)

// taskCgroups returns the program's cgroup tree, creating it on first use, or
// why there is none.
func taskCgroups() (*cgroupTree, error) {
	cgroupOnce.Do(func() {
		cgroupShared, cgroupErr = newCgroupTree()
	})
	return cgroupShared, cgroupErr
}

// errCgroupsOff is the reason given when CgroupsEnv turned cgroups off.
var errCgroupsOff = errors.New(CgroupsEnv + "=off")

func newCgroupTree() (*cgroupTree, error) {
	if os.Getenv(CgroupsEnv) == "off" {
		return nil, errCgroupsOff
	}
	mount, root, err := cgroup2Mount()
	if err != nil {
		return nil, err
	}
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	rel, ok := strings.CutPrefix(own, root)
	if !ok {
		return nil, fmt.Errorf("own cgroup %s lies outside the mounted cgroup2 root %s", own, root)
	}
	parent := filepath.Join(mount, rel)
	removeStaleTrees(parent)
	name := "taskvisor-" + strconv.Itoa(os.Getpid())
	t := &cgroupTree{dir: filepath.Join(parent, name), rel: filepath.Join("/", rel, name)}
	if err := os.Mkdir(t.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	// cgroup.kill exists only on kernels from 5.14 on.
	if _, err := os.Stat(filepath.Join(t.dir, "cgroup.kill")); err != nil {
		_ = os.Remove(t.dir)
		return nil, fmt.Errorf("cgroup.kill: %w", err)
	}
	return t, nil
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted and which of
// its paths is the mount's root, from /proc/self/mountinfo.
func cgroup2Mount() (mount, root string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "36 35 98:0 /root /mnt rw,noatime master:1 - cgroup2 cgroup2 rw"
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 {
			return unescapeMount(f[4]), unescapeMount(f[3]), nil
		}
	}
	return "", "", errors.New("no cgroup2 file system mounted")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup is this process's cgroup v2 path, the "0::" line of
// /proc/self/cgroup.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}

// removeStaleTrees kills and removes the trees of taskvisors that died
// without their guard cleaning up (the guard killed too, say).
func removeStaleTrees(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pidText, ok := strings.CutPrefix(e.Name(), "taskvisor-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || !e.IsDir() || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); err == nil || errors.Is(err, unix.EPERM) {
			continue // that taskvisor lives
		}
		_ = removeCgroupTree(filepath.Join(parent, e.Name()), time.Now().Add(time.Second))
	}
}

// removeCgroupTree kills everything in dir and removes it with its run
// cgroups. It is how the guard cleans up after taskvisor.
func removeCgroupTree(dir string, deadline time.Time) error {
	killLeavers(cgroupMembers(dir), os.Getpid())
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for populated(dir) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := rmdirCgroups(dir); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// rmdirCgroups removes the empty cgroup dir and the cgroups below it, depth
// first: a task may have made cgroups of its own inside its run's.
func rmdirCgroups(dir string) error {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			_ = rmdirCgroups(filepath.Join(dir, e.Name()))
		}
	}
	return unix.Rmdir(dir)
}

// populated reports whether a live process is in the cgroup dir or below,
// from its cgroup.events; true when that cannot be read, to stay safe.
func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return !bytes.Contains(b, []byte("populated 0"))
}

// take returns an empty run cgroup: a spare one, else a new one.
func (t *cgroupTree) take() (*runCgroup, error) {
	t.mu.Lock()
	if n := len(t.spare); n > 0 {
		c := t.spare[n-1]
		t.spare = t.spare[:n-1]
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	name := "run-" + strconv.FormatUint(t.seq.Add(1), 10)
	dir := filepath.Join(t.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run cgroup: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Rmdir(dir)
		return nil, fmt.Errorf("open run cgroup: %w", err)
	}
	return &runCgroup{tree: t, name: name, fd: fd}, nil
}

func (c *runCgroup) dir() string { return filepath.Join(c.tree.dir, c.name) }

// kill sends SIGKILL to every process in the run cgroup, escapees included,
// if any lives there. A cgroup that has been killed goes on killing what is
// started into it (kernel 6.18, measured): it is not reused.
func (c *runCgroup) kill() {
	if c.populated() {
		c.killed = true
		// Before the cgroup's kill orphans them: the children that left it.
		killLeavers(cgroupMembers(c.dir()), os.Getpid())
		if fd, err := unix.Openat(c.fd, "cgroup.kill", unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
			_, _ = unix.Write(fd, []byte("1"))
			_ = unix.Close(fd)
		}
	}
}

// populated is the package's populated for the run cgroup, read through its
// open directory: no path walk, no allocation; it is on every run's exit.
func (c *runCgroup) populated() bool {
	fd, err := unix.Openat(c.fd, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return !errors.Is(err, unix.ENOENT)
	}
	var buf [128]byte
	n, err := unix.Read(fd, buf[:])
	_ = unix.Close(fd)
	if err != nil || n <= 0 {
		return true
	}
	return !bytes.Contains(buf[:n], []byte("populated 0"))
}

// settle waits until no process of the run cgroup lives any more and the
// orphans it left to this process (a subreaper) are reaped, then keeps the
// cgroup for reuse, or removes it. The program's one orphan reaper does the
// waiting and reaping for every run that settles at the time. It reports
// false if a process still lived at deadline; the cgroup is then left alone.
func (c *runCgroup) settle(deadline time.Time) bool {
	if !orphans.settle(c, deadline) {
		return false
	}
	c.release()
	return true
}

// runOf returns the name of the run cgroup of the tree that /proc/PID/cgroup
// names, "" if it names none of them. A zombie still shows the cgroup it died
// in ("(deleted)" once removed).
func (t *cgroupTree) runOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			p = strings.TrimSuffix(p, " (deleted)")
			name, ok := strings.CutPrefix(p, t.rel+"/")
			if !ok || !strings.HasPrefix(name, "run-") {
				return ""
			}
			name, _, _ = strings.Cut(name, "/") // a cgroup the task made below
			return name
		}
	}
	return ""
}

// release keeps the emptied run cgroup for reuse, or removes it.
func (c *runCgroup) release() {
	t := c.tree
	t.mu.Lock()
	if !c.killed && len(t.spare) < maxSpareCgroups {
		t.spare = append(t.spare, c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.remove()
}

// remove closes the descriptor and removes the run cgroup, which must be
// empty.
func (c *runCgroup) remove() {
	_ = unix.Close(c.fd)
	_ = rmdirCgroups(c.dir())
}

// ownChildren lists this process's children, adopted orphans included, from
// the children file of each of its threads: much cheaper than a walk over
// /proc.
func ownChildren() []int { return childrenOf("self") }

// childrenOf lists the children of the process /proc/pid (a number, or
// "self"), from the children file of each of its threads.
func childrenOf(pid string) []int {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return nil
	}
	var pids []int
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/children")
		if err != nil {
			continue
		}
		for f := range bytes.FieldsSeq(b) {
			if pid, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// cgroupMembers returns the processes in the cgroup dir and in the cgroups
// below it (a task may make cgroups of its own inside its run's).
func cgroupMembers(dir string) map[int]bool {
	members := map[int]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for f := range bytes.FieldsSeq(b) {
				if pid, err := strconv.Atoi(string(f)); err == nil {
					members[pid] = true
				}
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				walk(filepath.Join(dir, e.Name()))
			}
		}
	}
	walk(dir)
	return members
}
