//go:build linux

package proc

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskvisor/taskvisor/internal/proctest"
	"github.com/taskvisor/taskvisor/proc/notify"
)

// notifyDir is a short private directory: socket paths are limited to 108
// bytes, and t.TempDir's names are long.
func notifyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tvp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// eventLog records notify and exit callbacks in the order they ran.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func (l *eventLog) onNotify(m notify.Message) {
	var parts []string
	if m.Ready {
		parts = append(parts, "READY")
	}
	if m.HasStatus {
		parts = append(parts, "STATUS="+m.Status)
	}
	if m.Barrier {
		parts = append(parts, "BARRIER")
	}
	l.add(strings.Join(parts, ","))
}

func TestNotifyDeliveredBeforeExit(t *testing.T) {
	proctest.NeedSystemdNotify(t)
	t.Parallel()
	dir := notifyDir(t)
	var log eventLog
	out := NewOutput(0)
	p := startT(t, Spec{
		// systemd-notify --ready waits on BARRIER=1 until the listener has
		// closed the descriptor, so it proves that Serve runs; the --no-block
		// datagrams are still queued when the shell exits.
		Shell: `echo "$NOTIFY_SOCKET"; systemd-notify --ready --status=starting || exit 10
			for i in 1 2 3 4 5; do systemd-notify --no-block STATUS=step$i || exit 11; done; exit 7`,
		Output:    out,
		NotifyDir: dir,
		OnNotify:  log.onNotify,
		OnExit:    func(e Exit) { log.add(e.String()) },
	})
	e := waitExited(t, p, 10*time.Second)
	waitDone(t, p, 5*time.Second)
	if e.Code != 7 {
		t.Fatalf("exit %s, want exit code 7; output %q", e, texts(out.Lines()))
	}
	got := log.get()
	want := []string{"READY,STATUS=starting", "STATUS=step1", "STATUS=step2", "STATUS=step3", "STATUS=step4", "STATUS=step5", "exit code 7"}
	// systemd-notify sends --ready's fields and BARRIER=1 as two datagrams.
	var filtered []string
	for _, ev := range got {
		if ev != "BARRIER" {
			filtered = append(filtered, ev)
		}
	}
	if strings.Join(filtered, " | ") != strings.Join(want, " | ") {
		t.Errorf("callbacks ran as\n  %q\nwant\n  %q", got, want)
	}
	lines := texts(out.Lines())
	if len(lines) == 0 || !strings.HasPrefix(lines[0], dir+"/") {
		t.Errorf("child's NOTIFY_SOCKET %q, want a socket in %s", lines, dir)
	} else if _, err := os.Stat(lines[0]); !os.IsNotExist(err) {
		t.Errorf("socket %s still exists after Done (%v)", lines[0], err)
	}
	st := p.NotifyStats()
	if st.Delivered < 6 || st.Foreign != 0 || st.Malformed != 0 {
		t.Errorf("stats %+v, want >= 6 delivered, none foreign or malformed", st)
	}
}

func TestNotifyForeignSenderDropped(t *testing.T) {
	t.Parallel()
	dir := notifyDir(t)
	var log eventLog
	out := NewOutput(0)
	p := startT(t, Spec{
		Shell:     `echo "$NOTIFY_SOCKET"; exec sleep 100`,
		Output:    out,
		NotifyDir: dir,
		OnNotify:  log.onNotify,
	})
	sock := waitLine(t, out, 5*time.Second, func(l Line) bool { return l.Stream == Stdout }).Text
	// The test itself is outside the task's tree.
	if err := notify.SendTo(sock, "READY=1"); err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	proctest.Eventually(t, 5*time.Second, "one foreign datagram", func() bool { return p.NotifyStats().Foreign == 1 })
	_ = p.Kill()
	waitDone(t, p, 5*time.Second)
	if got := log.get(); len(got) != 0 {
		t.Errorf("OnNotify got %q from a foreign sender", got)
	}
}

func TestNoNotifySocket(t *testing.T) {
	t.Parallel()
	p := startT(t, Spec{Argv: []string{"true"}})
	waitDone(t, p, 5*time.Second)
	if st := p.NotifyStats(); st != (notify.Stats{}) {
		t.Errorf("NotifyStats without a socket = %+v", st)
	}
}

