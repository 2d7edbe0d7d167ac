package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/taskvisor/taskvisor/actors"
	pb "github.com/taskvisor/taskvisor/api/taskvisor/v1"
)

// BenchmarkEventStream measures events per second from a node's journal to
// one client over the unix socket: the node appends b.N task events (converted and
// numbered as its runtime's subscription does, and written to the store) while a client streams them from the first; the time runs until the
// client has received the last.
//
//	go test -run='^$' -bench=EventStream -benchtime=200000x ./node/
func BenchmarkEventStream(b *testing.B) {
	dir, err := os.MkdirTemp("", "tv15be")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	rt, err := actors.New(actors.Config{})
	if err != nil {
		b.Fatal(err)
	}
	n, err := Open(Config{Runtime: rt, Name: "bench", StateDir: filepath.Join(dir, "s"), Socket: filepath.Join(dir, "n.sock")})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_, _ = rt.Shutdown(context.Background())
		_ = n.Close()
	}()
	conn, err := grpc.NewClient("unix://"+n.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewTaskvisorClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := n.journal.Last()
	s, err := c.Events(ctx, &pb.EventsRequest{Since: first})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Header(); err != nil {
		b.Fatal(err)
	}
	ev := actors.TaskEvent{ID: 1, Name: "bench", State: actors.StateRunning, PID: 4242, Step: 3, Steps: 7,
		Progress: 0.42, Message: "Processing step 3/7 (42%)", ExitCode: -1, Time: time.Now()}
	b.ResetTimer()
	go func() {
		for i := range b.N {
			ev.Step = i
			n.journal.Append(&pb.Event{Kind: &pb.Event_Task{Task: TaskEventToProto(n.name, n.run, ev)}})
		}
	}()
	want := first + uint64(b.N)
	for got := first; got < want; {
		m, err := s.Recv()
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range m.Events {
			if e.GetGap() != nil {
				b.Fatalf("gap %v: the client fell behind the store", e)
			}
			got = e.GetSeq()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
