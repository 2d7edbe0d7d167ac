package node_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
)

// A task flooding its output fills its log up to the rotation bound and no
// further: LogFiles files of at most LogMaxBytes each, the newest lines in
// NAME.log, each line stamped with its time and stream.
func TestLogRotationBoundsDisk(t *testing.T) {
	const maxBytes = 16 << 10
	f := newFixture(t, shortDir(t), func(c *node.Config) { c.LogMaxBytes = maxBytes; c.LogFiles = 3 })
	c := ctx(t)
	// About 1.3 MB of output: 40 times what the log may keep.
	spec := &pb.TaskSpec{Name: "flood", Command: "seq 1 200000; echo last line"}
	_, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: spec}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Wait(c, &pb.WaitRequest{Task: "flood"}); err != nil {
		t.Fatal(err)
	}
	f.stop() // the log is complete once the node has closed
	logs, _ := filepath.Glob(filepath.Join(f.cfg.StateDir, "logs", "1-1-flood.log*"))
	if len(logs) != 3 {
		t.Fatalf("log files %v: want flood.log, .1 and .2", logs)
	}
	for _, p := range logs {
		st, err := os.Stat(p)
		rotated := strings.HasSuffix(p, ".1") || strings.HasSuffix(p, ".2")
		if err != nil || st.Size() > maxBytes || rotated && st.Size() < maxBytes/2 {
			t.Fatalf("%s: size %d, %v; want at most %d (and rotated near it)", p, st.Size(), err, maxBytes)
		}
	}
	data, err := os.ReadFile(filepath.Join(f.cfg.StateDir, "logs", "1-1-flood.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if len(last) != 4 || last[1] != "stdout" || last[2]+" "+last[3] != "last line" || !strings.HasSuffix(last[0], "Z") {
		t.Fatalf("last log line %q: want TIME stdout last line", lines[len(lines)-1])
	}
}

// After the node's restart, the tasks of the earlier run are listed as
// history, with how they ended, and their output is read from their logs.
func TestHistoryAfterRestart(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	c := ctx(t)
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "echo"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Wait(c, &pb.WaitRequest{Task: "1"}); err != nil {
		t.Fatal(err)
	}
	f.stop()
	f.start()
	list, err := f.c.List(c, &pb.ListRequest{History: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tasks) != 1 || !list.Tasks[0].GetHistory() || list.Tasks[0].GetRun() != 1 || list.Tasks[0].GetState() != "completed" {
		t.Fatalf("history %v: want task 1.1 completed", list.Tasks)
	}
	if got := strings.Join(output(t, f.c, &pb.OutputRequest{Task: "1.1"}), "|"); got != "stdout one|stdout two|stderr three" {
		t.Fatalf("output of 1.1 from its log: %q", got)
	}
	// By name too: no task of the current run has it.
	if got := output(t, f.c, &pb.OutputRequest{Task: "echo", Last: 1}); len(got) != 1 || got[0] != "stderr three" {
		t.Fatalf("output of echo: %q", got)
	}
	if _, err := f.c.Kill(c, &pb.KillRequest{Task: "1.1"}); code(err).String() != "FailedPrecondition" {
		t.Fatalf("kill of a task of an earlier run: %v", err)
	}
	if l, _ := f.c.List(c, &pb.ListRequest{}); len(l.Tasks) != 0 {
		t.Fatalf("without history: %v", l.Tasks)
	}
}

// A task's log holds every line of each of its processes, once: after it
// ended and its log was let go, a restart goes on in the same file; lines
// are written while the task runs, for tail -f.
func TestLogFollowsRestartsOnce(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	c := ctx(t)
	spec := &pb.TaskSpec{Name: "twice", Command: "echo one; echo two"}
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: spec}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Wait(c, &pb.WaitRequest{Task: "twice"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.cfg.StateDir, "logs", "1-1-twice.log")
	texts := func() []string {
		data, _ := os.ReadFile(path)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if fs := strings.SplitN(l, " ", 3); len(fs) == 3 {
				out = append(out, fs[2])
			}
		}
		return out
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("after %s: %s; the log holds %q", wait, what, texts())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("the first run's lines in the log", func() bool { return strings.Join(texts(), ",") == "one,two" })
	time.Sleep(2500 * time.Millisecond) // past the release of an ended task's log
	if _, err := f.c.Restart(c, &pb.RestartRequest{Task: "1"}); err != nil {
		t.Fatal(err)
	}
	eventually("the restart's lines in the same log", func() bool {
		return strings.Join(texts(), ",") == "one,two,one,two"
	})
	f.stop()
	if got := strings.Join(texts(), ","); got != "one,two,one,two" {
		t.Errorf("log after the node closed: %s, want one,two,one,two", got)
	}
}

// A task that floods its output keeps the node's memory bounded as well as
// its disk: the log reads the task's bounded buffer (skipping what it
// dropped), never a queue of its own. 2.5 million lines, about 18 MB, with
// the heap sampled all along.
func TestFloodKeepsNodeMemoryBounded(t *testing.T) {
	f := newFixture(t, shortDir(t), func(c *node.Config) { c.LogMaxBytes = 1 << 20; c.LogFiles = 2 })
	c := ctx(t)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var most uint64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				most = max(most, ms.HeapInuse)
			case <-stop:
				peak <- most
				return
			}
		}
	}()
	spec := &pb.TaskSpec{Name: "flood", Command: "seq 1 2500000"}
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: spec}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Wait(c, &pb.WaitRequest{Task: "flood"}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	grew := int64(<-peak) - int64(base)
	t.Logf("heap in use grew by at most %.1f MiB over the flood", float64(grew)/(1<<20))
	// The task's buffer is 1 MiB at most; the bound leaves room for the
	// runtime's garbage between collections, far below the 18 MB written.
	if grew > 12<<20 {
		t.Errorf("heap in use grew by %.1f MiB while the task wrote about 18 MB: the node keeps what it writes", float64(grew)/(1<<20))
	}
	f.stop()
	logs, _ := filepath.Glob(filepath.Join(f.cfg.StateDir, "logs", "1-1-flood.log*"))
	for _, p := range logs {
		if st, err := os.Stat(p); err != nil || st.Size() > 1<<20 {
			t.Errorf("%s: %v bytes, %v; want at most 1 MiB", p, st.Size(), err)
		}
	}
}

// Lines reach the log file while the task goes on writing, for tail -f:
// a task that writes a short line every 20 ms (its 4 KiB write buffer fills
// in about two seconds) has its first line on disk long before that, since a
// flush comes 50 ms after the first line not flushed, however many follow.
func TestLogIsFlushedWhileTheTaskWrites(t *testing.T) {
	f := newFixture(t, shortDir(t), nil)
	c := ctx(t)
	spec := &pb.TaskSpec{Name: "trickle", Command: "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo $i; sleep 0.02; done"}
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Spec{Spec: spec}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.cfg.StateDir, "logs", "1-1-trickle.log")
	started := time.Now()
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), " stdout 1\n") {
			t.Logf("the first line was on disk %v after the start", time.Since(started).Round(time.Millisecond))
			return
		}
		if time.Since(started) > 1500*time.Millisecond {
			t.Fatalf("no line in the log 1.5 s after the start of a task that writes one every 20 ms: %q", data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
