//go:build linux

package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// bareStartWait is the ns/op of BenchmarkStartWaitBare in this run, for the
// ratio BenchmarkStartWaitProc reports.
var bareStartWait time.Duration

// BenchmarkStartWaitBare is the baseline: os/exec starting /bin/true and
// waiting for it on a blocked thread.
func BenchmarkStartWaitBare(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
	bareStartWait = b.Elapsed() / time.Duration(b.N)
}

// BenchmarkStartWaitProc starts /bin/true with pipes for its output, its own
// process group and a pidfd, and waits until Done.
func BenchmarkStartWaitProc(b *testing.B) {
	out := NewOutput(0)
	for b.Loop() {
		p, err := Start(Spec{Argv: []string{"/bin/true"}, Output: out})
		if err != nil {
			b.Fatal(err)
		}
		<-p.Done()
	}
	if bareStartWait > 0 {
		b.ReportMetric(float64(b.Elapsed()/time.Duration(b.N))/float64(bareStartWait), "x-bare")
	}
}

// BenchmarkStartWaitProcNotify is BenchmarkStartWaitProc with an sd_notify
// socket, as every task gets: the difference is the socket's cost.
func BenchmarkStartWaitProcNotify(b *testing.B) {
	out := NewOutput(0)
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, _ = os.MkdirTemp("/dev/shm", "bench-")
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	for b.Loop() {
		p, err := Start(Spec{Argv: []string{"/bin/true"}, Output: out, NotifyDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		<-p.Done()
	}
	if bareStartWait > 0 {
		b.ReportMetric(float64(b.Elapsed()/time.Duration(b.N))/float64(bareStartWait), "x-bare")
	}
}