func TestNotifyDirMissing(t *testing.T) {
	t.Parallel()
	_, err := Start(Spec{Name: "t", Argv: []string{"true"}, NotifyDir: "/nonexistent-notify-dir"})
	if err == nil || !strings.Contains(err.Error(), "start t: notify socket") {
		t.Errorf("Start with a missing NotifyDir: %v", err)
	}
}

// A daemon of the task (forked twice, setsid, its parent gone) is neither in
// the task's group nor below its leader, but it is one of the task's
// processes as the kill path sees them, in the run's cgroup or carrying its
// marker: its datagrams are delivered. One from outside the task is still
// dropped.
func TestNotifyFromDaemonOfTheTask(t *testing.T) {
	for _, mode := range []struct {
		name     string
		noCgroup bool
	}{{"cgroup", false}, {"marker", true}} {
		t.Run(mode.name, func(t *testing.T) {
			if _, err := taskCgroups(); err != nil && !mode.noCgroup {
				t.Skipf("no cgroups here: %v", err)
			}
			var log eventLog
			out := NewOutput(0)
			p := startT(t, Spec{
				// The daemon waits until its parent, the subshell, is gone
				// (its parent is neither the leader L nor a child of L),
				// then becomes the test binary, which sends one datagram
				// and sleeps.
				Shell: `echo "$NOTIFY_SOCKET"; export L=$$
					( setsid sh -c 'ppid() { cut -d" " -f4 /proc/$1/stat; }
						while p=$(ppid $$); [ "$p" = "$L" ] || [ "$(ppid "$p")" = "$L" ]; do sleep 0.01; done
						echo $$; exec "$BIN"' & )
					exec sleep 100`,
				Env:       []string{"BIN=" + os.Args[0], notifyFloodEnv + "=1", sleeperEnv + "=1"},
				Output:    out,
				NotifyDir: notifyDir(t),
				OnNotify:  log.onNotify,
				noCgroup:  mode.noCgroup,
			})
			var sock string
			daemon := 0
			proctest.Eventually(t, 5*time.Second, "the socket and the daemon's pid on stdout", func() bool {
				lines := out.Lines()
				if len(lines) < 2 {
					return false
				}
				sock = lines[0].Text
				var err error
				daemon, err = parsePid(lines[1].Text)
				return err == nil
			})
			t.Cleanup(func() { killEscapee(t, daemon, "proc.test") })
			proctest.Eventually(t, 5*time.Second, "the daemon's datagram handled", func() bool {
				s := p.NotifyStats() // Received is counted first
				return s.Received >= 1 && s.Received == s.Delivered+s.Dropped()
			})
			if st, ok := readStat(daemon); !ok || st.pgrp == p.Pgid() || st.ppid == p.Pid() || descendsFrom(daemon, p.Pid()) {
				t.Fatalf("daemon %d (%+v, %v) is not a daemon: the test proves nothing", daemon, st, ok)
			}
			if s := p.NotifyStats(); s != (notify.Stats{Received: 1, Delivered: 1}) {
				t.Errorf("stats %+v, want the daemon's datagram delivered", s)
			}
			if got := log.get(); len(got) != 1 || got[0] != "STATUS=flood 0" {
				t.Errorf("OnNotify got %q, want the daemon's STATUS=flood 0", got)
			}
			if !p.Contains(daemon) {
				t.Errorf("Contains(daemon %d) = false", daemon)
			}
			// The test itself is outside the task.
			if p.Contains(os.Getpid()) {
				t.Errorf("Contains(the test %d) = true", os.Getpid())
			}
			if err := notify.SendTo(sock, "READY=1"); err != nil {
				t.Fatalf("SendTo: %v", err)
			}
			proctest.Eventually(t, 5*time.Second, "the test's datagram dropped as foreign", func() bool {
				return p.NotifyStats() == notify.Stats{Received: 2, Delivered: 1, Foreign: 1}
			})
			_ = p.Kill()
			waitDone(t, p, 5*time.Second)
			if liveProcess(daemon) {
				t.Errorf("daemon %d outlived its task", daemon)
			}
			if got := log.get(); len(got) != 1 {
				t.Errorf("OnNotify got %q, want the daemon's datagram only", got)
			}
		})
	}
}
