//go:build linux

package proc

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

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
	if _, err := exec.LookPath("systemd-notify"); err != nil {
		t.Skip("systemd-notify not installed")
	}
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
	if !eventually(5*time.Second, func() bool { return p.NotifyStats().Foreign == 1 }) {
		t.Errorf("stats %+v, want one foreign datagram", p.NotifyStats())
	}
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
