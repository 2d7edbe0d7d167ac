package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
	"github.com/taskvisor/taskvisor/node"
	"github.com/taskvisor/taskvisor/node/client"
)

// A stream broken by the node's restart reconnects and, resuming from the
// last sequence number, receives every event exactly once: the same
// sequence numbers, without gap or repeat, as a fresh stream from 0.
func TestReconnectResumesWithoutLossOrRepeat(t *testing.T) {
	dir := shortDir(t)
	f := newFixture(t, dir, nil)
	c := ctx(t)
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "echo"}}); err != nil {
		t.Fatal(err)
	}
	watcher, err := client.Dial(client.Target{Socket: f.sock})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

	var mu sync.Mutex
	var seqs []uint64
	var downs int
	completed := make(chan uint64, 4) // runs whose echo completed
	sctx, stop := context.WithCancel(c)
	done := make(chan error, 1)
	go func() {
		done <- watcher.StreamEvents(sctx, 0, func(ev *pb.Event) error {
			mu.Lock()
			seqs = append(seqs, ev.GetSeq())
			mu.Unlock()
			if tk := ev.GetTask(); tk != nil && tk.GetState() == "completed" {
				completed <- tk.GetRun()
			}
			return nil
		}, func(up bool, err error) {
			if !up {
				mu.Lock()
				downs++
				mu.Unlock()
			}
		})
	}()
	expectRun(t, completed, 1)
	// The node restarts: the stream ends from the server's side.
	f.stop()
	f.start()
	if _, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "echo"}}); err != nil {
		t.Fatal(err)
	}
	expectRun(t, completed, 2)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("StreamEvents: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if downs == 0 {
		t.Fatal("the stream never broke: the test proves nothing")
	}
	// Every event the node numbered, read afresh from its store.
	all := allSeqs(t, f.c)
	if len(seqs) < len(all) || !equal(seqs[:len(all)], all) {
		t.Fatalf("resumed stream saw %v\nthe node holds %v", seqs, all)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence %v: not each exactly once (at %d)", seqs, i)
		}
	}
}

func expectRun(t *testing.T, ch chan uint64, run uint64) {
	t.Helper()
	select {
	case r := <-ch:
		if r != run {
			t.Fatalf("completed in run %d, want %d", r, run)
		}
	case <-time.After(wait):
		t.Fatalf("no completed event of run %d", run)
	}
}

// allSeqs reads the node's journal from the start up to its last event.
func allSeqs(t *testing.T, c *client.Client) []uint64 {
	t.Helper()
	info, err := c.Info(ctx(t), &pb.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	s, err := c.Events(sctx, &pb.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for len(out) == 0 || out[len(out)-1] < info.GetLastSeq() {
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range m.Events {
			if ev.GetGap() != nil {
				t.Fatalf("gap %v in a journal well within its bounds", ev)
			}
			out = append(out, ev.GetSeq())
		}
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A journal bounded to few events tells a reader that asks for older ones
// what it lost, with a Gap, and goes on.
func TestGapWhenEventsAreNoLongerHeld(t *testing.T) {
	f := newFixture(t, shortDir(t), func(c *node.Config) { c.Store.Events = 5; c.MemoryEvents = 2 })
	c := ctx(t)
	for range 3 {
		res, err := f.c.Start(c, &pb.StartRequest{What: &pb.StartRequest_Template{Template: "echo"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.Wait(c, &pb.WaitRequest{Task: strconv.FormatInt(res.Id, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // past the journal's write delay
	s, err := f.c.Events(c, &pb.EventsRequest{Since: 0})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	gap := m.Events[0].GetGap()
	if gap == nil || gap.GetFirst() != 1 || m.Events[1].GetSeq() != gap.GetLast()+1 {
		t.Fatalf("first message %v: want a gap from 1, then the next held event", m.Events)
	}
}

// A second node of the same name (the same state directory) is refused by
// the store's lock, with an error that says so; the first keeps serving.
func TestSecondNodeOfANameRefused(t *testing.T) {
	dir := shortDir(t)
	f := newFixture(t, dir, nil)
	cfg := f.cfg
	cfg.Socket = filepath.Join(dir, "run", "other.sock")
	_, err := node.Open(cfg)
	if !errors.Is(err, node.ErrLocked) || !strings.Contains(err.Error(), "another node of this name is running") {
		t.Fatalf("second Open: %v; want ErrLocked", err)
	}
	if _, err := os.Stat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused node left a socket: %v", err)
	}
	if _, err := f.c.List(ctx(t), &pb.ListRequest{}); err != nil {
		t.Fatalf("the first node stopped answering: %v", err)
	}
}
